"""Token booking under contention: many patients booking one OPD at the same moment.

    python bench/booking_contention.py [--database-url URL] [--patients 2000] [--capacity 1500]
                                       [--threads 16] [--json out.json] [--time-limit 120]

Creates a fresh OPD with a unique code (round the clock, so it is open whenever this runs)
and N registered patients in the given database, then books all of them at once from a
thread pool, each booking in its own db.write() transaction through BookingRecords, as the
dispatcher does for one message. It prints bookings per second, latency per booking, the
tokens issued, the offers of the next session, and checks the numbers: no duplicate
(OPD, day, number), no gap, none above capacity. The same figures go to --json.

The database defaults to TELEOPD_TEST_DATABASE_URL, else a temporary SQLite file. It is
migrated to head first (bot.store.migrate.upgrade); nothing is dropped or truncated: the script
deletes only the rows it added (its OPD, its tokens and counters, its patients), unless
--keep. Everything stops after --time-limit seconds whatever happens.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import (  # noqa: E402
    cpu_model,
    database_url,
    hard_stop,
    percentile,
    redacted,
    server_version,
)
from sqlalchemy import delete, select  # noqa: E402

from bot.platform.clock import IST  # noqa: E402
from bot.services.booking import BookingRecords  # noqa: E402
from bot.services.opds import OpdSpec, upsert_opd  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Identity, Opd, OpdDay, Patient, Person, Role, Token  # noqa: E402
from flows.ports import BookingOutcome, Intake  # noqa: E402

CHANNEL = "bench"
CLEANUP_RESERVE_S = 15  # of the time limit, kept for checking and cleaning up
INTAKE = Intake(text="bukhar aur khansi, 3 din se", symptoms=("fever", "cough"), duration_days=3)


@dataclass
class Run:
    code: str
    now: dt.datetime
    opd_id: int = 0
    person_ids: list[int] = field(default_factory=list)
    identity_ids: list[int] = field(default_factory=list)


def create(db: Database, run: Run, patients: int, capacity: int) -> None:
    """Add the run's OPD and its patients."""
    with db.write() as session:
        spec = OpdSpec(run.code, f"Bench {run.code}", f"बेंच {run.code}", "general_medicine", "24h", "all", capacity)
        run.opd_id = upsert_opd(session, spec).id
    batch = 500
    for start in range(0, patients, batch):
        with db.write() as session:
            identities = []
            for i in range(start, min(start + batch, patients)):
                person = Person(role=Role.PATIENT, name=f"Bench patient {i}", phone=f"+9190{i:08d}", language="hi")
                person.patient = Patient(age=20 + i % 60, sex="female" if i % 2 else "male", state_code="BR", district="Gaya", consent_at=run.now)
                identity = Identity(channel=CHANNEL, address=f"{run.code.lower()}-{i}", person=person, language="hi")
                session.add(identity)
                identities.append(identity)
            session.flush()
            run.identity_ids += [identity.id for identity in identities]
            run.person_ids += [identity.person_id for identity in identities]


def cleanup(db: Database, run: Run) -> None:
    """Delete exactly the rows this run added."""
    with db.write() as session:
        if run.opd_id:
            session.execute(delete(Token).where(Token.opd_id == run.opd_id))
            session.execute(delete(OpdDay).where(OpdDay.opd_id == run.opd_id))
        for start in range(0, len(run.person_ids), 1000):
            chunk = run.person_ids[start : start + 1000]
            session.execute(delete(Identity).where(Identity.channel == CHANNEL, Identity.person_id.in_(chunk)))
            session.execute(delete(Patient).where(Patient.person_id.in_(chunk)))
            session.execute(delete(Person).where(Person.id.in_(chunk)))
        if run.opd_id:
            session.execute(delete(Opd).where(Opd.id == run.opd_id, Opd.code == run.code))


