"""The outbox worker: claim due messages, render them for their channel, send, record.

Rows are committed by the dispatcher together with the state change that caused them
(transactional outbox). A worker claims a batch in a short transaction — FOR UPDATE SKIP
LOCKED on PostgreSQL, so many workers share the work; on SQLite the claim runs under the
database's write lock (BEGIN IMMEDIATE), which has the same effect — then sends outside
any transaction and records each result. A worker that dies after claiming leaves rows in
"sending"; they return to "pending" after CLAIM_TIMEOUT, so a crash between send and mark
repeats a send at most once.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import select, update

from bot.channels.base import ChannelAdapter, RenderedChoice, RenderedMessage, SendError
from bot.db import Database
from bot.i18n import Catalogs
from bot.loop import run_until_stopped
from bot.models import Identity, OutboxMessage, OutboxStatus, utcnow
from flows.messages import reply_from_json

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 8
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 15 * 60.0


# Channels whose messages are read on feature phones: they get a message's short SMS form.
SMS_CHANNELS = ("sms",)


def render(catalogs: Catalogs, payload: dict[str, object], lang: str, sms: bool = False) -> RenderedMessage:
    """Return an outbox payload as text and choice labels in the recipient's language."""
    reply = reply_from_json(payload)  # type: ignore[arg-type]
    text = reply.sms if sms and reply.sms is not None else reply.text
    return RenderedMessage(
        text=catalogs.render(text, lang),
        choices=tuple(RenderedChoice(c.key, catalogs.format_value(c.label, lang)) for c in reply.choices),
        request_contact=reply.request_contact,
    )


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> dt.timedelta:
    """Return the wait before another try: exponential, capped, with full jitter (AWS style)."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * (2 ** max(attempts - 1, 0)))
    return dt.timedelta(seconds=ceiling / 2 + rng() * ceiling / 2)


@dataclass(frozen=True)
class Claimed:
    """A claimed row, detached from its session, with what is needed to send it."""

    id: int
    channel: str
    address: str
    language: str
    kind: str
    payload: dict[str, object]
    attempts: int
    opted_out: bool


class OutboxWorker:
    """Sends what the outbox holds, through the registered channel adapters."""

    def __init__(
        self,
        db: Database,
        catalogs: Catalogs,
        channels: Mapping[str, ChannelAdapter],
        batch_size: int = 50,
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self.db = db
        self.catalogs = catalogs
        self.channels = dict(channels)
        self.batch_size = batch_size
        self.clock = clock

    def run_once(self, channel: str | None = None) -> int:
        """Send one batch of due messages; return how many rows were handled."""
        claimed = self.claim(channel)
        for row in claimed:
            self._send(row)
        return len(claimed)

    def drain(self, channel: str | None = None, max_batches: int = 1000) -> int:
        """Send until nothing is due; return how many rows were handled."""
        total = 0
        for _ in range(max_batches):
            handled = self.run_once(channel)
            total += handled
            if handled == 0:
                break
        return total

    def run(self, stop: threading.Event, wake: threading.Event | None = None, idle_seconds: float = 0.5) -> None:
        """Send until stopped, waking early when the dispatcher signals new rows."""
        last_recovery = [dt.datetime.min.replace(tzinfo=dt.UTC)]

        def one_pass() -> int:
            if self.clock() - last_recovery[0] > dt.timedelta(minutes=1):
                self.recover_stale()
                last_recovery[0] = self.clock()
            return self.run_once()

        run_until_stopped(one_pass, stop, wake, idle_seconds, name="outbox pass")

    def claim(self, channel: str | None = None) -> list[Claimed]:
        """Take due rows for this worker alone and mark them as being sent."""
        now = self.clock()
        with self.db.write() as session:
            query = (
                select(OutboxMessage.id)
                .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now)
                .order_by(OutboxMessage.id)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )
            if channel is not None:
                query = query.where(OutboxMessage.channel == channel)
            ids = list(session.scalars(query))
            if not ids:
                return []
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
                .values(status=OutboxStatus.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
            )
            rows = session.execute(
                select(OutboxMessage, Identity.opted_out)
                .join(Identity, Identity.id == OutboxMessage.identity_id)
                .where(OutboxMessage.id.in_(ids))
                .order_by(OutboxMessage.id)
            ).all()
            return [
                Claimed(m.id, m.channel, m.address, m.language, m.kind, m.payload, m.attempts, opted_out)
                for m, opted_out in rows
            ]

    def recover_stale(self) -> int:
        """Put rows claimed by a worker that died back in the queue; return how many."""
        cutoff = self.clock() - CLAIM_TIMEOUT
        with self.db.write() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < cutoff)
                .values(status=OutboxStatus.PENDING)
            )
            count = result.rowcount or 0
        if count:
            log.warning("returned %d stale outbox rows to the queue", count)
        return count

    def _send(self, row: Claimed) -> None:
        if row.opted_out and row.kind == "push":
            self._finish(row.id, status=OutboxStatus.SUPPRESSED)
            return
        adapter = self.channels.get(row.channel)
        if adapter is None:
            self._finish(row.id, status=OutboxStatus.FAILED, error_code="channel_off", error=f"channel {row.channel} is not configured")
            return
        try:
            message = render(self.catalogs, row.payload, row.language, sms=row.channel in SMS_CHANNELS)
        except Exception as exc:  # a row we cannot render will never send: say why, once
            log.exception("outbox row %s cannot be rendered", row.id)
            self._finish(row.id, status=OutboxStatus.FAILED, error_code="render", error=repr(exc)[:500])
            return
        try:
            result = adapter.send(row.address, message, row.id)
        except SendError as exc:
            self._failed(row, exc)
            return
        except Exception as exc:
            log.exception("unexpected error sending outbox row %s", row.id)
            self._failed(row, SendError(repr(exc)[:500], code="unexpected"))
            return
        self._finish(row.id, status=OutboxStatus.SENT, provider_id=result.provider_id, rendered=message.to_json(), sent_at=self.clock())

    def _failed(self, row: Claimed, exc: SendError) -> None:
        if exc.retryable and row.attempts < MAX_ATTEMPTS:
            wait = dt.timedelta(seconds=exc.retry_after) if exc.retry_after else backoff(row.attempts)
            self._finish(row.id, status=OutboxStatus.PENDING, due_at=self.clock() + wait, error_code=exc.code, error=str(exc)[:500])
            return
        self._finish(row.id, status=OutboxStatus.FAILED, error_code=exc.code, error=str(exc)[:500])
        if exc.opted_out:
            with self.db.write() as session:
                session.execute(
                    update(Identity)
                    .where(Identity.id == select(OutboxMessage.identity_id).where(OutboxMessage.id == row.id).scalar_subquery())
                    .values(opted_out=True, opted_out_at=self.clock())
                )

    def _finish(self, outbox_id: int, **values: object) -> None:
        with self.db.write() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values))
