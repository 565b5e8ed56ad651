"""Prometheus metrics: counters where messages pass, gauges read from the database at scrape time.

Counters and the webhook latency histogram live in the process that counts them. Under
gunicorn (several web processes) and with a separate `teleopd worker`, set
PROMETHEUS_MULTIPROC_DIR (the same directory for every process on the host, wiped of dead
processes' files at start: gunicorn.conf.py): prometheus_client then keeps each process's
values in files there and any process's GET /metrics adds them up
(https://prometheus.github.io/client_python/multiprocess/).

The gauges (outbox depth and lag, OPD queues) are not kept by any process: DatabaseCollector
reads them with one grouped query each when /metrics is scraped, so they are right however
many processes run. Nothing here queries the database per request.

Declaring a metric registers it with prometheus_client's default registry; nothing is sent,
opened or started at import time.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Select, and_, case, func, select

from bot.platform.clock import IST  # OPD days are India's days
from bot.store.db import Database
from bot.store.models import (
    Opd,
    OutboxMessage,
    OutboxStatus,
    Token,
    TokenStatus,
    utcnow,
)

__all__ = [
    "CONTENT_TYPE_LATEST", "MESSAGES_IN", "MESSAGES_OUT", "MESSAGE_PARTS_OUT", "SEND_ERRORS", "WEBHOOK_SECONDS",
    "REMINDERS", "DatabaseCollector", "count_in", "count_rejected", "count_reminder", "exposition", "observe_webhook",
]


MESSAGES_IN = Counter(
    "teleopd_messages_in", "Inbound messages by channel and what became of them "
    "(handled, duplicate, ignored, malformed, forbidden).", ["channel", "result"],
)
MESSAGES_OUT = Counter("teleopd_messages_out", "Outbox messages sent, by channel.", ["channel"])
MESSAGE_PARTS_OUT = Counter(
    "teleopd_message_parts_out", "Provider messages sent, by channel: a long text goes out in several parts.", ["channel"],
)
SEND_ERRORS = Counter("teleopd_send_errors", "Failed sends by channel and error code (retried or not).", ["channel", "code"])
# Token reminders (bot/services/reminders.py): sent, or why not (token_gone, too_late, quiet_hours, after_quiet_hours).
REMINDERS = Counter("teleopd_reminders", "Token reminders by kind and what became of them (sent, or why not).", ["kind", "result"])
# Buckets around the webhook target: p99 within 100 ms at 200 messages/s.
WEBHOOK_SECONDS = Histogram(
    "teleopd_webhook_duration_seconds", "Time to answer a provider webhook, by route.", ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5),
)

# A provider's error code as a label: short, so a strange one cannot flood the label space.
_MAX_CODE = 40
# What a rejected webhook call's HTTP status says about it.
_REJECTED = {403: "forbidden"}


def count_reminder(kind: str, result: str) -> None:
    """Count one token reminder and what became of it."""
    REMINDERS.labels(kind, result).inc()


def count_in(channel: str, result: str) -> None:
    """Count one inbound message and what became of it."""
    MESSAGES_IN.labels(channel, result).inc()


def count_rejected(channel: str, status: int) -> None:
    """Count an inbound webhook call refused with an HTTP status: 403 forbidden, else malformed."""
    MESSAGES_IN.labels(channel, _REJECTED.get(status, "malformed")).inc()


def count_sent(channel: str, parts: int) -> None:
    """Count one outbox message sent, in so many provider messages."""
    MESSAGES_OUT.labels(channel).inc()
    MESSAGE_PARTS_OUT.labels(channel).inc(max(parts, 1))


def count_send_error(channel: str, code: str | None) -> None:
    """Count one failed send by its error code."""
    SEND_ERRORS.labels(channel, (code or "unknown")[:_MAX_CODE]).inc()


def observe_webhook(route: str, seconds: float) -> None:
    """Record how long one webhook call took."""
    WEBHOOK_SECONDS.labels(route).observe(seconds)


class DatabaseCollector(Collector):
    """Read the outbox and the OPD queues from the database when scraped."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        depth = GaugeMetricFamily(
            "teleopd_outbox_depth", "Outbox rows waiting to be sent (pending) or being sent (sending), by channel.",
            labels=["channel", "status"],
        )
        lag = GaugeMetricFamily(
            "teleopd_outbox_oldest_pending_age_seconds",
            "Seconds since the longest-waiting due pending outbox row of a channel fell due (0 when none is due).",
            labels=["channel"],
        )
        queue = GaugeMetricFamily("teleopd_queue_waiting", "Tokens waiting today (India's date), by OPD code.", labels=["opd"])
        outbox, waiting = self.queries(now)
        with self.db.read() as session:
            outbox_rows = session.execute(outbox).all()
            queue_rows = session.execute(waiting).all()
        ages: dict[str, float] = {}
        for channel, status, count, oldest_due in outbox_rows:
            depth.add_metric([channel, status], count)
            if status == OutboxStatus.PENDING:
                ages[channel] = max((now - oldest_due).total_seconds(), 0.0) if oldest_due is not None else 0.0
        for channel, age in sorted(ages.items()):
            lag.add_metric([channel], age)
        for code, count in queue_rows:
            queue.add_metric([code], count)
        yield from (depth, lag, queue)

    @staticmethod
    def queries(now: dt.datetime) -> tuple[Select[Any], Select[Any]]:
        """Return the two grouped queries a scrape runs: the outbox by channel and status, today's queues by OPD."""
        # The outbox's walks ix_outbox_due (status, due_at): only the unsent rows (bench/observability.py).
        outbox = (
            select(
                OutboxMessage.channel, OutboxMessage.status, func.count(),
                func.min(case((OutboxMessage.due_at <= now, OutboxMessage.due_at))),
            )
            .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
            .group_by(OutboxMessage.channel, OutboxMessage.status)
        )
        today = now.astimezone(IST).date()
        waiting = (
            select(Opd.code, func.count(Token.id))
            .select_from(Opd)
            .outerjoin(Token, and_(Token.opd_id == Opd.id, Token.day == today, Token.status == TokenStatus.WAITING))
            .group_by(Opd.code)
        )
        return outbox, waiting


def exposition(db: Database) -> bytes:
    """Return every metric in Prometheus's text format: this process's (or all processes') and the database's."""
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(db))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # The documented way: a fresh registry that reads every process's files.
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
        return generate_latest(processes) + generate_latest(database)
    return generate_latest(REGISTRY) + generate_latest(database)
