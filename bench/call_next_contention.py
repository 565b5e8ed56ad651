"""Calling the next patient under contention: many doctors pressing NEXT on one queue at once.

    python bench/call_next_contention.py [--database-url URL] [--doctors 10] [--patients 500]
                                         [--json out.json] [--time-limit 120] [--keep]

Creates a fresh round-the-clock OPD with a unique code, N doctors of that OPD (each with a
chat identity) and M registered patients with a waiting token each (one in seven a
red-flag priority token), in the given database. Then all doctors, released together by a
barrier, loop: call the next patient (one db.write() transaction through
DeskRecords.call_next, as the dispatcher does for one "next"), then write advice and finish
(a second transaction through DeskRecords.finish), until nobody waits. A transaction that
raises is counted as an error and the doctor presses NEXT again.

It prints calls per second, the latency of each call (BEGIN to COMMIT) and of each finish,
and checks the log: one consultation per token, no token called twice (duplicates), every
patient called, none left waiting. The same figures go to --json. Exit status 0 only if
all of that holds and no transaction raised.

The database defaults to TELEOPD_TEST_DATABASE_URL, else a temporary SQLite file. It is
migrated to head first (bot.store.migrate.upgrade); nothing is dropped or truncated: the script
deletes only the rows it added (its consultations, tokens, counters, timers and outbox rows,
its doctors and patients, its OPD), unless --keep. Do not point it at a database a running
`teleopd serve`/`teleopd worker` uses: that worker would try to send the run's pushed
messages and fire its timers. Everything stops after --time-limit seconds whatever happens.
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
from collections import Counter
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

from bot.outbox.enqueue import apply_notices  # noqa: E402
from bot.services.booking import BookingRecords  # noqa: E402
from bot.services.desk import DeskRecords  # noqa: E402
from bot.services.enrolment import add_doctor  # noqa: E402
from bot.services.opds import OpdSpec, upsert_opd  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import (  # noqa: E402
    Consultation,
    Identity,
    Opd,
    OpdDay,
    OutboxMessage,
    Patient,
    Person,
    Role,
    Timer,
    Token,
    TokenStatus,
)
from flows.ports import (
    Intake,  # noqa: E402
    VisitOutcome,  # noqa: E402
)
from flows.steps import visit  # noqa: E402

CHANNEL = "bench"
CLEANUP_RESERVE_S = 15  # of the time limit, kept for checking and cleaning up
VIDEO_BASE_URL = "https://meet.jit.si/"
INTAKE = Intake(text="bukhar aur khansi, 3 din se", symptoms=("fever", "cough"), duration_days=3)
PRIORITY_EVERY = 7  # one patient in seven has a red-flag token
MAX_ERRORS_PER_DOCTOR = 50  # a doctor whose transactions keep failing stops


@dataclass
class Run:
    code: str
    now: dt.datetime
    opd_id: int = 0
    person_ids: list[int] = field(default_factory=list)  # doctors and patients
    identity_ids: list[int] = field(default_factory=list)  # doctors' and patients'
    doctor_identity_ids: list[int] = field(default_factory=list)


def create(db: Database, run: Run, doctors: int, patients: int) -> None:
    """Add the run's OPD, its doctors (each with a chat identity) and its waiting patients."""
    with db.write() as session:
        spec = OpdSpec(run.code, f"Bench {run.code}", f"बेंच {run.code}", "general_medicine", "24h", "all", max(patients, 1))
        opd = upsert_opd(session, spec)
        run.opd_id = opd.id
        for i in range(doctors):
            person, _ = add_doctor(session, f"Bench doctor {i}", [opd], now=run.now)
            identity = Identity(channel=CHANNEL, address=f"{run.code.lower()}-doctor-{i}", person_id=person.id, language="en", opted_out=False, created_at=run.now)
            session.add(identity)
            session.flush()
            run.person_ids.append(person.id)
            run.identity_ids.append(identity.id)
            run.doctor_identity_ids.append(identity.id)
    batch = 250
    for start in range(0, patients, batch):
        with db.write() as session:
            for i in range(start, min(start + batch, patients)):
                person = Person(role=Role.PATIENT, name=f"Bench patient {i}", phone=f"+9191{i:08d}", language="hi")
                person.patient = Patient(age=20 + i % 60, sex="female" if i % 2 else "male", state_code="IN-BR", district="Gaya", consent_at=run.now)
                identity = Identity(channel=CHANNEL, address=f"{run.code.lower()}-patient-{i}", person=person, language="hi", opted_out=False, created_at=run.now)
                session.add(identity)
                session.flush()
                run.identity_ids.append(identity.id)
                run.person_ids.append(person.id)
                result = BookingRecords(session, identity, run.now).book(run.opd_id, None, INTAKE, priority=i % PRIORITY_EVERY == 0)
                if result.token is None:
                    raise RuntimeError(f"setup: patient {i} got no token ({result.outcome})")


