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
  seconds of the sustained run, as a series by messages sent (use with --messages 100000).
- --sqlite: instead of all that, `teleopd serve` (waitress + the in-process worker, the
  embedded default) on a temporary SQLite file, and its sustained messages/s.
- --profile DIR: py-spy records each gunicorn worker and each worker during the sustained run
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
import itertools
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import aiohttp  # noqa: E402
from common import (  # noqa: E402
    Fake,
    cpu_model,
    database_url,
    die_with_parent,
    hard_stop,
    load_averages,
    percentile,
    redacted,
    rss_kib,
    server_version,
    start_fakes,
    start_worker,
    teleopd_command,
)
from sqlalchemy import text  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bot.store.db import Database  # noqa: E402

TOKEN = "123456:" + "W" * 35
SECRET = "bench-webhook-secret"
ACCOUNT_SID = "AC" + "d" * 32
AUTH_TOKEN = "a" * 32
WHATSAPP_FROM = "whatsapp:+14155238886"
SMS_FROM = "+15005550006"
REDIS_URL = "redis://127.0.0.1:6379/0"
CLEANUP_RESERVE_S = 30
SETTLE_TIMEOUT_S = 120

# The answers of tests/test_channels_end_to_end.py. Telegram: ("text", …), ("press", key) a
# button's callback_data (the flows' choice keys), ("contact", None) the shared number.
TELEGRAM_JOURNEY: tuple[tuple[str, str | None], ...] = (
    ("text", "/start"), ("press", "en"), ("press", "agree"), ("text", "Sunita Devi"), ("text", "34"),
    ("text", "female"), ("text", "Uttar Pradesh"), ("text", "Varanasi"), ("contact", None), ("text", "yes"),
    ("text", "I have fever and cough"), ("text", "myself"), ("text", "3 days"), ("text", "moderate"), ("press", "book"),
)
WHATSAPP_JOURNEY: tuple[str, ...] = (
    "नमस्ते", "2", "हाँ", "सीता देवी", "३४", "महिला", "उत्तर प्रदेश", "वाराणसी", "हाँ",
    "मुझे बुखार और खांसी है", "मैं खुद", "३ दिन से", "मध्यम", "1",
)


@dataclass
class Message:
    """One webhook call, ready to send: path, body, headers, and what the reply is matched by."""

    path: str
    body: bytes
    headers: dict[str, str]
    provider_id: str


@dataclass
class Patient:
    """A simulated patient: one channel, one address, the whole journey's calls in order."""

    channel: str  # "telegram" | "whatsapp"
    address: str  # chat id or whatsapp:+91…, as the fake records it
    messages: list[Message]
    sent: int = 0


@dataclass
class Record:
    """What became of one call."""

    channel: str
    address: str
    provider_id: str
    due_wall: float  # time.time() the call was due (open loop) or started (closed loop)
    latency_s: float
    status: int


