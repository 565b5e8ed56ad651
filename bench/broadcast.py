"""A broadcast to a large segment, sent while doctors call patients: its rate, duplicates, missing, and the calls' delay.

    python bench/broadcast.py [--database-url URL] [--patients 10000] [--per-second 50]
                              [--calls 40] [--restart-after 20] [--kill] [--time-limit 900] [--json out.json]

Registers --patients opted-in patients on the local web channel (its adapter shows a message at
once, so what is measured is teleopd's own queueing, not a provider), then measures twice, in
this process: the real OutboxWorker and BroadcastSender on their threads, as `teleopd worker`
runs them.

1. Without a broadcast: --calls "the doctor is ready" pushes, one every 0.25 s, each timed
   from its commit to its send (the outbox row's created_at to sent_at).
2. With one: a broadcast to the whole segment at --per-second (TELEOPD_BROADCAST_PER_SECOND),
   and the same calls meanwhile. After --restart-after seconds the sender is stopped mid-way
   and a new one started, as after a worker's restart; it must continue where the first
   stopped. With --kill the sender and the outbox worker run as `teleopd worker` processes
   instead (TELEOPD_CLAIM_TIMEOUT_SECONDS=5), and the first is killed with SIGKILL. That is
   for PostgreSQL, where a commit's NOTIFY wakes the worker; on SQLite it polls every 0.5 s.

It prints the broadcast's rate (recipients over the time from its start to its last send)
against the configured one, the duplicates (recipients sent it more than once) and the
missing (segment members never sent it), the calls' delivery time (median, p95, max) without
and with the broadcast, and the load averages. The database defaults to
TELEOPD_TEST_DATABASE_URL, else a temporary SQLite file; the run's rows stay (use a
throwaway database). Quiet hours are off for the run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402
    database_url,
    load_averages,
    percentile,
    redacted,
    server_version,
    start_worker,
)
from sqlalchemy import func, select  # noqa: E402

from bot.channels.local import LocalChannel  # noqa: E402
from bot.outbox.enqueue import enqueue_reply  # noqa: E402
from bot.outbox.worker import OutboxWorker  # noqa: E402
from bot.platform.i18n import Catalogs  # noqa: E402
from bot.services import broadcasts  # noqa: E402
from bot.services.broadcast_sender import BroadcastSender  # noqa: E402
from bot.store.db import Database  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.models import (  # noqa: E402
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    Identity,
    Operator,
    OutboxMessage,
    OutboxStatus,
    Patient,
    Person,
    Role,
    utcnow,
)
from flows.messages import ByLanguage  # noqa: E402
from flows.steps.visit import get_ready  # noqa: E402

PREFIX = f"bench-bc-{int(time.time())}"


def seed(db: Database, count: int) -> None:
    """Register `count` patients who said yes to advisories, on the web channel, in batches."""
    now = utcnow()
    for start in range(0, count, 1000):
        with db.write() as session:
            for n in range(start, min(count, start + 1000)):
                person = Person(role=Role.PATIENT, name=f"Bench {n}", language="hi" if n % 2 else "en")
                person.patient = Patient(age=30, sex="female", state_code="IN-UP", district="Varanasi", consent_at=now,
                                         advisories_asked_at=now, advisories_opted_in_at=now)
                session.add(Identity(channel=LocalChannel.name, address=f"{PREFIX}-{n}", person=person, last_inbound_at=now))


# Set after each commit that queued a message, as the dispatcher does: the worker sends at once.
WAKE = threading.Event()


def call_patient(db: Database) -> int:
    """Queue "the doctor is ready" to a patient outside the segment; return its outbox id."""
    with db.write() as session:
        identity = session.scalar(select(Identity).where(Identity.address == f"{PREFIX}-caller"))
        if identity is None:
            identity = Identity(channel=LocalChannel.name, address=f"{PREFIX}-caller", language="en")
            session.add(identity)
            session.flush()
        enqueue_reply(session, identity, get_ready(ByLanguage("General Medicine", "सामान्य चिकित्सा"), 7), utcnow())
        db.notify_outbox(session)  # a `teleopd worker` on PostgreSQL wakes at the commit, as after a dispatch
        session.flush()
        queued = int(session.scalar(select(func.max(OutboxMessage.id)).where(OutboxMessage.identity_id == identity.id)))
    WAKE.set()
    return queued


def time_calls(db: Database, calls: int) -> list[float]:
    """Queue calls a quarter of a second apart; return each one's delivery time in ms once all are sent."""
    ids = []
    for _ in range(calls):
        ids.append(call_patient(db))
        time.sleep(0.25)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with db.read() as session:
            rows = session.execute(select(OutboxMessage.created_at, OutboxMessage.sent_at).where(OutboxMessage.id.in_(ids))).all()
        if all(sent is not None for _, sent in rows):
            return sorted((sent - created).total_seconds() * 1000 for created, sent in rows)
        time.sleep(0.1)
    raise SystemExit("the calls were not all sent within a minute")