def book_all(db: Database, run: Run, threads: int, deadline: float) -> tuple[list[tuple[str, float, dt.date | None]], list[str], float, int]:
    """Book every patient at once; return (outcome, seconds, offered day) per booking, errors, wall time, skipped."""
    results: list[tuple[str, float, dt.date | None]] = []
    errors: list[str] = []
    lock = threading.Lock()
    skipped = 0
    start_gate = threading.Barrier(threads + 1)

    def worker(chunk: list[int]) -> None:
        nonlocal skipped
        start_gate.wait()
        for identity_id in chunk:
            if time.monotonic() > deadline:
                with lock:
                    skipped += 1
                continue
            began = time.perf_counter()
            try:
                with db.write() as session:
                    result = BookingRecords(session, session.get(Identity, identity_id), run.now).book(run.opd_id, None, INTAKE, False)
                outcome, offered = result.outcome.value, result.offer.day if result.offer else None
            except Exception as exc:  # reported, not hidden: a booking must not fail
                with lock:
                    errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
                continue
            elapsed = time.perf_counter() - began
            with lock:
                results.append((outcome, elapsed, offered))

    chunks = [run.identity_ids[i::threads] for i in range(threads)]
    pool = ThreadPoolExecutor(threads, thread_name_prefix="book")
    futures = [pool.submit(worker, chunk) for chunk in chunks]
    start_gate.wait()
    began = time.perf_counter()
    done, pending = wait(futures, timeout=max(0.0, deadline - time.monotonic()) + 5, return_when=FIRST_EXCEPTION)
    wall = time.perf_counter() - began
    for future in done:
        if future.exception() is not None:
            errors.append(f"worker: {future.exception()!r}")
    if pending:
        errors.append(f"{len(pending)} booking threads still running at the time limit")
    pool.shutdown(wait=False, cancel_futures=True)
    return results, errors, wall, skipped


