"""The dashboard over a month of consultations: how long its figures and its page take.

    python bench/dashboard_load.py [--database-url URL] [--consultations 300000] [--days 30]
                                   [--renders 10] [--keep] [--time-limit 900]

Seeds a fresh database with the demo OPDs, 200 doctors, 20,000 patients from the states in
the seed's proportions, and N consultations spread over the last --days India days (today
included, 09:00-17:00 IST, outcomes 80% done, 7% referred, 9% no-show, 2% cancelled, 2%
abandoned), plus today's live queue (waiting and called tokens). Rows go in with bulk Core
inserts (many rows per INSERT), not one ORM object at a time.

It then times, --renders times each: building the live figures (bot.services.dashboard.build_live),
the default range's figures (build_range), and rendering the whole page in English and in
Hindi (the view, with its SQL and SVG charts, inside a request context: the operator login
is not what is measured). It prints the median and p95 of each.

The database: a temporary SQLite file by default (removed at the end), or --database-url
(TELEOPD_TEST_DATABASE_URL is not used: the tests' database is left alone). On PostgreSQL
everything goes into a schema of this run's own, dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import cpu_model, hard_stop, percentile, redacted, server_version  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from bot.platform.config import Settings  # noqa: E402
from bot.platform.i18n import Catalogs  # noqa: E402
from bot.runtime import build_services  # noqa: E402
from bot.services.dashboard import build_live, build_range, default_range  # noqa: E402
from bot.services.opds import load_demo  # noqa: E402
from bot.services.reports import IST  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import (  # noqa: E402
    Consultation,
    ConsultationOutcome,
    Doctor,
    DoctorOpd,
    DoctorStatus,
    Opd,
    Patient,
    Person,
    Role,
    Token,
    TokenStatus,
)

BATCH = 5_000
DOCTORS = 200
PATIENTS = 20_000
WAITING_NOW = 400
CALLED_NOW = 60
# The seed's ten states (/work/shared/seeds/000_*.txt) weigh the patients' states; the rest share a tail.
STATE_WEIGHTS = {
    "IN-AP": 4223054, "IN-KA": 2415774, "IN-TN": 1599283, "IN-UP": 1371799, "IN-GJ": 485735, "IN-MP": 447878,
    "IN-BR": 436383, "IN-MH": 403376, "IN-WB": 369441, "IN-UK": 271513, "IN-RJ": 200000, "IN-KL": 150000,
    "IN-OR": 120000, "IN-AS": 90000, "IN-DL": 80000,
}
OUTCOMES = (
    (ConsultationOutcome.DONE, 80), (ConsultationOutcome.REFERRED, 7), (ConsultationOutcome.NO_SHOW, 9),
    (ConsultationOutcome.CANCELLED, 2), (ConsultationOutcome.ABANDONED, 2),
)
TOKEN_STATUS = {
    ConsultationOutcome.DONE: TokenStatus.DONE, ConsultationOutcome.REFERRED: TokenStatus.DONE,
    ConsultationOutcome.NO_SHOW: TokenStatus.NO_SHOW, ConsultationOutcome.CANCELLED: TokenStatus.CANCELLED,
    ConsultationOutcome.ABANDONED: TokenStatus.CANCELLED,
}


def plain_url(given: str) -> str:
    """Return a PostgreSQL URL with the psycopg driver named."""
    return given.replace("postgresql://", "postgresql+psycopg://", 1) if given.startswith("postgresql://") else given


def open_database(given: str | None) -> tuple[Database, str | None, Path | None]:
    """Return the bench database, its PostgreSQL schema (to drop) and its SQLite folder (to remove)."""
    if not given:
        folder = Path(tempfile.mkdtemp(prefix="teleopd-dashboard-"))
        return Database(f"sqlite:///{folder / 'bench.db'}"), None, folder
    url = plain_url(given)
    schema = f"teleopd_bench_dashboard_{os.getpid()}"
    admin = Database(url)
    with admin.engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    separator = "&" if "?" in url else "?"
    return Database(f"{url}{separator}options=-csearch_path%3D{schema}"), schema, None


def drop(url: str, schema: str) -> None:
    """Drop this run's schema, connecting without its search_path."""
    admin = Database(url)
    with admin.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def _bulk(db: Database, table, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
    with db.engine.begin() as connection:
        for start in range(0, len(rows), BATCH):
            connection.execute(insert(table), rows[start : start + BATCH])


def seed(db: Database, consultations: int, days: int, now: dt.datetime, rng: random.Random) -> None:
    """Write the OPDs, doctors, patients, tokens and consultations, in bulk."""
    with db.write() as session:
        load_demo(session)
    with db.read() as session:
        opds = list(session.scalars(select(Opd).order_by(Opd.id)))
    created = now - dt.timedelta(days=days + 1)
    people = [
        {"id": index + 1, "role": Role.DOCTOR if index < DOCTORS else Role.PATIENT, "name": f"Person {index + 1}",
         "language": "hi", "created_at": created}
        for index in range(DOCTORS + PATIENTS)
    ]
    _bulk(db, Person.__table__, people)
    statuses = [DoctorStatus.FREE] * 5 + [DoctorStatus.BUSY] * 3 + [DoctorStatus.PAUSED] + [DoctorStatus.OFFLINE] * 3
    _bulk(db, Doctor.__table__, [
        {"person_id": index + 1, "status": rng.choice(statuses), "languages": "hi,en", "status_at": now - dt.timedelta(minutes=rng.randint(1, 600))}
        for index in range(DOCTORS)
    ])
    _bulk(db, DoctorOpd.__table__, [{"doctor_id": index + 1, "opd_id": opds[index % len(opds)].id} for index in range(DOCTORS)])
    codes, weights = list(STATE_WEIGHTS), list(STATE_WEIGHTS.values())
    patient_states = rng.choices(codes, weights, k=PATIENTS)
    _bulk(db, Patient.__table__, [
        {"person_id": DOCTORS + index + 1, "age": 30, "sex": "f", "state_code": patient_states[index], "district": "X",
         "consent_at": created, "updated_at": created}
        for index in range(PATIENTS)
    ])
    today = now.astimezone(IST).date()
    outcomes, outcome_weights = [o for o, _ in OUTCOMES], [w for _, w in OUTCOMES]
    numbers: dict[tuple[int, dt.date], int] = {}
    tokens: list[dict] = []
    calls: list[dict] = []

    def token_for(opd: Opd, day: dt.date, patient: int, status: str, created_at: dt.datetime, called_at: dt.datetime | None) -> int:
        number = numbers[(opd.id, day)] = numbers.get((opd.id, day), 0) + 1
        token_id = len(tokens) + 1
        tokens.append({
            "id": token_id, "opd_id": opd.id, "day": day, "number": number, "person_id": patient, "status": status,
            "priority": False, "red_flags": [], "intake": {}, "created_at": created_at, "called_at": called_at,
        })
        return token_id

    for index in range(consultations):
        day = today - dt.timedelta(days=index % days)
        opd = opds[rng.randrange(len(opds))]
        called = dt.datetime.combine(day, dt.time(9), IST) + dt.timedelta(seconds=rng.randrange(8 * 3600))
        booked = called - dt.timedelta(seconds=rng.randrange(90 * 60))
        patient = DOCTORS + 1 + rng.randrange(PATIENTS)
        outcome = rng.choices(outcomes, outcome_weights)[0]
        token_id = token_for(opd, day, patient, TOKEN_STATUS[outcome], booked.astimezone(dt.UTC), called.astimezone(dt.UTC))
        calls.append({
            "id": index + 1, "token_id": token_id, "doctor_id": 1 + rng.randrange(DOCTORS), "patient_id": patient,
            "opd_id": opd.id, "room_url": "https://meet.example/bench", "intake": {}, "state_code": patient_states[patient - DOCTORS - 1],
            "called_at": called.astimezone(dt.UTC), "ended_at": (called + dt.timedelta(minutes=8)).astimezone(dt.UTC),
            "outcome": outcome, "notes": "", "advice": "",
        })
    # Today's live queue: patients still waiting, and some called right now.
    for index in range(WAITING_NOW + CALLED_NOW):
        opd = opds[index % len(opds)]
        status = TokenStatus.WAITING if index < WAITING_NOW else TokenStatus.CALLED
        token_for(opd, today, DOCTORS + 1 + index, status, (now - dt.timedelta(minutes=30)).astimezone(dt.UTC),
                  now.astimezone(dt.UTC) if status == TokenStatus.CALLED else None)
    _bulk(db, Token.__table__, tokens)
    _bulk(db, Consultation.__table__, calls)
    if not db.is_sqlite:
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def timed(runs: int, work) -> list[float]:  # type: ignore[no-untyped-def]
    """Return the seconds each of `runs` calls of work() took, sorted."""
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        took.append(time.perf_counter() - started)
    return sorted(took)


def summary(name: str, took: list[float]) -> str:
    return f"{name:<28} median {statistics.median(took) * 1000:8.1f} ms   p95 {percentile(took, 95) * 1000:8.1f} ms   (n={len(took)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--consultations", type=int, default=300_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--renders", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7, help="random seed of the data")
    parser.add_argument("--keep", action="store_true", help="keep the database (schema or file) for a look")
    parser.add_argument("--time-limit", type=float, default=900)
    args = parser.parse_args(argv)
    hard_stop(args.time_limit, "the dashboard bench (its schema or file)")

    db, schema, folder = open_database(args.database_url)
    try:
        upgrade(db.url, db.engine)
        now = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        seed(db, args.consultations, args.days, now, random.Random(args.seed))
        seeded = time.perf_counter() - started
        print(f"database: {redacted(db.url)} ({server_version(db)}); CPU: {cpu_model()}, {os.cpu_count()} cores")
        print(f"seeded {args.consultations:,} consultations over {args.days} days (+{WAITING_NOW + CALLED_NOW} live tokens) in {seeded:.1f} s")

        start, end = default_range(now)
        with db.read() as session:
            figures = build_range(session, start, end)
            live = build_live(session, now)
        print(f"range {start}..{end}: {figures.consultations:,} consultations, {len(figures.states)} states, "
              f"{len(figures.opds)} OPDs; today {live.today.consultations:,}, waiting now {live.waiting}")

        def live_figures() -> None:
            with db.read() as session:
                build_live(session, dt.datetime.now(dt.UTC))

        def range_figures() -> None:
            with db.read() as session:
                build_range(session, start, end)

        from webhooks import create_app
        from webhooks.operators.dashboard import dashboard_page

        services = build_services(Settings(database_url=db.url), db=db, catalogs=Catalogs())
        app = create_app(services)

        def render(lang: str):  # type: ignore[no-untyped-def]
            def page() -> None:
                with app.test_request_context(f"/dashboard?lang={lang}"):
                    html = dashboard_page()
                assert "<svg" in html
            return page

        print(summary("build_live", timed(args.renders, live_figures)))
        print(summary("build_range (30 days)", timed(args.renders, range_figures)))
        print(summary("page, English", timed(args.renders, render("en"))))
        print(summary("page, Hindi", timed(args.renders, render("hi"))))
        return 0
    finally:
        db.dispose()
        if schema and not args.keep:
            drop(plain_url(args.database_url), schema)
        if folder and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