class Patients:
    """Makes patients on demand, alternating Telegram and WhatsApp, with addresses unique to this run."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.validator = RequestValidator(AUTH_TOKEN)
        seed = random.randrange(10**7, 9 * 10**7)
        self._chat_ids = itertools.count(6_000_000_000 + seed * 10)
        self._numbers = itertools.count(seed)
        self._ids = itertools.count(random.randrange(10**8, 10**9))
        self._turn = itertools.count()

    def __iter__(self) -> Iterator[Patient]:
        return self

    def __next__(self) -> Patient:
        return self.telegram() if next(self._turn) % 2 == 0 else self.whatsapp()

    def telegram(self) -> Patient:
        chat_id = next(self._chat_ids)
        phone = f"9170{next(self._numbers) % 10**8:08d}"
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        user = {"id": chat_id, "is_bot": False, "first_name": "Bench"}
        chat = {"id": chat_id, "type": "private", "first_name": "Bench"}
        messages = []
        for kind, value in TELEGRAM_JOURNEY:
            update_id = next(self._ids)
            now = int(time.time())
            if kind == "press":
                update: dict[str, Any] = {"update_id": update_id, "callback_query": {
                    "id": f"q{update_id}", "from": user, "chat_instance": "1", "data": value,
                    "message": {"message_id": 1, "chat": chat, "date": now, "text": "?"}}}
            else:
                fields: dict[str, Any] = {"text": value} if kind == "text" else {
                    "contact": {"phone_number": phone, "first_name": "Bench", "user_id": chat_id}}
                update = {"update_id": update_id, "message": {"message_id": update_id, "from": user, "chat": chat, "date": now, **fields}}
            messages.append(Message("/webhooks/telegram", json.dumps(update).encode(), headers, str(update_id)))
        return Patient("telegram", str(chat_id), messages)

    def whatsapp(self) -> Patient:
        address = f"whatsapp:+9197{next(self._numbers) % 10**8:08d}"
        path = "/webhooks/twilio/whatsapp"
        messages = []
        for answer in WHATSAPP_JOURNEY:
            sid = f"SM{next(self._ids):032x}"
            form = {"MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": address, "To": WHATSAPP_FROM,
                    "Body": answer, "NumMedia": "0"}
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": self.validator.compute_signature(self.base_url + path, form)}
            messages.append(Message(path, urlencode(form).encode(), headers, sid))
        return Patient("whatsapp", address, messages)


# --- driving the load -------------------------------------------------------------------


async def _post(http: aiohttp.ClientSession, base: str, patient: Patient, due_wall: float, due_mono: float,
                records: list[Record]) -> None:
    message = patient.messages[patient.sent]
    patient.sent += 1
    try:
        async with http.post(base + message.path, data=message.body, headers=message.headers) as answer:
            await answer.read()
            status = answer.status
    except (aiohttp.ClientError, asyncio.TimeoutError):
        status = 0
    records.append(Record(patient.channel, patient.address, message.provider_id, due_wall, time.monotonic() - due_mono, status))


def _client(limit: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, force_close=False),
        timeout=aiohttp.ClientTimeout(total=30), skip_auto_headers=("User-Agent",),
    )


async def closed_loop(base: str, patients: Iterator[Patient], concurrency: int, seconds: float, max_messages: int | None,
                      on_progress: Any = None) -> tuple[list[Record], float]:
    """Keep `concurrency` patients busy, each sending its next message as soon as the last is answered."""
    records: list[Record] = []
    stop_at = time.monotonic() + seconds
    taken = itertools.count()

    async def one_lane() -> None:
        patient: Patient | None = None
        while time.monotonic() < stop_at:
            if max_messages is not None and next(taken) >= max_messages:
                return
            if patient is None or patient.sent == len(patient.messages):
                patient = next(patients)
            await _post(http, base, patient, time.time(), time.monotonic(), records)

    async with _client(concurrency) as http:
        started = time.monotonic()
        lanes = [asyncio.create_task(one_lane()) for _ in range(concurrency)]
        if on_progress is not None:
            watcher = asyncio.create_task(on_progress(records, started))
        await asyncio.gather(*lanes)
        elapsed = time.monotonic() - started
        if on_progress is not None:
            watcher.cancel()
    return records, elapsed


async def open_loop(base: str, patients: Iterator[Patient], rate: float, seconds: float, think: float) -> tuple[list[Record], float]:
    """Send `rate` messages a second whatever the answers: each to a patient who is ready, else to a new one."""
    records: list[Record] = []
    ready: deque[Patient] = deque()
    loop = asyncio.get_running_loop()
    in_flight: set[asyncio.Task[None]] = set()
    lag: list[float] = []

    async def send(patient: Patient, due_wall: float, due_mono: float) -> None:
        await _post(http, base, patient, due_wall, due_mono, records)
        if patient.sent < len(patient.messages):
            loop.call_later(think, ready.append, patient)

    async with _client(512) as http:
        start_mono, start_wall = time.monotonic() + 0.2, time.time() + 0.2
        total = int(rate * seconds)
        for number in range(total):
            due_mono = start_mono + number / rate
            delay = due_mono - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lag.append(time.monotonic() - due_mono)
            patient = ready.popleft() if ready else next(patients)
            task = asyncio.create_task(send(patient, start_wall + number / rate, due_mono))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight)
        elapsed = time.monotonic() - start_mono
    lag.sort()
    records_lag = percentile(lag, 99)
    open_loop.generator_lag_p99_ms = round(records_lag * 1000, 2)  # type: ignore[attr-defined]
    return records, elapsed


# --- the processes ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} did not start (exit {process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback
                return
        except urllib.error.HTTPError:
            return  # it answers: a 404/405 is an answer
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def start_gunicorn(app: str, port: int, args: argparse.Namespace, env: dict[str, str], log: Path, chdir: Path) -> subprocess.Popen[bytes]:
    """Start gunicorn (gthread) on 127.0.0.1:port and wait until it answers."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "--chdir", str(chdir), "-k", "gthread", "-w", str(args.web_workers), "--threads", str(args.threads),
               "-b", f"127.0.0.1:{port}", "--backlog", "2048", "--keep-alive", "30", "--error-logfile", str(log), app]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"), cwd=ROOT, preexec_fn=die_with_parent)
    _wait_http(f"http://127.0.0.1:{port}/healthz", process, log)
    return process


