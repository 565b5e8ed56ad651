"""The figures of bench/webhook_load.py: throughput, latency quantiles, inbound-to-reply latencies from
the outbox rows and what reached the fakes, memory series and their growth, and py-spy profiles.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import (
    Fake,
    percentile,
    rss_kib,
)
from sqlalchemy import func, select, text
from webhook_load_patients import SETTLE_TIMEOUT_S, Record
from webhook_load_processes import children

from bot.store.db import Database
from bot.store.models import OutboxMessage, OutboxStatus, utcnow

# --- figures ----------------------------------------------------------------------------


def throughput(records: list[Record], elapsed: float) -> dict[str, Any]:
    ok = sum(1 for r in records if r.status == 200)
    latencies = sorted(r.latency_s * 1000 for r in records)
    return {
        "messages": len(records), "ok": ok, "errors": len(records) - ok,
        "by_channel": _count(r.channel for r in records),
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


def queued(db: Database) -> int:
    """Return how many outbox rows are waiting to be sent or being sent."""
    with db.read() as session:
        return int(session.execute(text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")).scalar() or 0)


def backlog(db: Database) -> dict[str, dict[str, int]]:
    """Return the rows waiting to be sent or being sent, by channel: due now (the worker is behind
    with them) and due later (put back until their chat's next second, Telegram's one message
    a second in a chat, or a retry's time)."""
    now = utcnow()
    with db.read() as session:
        rows = session.execute(
            select(OutboxMessage.channel, func.count().filter(OutboxMessage.due_at <= now), func.count())
            .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
            .group_by(OutboxMessage.channel)
        ).all()
    return {channel: {"due": due, "later": count - due} for channel, due, count in rows}


def settle(db: Database, timeout: float = SETTLE_TIMEOUT_S, waited: dict[str, float] | None = None) -> int:
    """Wait until no outbox row is left to send; return how many are still left.

    `waited`, if given, gets "seconds": how long it took the outbox to empty (to 0.25 s).
    """
    started = time.monotonic()
    deadline = started + timeout
    left = 0
    while time.monotonic() < deadline:
        left = queued(db)
        if not left:
            if waited is not None:
                waited["seconds"] = round(time.monotonic() - started, 2)
            return 0
        time.sleep(0.25)
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
    """Samples VmRSS of the web workers and the outbox workers every few seconds of a run, and with
    `queued` (a count of the outbox rows waiting) the backlog beside it."""

    def __init__(self, web_master: int, worker_pids: list[int], every_s: float, queued: Callable[[], int] | None = None):
        self.web_master, self.worker_pids, self.every_s, self.queued = web_master, worker_pids, every_s, queued
        self.series: list[dict[str, Any]] = []

    async def watch(self, records: list[Record], started: float) -> None:
        while True:
            # In a thread: the count is a query, and the load's loop must keep its pace meanwhile.
            await asyncio.to_thread(self.sample, len(records), time.monotonic() - started)
            await asyncio.sleep(self.every_s)

    def sample(self, messages: int, elapsed: float) -> None:
        web = {str(pid): rss_kib(pid) for pid in children(self.web_master)}
        workers = {str(pid): rss_kib(pid) for pid in self.worker_pids}
        point: dict[str, Any] = {"seconds": round(elapsed, 1), "messages": messages, "web_kib": web, "worker_kib": workers}
        if self.queued is not None:
            point["queued"] = self.queued()
        self.series.append(point)

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


def cpu_seconds(roles: dict[str, list[int]]) -> dict[str, float]:
    """Return the CPU seconds (user + system, /proc/PID/stat) each role's processes have used so far.

    "postgres" is every process named postgres (the server's backends come and go with the
    pools' connections); the others are the pids given.
    """
    tick = os.sysconf("SC_CLK_TCK")

    def used(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick

    out = {role: sum(used(pid) for pid in pids) for role, pids in roles.items()}
    postgres = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    postgres += used(int(entry.name))
            except OSError:
                continue
    out["postgres"] = postgres
    return out


def cpu_split(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Return the cores each role kept busy between two cpu_seconds() readings (2.0 = both cores of this machine)."""
    return {role: round((after.get(role, 0.0) - before.get(role, 0.0)) / seconds, 2) for role in after}


def start_profiles(pids: dict[str, int], seconds: float, folder: Path) -> list[subprocess.Popen[bytes]]:
    """Start `py-spy record --gil` on each process for `seconds` (speedscope files in folder): where its CPU goes."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    folder.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([py_spy, "record", "--gil", "-p", str(pid), "-d", str(int(seconds)), "-r", "50", "--format", "speedscope",
                              "-o", str(folder / f"{name}.speedscope.json")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()]