def check(db: Database, run: Run, capacity: int) -> dict[str, object]:
    """Read back the tokens: duplicates, gaps, capacity, and the day's counter."""
    with db.read() as session:
        rows = session.execute(select(Token.day, Token.number, Token.person_id).where(Token.opd_id == run.opd_id)).all()
        counters = dict(session.execute(select(OpdDay.day, OpdDay.issued).where(OpdDay.opd_id == run.opd_id)).all())
    by_day: dict[dt.date, list[int]] = {}
    for day, number, _ in rows:
        by_day.setdefault(day, []).append(number)
    duplicates = sum(len(numbers) - len(set(numbers)) for numbers in by_day.values())
    gaps = sum(len(set(range(1, max(numbers) + 1)) - set(numbers)) for numbers in by_day.values())
    over = sum(1 for numbers in by_day.values() for n in numbers if n > capacity)
    return {
        "tokens_in_database": len(rows),
        "days": {day.isoformat(): len(numbers) for day, numbers in sorted(by_day.items())},
        "duplicates": duplicates,
        "gaps": gaps,
        "numbers_above_capacity": over,
        "patients_with_two_tokens": len(rows) - len({person for _, _, person in rows}),
        "counter_matches_tokens": all(counters.get(day) == len(numbers) for day, numbers in by_day.items()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", help="default: TELEOPD_TEST_DATABASE_URL, else a temporary SQLite file")
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--capacity", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds before everything stops (default 120)")
    parser.add_argument("--keep", action="store_true", help="leave the run's rows in the database")
    args = parser.parse_args(argv)
    if args.patients < 1 or args.capacity < 1 or args.threads < 1 or args.time_limit <= CLEANUP_RESERVE_S:
        parser.error(f"--patients, --capacity and --threads must be at least 1, --time-limit above {CLEANUP_RESERVE_S}")

    started = time.monotonic()
    run = Run(code=f"BENCH-{uuid.uuid4().hex[:10].upper()}", now=dt.datetime.now(dt.UTC))

    stopper = hard_stop(args.time_limit, f"OPD {run.code}")

    url, temp_folder = database_url(args.database_url)
    db = Database(url, pool_size=args.threads, max_overflow=4)
    report: dict[str, object] = {}
    status = 1
    try:
        upgrade(url, db.engine)
        setup_began = time.perf_counter()
        create(db, run, args.patients, args.capacity)
        setup_s = time.perf_counter() - setup_began
        deadline = started + args.time_limit - CLEANUP_RESERVE_S
        results, errors, wall, skipped = book_all(db, run, args.threads, deadline)
        latencies = sorted(seconds * 1000 for _, seconds, _ in results)
        outcomes: dict[str, int] = {}
        for outcome, _, _ in results:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        today = run.now.astimezone(IST).date()
        next_day = today + dt.timedelta(days=1)
        offers = [day for outcome, _, day in results if outcome == BookingOutcome.FULL]
        found = check(db, run, args.capacity)
        expected_tokens = min(args.patients, args.capacity)
        report = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": redacted(url) if temp_folder is None else "temporary SQLite file",
            "server": server_version(db),
            "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version()},
            "opd_code": run.code,
            "patients": args.patients,
            "capacity": args.capacity,
            "threads": args.threads,
            "setup_seconds": round(setup_s, 2),
            "booking_seconds": round(wall, 3),
            "bookings": len(results),
            "bookings_per_second": round(len(results) / wall, 1) if wall else None,
            "latency_ms": {
                "p50": round(percentile(latencies, 50), 2),
                "p95": round(percentile(latencies, 95), 2),
                "p99": round(percentile(latencies, 99), 2),
                "max": round(latencies[-1], 2) if latencies else None,
                "mean": round(statistics.fmean(latencies), 2) if latencies else None,
            },
            "outcomes": outcomes,
            "tokens_issued": outcomes.get(BookingOutcome.BOOKED, 0),
            "next_session_offers": len(offers),
            "offers_for_the_next_day": sum(1 for day in offers if day == next_day),
            "errors": len(errors),
            "error_samples": sorted(set(errors))[:5],
            "skipped_at_time_limit": skipped,
            **found,
        }
        ok = (
            not errors
            and not skipped
            and found["duplicates"] == 0
            and found["gaps"] == 0
            and found["numbers_above_capacity"] == 0
            and found["patients_with_two_tokens"] == 0
            and found["counter_matches_tokens"]
            and found["tokens_in_database"] == expected_tokens == report["tokens_issued"]
            and len(offers) == args.patients - expected_tokens == report["offers_for_the_next_day"]
        )
        report["ok"] = ok
        status = 0 if ok else 1
    finally:
        if not args.keep:
            try:
                cleanup(db, run)
            except Exception as exc:  # say so, but still report what was measured
                print(f"cleanup failed: {exc!r}; rows of OPD {run.code} may remain", file=sys.stderr)
        db.dispose()
        if temp_folder is not None:
            shutil.rmtree(temp_folder, ignore_errors=True)

    latency = report["latency_ms"]
    assert isinstance(latency, dict)
    print(f"database            {report['database']} ({report['server']})")
    print(f"machine             {report['machine']['nproc']} CPUs, {report['machine']['cpu']}")  # type: ignore[index]
    print(f"run                 {args.patients} patients, capacity {args.capacity}, {args.threads} threads, OPD {run.code}")
    print(f"bookings/s          {report['bookings_per_second']}  ({report['bookings']} bookings in {report['booking_seconds']} s)")
    print(f"latency ms          p50 {latency['p50']}  p95 {latency['p95']}  p99 {latency['p99']}  max {latency['max']}")
    print(f"tokens issued       {report['tokens_issued']}  (in the database: {report['tokens_in_database']})")
    print(f"next-session offers {report['next_session_offers']}  (for tomorrow: {report['offers_for_the_next_day']})")
    print(f"duplicates          {report['duplicates']}")
    print(f"gaps                {report['gaps']}")
    print(f"errors              {report['errors']}  {'; '.join(report['error_samples']) if report['errors'] else ''}".rstrip())  # type: ignore[arg-type]
    if report["skipped_at_time_limit"]:
        print(f"not booked          {report['skipped_at_time_limit']} (stopped at the time limit)")
    print(f"result              {'OK' if report['ok'] else 'FAILED'}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    stopper.cancel()
    # Booking threads stuck past the time limit must not keep the process alive.
    if any(thread.name.startswith("book") and thread.is_alive() for thread in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


if __name__ == "__main__":
    sys.exit(main())
