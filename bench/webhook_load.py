"""Simulated patients registering and booking through the webhooks, under gunicorn, against fake providers.

    python bench/webhook_load.py [--database-url URL] [--web-workers 2] [--threads 4] [--workers 1]
                                 [--concurrency 32] [--seconds 30] [--rate 200] [--rate-seconds 20]
                                 [--think 3] [--messages N] [--memory] [--sqlite] [--no-minimal]
                                 [--profile DIR] [--json out.json] [--keep] [--time-limit 900]

Starts a fake Telegram Bot API and a fake Twilio REST API, each in a process of its own
(bench/common.py `start_fakes`), makes a PostgreSQL schema of this run's own in the database
(`--database-url`, else TELEOPD_TEST_DATABASE_URL), runs `teleopd db upgrade` and `teleopd
demo` there (the demo OPDs, so journeys can book), then gunicorn with 'webhooks:create_app()'
(gthread, --web-workers × --threads) and --workers `teleopd worker` processes, with every
provider URL pointed at the fakes. Patients do the whole journey of
tests/test_channels_end_to_end.py — language, consent, name, age, sex, state, district,
mobile number (a shared contact on Telegram), confirmation, symptoms, for whom, since when,
severity, booking — half over Telegram (English, buttons pressed as callback queries, the
secret header) and half over WhatsApp (Hindi, numbered answers, forms signed with twilio's
RequestValidator). One patient's messages go one at a time: the next only after the webhook
answered the last; different patients go concurrently. Bodies and signatures are made before
the clock starts; the load is driven by aiohttp on one asyncio loop.

Figures, all in one run:
- floor: bench/minimal_endpoint.py under the same gunicorn settings (signature check + one
  committed row in a table of its own), driven closed-loop by the same WhatsApp load at the
  same concurrency: messages/s. Skipped with --no-minimal.
- sustained: closed loop at --concurrency for --seconds (or --messages): messages/s, and
  full/minimal as a ratio.
- offered rate: open loop at --rate messages/s for --rate-seconds; each patient waits --think
  seconds (default 8) after an answer before the next message: a person reads and types,
  and Telegram takes one message a second in one chat, so a patient answering a three-part
  reply within 3 s would measure Telegram's pacing of the last reply, not teleopd. Webhook latency p50/p95/p99/max, from the time a
  message was due to be sent to its answer (so a stalled server is not hidden), and
  inbound→reply latency p50/p95/p99: from that time to the arrival at the fake of the first
  message of that inbound's reply (the outbox rows of each inbound, in order, matched to
  what reached the fake for that chat or number, in arrival order).
- --memory: RSS (VmRSS) of every gunicorn worker and of each `teleopd worker` every few
  seconds of the sustained run, as a series by messages sent (use with --messages 100000);
  and of the offered rate, with the outbox rows queued beside each sample (use with a rate the
  machine carries and --rate-seconds long enough for 100,000 messages: a steady load, where
  neither should grow).
- --sqlite: instead of all that, `teleopd serve` (waitress + the in-process worker, the
  embedded default) on a temporary SQLite file, and its sustained messages/s.
- --profile DIR: py-spy records each gunicorn worker and each worker (with --sqlite: `teleopd serve`) during the sustained run
  (speedscope files in DIR).

The provider send limits are raised (--provider-mps, default 1000) so the outbound side
measures teleopd, not Telegram's 30 a second (bench/outbound_drain.py measures the limits);
Telegram's one message a second per chat stays. Everything the run made lives in its schema
(or temporary SQLite file), dropped at the end unless --keep. Everything stops after
--time-limit seconds whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402
    Fake,
    cpu_model,
    database_url,
    die_with_parent,
    hard_stop,
    load_averages,
    redacted,
    server_version,
    start_fakes,
    start_worker,
    teleopd_command,
)
from sqlalchemy import text  # noqa: E402
from webhook_load_drive import _client, _post, closed_loop, open_loop  # noqa: E402, F401  (bench/faults.py uses some as load.<name>)
from webhook_load_figures import (  # noqa: E402
    MemorySampler,
    backlog,
    cpu_seconds,
    cpu_split,
    growth,
    queued,
    reply_latencies,
    settle,
    start_profiles,
    throughput,
)
from webhook_load_patients import (  # noqa: E402, F401  (bench/faults.py uses some as load.<name>)
    ACCOUNT_SID,
    AUTH_TOKEN,
    SECRET,
    SMS_FROM,
    TOKEN,
    WHATSAPP_FROM,
    Patient,
    Patients,
    Record,
)
from webhook_load_processes import (  # noqa: E402
    _free_port,
    _wait_http,
    children,
    run_teleopd,
    start_gunicorn,
    stop_process,
    with_schema,
)

from bot.store.db import Database  # noqa: E402

# --- the run ----------------------------------------------------------------------------


def provider_env(port: int, telegram: Fake, twilio: Fake, url: str, mps: int) -> dict[str, str]:
    return {
        **os.environ,
        "TELEOPD_DATABASE_URL": url, "TELEOPD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "TELEOPD_TELEGRAM_TOKEN": TOKEN, "TELEOPD_TELEGRAM_SECRET": SECRET, "TELEOPD_TELEGRAM_API_URL": telegram.url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TELEOPD_TWILIO_API_URL": twilio.url,
        "TELEOPD_TWILIO_WHATSAPP_FROM": WHATSAPP_FROM, "TELEOPD_TWILIO_SMS_FROM": SMS_FROM,
        "TELEOPD_TELEGRAM_MPS": str(mps), "TELEOPD_TWILIO_WHATSAPP_MPS": str(mps), "TELEOPD_TWILIO_SMS_MPS": str(mps),
        "TELEOPD_LOG_LEVEL": "WARNING",
    }


def run_sqlite(args: argparse.Namespace, telegram: Fake, twilio: Fake, report: dict[str, Any], folder: Path) -> None:
    """`teleopd serve` on a temporary SQLite file: sustained messages/s of the embedded default."""
    url = f"sqlite:///{folder / 'webhook-load.db'}"
    port = _free_port()
    env = provider_env(port, telegram, twilio, url, args.provider_mps)
    log = folder / "serve.log"
    run_teleopd(env, "db", "upgrade")
    run_teleopd(env, "demo")
    serve = subprocess.Popen(teleopd_command("serve", "--port", str(port)), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=log.open("ab"), preexec_fn=die_with_parent)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", serve, log)
        base = f"http://127.0.0.1:{port}"
        report["load_before"] = load_averages()
        roles = {"serve": [serve.pid], "fakes": [f.process.pid for f in (telegram, twilio) if f.process is not None], "bench": [os.getpid()]}
        cpu_before, cpu_started = cpu_seconds(roles), time.monotonic()
        profiles = start_profiles({"serve": serve.pid}, args.seconds, args.profile) if args.profile else []
        records, elapsed = asyncio.run(closed_loop(base, iter(Patients(base)), args.concurrency, args.seconds, args.messages,
                                                   telegram_gap=args.telegram_gap))
        report["cpu_cores_sustained"] = cpu_split(cpu_before, cpu_seconds(roles), time.monotonic() - cpu_started)
        for profile in profiles:
            profile.wait(timeout=60)
        report["sustained"] = throughput(records, elapsed)
        report["load_after"] = load_averages()
        db = Database(url)
        report["outbox_left_after_settle"] = settle(db)
        db.dispose()
    finally:
        stop_process(serve)
    report["database"] = f"SQLite file ({server_version_sqlite()})"
    report["server"] = "teleopd serve (waitress, 8 threads, in-process worker)"


def server_version_sqlite() -> str:
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


def run_postgres(args: argparse.Namespace, telegram: Fake, twilio: Fake, report: dict[str, Any], folder: Path) -> None:
    """The floor, then the full path: sustained, then at an offered rate; memory and profiles if asked."""
    base_url, _ = database_url(args.database_url)
    if not base_url.startswith("postgresql"):
        raise SystemExit("the gunicorn run needs PostgreSQL (--database-url or TELEOPD_TEST_DATABASE_URL); --sqlite runs teleopd serve")
    schema = f"bench_webhook_{uuid.uuid4().hex[:8]}"
    admin = Database(base_url)
    with admin.engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = with_schema(base_url, schema)
    db = Database(url)
    report["database"] = f"{redacted(base_url)} schema {schema} ({server_version(db)})"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = provider_env(port, telegram, twilio, url, args.provider_mps)
    processes: list[subprocess.Popen[Any]] = []
    try:
        run_teleopd(env, "db", "upgrade")
        report["demo"] = run_teleopd(env, "demo")
        if not args.no_minimal:
            report["minimal"] = run_minimal(args, env, db, url, port, folder)
        log = folder / "gunicorn.log"
        web = start_gunicorn("webhooks:create_app()", port, args, env, log, ROOT)
        processes.append(web)
        workers = [start_worker(env, folder / "worker.log") for _ in range(args.workers)]
        processes += workers
        patients = iter(Patients(base))
        # Warm up: imports, connections, catalogs, getMe, in every process.
        asyncio.run(closed_loop(base, patients, args.concurrency, 3.0, None))
        settle(db)
        sampler = MemorySampler(web.pid, [w.pid for w in workers], args.sample_seconds) if args.memory else None
        profiles = []
        if args.profile:
            pids = {f"web-{pid}": pid for pid in children(web.pid)} | {f"worker-{w.pid}": w.pid for w in workers}
            profiles = start_profiles(pids, args.seconds, args.profile)
        report["load_before_sustained"] = load_averages()
        seconds = args.seconds if args.messages is None else 10**9
        # Where the two cores went: the web tier, the outbox worker, PostgreSQL, the fakes, this driver.
        roles = {"web": [web.pid, *children(web.pid)], "worker": [w.pid for w in workers],
                 "fakes": [f.process.pid for f in (telegram, twilio) if f.process is not None], "bench": [os.getpid()]}
        cpu_before, cpu_started = cpu_seconds(roles), time.monotonic()
        records, elapsed = asyncio.run(closed_loop(base, patients, args.concurrency, seconds, args.messages,
                                                   sampler.watch if sampler else None, telegram_gap=args.telegram_gap))
        report["cpu_cores_sustained"] = cpu_split(cpu_before, cpu_seconds(roles), time.monotonic() - cpu_started)
        report["load_after_sustained"] = load_averages()
        report["sustained"] = throughput(records, elapsed)
        report["outbox_queued_at_end_of_sustained"] = backlog(db)
        for profile in profiles:
            profile.wait(timeout=60)
        if sampler is not None:
            sampler.sample(len(records), elapsed)
            report["memory"] = {"series": sampler.summary(), "growth_from_quarter": growth(sampler.series, len(records))}
        waited: dict[str, float] = {}
        report["outbox_left_after_sustained"] = settle(db, waited=waited)
        report["outbox_emptied_after_sustained_s"] = waited.get("seconds")
        if args.rate:
            report["load_before_rate"] = load_averages()
            # At an offered rate the memory series carries the backlog too: does either grow while the load holds steady?
            rate_sampler = MemorySampler(web.pid, [w.pid for w in workers], args.sample_seconds, lambda: queued(db)) if args.memory else None
            records, elapsed = asyncio.run(open_loop(base, iter(Patients(base)), args.rate, args.rate_seconds, args.think,
                                                     rate_sampler.watch if rate_sampler else None))
            report["load_after_rate"] = load_averages()
            if rate_sampler is not None:
                rate_sampler.sample(len(records), elapsed)
                report["memory_rate"] = {"series": rate_sampler.summary(), "growth_from_quarter": growth(rate_sampler.series, len(records))}
            offered = throughput(records, elapsed)
            offered.update({"offered_per_second": args.rate, "think_seconds": args.think,
                            "generator_lag_p99_ms": open_loop.generator_lag_p99_ms})  # type: ignore[attr-defined]
            report["outbox_queued_at_end_of_rate"] = backlog(db)
            waited = {}
            report["outbox_left_after_rate"] = settle(db, waited=waited)
            report["outbox_emptied_after_rate_s"] = waited.get("seconds")
            offered["reply"] = reply_latencies(db, records, telegram, twilio)
            report["offered"] = offered
    finally:
        for process in reversed(processes):
            stop_process(process)
        db.dispose()
        if not args.keep:
            with admin.engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
    if "minimal" in report and report["minimal"]["messages_per_second"]:
        report["full_over_minimal"] = round(report["sustained"]["messages_per_second"] / report["minimal"]["messages_per_second"], 3)


def run_minimal(args: argparse.Namespace, env: dict[str, str], db: Database, url: str, port: int, folder: Path) -> dict[str, Any]:
    """bench/minimal_endpoint.py under the same gunicorn settings, driven by the same WhatsApp load."""
    table = "minimal_inbound"
    with db.write() as session:
        session.execute(text(f"CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, message_sid VARCHAR(40) UNIQUE NOT NULL, "
                             "sender VARCHAR(100) NOT NULL, body TEXT NOT NULL, received_at TIMESTAMPTZ NOT NULL DEFAULT now())"))
    base = f"http://127.0.0.1:{port}"
    minimal_env = {**env, "MINIMAL_DATABASE_URL": url, "MINIMAL_TABLE": table, "MINIMAL_PUBLIC_URL": base}
    log = folder / "minimal.log"
    process = start_gunicorn("minimal_endpoint:create_app()", port, args, minimal_env, log, ROOT / "bench")
    try:
        maker = Patients(base)
        whatsapp_only = iter(maker.whatsapp, None)
        asyncio.run(closed_loop(base, whatsapp_only, args.concurrency, 3.0, None))  # warm up
        load = load_averages()
        roles = {"web": [process.pid, *children(process.pid)], "bench": [os.getpid()]}
        cpu_before, cpu_started = cpu_seconds(roles), time.monotonic()
        records, elapsed = asyncio.run(closed_loop(base, whatsapp_only, args.concurrency, min(args.seconds, 30), None))
        split = cpu_split(cpu_before, cpu_seconds(roles), time.monotonic() - cpu_started)
    finally:
        stop_process(process)
    with db.read() as session:
        rows = session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    figures = throughput(records, elapsed)
    figures.update({"rows": rows, "load_before": load, "cpu_cores": split})
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (default 2: one per core)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--workers", type=int, default=1, help="teleopd worker processes (default 1)")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight in the closed loop")
    parser.add_argument("--telegram-gap", type=float, default=2.0,
                        help="closed loop: least seconds between one Telegram patient's messages (0: as soon as answered)")
    parser.add_argument("--seconds", type=float, default=30, help="length of the sustained run")
    parser.add_argument("--messages", type=int, help="run the sustained mode for this many messages instead")
    parser.add_argument("--rate", type=float, default=200, help="offered messages/s of the open loop (0: skip)")
    parser.add_argument("--rate-seconds", type=float, default=20)
    parser.add_argument("--think", type=float, default=8.0, help="seconds a patient takes to answer, from the webhook's answer (open loop)")
    parser.add_argument("--provider-mps", type=int, default=1000, help="send limits given to teleopd for every channel")
    parser.add_argument("--memory", action="store_true", help="sample RSS during the sustained run and the offered rate (with the backlog)")
    parser.add_argument("--sample-seconds", type=float, default=5)
    parser.add_argument("--sqlite", action="store_true", help="teleopd serve on SQLite instead (sustained only)")
    parser.add_argument("--no-minimal", action="store_true")
    parser.add_argument("--profile", type=Path, help="py-spy speedscope files of every process into this folder")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the run's schema")
    parser.add_argument("--time-limit", type=float, default=900)
    args = parser.parse_args()
    hard_stop(args.time_limit, "the webhook load bench (its schema bench_webhook_*)")

    folder = Path(tempfile.mkdtemp(prefix="teleopd-webhook-load-"))
    telegram, twilio = start_fakes(False, ACCOUNT_SID, AUTH_TOKEN)
    report: dict[str, Any] = {
        "benchmark": "webhook_load", "date": dt.datetime.now(dt.UTC).isoformat(timespec="minutes"),
        "machine": f"{os.cpu_count()} cores, {cpu_model()}", "python": platform.python_version(),
        "gunicorn": f"gthread, {args.web_workers} workers x {args.threads} threads", "workers": args.workers,
        "concurrency": args.concurrency, "telegram_gap": args.telegram_gap, "logs": str(folder),
    }
    try:
        if args.sqlite:
            run_sqlite(args, telegram, twilio, report, folder)
        else:
            run_postgres(args, telegram, twilio, report, folder)
    finally:
        telegram.stop()
        twilio.stop()
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    ok = report["sustained"]["errors"] == 0 and report.get("offered", {}).get("errors", 0) == 0
    if ok and not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


def print_report(report: dict[str, Any]) -> None:
    print(f"webhook load: {report['database']}; {report['machine']}; python {report['python']}")
    if "server" in report:
        print(f"server: {report['server']}; closed loop of {report['concurrency']} calls in flight,"
              f" a Telegram patient's messages {report.get('telegram_gap', 0)} s apart at least")
    else:
        print(f"gunicorn {report['gunicorn']}; {report['workers']} teleopd worker(s); closed loop of {report['concurrency']} calls"
              f" in flight, a Telegram patient's messages {report.get('telegram_gap', 0)} s apart at least")

    def line(name: str, figures: dict[str, Any], load: str | None) -> None:
        lat = figures["latency_ms"]
        print(f"{name:<22} {figures['messages_per_second']:>7} msg/s  {figures['ok']:>7} ok  {figures['errors']:>4} errors  "
              f"webhook ms p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} max {lat['max']}  (load {load})")

    def cpu(split: dict[str, float] | None, per_second: float) -> None:
        if split:
            print("  CPU: cores busy      " + "  ".join(f"{role} {cores:.2f}" for role, cores in split.items())
                  + "; ms a message: " + "  ".join(f"{role} {cores / (per_second or 1) * 1000:.2f}" for role, cores in split.items()))

    if "minimal" in report:
        line("minimal endpoint", report["minimal"], report["minimal"]["load_before"])
        cpu(report["minimal"].get("cpu_cores"), report["minimal"]["messages_per_second"])
    line("full path, sustained", report["sustained"], report.get("load_before_sustained") or report.get("load_before"))
    print("  messages by channel  " + "  ".join(f"{channel} {n}" for channel, n in sorted(report["sustained"].get("by_channel", {}).items())))
    cpu(report.get("cpu_cores_sustained"), report["sustained"]["messages_per_second"])
    if "full_over_minimal" in report:
        print(f"full / minimal         {report['full_over_minimal']:.1%}")
    if "offered" in report:
        offered = report["offered"]
        line(f"offered {offered['offered_per_second']:.0f}/s", offered, report.get("load_before_rate"))
        reply = offered["reply"]
        lat = reply["latency_ms"]
        print(f"inbound→reply          p50 {lat['p50']} ms  p95 {lat['p95']} ms  p99 {lat['p99']} ms  max {lat['max']} ms  "
              f"({reply['replied']} replied, {reply['without_reply']} without reply, think {offered['think_seconds']} s, "
              f"generator lag p99 {offered['generator_lag_p99_ms']} ms)")
        for channel, lat in reply["by_channel_ms"].items():
            print(f"  {channel:<20} p50 {lat['p50']} ms  p95 {lat['p95']} ms  p99 {lat['p99']} ms  max {lat['max']} ms")
    for key, phase in (("memory", "the sustained run"), ("memory_rate", "the offered rate")):
        if key not in report:
            continue
        print(f"RSS MiB by messages sent, {phase} (web workers | teleopd workers" + (" | outbox rows queued)" if key == "memory_rate" else "):"))
        for sample in report[key]["series"]:
            web = " ".join(f"{(v or 0) / 1024:.0f}" for v in sample["web_kib"].values())
            work = " ".join(f"{(v or 0) / 1024:.0f}" for v in sample["worker_kib"].values())
            queued_now = f" | {sample['queued']}" if "queued" in sample else ""
            print(f"  {sample['messages']:>7}  {sample['seconds']:>6} s   {web} | {work}{queued_now}")
        for name, change in report[key]["growth_from_quarter"].items():
            print(f"  {name}: {change['at_quarter_kib'] / 1024:.0f} → {change['at_end_kib'] / 1024:.0f} MiB "
                  f"({change['growth_kib'] / 1024:+.1f} MiB from a quarter of the run to its end)")
    for key in ("outbox_left_after_sustained", "outbox_left_after_rate", "outbox_left_after_settle"):
        if report.get(key):
            print(f"{key.replace('_', ' ')}: {report[key]}")
    for phase in ("sustained", "rate"):
        if f"outbox_queued_at_end_of_{phase}" in report:
            counts = report[f"outbox_queued_at_end_of_{phase}"]
            print(f"outbox rows queued when the {phase} phase ended: "
                  f"due {sum(c['due'] for c in counts.values())}, later {sum(c['later'] for c in counts.values())} "
                  f"(a chat's next second, a retry); " + ", ".join(f"{name} {c['due']} + {c['later']}" for name, c in sorted(counts.items())))
        if report.get(f"outbox_emptied_after_{phase}_s") is not None:
            print(f"outbox empty {report[f'outbox_emptied_after_{phase}_s']} s after the {phase} phase ended")


if __name__ == "__main__":
    raise SystemExit(main())
