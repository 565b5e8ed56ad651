"""Sending a broadcast: a durable, resumable, paced job that never holds back a patient's reply.

A pass over each broadcast being sent does one of two things, each in ONE short transaction
that holds the broadcast's row (FOR UPDATE SKIP LOCKED: two senders never work one broadcast
at once; on SQLite the write lock does the same):

1. **Expand** the segment into recipient rows, a batch at a time in identity order, from
   where the last batch stopped (`expanded_through`). The rows and the new mark commit
   together, and (broadcast_id, identity_id) is UNIQUE: a sender killed at any moment leaves
   either the whole batch or none of it, and a batch made twice inserts nothing twice.
2. **Queue** the next pending recipients' advisories in the outbox, spaced 1/rate apart
   (TELEOPD_BROADCAST_PER_SECOND) from the last one given (`paced_until`), never more than
   LOOKAHEAD ahead of now. Each outbox row and its recipient's "queued" mark commit
   together, so a restart continues where it stopped: nobody is queued twice, nobody is left
   out. Who sent STOP or revoked advisories since the expansion is skipped, and so is who has
had TELEOPD_ADVISORIES_PER_MONTH advisories in the last 30 days (what their consent promised). The rows carry
   the broadcast priority (bot/outbox/enqueue.py BROADCAST_PRIORITY): a worker claims every
   due reply and push first (bot/outbox/claims.py), and each channel's own send limit
   (bot/platform/ratelimit.py) still applies when they go.

In the quiet hours (TELEOPD_QUIET_HOURS, 21:00-08:00 India's time) nothing is queued; the
broadcast goes on at their end. When every recipient is queued or skipped, it is done.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.outbox.enqueue import enqueue_advisory
from bot.outbox.loop import run_until_stopped
from bot.services.broadcasts import Segment, advisory_of, audience_query
from bot.services.identities import dialect_insert
from bot.services.reminders import ReminderPolicy
from bot.store.db import Database
from bot.store.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    Identity,
    OutboxMessage,
    Patient,
    Person,
    RecipientStatus,
    utcnow,
)

log = logging.getLogger(__name__)

# Recipients made, or queued, in one transaction: short enough not to hold the database.
BATCH = 500
# How far ahead of now advisories are queued: the outbox holds a couple of seconds of a
# broadcast at a time, so its claims stay cheap and a cancel takes effect at once.
LOOKAHEAD = dt.timedelta(seconds=2)
# The month of "at most N advisories a month".
MONTH = dt.timedelta(days=30)


class BroadcastSender:
    """Expands and queues the broadcasts being sent, a batch per pass."""

    def __init__(
        self,
        db: Database,
        per_second: int = 10,
        quiet: tuple[dt.time, dt.time] | None = (dt.time(21, 0), dt.time(8, 0)),
        clock: Callable[[], dt.datetime] = utcnow,
        batch: int = BATCH,
        lookahead: dt.timedelta = LOOKAHEAD,
        outbox_signal: threading.Event | None = None,
        per_month: int = 0,
    ):
        self.db = db
        # At most this many advisories to one identity in MONTH (TELEOPD_ADVISORIES_PER_MONTH, what
        # the consent question promised); 0: no cap.
        self.per_month = per_month
        self.per_second = per_second
        self.quiet_hours = ReminderPolicy(quiet=quiet)
        self.clock = clock
        self.batch = batch
        self.lookahead = lookahead
        self.outbox_signal = outbox_signal

    def run_once(self) -> int:
        """Expand or queue one batch of each broadcast being sent; return how many rows were made or queued."""
        with self.db.read() as session:
            sending = list(session.scalars(select(Broadcast.id).where(Broadcast.status == BroadcastStatus.SENDING).order_by(Broadcast.id)))
        handled = sum(self.step(broadcast_id) for broadcast_id in sending)
        if handled and self.outbox_signal is not None:
            self.outbox_signal.set()
        return handled

    def run(self, stop: threading.Event, wake: threading.Event | None = None, idle_seconds: float = 0.5) -> None:
        """Send broadcasts until stopped; a pass that queued nothing (paced, quiet hours) waits idle_seconds."""
        run_until_stopped(self.run_once, stop, wake, idle_seconds, name="broadcast pass")

    def step(self, broadcast_id: int) -> int:
        """Do one broadcast's next batch in one transaction; return how many recipients it made or queued (0: nothing to do now)."""
        now = self.clock()
        with self.db.write() as session:
            broadcast = session.scalars(
                select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update(skip_locked=True)
                .execution_options(populate_existing=True)
            ).first()
            if broadcast is None or broadcast.status != BroadcastStatus.SENDING:
                return 0
            if not broadcast.expanded:
                return self._expand(session, broadcast, now)
            return self._queue(session, broadcast, now)

    def _expand(self, session: Session, broadcast: Broadcast, now: dt.datetime) -> int:
        """Make the next batch of recipients, from the last identity made one."""
        query = audience_query(Segment.from_json(broadcast.segment), now)
        # The query's first column is the identity's id.
        ids = list(session.scalars(query.where(Identity.id > broadcast.expanded_through).order_by(Identity.id).limit(self.batch)))
        if ids:
            made = session.scalars(
                dialect_insert(session)(BroadcastRecipient)
                .values([{"broadcast_id": broadcast.id, "identity_id": i, "status": RecipientStatus.PENDING} for i in ids])
                .on_conflict_do_nothing(index_elements=["broadcast_id", "identity_id"])
                .returning(BroadcastRecipient.id)
            ).all()
            broadcast.recipients += len(made)  # a batch made again (after a lost commit) adds none
            broadcast.expanded_through = ids[-1]
        if len(ids) < self.batch:
            broadcast.expanded = True
            log.info("broadcast %s: %d recipients", broadcast.id, broadcast.recipients)
        return max(len(ids), 1)

    def _queue(self, session: Session, broadcast: Broadcast, now: dt.datetime) -> int:
        """Queue the next pending recipients' advisories, paced; finish the broadcast when none is left."""
        if self.quiet_hours.quiet_until(now) is not None:
            return 0
        start = max(now, broadcast.paced_until or now)
        room = min(self.batch, math.floor((now + self.lookahead - start).total_seconds() * self.per_second))
        if room <= 0:
            return 0
        pending = list(session.execute(
            select(BroadcastRecipient.id, BroadcastRecipient.identity_id)
            .where(BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.status == RecipientStatus.PENDING)
            .order_by(BroadcastRecipient.id).limit(room)
        ))
        if not pending:
            broadcast.status = BroadcastStatus.DONE
            broadcast.finished_at = now
            log.info("broadcast %s: done, %d recipients", broadcast.id, broadcast.recipients)
            return 0
        reachable = self._reachable(session, [identity_id for _, identity_id in pending], now)
        reply = advisory_of(broadcast)
        step = dt.timedelta(seconds=1 / self.per_second)
        due = start
        marks: list[dict[str, Any]] = []
        rows = []
        for recipient_id, identity_id in pending:
            found = reachable.get(identity_id)
            if found is None:
                marks.append({"id": recipient_id, "status": RecipientStatus.SKIPPED})
                continue
            identity, language = found
            rows.append((recipient_id, enqueue_advisory(session, identity, language, reply, due)))
            due += step
        session.flush()  # the outbox rows' ids
        marks += [{"id": recipient_id, "status": RecipientStatus.QUEUED, "outbox_id": row.id} for recipient_id, row in rows]
        session.execute(update(BroadcastRecipient), marks)
        broadcast.paced_until = due
        return len(pending)

    def _reachable(self, session: Session, identity_ids: list[int], now: dt.datetime) -> dict[int, tuple[Identity, str]]:
        """Return those identities still to be sent an advisory (not STOP-ped, still opted in, under the month's cap), with their language."""
        query = (
            select(Identity, func.coalesce(Identity.language, Person.language))
            .join(Person, Person.id == Identity.person_id)
            .join(Patient, Patient.person_id == Person.id)
            .where(Identity.id.in_(identity_ids), Identity.opted_out.is_(False), Patient.advisories_opted_in_at.is_not(None))
        )
        if self.per_month:
            enough = (
                select(BroadcastRecipient.identity_id)
                .join(OutboxMessage, OutboxMessage.id == BroadcastRecipient.outbox_id)
                .where(BroadcastRecipient.identity_id.in_(identity_ids), OutboxMessage.due_at > now - MONTH)
                .group_by(BroadcastRecipient.identity_id)
                .having(func.count() >= self.per_month)
            )
            query = query.where(Identity.id.not_in(enough))
        rows = session.execute(query).all()
        return {identity.id: (identity, language or "en") for identity, language in rows}

    def drain(self, max_passes: int = 100_000) -> int:
        """Run passes until no broadcast has anything to do now; return how many recipients were made or queued."""
        total = 0
        for _ in range(max_passes):
            handled = self.run_once()
            total += handled
            if not handled:
                break
        return total