def cleanup(db: Database, run: Run) -> None:
    """Delete exactly the rows this run added."""
    with db.write() as session:
        if run.opd_id:
            session.execute(delete(Consultation).where(Consultation.opd_id == run.opd_id))
            session.execute(delete(Token).where(Token.opd_id == run.opd_id))
            session.execute(delete(OpdDay).where(OpdDay.opd_id == run.opd_id))
        for start in range(0, len(run.identity_ids), 1000):
            chunk = run.identity_ids[start : start + 1000]
            session.execute(delete(Timer).where(Timer.identity_id.in_(chunk)))
            session.execute(delete(OutboxMessage).where(OutboxMessage.identity_id.in_(chunk)))
            session.execute(delete(Identity).where(Identity.channel == CHANNEL, Identity.id.in_(chunk)))
        for start in range(0, len(run.person_ids), 1000):
            # Cascades to the patients, doctors, their OPD links and enrolment codes.
            session.execute(delete(Person).where(Person.id.in_(run.person_ids[start : start + 1000])))
        if run.opd_id:
            session.execute(delete(Opd).where(Opd.id == run.opd_id, Opd.code == run.code))


def describe(exc: Exception) -> str:
    """Return one line naming the error, the driver's own where SQLAlchemy wraps one."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).splitlines() or [""])[0][:160]
    return f"{type(cause).__module__}.{type(cause).__name__}: {first}"


@dataclass
class Measured:
    calls: list[tuple[int, int, float]] = field(default_factory=list)  # (doctor identity, consultation id, seconds)
    finishes: list[float] = field(default_factory=list)
    empty_calls: int = 0  # NEXT with nobody waiting (each doctor's last)
    errors: list[str] = field(default_factory=list)
    stopped_at_time_limit: int = 0
    wall: float = 0.0


def work(db: Database, run: Run, deadline: float) -> Measured:
    """Every doctor calls and finishes, all at once, until nobody waits."""
    measured = Measured()
    lock = threading.Lock()
    gate = threading.Barrier(len(run.doctor_identity_ids) + 1)

    def doctor(identity_id: int) -> None:
        gate.wait()
        failures = 0
        unfinished: int | None = None  # a call whose finish failed: NEXT hands it back
        while True:
            if time.monotonic() > deadline:
                with lock:
                    measured.stopped_at_time_limit += 1
                return
            began = time.perf_counter()
            try:
                with db.write() as session:
                    now = dt.datetime.now(dt.UTC)
                    desk = DeskRecords(session, session.get(Identity, identity_id), now, VIDEO_BASE_URL)  # type: ignore[arg-type]
                    view = desk.call_next()
                    # The notices the flow's turn returns, carried out as the dispatcher does.
                    apply_notices(session, visit.called_notices(view, now) if view is not None else [], now)
                    called = view.id if view is not None else None
            except Exception as exc:  # counted, then NEXT again: a call must not fail
                failures += 1
                with lock:
                    measured.errors.append(f"call: {describe(exc)}")
                if failures >= MAX_ERRORS_PER_DOCTOR:
                    return
                continue
            elapsed = time.perf_counter() - began
            if called is None:
                with lock:
                    measured.empty_calls += 1
                return
            if called != unfinished:
                with lock:
                    measured.calls.append((identity_id, called, elapsed))
            began = time.perf_counter()
            try:
                with db.write() as session:
                    now = dt.datetime.now(dt.UTC)
                    desk = DeskRecords(session, session.get(Identity, identity_id), now, VIDEO_BASE_URL)  # type: ignore[arg-type]
                    desk.write("Rest and drink plenty of fluids.", private=False)
                    ended = desk.finish(VisitOutcome.DONE)
                    if ended is None:
                        raise RuntimeError("finish found no consultation open")
                    apply_notices(session, visit.ended_notices(ended, VisitOutcome.DONE), now)
            except Exception as exc:
                failures += 1
                with lock:
                    measured.errors.append(f"finish: {describe(exc)}")
                if failures >= MAX_ERRORS_PER_DOCTOR:
                    return
                unfinished = called  # call_next hands it back; it is finished next time
                continue
            unfinished = None
            with lock:
                measured.finishes.append(time.perf_counter() - began)

    pool = ThreadPoolExecutor(len(run.doctor_identity_ids), thread_name_prefix="doctor")
    futures = [pool.submit(doctor, identity_id) for identity_id in run.doctor_identity_ids]
    gate.wait()
    began = time.perf_counter()
    done, pending = wait(futures, timeout=max(0.0, deadline - time.monotonic()) + 5, return_when=FIRST_EXCEPTION)
    measured.wall = time.perf_counter() - began
    for future in done:
        if future.exception() is not None:
            measured.errors.append(f"worker: {future.exception()!r}")
    if pending:
        measured.errors.append(f"{len(pending)} doctor threads still running at the time limit")
    pool.shutdown(wait=False, cancel_futures=True)
    return measured


def check(db: Database, run: Run, measured: Measured) -> dict[str, object]:
    """Read back the log: a consultation per token, none twice, nobody left waiting or open."""
    with db.read() as session:
        rows = session.execute(select(Consultation.id, Consultation.token_id, Consultation.patient_id, Consultation.outcome).where(Consultation.opd_id == run.opd_id)).all()
        tokens = session.execute(select(Token.id, Token.status, Token.priority).where(Token.opd_id == run.opd_id)).all()
    per_token = Counter(token_id for _, token_id, _, _ in rows)
    called_ids = [consultation_id for _, consultation_id, _ in measured.calls]
    statuses = Counter(status for _, status, _ in tokens)
    return {
        "tokens": len(tokens),
        "consultations_in_log": len(rows),
        # A token in two consultations (the unique index forbids it; counted in case it does not).
        "duplicates": sum(n - 1 for n in per_token.values() if n > 1),
        # The same consultation handed to two doctors' calls.
        "duplicate_calls": len(called_ids) - len(set(called_ids)),
        "tokens_never_called": len(tokens) - len(per_token),
        "patients_called": len({patient for _, _, patient, _ in rows}),
        "still_waiting": statuses.get(TokenStatus.WAITING, 0),
        "left_open": sum(1 for _, _, _, outcome in rows if outcome is None),
        "token_statuses": dict(statuses),
    }


def latency(values: list[float]) -> dict[str, float | None]:
    ms = sorted(v * 1000 for v in values)
    return {
        "p50": round(percentile(ms, 50), 2),
        "p95": round(percentile(ms, 95), 2),
        "p99": round(percentile(ms, 99), 2),
        "max": round(ms[-1], 2) if ms else None,
        "mean": round(statistics.fmean(ms), 2) if ms else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", help="default: TELEOPD_TEST_DATABASE_URL, else a temporary SQLite file")
    parser.add_argument("--doctors", type=int, default=10)
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds before everything stops (default 120)")
    parser.add_argument("--keep", action="store_true", help="leave the run's rows in the database")
    args = parser.parse_args(argv)
    if args.doctors < 1 or args.patients < 1 or args.time_limit <= CLEANUP_RESERVE_S:
        parser.error(f"--doctors and --patients must be at least 1, --time-limit above {CLEANUP_RESERVE_S}")

    started = time.monotonic()
    run = Run(code=f"CALL-{uuid.uuid4().hex[:10].upper()}", now=dt.datetime.now(dt.UTC))

    stopper = hard_stop(args.time_limit, f"OPD {run.code}")

    url, temp_folder = database_url(args.database_url)
    db = Database(url, pool_size=args.doctors, max_overflow=4)
    report: dict[str, object] = {}
    status = 1
    try:
        upgrade(url, db.engine)
        setup_began = time.perf_counter()
        create(db, run, args.doctors, args.patients)
        setup_s = time.perf_counter() - setup_began
        deadline = started + args.time_limit - CLEANUP_RESERVE_S
        measured = work(db, run, deadline)
        found = check(db, run, measured)
        calls = len(measured.calls)
        per_doctor = Counter(identity for identity, _, _ in measured.calls)
        report = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": redacted(url) if temp_folder is None else "temporary SQLite file",
            "server": server_version(db),
            "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version()},
            "opd_code": run.code,
            "doctors": args.doctors,
            "patients": args.patients,
            "setup_seconds": round(setup_s, 2),
            "seconds": round(measured.wall, 3),
            "calls": calls,
            "calls_per_second": round(calls / measured.wall, 1) if measured.wall else None,
            "call_latency_ms": latency([seconds for _, _, seconds in measured.calls]),
            "finish_latency_ms": latency(measured.finishes),
            "calls_per_doctor": {"min": min(per_doctor.values(), default=0), "max": max(per_doctor.values(), default=0)},
            "errors": len(measured.errors),
            "error_kinds": dict(Counter(measured.errors)),
            "error_samples": sorted(set(measured.errors))[:5],
            "stopped_at_time_limit": measured.stopped_at_time_limit,
            **found,
        }
        ok = (
            not measured.errors
            and not measured.stopped_at_time_limit
            and found["duplicates"] == 0
            and found["duplicate_calls"] == 0
            and found["tokens_never_called"] == 0
            and found["still_waiting"] == 0
            and found["left_open"] == 0
            and found["consultations_in_log"] == args.patients == calls
            and found["patients_called"] == args.patients
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

    call_ms, finish_ms = report["call_latency_ms"], report["finish_latency_ms"]
    assert isinstance(call_ms, dict) and isinstance(finish_ms, dict)
    print(f"database            {report['database']} ({report['server']})")
    print(f"machine             {report['machine']['nproc']} CPUs, {report['machine']['cpu']}")  # type: ignore[index]
    print(f"run                 {args.doctors} doctors, {args.patients} waiting patients, OPD {run.code}")
    print(f"calls/s             {report['calls_per_second']}  ({report['calls']} calls and finishes in {report['seconds']} s)")
    print(f"call latency ms     p50 {call_ms['p50']}  p95 {call_ms['p95']}  p99 {call_ms['p99']}  max {call_ms['max']}")
    print(f"finish latency ms   p50 {finish_ms['p50']}  p95 {finish_ms['p95']}  p99 {finish_ms['p99']}  max {finish_ms['max']}")
    print(f"consultations       {report['consultations_in_log']}  (patients called: {report['patients_called']}, never called: {report['tokens_never_called']})")
    print(f"duplicates          {report['duplicates']}  (same call to two doctors: {report['duplicate_calls']})")
    print(f"errors              {report['errors']}  {report['error_kinds'] if report['errors'] else ''}".rstrip())
    if report["stopped_at_time_limit"]:
        print(f"stopped             {report['stopped_at_time_limit']} doctors at the time limit")
    print(f"result              {'OK' if report['ok'] else 'FAILED'}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", "utf-8")
    stopper.cancel()
    # Doctor threads stuck past the time limit must not keep the process alive.
    if any(thread.name.startswith("doctor") and thread.is_alive() for thread in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


if __name__ == "__main__":
    sys.exit(main())
