"""A burst of notifications drained through the real adapters, measured at fake providers.

    python bench/outbound_drain.py [--database-url URL] [--notifications 5000] [--workers 2]
                                   [--mix 60,25,15] [--telegram-mps 30] [--whatsapp-mps 20]
                                   [--sms-mps 15] [--no-redis] [--chaos] [--crash]
                                   [--fakes-in-process] [--json out.json] [--time-limit 600]

Starts a fake Telegram Bot API and a fake Twilio REST API on 127.0.0.1 (tests/fakes), each
in a process of its own with its garbage collector off (`python -m tests.fakes.telegram_api
--port 0 --no-gc`): a fake that stalls, for a collection or for the bench's own work,
stamps the requests that queued meanwhile as arriving together, and counts a burst that was
never sent. Everything is read from the fakes over their HTTP controls (/_fake/stats,
/_fake/arrivals, /_fake/fail). --fakes-in-process runs them as threads of this process
instead, as before (for comparison). Then
N `teleopd worker` processes pointed at them through TELEOPD_TELEGRAM_API_URL and
TELEOPD_TWILIO_API_URL, sharing their rate limits through Redis (TELEOPD_REDIS_URL,
127.0.0.1:6379) unless --no-redis. It commits the burst in one transaction — one
notification to each of N distinct patients, split between Telegram, WhatsApp and SMS by
--mix — and waits until every row is settled.

It prints, per channel, what reached the fake: messages accepted, the drain rate while the
backlog lasted as a share of the configured limit (from the arrival times the fake
recorded), the most requests in any sliding 1-second window (the fake's own figure, per
Telegram bot and per Twilio sender, and per Telegram chat), and the duplicates: recipients
who got their notification more than once.

--chaos makes both fakes answer 500 for the first 5 s and 429 (Telegram retry_after 1,
Twilio 20429) for the next 5 s, then recover: every message must still arrive, once.
--crash kills one worker with SIGKILL 5 s into the drain and starts another; with
TELEOPD_CLAIM_TIMEOUT_SECONDS=5 the rows it held are taken over, and a message it had sent
but not yet marked is sent again: those repeats are counted, and must be at most the rows it
held (the rows that came back from a dead worker's claim: `recoveries` ≥ 1).

The database defaults to TELEOPD_TEST_DATABASE_URL, else a temporary SQLite file. It is
migrated first; the run's rows are its own (unique addresses) and are deleted afterwards
unless --keep. Everything stops after --time-limit seconds whatever happens.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402
    Fake,
    cpu_model,
    database_url,
    hard_stop,
    redacted,
    server_version,
    start_fakes,
    start_worker,
)
from sqlalchemy import delete, func, select  # noqa: E402

from bot.store.db import Database  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import Identity, OutboxMessage, OutboxStatus, utcnow  # noqa: E402
from flows.messages import Reply, reply_to_json, sms, t  # noqa: E402

FAKE_START_S = 15

TOKEN = "123456:" + "B" * 35
SECRET = "bench-outbound-secret"  # 16+ characters, as Settings.from_env asks
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "c" * 32
WHATSAPP_FROM = "whatsapp:+14155238886"
SMS_FROM = "+15005550006"
REDIS_URL = "redis://127.0.0.1:6379/0"
SETTLED = (OutboxStatus.SENT, OutboxStatus.DELIVERED, OutboxStatus.FAILED, OutboxStatus.SUPPRESSED, OutboxStatus.REROUTED)
CLEANUP_RESERVE_S = 20


def notification(number: int) -> Reply:
    """Return the push a patient gets when their turn comes (a real catalog message with an SMS form)."""
    return Reply(
        t("Token {number} ({name}): the doctor is calling the patient now.", number=number, name="Bench Patient"),
        kind="push",
        sms=sms("Token {number} ({name}): the doctor is calling the patient now.", number=number, name="Bench Patient"),
    )


def queue_burst(db: Database, run: str, counts: dict[str, int]) -> dict[str, list[str]]:
    """Commit one notification to each of many new patients in one transaction; return the addresses."""
    now = utcnow()
    base = random.randrange(10**8, 9 * 10**8)
    addresses = {
        "telegram": [str(7_000_000_000 + base + i) for i in range(counts["telegram"])],
        "whatsapp": [f"whatsapp:+9199{(base + i) % 10**8:08d}" for i in range(counts["whatsapp"])],
        "sms": [f"+9198{(base + i) % 10**8:08d}" for i in range(counts["sms"])],
    }
    number = 0
    with db.write() as session:
        for channel, items in addresses.items():
            for address in items:
                identity = Identity(
                    channel=channel, address=address, language="hi" if number % 2 else "en", opted_out=False,
                    last_inbound_at=now,  # inside WhatsApp's 24 h window: free-form messages may go
                    phone=address.removeprefix("whatsapp:") if channel != "telegram" else None,
                )
                session.add(identity)
                session.flush()
                number += 1
                session.add(OutboxMessage(
                    identity_id=identity.id, channel=channel, address=address, language=identity.language or "en",
                    kind="push", payload=reply_to_json(notification(number)), due_at=now,
                ))
    return addresses


def unsettled(db: Database, run_ids: tuple[int, int]) -> int:
    with db.read() as session:
        return session.scalar(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.id.between(*run_ids), OutboxMessage.status.not_in(SETTLED))
        ) or 0


def outbox_counts(db: Database, run_ids: tuple[int, int]) -> dict[str, int]:
    with db.read() as session:
        rows = session.execute(
            select(OutboxMessage.status, func.count()).where(OutboxMessage.id.between(*run_ids)).group_by(OutboxMessage.status)
        ).all()
    return {str(status): count for status, count in rows}


def drain_rate(arrivals: list[float]) -> float:
    """Return messages a second between the first and the last arrival."""
    if len(arrivals) < 2:
        return float("nan")
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--notifications", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mix", default="60,25,15", help="percent Telegram,WhatsApp,SMS")
    parser.add_argument("--telegram-mps", type=int, default=30)
    parser.add_argument("--whatsapp-mps", type=int, default=20)
    parser.add_argument("--sms-mps", type=int, default=15)
    parser.add_argument("--no-redis", action="store_true", help="in-process limits (only right with --workers 1)")
    parser.add_argument("--chaos", action="store_true", help="500s, then 429s, then recovery")
    parser.add_argument("--crash", action="store_true", help="SIGKILL one worker mid-drain and start another")
    parser.add_argument("--fakes-in-process", action="store_true", help="run the fakes as threads of this process (as before)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--time-limit", type=float, default=600)
    args = parser.parse_args()
    hard_stop(args.time_limit, "the outbound drain bench")
    deadline = time.monotonic() + args.time_limit - CLEANUP_RESERVE_S

    url, temp_folder = database_url(args.database_url)
    db = Database(url)
    upgrade(url, db.engine)
    shares = [int(x) for x in args.mix.split(",")]
    counts = dict(zip(("telegram", "whatsapp", "sms"), [args.notifications * s // sum(shares) for s in shares]))
    counts["telegram"] += args.notifications - sum(counts.values())
    limits = {"telegram": args.telegram_mps, "whatsapp": args.whatsapp_mps, "sms": args.sms_mps}

    telegram, twilio = start_fakes(args.fakes_in_process, ACCOUNT_SID, AUTH_TOKEN)
    run = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "TELEOPD_DATABASE_URL": url,
        "TELEOPD_TELEGRAM_TOKEN": TOKEN, "TELEOPD_TELEGRAM_SECRET": SECRET, "TELEOPD_TELEGRAM_API_URL": telegram.url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TELEOPD_TWILIO_API_URL": twilio.url,
        "TELEOPD_TWILIO_WHATSAPP_FROM": WHATSAPP_FROM, "TELEOPD_TWILIO_SMS_FROM": SMS_FROM,
        "TELEOPD_PUBLIC_URL": "https://teleopd.bench.invalid",
        "TELEOPD_TELEGRAM_MPS": str(args.telegram_mps), "TELEOPD_TWILIO_WHATSAPP_MPS": str(args.whatsapp_mps),
        "TELEOPD_TWILIO_SMS_MPS": str(args.sms_mps), "TELEOPD_LOG_LEVEL": "WARNING",
        "TELEOPD_CLAIM_TIMEOUT_SECONDS": "5" if args.crash else "300",
    }
    if not args.no_redis:
        env["TELEOPD_REDIS_URL"] = REDIS_URL
        from redis import Redis

        # A namespace of this run's own would need a setting; the keys are short-lived, and a
        # window left by an earlier run only makes this one stricter for a second.
        Redis.from_url(REDIS_URL).ping()
    log_path = Path(temp_folder or Path("/tmp")) / f"outbound-drain-{run}.log"
    workers = [start_worker(env, log_path) for _ in range(args.workers)]
    time.sleep(3.0)  # let the workers start (imports, getMe) so the clock measures the drain

    with db.read() as session:
        first_id = (session.scalar(select(func.max(OutboxMessage.id))) or 0) + 1
    if args.chaos:
        telegram.post("fail", seconds=5.0, status=500)
        twilio.post("fail", seconds=5.0, status=500)
    started = time.monotonic()
    addresses = queue_burst(db, run, counts)
    queued_s = time.monotonic() - started
    with db.read() as session:
        last_id = session.scalar(select(func.max(OutboxMessage.id))) or 0
    run_ids = (first_id, last_id)
    chaos_phase2 = args.chaos
    crashed = 0
    while unsettled(db, run_ids) and time.monotonic() < deadline:
        elapsed = time.monotonic() - started
        if chaos_phase2 and elapsed >= 5.0:
            # Telegram's flood control always says how long to wait (parameters.retry_after).
            telegram.post("fail", count=150, status=429, retry_after=1)
            twilio.post("fail", seconds=5.0, status=429, code=20429)
            chaos_phase2 = False
        if args.crash and not crashed and elapsed >= 5.0:
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            workers[0] = start_worker(env, log_path)
            crashed = 1
        time.sleep(0.2)
    drained_s = time.monotonic() - started
    left = unsettled(db, run_ids)
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()

    report = measure(telegram, twilio, addresses, limits)
    held = recovered(db, run_ids)
    report.update({
        "benchmark": "outbound_drain", "date": dt.date.today().isoformat(), "machine": f"{os.cpu_count()} cores, {cpu_model()}",
        "python": platform.python_version(), "database": f"{redacted(url)} ({server_version(db)})",
        "redis": None if args.no_redis else REDIS_URL, "workers": args.workers, "notifications": args.notifications,
        "mix": counts, "limits": limits, "chaos": args.chaos, "crash": args.crash, "crashes": crashed,
        "queue_seconds": round(queued_s, 2), "drain_seconds": round(drained_s, 2), "unsettled": left,
        "outbox": outbox_counts(db, run_ids), "fakes": "in process" if args.fakes_in_process else "own processes",
        "held_by_killed_worker": held,
    })
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    telegram.stop()
    twilio.stop()
    if not args.keep:
        with db.write() as session:
            session.execute(delete(OutboxMessage).where(OutboxMessage.id.between(*run_ids)))
            for channel, items in addresses.items():
                session.execute(delete(Identity).where(Identity.channel == channel, Identity.address.in_(items)))
    db.dispose()
    if temp_folder is not None:
        shutil.rmtree(temp_folder, ignore_errors=True)
    ok = left == 0 and all(c["missing"] == 0 for c in report["channels"].values())
    ok = ok and all(c["over_limit"] is False for c in report["channels"].values())
    duplicates = sum(c["duplicates"] for c in report["channels"].values())
    ok = ok and duplicates <= (held if args.crash else 0)
    return 0 if ok else 1


def recovered(db: Database, run_ids: tuple[int, int]) -> int:
    """Return how many of the run's rows came back from a dead worker's claim (recover_stale)."""
    with db.read() as session:
        return session.scalar(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.id.between(*run_ids), OutboxMessage.recoveries >= 1)
        ) or 0


def measure(telegram: Fake, twilio: Fake, addresses: dict[str, list[str]], limits: dict[str, int]) -> dict[str, object]:
    """Read what reached the fakes, from their own stats and arrival times: counts, rates, peaks, duplicates."""
    channels: dict[str, dict[str, object]] = {}
    tg_stats, tg_arrivals = telegram.get("stats"), telegram.get("arrivals")
    tg_ok = sorted(at for _, at, _, status in tg_arrivals if status == 200)
    per_chat = Counter({chat: n for chat, n in tg_stats["messages_per_chat"].items()})
    channels["telegram"] = _channel_figures(
        tg_ok, tg_stats["send_requests"], per_chat, set(addresses["telegram"]), limits["telegram"], tg_stats["max_per_second"],
        extra={"max_per_second_per_chat": tg_stats["max_per_second_per_chat"]},
    )
    tw_stats, tw_arrivals = twilio.get("stats"), twilio.get("arrivals")
    for channel, sender in (("whatsapp", WHATSAPP_FROM), ("sms", SMS_FROM)):
        mine = [a for a in tw_arrivals if a[1] == sender]
        ok = sorted(at for _, _, at, _, status in mine if status == 201)
        per_to = Counter(to for to, _, _, _, status in mine if status == 201)
        peak = tw_stats["max_per_second_by_from"].get(sender, 0)
        channels[channel] = _channel_figures(ok, len(mine), per_to, set(addresses[channel]), limits[channel], peak)
    return {"channels": channels}


def _channel_figures(arrivals: list[float], requests: int, per_recipient: Counter[str], wanted: set[str], limit: int,
                     peak: int, extra: dict[str, object] | None = None) -> dict[str, object]:
    rate = drain_rate(arrivals)
    return {
        "queued": len(wanted),
        "accepted": len(arrivals),
        "requests": requests,
        "missing": len(wanted - set(per_recipient)),
        "duplicates": sum(n - 1 for n in per_recipient.values() if n > 1),
        "drain_per_second": round(rate, 2),
        "limit_per_second": limit,
        "share_of_limit": round(rate / limit, 3) if limit else None,
        "max_in_any_second": peak,
        "over_limit": peak > limit,
        **(extra or {}),
    }


def print_report(report: dict[str, object]) -> None:
    print(f"outbound drain: {report['notifications']} notifications, {report['workers']} workers, "
          f"limits {'shared through Redis' if report['redis'] else 'in-process'}, {report['database']}")
    print(f"machine: {report['machine']}; fakes: {report['fakes']}; chaos={report['chaos']} crash={report['crash']}")
    print(f"queued in {report['queue_seconds']} s; drained in {report['drain_seconds']} s; unsettled {report['unsettled']}")
    header = ("channel", "queued", "accepted", "missing", "duplicates", "drain/s", "limit/s", "share", "max in 1 s")
    rows = [header]
    for name, c in report["channels"].items():  # type: ignore[union-attr]
        rows.append((name, str(c["queued"]), str(c["accepted"]), str(c["missing"]), str(c["duplicates"]),
                     str(c["drain_per_second"]), str(c["limit_per_second"]), f"{c['share_of_limit']:.1%}", str(c["max_in_any_second"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))
    tg = report["channels"]["telegram"]  # type: ignore[index]
    print(f"telegram: most to one chat in any second: {tg.get('max_per_second_per_chat')}")
    print(f"outbox rows: {report['outbox']}")
    if report["crash"]:
        duplicates = sum(c["duplicates"] for c in report["channels"].values())  # type: ignore[union-attr]
        print(f"crash: {report['crashes']} worker killed; it held {report['held_by_killed_worker']} rows "
              f"(recovered after the claim timeout); duplicates {duplicates} ≤ {report['held_by_killed_worker']}: "
              f"{'yes' if duplicates <= report['held_by_killed_worker'] else 'NO'}")


if __name__ == "__main__":
    sys.exit(main())