def figures(label: str, ms: list[float]) -> dict[str, float]:
    shown = {"median_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "max_ms": ms[-1]}
    print(f"  call delivery {label}: median {shown['median_ms']:.0f} ms, p95 {shown['p95_ms']:.0f} ms, max {shown['max_ms']:.0f} ms")
    return shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--per-second", type=int, default=50)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--restart-after", type=float, default=20.0)
    parser.add_argument("--time-limit", type=float, default=900.0)
    parser.add_argument("--kill", action="store_true", help="run `teleopd worker` processes and SIGKILL the first mid-way")
    parser.add_argument("--json")
    args = parser.parse_args()

    url, folder = database_url(args.database_url)
    db = Database(url)
    upgrade(url, db.engine)
    print(f"database: {redacted(url)} ({server_version(db)}); {args.patients} patients; {args.per_second}/s; load {load_averages()}")
    seed(db, args.patients)
    stop = threading.Event()
    env = {**os.environ, "TELEOPD_DATABASE_URL": url, "TELEOPD_BROADCAST_PER_SECOND": str(args.per_second),
           "TELEOPD_QUIET_HOURS": "off", "TELEOPD_CLAIM_TIMEOUT_SECONDS": "5", "TELEOPD_LOG_LEVEL": "WARNING"}
    workers: list[subprocess.Popen[bytes]] = []
    log_path = Path(tempfile.mkdtemp(prefix="teleopd-bench-bc-")) / "workers.log" if args.kill else Path(os.devnull)
    if args.kill:
        print(f"workers' errors: {log_path}")
        workers.append(start_worker(env, log_path))
        time.sleep(3)  # its start (imports, the database) is not a call's delivery time
    else:
        outbox = OutboxWorker(db, Catalogs(), {LocalChannel.name: LocalChannel()})
        threading.Thread(target=outbox.run, args=(stop, WAKE), name="outbox", daemon=True).start()
    results: dict[str, object] = {"patients": args.patients, "per_second": args.per_second}
    try:
        results["without"] = figures("without a broadcast", time_calls(db, args.calls))
        with db.write() as session:
            author = Operator(username=f"{PREFIX}-op", password_hash="-")
            session.add(author)
            session.flush()
            broadcast = broadcasts.create(session, author.id, broadcasts.Segment(), utcnow(), texts={"en": "Bench advisory.", "hi": "बेंच सलाह।"})
            broadcasts.send(session, broadcast.id, author, utcnow(), approval_above=10**9)
            broadcast_id = broadcast.id
        started = time.monotonic()
        sender_stop, restart = threading.Event(), threading.Event()
        if not args.kill:
            sender = BroadcastSender(db, args.per_second, quiet=None, outbox_signal=WAKE)
            first = threading.Thread(target=sender.run, args=(sender_stop,), kwargs={"idle_seconds": 0.1}, daemon=True)
            first.start()
        calls = threading.Thread(target=lambda: results.__setitem__("with", figures("with the broadcast", time_calls(db, args.calls))))
        calls.start()
        time.sleep(args.restart_after)
        if args.kill:
            workers[0].send_signal(signal.SIGKILL)  # the worker dies mid-way, holding whatever it held...
            workers[0].wait()
            workers.append(start_worker(env, log_path))  # ...and a new one takes over
        else:
            sender_stop.set()  # the first sender stops mid-way...
            first.join()
            threading.Thread(target=BroadcastSender(db, args.per_second, quiet=None, outbox_signal=WAKE).run, args=(restart,),
                             kwargs={"idle_seconds": 0.1}, daemon=True).start()  # ...and a new one takes over
        calls.join()
        while time.monotonic() - started < args.time_limit:
            with db.read() as session:
                done = session.get(Broadcast, broadcast_id).status == BroadcastStatus.DONE
                waiting = session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING))))
            if done and not waiting:
                break
            time.sleep(0.5)
        restart.set()
        with db.read() as session:
            sent = session.execute(
                select(Identity.address, OutboxMessage.sent_at)
                .join(OutboxMessage, OutboxMessage.identity_id == Identity.id)
                .join(BroadcastRecipient, BroadcastRecipient.outbox_id == OutboxMessage.id)
                .where(BroadcastRecipient.broadcast_id == broadcast_id, OutboxMessage.sent_at.is_not(None))
            ).all()
            began = session.get(Broadcast, broadcast_id).started_at
        times = sorted(at for _, at in sent)
        per_address = Counter(address for address, _ in sent)
        expected = {f"{PREFIX}-{n}" for n in range(args.patients)}
        # From the moment it was sent (its first advisories are due then) to its last send.
        span = (times[-1] - began).total_seconds() if times else float("nan")
        results.update(
            sent=len(sent), rate_per_s=len(sent) / span if span else float("nan"),
            duplicates=sum(count - 1 for count in per_address.values() if count > 1),
            missing=len(expected - set(per_address)), load=load_averages(),
        )
        print(f"  broadcast: {results['sent']} sent in {span:.1f} s = {results['rate_per_s']:.1f}/s (configured {args.per_second}/s)")
        how = "worker killed (SIGKILL)" if args.kill else "sender stopped"
        print(f"  duplicates {results['duplicates']}, missing {results['missing']} ({how} after {args.restart_after:.0f} s, then restarted)")
        print(f"  load averages {results['load']}")
    finally:
        stop.set()
        for process in workers:
            process.terminate()
            process.wait(timeout=10)
        db.dispose()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0 if results.get("duplicates") == 0 and results.get("missing") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
