"""Driving the load of bench/webhook_load.py: signed webhook posts on one asyncio loop (aiohttp), a closed
loop at a concurrency and an open loop at an offered rate.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import aiohttp
from common import percentile
from webhook_load_patients import Patient, Record

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
                      on_progress: Any = None, telegram_gap: float = 0.0) -> tuple[list[Record], float]:
    """Keep `concurrency` calls in flight, each patient sending its next message as soon as the last is answered.

    A Telegram patient waits at least `telegram_gap` seconds between its messages (from one
    post's start to the next): Telegram takes one message a second in a chat, so a patient
    writing four a second queues replies that only Telegram's pacing holds up. Meanwhile its
    lane writes for other patients, taking new ones as needed, so the load stays as high.
    """
    records: list[Record] = []
    stop_at = time.monotonic() + seconds
    taken = itertools.count()

    async def one_lane() -> None:
        waiting: list[tuple[float, int, Patient]] = []  # (ready at, tie-break, patient) of this lane's paced patients
        order = itertools.count()
        patient: Patient | None = None
        while time.monotonic() < stop_at:
            if max_messages is not None and next(taken) >= max_messages:
                return
            if patient is None or patient.sent == len(patient.messages):
                if waiting and waiting[0][0] <= time.monotonic():
                    patient = heapq.heappop(waiting)[2]
                else:
                    patient = next(patients)
            started = time.monotonic()
            await _post(http, base, patient, time.time(), started, records)
            if telegram_gap > 0 and patient.channel == "telegram" and patient.sent < len(patient.messages):
                heapq.heappush(waiting, (started + telegram_gap, next(order), patient))
                patient = None

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


async def open_loop(base: str, patients: Iterator[Patient], rate: float, seconds: float, think: float,
                    on_progress: Any = None) -> tuple[list[Record], float]:
    """Send `rate` messages a second whatever the answers: each to a patient who is ready, else to a new one.

    `on_progress(records, started)`, if given, runs beside the load until it ends (the memory sampler).
    """
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
        watcher = asyncio.create_task(on_progress(records, start_mono)) if on_progress is not None else None
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
        if watcher is not None:
            watcher.cancel()
    lag.sort()
    records_lag = percentile(lag, 99)
    open_loop.generator_lag_p99_ms = round(records_lag * 1000, 2)  # type: ignore[attr-defined]
    return records, elapsed
