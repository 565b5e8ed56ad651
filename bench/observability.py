"""What logging and metrics cost: per log line, per webhook's counters, per /metrics scrape.

Usage:
    .venv/bin/python bench/observability.py [--rows 200000] [--database-url postgresql://…]

Prints microseconds per JSON log line (masked, with its request id), per message's metric
updates (one counter and one histogram observation, as a webhook call makes), and the time of
one scrape's database queries over an outbox of --rows rows (95 % sent, the rest pending or
sending, over three channels) and 50 OPDs. On PostgreSQL it also prints the plans of both
queries (EXPLAIN ANALYZE), in a schema of its own that is dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text  # noqa: E402

from bot.platform.logs import build_handler, log_context  # noqa: E402
from bot.platform.metrics import DatabaseCollector, count_in, observe_webhook  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Identity, Opd, OutboxMessage, utcnow  # noqa: E402

TOKEN = "123456789:AAHd8Qx-Z_kL0pQrStUvWxYz0123456789ab"


def per_call_us(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def log_lines(n: int) -> None:
    log = logging.getLogger("bench.observability")
    log.propagate = False
    log.setLevel(logging.INFO)
    handler = build_handler(io.StringIO(), "json", [TOKEN, "wh_secret-Token42"])
    log.addHandler(handler)
    with log_context(request_id="0123456789abcdef0123456789abcdef"):
        plain = per_call_us(lambda: log.info("identity %s (%s): %s", 42, "telegram", "booked GEN-17"), n)
        phone = per_call_us(lambda: log.info("twilio whatsapp: ignored %s from %s", "SM" + "1" * 32, "whatsapp:+919745786257"), n)
        url = per_call_us(lambda: log.info('HTTP Request: POST https://api.telegram.org/bot%s/sendMessage "HTTP/1.1 200 OK"', TOKEN), n)
        skipped = per_call_us(lambda: log.debug("telegram update %s: %s", 1, "handled"), n)
    print(f"log line, JSON, masked, with request id: {plain:.1f} µs plain, {phone:.1f} µs with a phone, {url:.1f} µs with a bot URL")
    print(f"DEBUG line below the level: {skipped:.2f} µs")


def metric_updates(n: int) -> None:
    def one_message() -> None:
        count_in("telegram", "handled")
        observe_webhook("/webhooks/telegram", 0.004)

    print(f"one message's metrics (counter + histogram): {per_call_us(one_message, n):.2f} µs")


def fill(db: Database, rows: int) -> None:
    now = utcnow()
    with db.write() as session:
        session.execute(insert(Opd), [
            dict(code=f"OPD{i}", specialty="general_medicine", name_en=f"OPD {i}", name_hi=f"ओपीडी {i}",
                 opens_at=dt.time(9), closes_at=dt.time(17), working_days="123456",
                 daily_capacity=100, languages="hi,en", consult_minutes=10, active=True)
            for i in range(50)
        ])
        session.execute(insert(Identity), [dict(channel="telegram", address=str(i)) for i in range(100)])
    ids = [r[0] for r in db.engine.connect().execute(text("SELECT id FROM identities")).all()]
    channels = ("telegram", "whatsapp", "sms")
    batch = []
    for i in range(rows):
        status = "sent" if i % 20 else ("pending" if i % 40 else "sending")
        batch.append(dict(identity_id=ids[i % len(ids)], channel=channels[i % 3], address=str(i % 100), language="en",
                          kind="reply", payload={"text": "x"}, status=status, due_at=now - dt.timedelta(seconds=i % 300)))
        if len(batch) == 5000:
            with db.write() as session:
                session.execute(insert(OutboxMessage), batch)
            batch = []
    if batch:
        with db.write() as session:
            session.execute(insert(OutboxMessage), batch)


def scrape(db: Database, rows: int) -> None:
    collector = DatabaseCollector(db)
    list(collector.collect())  # warm the pool
    times = []
    for _ in range(20):
        start = time.perf_counter()
        families = list(collector.collect())
        times.append(time.perf_counter() - start)
    times.sort()
    depth = sum(s.value for s in families[0].samples)
    print(f"scrape's database gauges over {rows} outbox rows ({depth:.0f} pending or sending): "
          f"median {times[10] * 1000:.2f} ms, worst {times[-1] * 1000:.2f} ms of 20")


def explain(db: Database) -> None:
    from sqlalchemy.dialects import postgresql

    collector_queries = DatabaseCollector.queries(utcnow())
    with db.engine.connect() as connection:
        for name, query in zip(("outbox", "queue"), collector_queries):
            sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            plan = connection.execute(text("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql)).scalars().all()
            print(f"--- EXPLAIN {name}")
            print("\n".join(plan))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL to run the scrape on (default: a temporary SQLite file)")
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    log_lines(args.calls)
    metric_updates(args.calls)
    url = args.database_url or os.environ.get("TELEOPD_TEST_DATABASE_URL")
    schema = None
    if url:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        schema = f"bench_observability_{os.getpid()}"
        admin = Database(url)
        with admin.engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    else:
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"teleopd-bench-obs-{os.getpid()}"
        folder.mkdir()
        url = f"sqlite:///{folder / 'bench.db'}"
    db = Database(url)
    try:
        upgrade(url, db.engine)
        fill(db, args.rows)
        if schema:
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        scrape(db, args.rows)
        if schema:
            explain(db)
    finally:
        db.dispose()
        if schema:
            with admin.engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
