"""Faults under load: PostgreSQL restarted, a worker killed, providers failing — is every message kept, and sent once?

    python bench/faults.py --scenario pg-restart|worker-kill|provider-faults|all [--json out.json]
                           [--seconds 60] [--concurrency 16] [--notifications 1000] [--port 5544]

Every scenario runs against a PostgreSQL cluster of its own (bench/common.py ThrowawayPostgres:
initdb in a temporary folder, 127.0.0.1:--port), never the shared server at 5432, and removes
it at the end, also on failure or at the time limit.

- pg-restart: gunicorn ('webhooks:create_app()', 2 × 4 threads) and one `teleopd worker`
  against the fakes, and --concurrency patients doing whole journeys through signed Twilio and
  Telegram webhooks (bench/webhook_load.py's Patients). A patient whose message got a non-2xx
  answer or a connection error sends it again after RESEND_PAUSE_S, as Telegram and Twilio
  retry. A quarter of the way in the cluster is restarted `-m immediate` (every connection
  dropped, crash recovery); halfway it is stopped `-m fast` for OUTAGE_S and started again.
- worker-kill: bench/outbound_drain.py --crash (SIGKILL one of two workers 5 s into a drain
  of --notifications, another started; the dead worker's rows come back after the claim timeout).
- provider-faults: bench/outbound_drain.py --chaos (both fakes answer 500 for 5 s, then 429).

Per scenario: accepted (webhooks answered 2xx: distinct provider ids; for the outbound
scenarios, the notifications committed), processed (inbound rows for the run; outbound: rows in
the outbox), due (outbox sends due: message parts and callback acks), delivered (what the fakes
received, counted per recipient up to what was due to them), duplicates (recipients who got
more than was due to them), answers by status code. Exit 0 only when accepted = processed,
due = delivered and duplicates = 0 (and no webhook answered 500).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import webhook_load as load  # noqa: E402
from common import (  # noqa: E402
    ThrowawayPostgres,
    cpu_model,
    load_averages,
    start_fakes,
    start_worker,
)
from sqlalchemy import text  # noqa: E402

from bot.store.db import Database  # noqa: E402

SCENARIOS = ("pg-restart", "worker-kill", "provider-faults")
RESEND_PAUSE_S = 1.0  # Telegram retries a failed webhook within seconds; Twilio's retry is about as quick
OUTAGE_S = 5.0
THINK_S = 1.0  # a patient's pause between an answer and their next message
FINISH_S = 30.0  # after the load: how long a patient keeps resending a message not yet accepted
SCENARIO_LIMIT_S = 120.0


class Phases:
    """Which fault is on, so each answer is counted under the phase it came back in."""

    def __init__(self) -> None:
        self.now = "before"


async def _journeys(base: str, seconds: float, concurrency: int, phases: Phases) -> list[load.Record]:
    """Patients doing journeys, each resending a message until a webhook answers it 2xx (as providers retry)."""
    records: list[load.Record] = []
    patients = iter(load.Patients(base))
    stop_at = time.monotonic() + seconds
    give_up_at = stop_at + FINISH_S

    async def one_patient_at_a_time() -> None:
        patient: load.Patient | None = None
        pending = False  # the last message was not accepted: send it again before anything else
        while time.monotonic() < (give_up_at if pending else stop_at):
            if patient is None or patient.sent == len(patient.messages):
                patient = next(patients)
            await load._post(http, base, patient, time.time(), time.monotonic(), records)
            last = records[-1]  # _post appends just before it returns, with no await in between
            last.phase = phases.now  # type: ignore[attr-defined]
            pending = not 200 <= last.status < 300
            if pending:
                patient.sent -= 1
                await asyncio.sleep(RESEND_PAUSE_S)
            else:
                await asyncio.sleep(THINK_S)

    async with load._client(concurrency) as http:
        await asyncio.gather(*(one_patient_at_a_time() for _ in range(concurrency)))
    return records


def _faults(cluster: ThrowawayPostgres, seconds: float, phases: Phases, events: list[str], started: float) -> None:
    """A quarter of the way in: restart -m immediate; halfway: stop -m fast, OUTAGE_S down, start."""
    def at(fraction: float) -> None:
        time.sleep(max(0.0, started + seconds * fraction - time.monotonic()))

    at(0.25)
    phases.now = "restart"
    cluster.restart("immediate")
    events.append(f"{time.monotonic() - started:.1f} s: restarted -m immediate")
    phases.now = "between"
    at(0.5)
    phases.now = "down"
    cluster.stop("fast")
    events.append(f"{time.monotonic() - started:.1f} s: stopped -m fast")
    time.sleep(OUTAGE_S)
    cluster.start()
    events.append(f"{time.monotonic() - started:.1f} s: started again")
    phases.now = "after"


def pg_restart(cluster: ThrowawayPostgres, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    url = cluster.create_database("faults_webhooks")
    telegram, twilio = start_fakes(False, load.ACCOUNT_SID, load.AUTH_TOKEN)
    port = load._free_port()
    base = f"http://127.0.0.1:{port}"
    env = load.provider_env(port, telegram, twilio, url, 1000)
    processes: list[subprocess.Popen[Any]] = []
    db = Database(url)
    try:
        load.run_teleopd(env, "db", "upgrade")
        load.run_teleopd(env, "demo")
        web = load.start_gunicorn("webhooks:create_app()", port, argparse.Namespace(web_workers=2, threads=4),
                                  env, folder / "gunicorn.log", ROOT)
        processes.append(web)
        processes.append(start_worker(env, folder / "worker.log"))
        load_before = load_averages()
        phases, events = Phases(), []
        faults = threading.Thread(target=_faults, args=(cluster, args.seconds, phases, events, time.monotonic()), daemon=True)
        faults.start()
        records = asyncio.run(_journeys(base, args.seconds, args.concurrency, phases))
        faults.join(timeout=30)
        load_after = load_averages()
        left = load.settle(db, timeout=60)
        report = _webhook_figures(db, records, telegram, twilio)
        alive = {"gunicorn": web.poll() is None, "worker": processes[1].poll() is None}
    finally:
        for process in reversed(processes):
            load.stop_process(process)
        db.dispose()
        telegram.stop()
        twilio.stop()
    report.update({"events": events, "outbox_left_after_settle": left, "processes_alive_at_end": alive,
                   "load": f"{load_before} before, {load_after} after", "patients_at_once": args.concurrency,
                   "seconds": args.seconds})
    report["ok"] = (report["ok"] and left == 0 and all(alive.values()))
    return report


def _webhook_figures(db: Database, records: list[load.Record], telegram: load.Fake, twilio: load.Fake) -> dict[str, Any]:
    """Compare what the webhooks accepted with what was committed, and what was due with what reached the fakes."""
    accepted = {(r.channel, r.provider_id) for r in records if 200 <= r.status < 300}
    sent = {(r.channel, r.provider_id) for r in records}
    with db.read() as session:
        inbound = session.execute(text("SELECT channel, provider_id FROM inbound_messages")).all()
        rows = session.execute(text("SELECT address, kind, status, rendered FROM outbox")).all()
        by_status = dict(session.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all())
    processed = Counter((channel, provider_id) for channel, provider_id in inbound)
    due_to: Counter[str] = Counter()
    acks_due = 0
    for address, kind, status, rendered in rows:
        if status in ("suppressed", "rerouted"):
            continue  # not due here: an opted-out patient, or a copy went by SMS (its own row)
        if kind == "ack":
            acks_due += 1
            continue
        rendered = json.loads(rendered) if isinstance(rendered, str) else (rendered or {})
        due_to[address] += int(rendered.get("parts", 1)) if status in ("sent", "delivered") else 1
    received: Counter[str] = Counter()
    for chat_id, _at, _wall, status in telegram.get("arrivals"):
        if status == 200:
            received[str(chat_id)] += 1
    for to, _from, _at, _wall, status in twilio.get("arrivals"):
        if status == 201:
            received[to] += 1
    acks_received = telegram.get("stats")["answered_callbacks"]
    delivered = sum(min(n, due_to[a]) for a, n in received.items()) + min(acks_received, acks_due)
    duplicated = sorted(a for a, n in received.items() if n > due_to[a])
    due = sum(due_to.values()) + acks_due
    statuses = Counter(str(r.status or "connection error") for r in records)
    by_phase: dict[str, Counter[str]] = {}
    for r in records:
        by_phase.setdefault(r.phase, Counter())[str(r.status or "connection error")] += 1  # type: ignore[attr-defined]
    figures = {
        "scenario": "pg-restart", "requests": len(records), "messages": len(sent),
        "accepted": len(accepted), "processed": sum(processed.values()),
        "accepted_without_row": len(accepted - set(processed)), "rows_never_accepted": len(set(processed) - accepted),
        "rows_more_than_once": sum(1 for n in processed.values() if n > 1),
        "due": due, "delivered": delivered, "recipients": len(due_to), "duplicates": len(duplicated) + (acks_received > acks_due),
        "duplicated_recipients": duplicated[:20], "missing": due - delivered,
        "answers": dict(sorted(statuses.items())), "answers_by_phase": {k: dict(sorted(v.items())) for k, v in by_phase.items()},
        "answers_500": statuses.get("500", 0), "outbox": by_status,
    }
    figures["ok"] = (figures["accepted"] == figures["processed"] and not figures["accepted_without_row"]
                     and figures["due"] == figures["delivered"] and figures["duplicates"] == 0 and figures["answers_500"] == 0)
    return figures


def outbound(cluster: ThrowawayPostgres, args: argparse.Namespace, folder: Path, scenario: str) -> dict[str, Any]:
    """bench/outbound_drain.py --crash or --chaos on a database of the cluster's own; its counts in this form."""
    url = cluster.create_database(f"faults_{scenario.replace('-', '_')}")
    out = folder / f"{scenario}.json"
    flag = "--crash" if scenario == "worker-kill" else "--chaos"
    load_before = load_averages()
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "outbound_drain.py"), flag, "--database-url", url,
                           "--notifications", str(args.notifications), "--json", str(out),
                           "--time-limit", str(SCENARIO_LIMIT_S - 10)],
                          cwd=ROOT, capture_output=True, text=True, timeout=SCENARIO_LIMIT_S)
    if not out.exists():
        raise RuntimeError(f"outbound_drain.py {flag} wrote no report (exit {done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    drain = json.loads(out.read_text())
    channels = drain["channels"]
    queued = sum(c["queued"] for c in channels.values())
    received = sum(c["accepted"] for c in channels.values())
    duplicates = sum(c["duplicates"] for c in channels.values())
    requests = sum(c["requests"] for c in channels.values())
    figures = {
        "scenario": scenario, "accepted": queued, "processed": sum(drain["outbox"].values()),
        "due": queued, "delivered": received - duplicates, "duplicates": duplicates,
        "missing": sum(c["missing"] for c in channels.values()), "unsettled": drain["unsettled"],
        "answers": {"2xx": received, "fault answers (500/429) or failed": requests - received},
        "outbox": drain["outbox"], "drain_seconds": drain["drain_seconds"],
        "load": f"{load_before} before, {load_averages()} after", "notifications": args.notifications,
    }
    if scenario == "worker-kill":
        # A row the dead worker had sent but not yet marked is sent again: at most once, only those rows.
        figures["held_by_killed_worker"] = drain["held_by_killed_worker"]
    # After a SIGKILL, a row the dead worker had sent but not yet marked is sent again once it
    # comes back from the claim (at-least-once): repeats are allowed up to the rows it held.
    allowed = drain.get("held_by_killed_worker", 0) if scenario == "worker-kill" else 0
    figures["ok"] = (figures["accepted"] == figures["processed"] and figures["due"] == figures["delivered"]
                     and duplicates <= allowed and drain["unsettled"] == 0)
    return figures


def print_figures(figures: dict[str, Any]) -> None:
    print(f"{figures['scenario']}: accepted {figures['accepted']}  processed {figures['processed']}  due {figures['due']}  "
          f"delivered {figures['delivered']}  duplicates {figures['duplicates']}  -> {'OK' if figures['ok'] else 'FAILED'}")
    print(f"  answers: {figures['answers']}")
    for key in ("answers_by_phase", "events", "answers_500", "accepted_without_row", "rows_never_accepted", "rows_more_than_once",
                "missing", "outbox_left_after_settle", "processes_alive_at_end", "held_by_killed_worker", "unsettled",
                "outbox", "duplicated_recipients", "load"):
        if key in figures:
            print(f"  {key.replace('_', ' ')}: {figures[key]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=(*SCENARIOS, "all"), required=True)
    parser.add_argument("--seconds", type=float, default=45, help="pg-restart: length of the load")
    parser.add_argument("--concurrency", type=int, default=16, help="pg-restart: patients at once")
    parser.add_argument("--notifications", type=int, default=1000, help="worker-kill, provider-faults: the burst")
    parser.add_argument("--port", type=int, default=5544, help="the throwaway cluster's port")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)

    folder = Path(tempfile.mkdtemp(prefix="teleopd-faults-"))
    cluster = ThrowawayPostgres(args.port)

    def give_up() -> None:  # the time limit: the cluster goes too, whatever the run was doing
        print(f"stopped: over the {SCENARIO_LIMIT_S * len(scenarios):.0f} s limit", file=sys.stderr)
        cluster.remove()
        os._exit(3)

    timer = threading.Timer(SCENARIO_LIMIT_S * len(scenarios) + 30, give_up)
    timer.daemon = True
    timer.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally below removes the cluster
    report: dict[str, Any] = {"benchmark": "faults", "date": dt.datetime.now(dt.UTC).isoformat(timespec="minutes"),
                              "machine": f"{os.cpu_count()} cores, {cpu_model()}", "logs": str(folder), "scenarios": {}}
    try:
        cluster.create()
        for scenario in scenarios:
            figures = pg_restart(cluster, args, folder) if scenario == "pg-restart" else outbound(cluster, args, folder, scenario)
            report["scenarios"][scenario] = figures
            print_figures(figures)
    finally:
        cluster.remove()
        timer.cancel()
    print(f"machine: {report['machine']}; logs in {folder}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if all(f["ok"] for f in report["scenarios"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