def children(pid: int) -> list[int]:
    """Return a process's child pids (gunicorn's workers), from /proc."""
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def stop_process(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_teleopd(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(teleopd_command(*args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"teleopd {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def with_schema(url: str, schema: str) -> str:
    """Return a PostgreSQL URL whose connections use this schema (libpq options=-csearch_path)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


# --- figures ----------------------------------------------------------------------------


def throughput(records: list[Record], elapsed: float) -> dict[str, Any]:
    ok = sum(1 for r in records if r.status == 200)
    latencies = sorted(r.latency_s * 1000 for r in records)
    return {
        "messages": len(records), "ok": ok, "errors": len(records) - ok,
        "statuses": {str(s): n for s, n in sorted(_count(r.status for r in records).items())},
        "seconds": round(elapsed, 2), "messages_per_second": round(ok / elapsed, 1) if elapsed else None,
        "latency_ms": _quantiles(latencies),
    }


def _count(values: Any) -> dict[Any, int]:
    counts: dict[Any, int] = defaultdict(int)
    for value in values:
        counts[value] += 1
    return dict(counts)


def _quantiles(sorted_ms: list[float]) -> dict[str, float]:
    return {name: round(percentile(sorted_ms, q), 1) for name, q in (("p50", 50), ("p95", 95), ("p99", 99))} | {
        "max": round(sorted_ms[-1], 1) if sorted_ms else float("nan")}


def settle(db: Database, timeout: float = SETTLE_TIMEOUT_S) -> int:
    """Wait until no outbox row is left to send; return how many are still left."""
    deadline = time.monotonic() + timeout
    left = 0
    while time.monotonic() < deadline:
        with db.read() as session:
            left = session.execute(text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")).scalar() or 0
        if not left:
            return 0
        time.sleep(0.5)
    return int(left)


def reply_latencies(db: Database, records: list[Record], telegram: Fake, twilio: Fake) -> dict[str, Any]:
    """Match each inbound's reply rows to what reached the fake for that address, in order; return latency figures."""
    addresses = {r.address for r in records}
    arrivals: dict[str, list[float]] = defaultdict(list)
    for chat_id, _at, wall, status in telegram.get("arrivals"):
        if status == 200 and chat_id in addresses:
            arrivals[chat_id].append(wall)
    for to, _from, _at, wall, status in twilio.get("arrivals"):
        if status == 201 and to in addresses:
            arrivals[to].append(wall)
    with db.read() as session:
        rows = session.execute(text(
            "SELECT o.address, i.provider_id, o.rendered, o.status FROM outbox o JOIN inbound_messages i ON i.id = o.inbound_id "
            "WHERE o.kind <> 'ack' AND o.channel IN ('telegram', 'whatsapp') ORDER BY o.id"
        )).all()
    first_part: dict[str, float] = {}  # inbound provider id → wall time its reply's first message arrived
    position: dict[str, int] = defaultdict(int)
    unmatched = 0
    for address, provider_id, rendered, status in rows:
        if address not in addresses or status not in ("sent", "delivered"):
            continue
        rendered = json.loads(rendered) if isinstance(rendered, str) else (rendered or {})
        parts = int(rendered.get("parts", 1))
        got = arrivals.get(address, [])
        at = position[address]
        if at >= len(got):
            unmatched += 1
            continue
        first_part.setdefault(provider_id, sorted(got)[at])
        position[address] = at + parts
    by_channel: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r.provider_id in first_part:
            by_channel[r.channel].append((first_part[r.provider_id] - r.due_wall) * 1000)
    latencies = sorted(itertools.chain(*by_channel.values()))
    return {"replied": len(latencies), "without_reply": len(records) - len(latencies), "unmatched_rows": unmatched,
            "latency_ms": _quantiles(latencies),
            "by_channel_ms": {channel: _quantiles(sorted(values)) for channel, values in sorted(by_channel.items())}}


class MemorySampler:
    """Samples VmRSS of the web workers and the outbox workers every few seconds of a run."""

    def __init__(self, web_master: int, worker_pids: list[int], every_s: float):
        self.web_master, self.worker_pids, self.every_s = web_master, worker_pids, every_s
        self.series: list[dict[str, Any]] = []

    async def watch(self, records: list[Record], started: float) -> None:
        while True:
            self.sample(len(records), time.monotonic() - started)
            await asyncio.sleep(self.every_s)

    def sample(self, messages: int, elapsed: float) -> None:
        web = {str(pid): rss_kib(pid) for pid in children(self.web_master)}
        workers = {str(pid): rss_kib(pid) for pid in self.worker_pids}
        self.series.append({"seconds": round(elapsed, 1), "messages": messages, "web_kib": web, "worker_kib": workers})

    def summary(self) -> list[dict[str, Any]]:
        """Return about ten evenly spaced samples, and always the first and the last."""
        if len(self.series) <= 12:
            return self.series
        step = max(1, len(self.series) // 10)
        picked = self.series[::step]
        return picked if picked[-1] is self.series[-1] else [*picked, self.series[-1]]


def growth(series: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """Return the RSS change (KiB) from the sample nearest a quarter of the messages to the last, per process."""
    if not series:
        return {}
    quarter = min(series, key=lambda s: abs(s["messages"] - total / 4))
    last = series[-1]
    out: dict[str, Any] = {}
    for kind in ("web_kib", "worker_kib"):
        for pid, value in last[kind].items():
            before = quarter[kind].get(pid)
            if value is not None and before is not None:
                out[f"{kind[:-4]} {pid}"] = {"at_quarter_kib": before, "at_end_kib": value, "growth_kib": value - before}
    return out


def start_profiles(pids: dict[str, int], seconds: float, folder: Path) -> list[subprocess.Popen[bytes]]:
    """Start `py-spy record --gil` on each process for `seconds` (speedscope files in folder): where its CPU goes."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    folder.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([py_spy, "record", "--gil", "-p", str(pid), "-d", str(int(seconds)), "-r", "50", "--format", "speedscope",
                              "-o", str(folder / f"{name}.speedscope.json")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]


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
        records, elapsed = asyncio.run(closed_loop(base, iter(Patients(base)), args.concurrency, args.seconds, args.messages))
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
        records, elapsed = asyncio.run(closed_loop(base, patients, args.concurrency, seconds, args.messages,
                                                   sampler.watch if sampler else None))
        report["load_after_sustained"] = load_averages()
        report["sustained"] = throughput(records, elapsed)
        for profile in profiles:
            profile.wait(timeout=60)
        if sampler is not None:
            sampler.sample(len(records), elapsed)
            report["memory"] = {"series": sampler.summary(), "growth_from_quarter": growth(sampler.series, len(records))}
        report["outbox_left_after_sustained"] = settle(db)
        if args.rate:
            report["load_before_rate"] = load_averages()
            records, elapsed = asyncio.run(open_loop(base, iter(Patients(base)), args.rate, args.rate_seconds, args.think))
            report["load_after_rate"] = load_averages()
            offered = throughput(records, elapsed)
            offered.update({"offered_per_second": args.rate, "think_seconds": args.think,
                            "generator_lag_p99_ms": open_loop.generator_lag_p99_ms})  # type: ignore[attr-defined]
            report["outbox_left_after_rate"] = settle(db)
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
        records, elapsed = asyncio.run(closed_loop(base, whatsapp_only, args.concurrency, min(args.seconds, 30), None))
    finally:
        stop_process(process)
    with db.read() as session:
        rows = session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    figures = throughput(records, elapsed)
    figures.update({"rows": rows, "load_before": load})
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (default 2: one per core)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--workers", type=int, default=1, help="teleopd worker processes (default 1)")
    parser.add_argument("--concurrency", type=int, default=32, help="patients at once in the closed loop")
    parser.add_argument("--seconds", type=float, default=30, help="length of the sustained run")
    parser.add_argument("--messages", type=int, help="run the sustained mode for this many messages instead")
    parser.add_argument("--rate", type=float, default=200, help="offered messages/s of the open loop (0: skip)")
    parser.add_argument("--rate-seconds", type=float, default=20)
    parser.add_argument("--think", type=float, default=8.0, help="seconds a patient takes to answer, from the webhook's answer (open loop)")
    parser.add_argument("--provider-mps", type=int, default=1000, help="send limits given to teleopd for every channel")
    parser.add_argument("--memory", action="store_true", help="sample RSS during the sustained run")
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
        "concurrency": args.concurrency, "logs": str(folder),
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
        print(f"server: {report['server']}; closed loop of {report['concurrency']} patients")
    else:
        print(f"gunicorn {report['gunicorn']}; {report['workers']} teleopd worker(s); closed loop of {report['concurrency']} patients")

    def line(name: str, figures: dict[str, Any], load: str | None) -> None:
        lat = figures["latency_ms"]
        print(f"{name:<22} {figures['messages_per_second']:>7} msg/s  {figures['ok']:>7} ok  {figures['errors']:>4} errors  "
              f"webhook ms p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} max {lat['max']}  (load {load})")

    if "minimal" in report:
        line("minimal endpoint", report["minimal"], report["minimal"]["load_before"])
    line("full path, sustained", report["sustained"], report.get("load_before_sustained") or report.get("load_before"))
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
    if "memory" in report:
        print("RSS MiB by messages sent (web workers | teleopd workers):")
        for sample in report["memory"]["series"]:
            web = " ".join(f"{(v or 0) / 1024:.0f}" for v in sample["web_kib"].values())
            work = " ".join(f"{(v or 0) / 1024:.0f}" for v in sample["worker_kib"].values())
            print(f"  {sample['messages']:>7}  {sample['seconds']:>6} s   {web} | {work}")
        for name, change in report["memory"]["growth_from_quarter"].items():
            print(f"  {name}: {change['at_quarter_kib'] / 1024:.0f} → {change['at_end_kib'] / 1024:.0f} MiB "
                  f"({change['growth_kib'] / 1024:+.1f} MiB from a quarter of the run to its end)")
    for key in ("outbox_left_after_sustained", "outbox_left_after_rate", "outbox_left_after_settle"):
        if report.get(key):
            print(f"{key.replace('_', ' ')}: {report[key]}")


if __name__ == "__main__":
    raise SystemExit(main())
