"""Durable timers: a reminder or a no-show window is a row that fires exactly once when due.

A timer is scheduled in the transaction of the state change that needs it, so it exists
exactly when that change does. A runner fires each due timer in ONE transaction that locks
it (FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite the write lock taken at BEGIN IMMEDIATE
does the same), runs its handler and marks it fired. A runner killed before the commit
leaves no effect and a pending timer, which fires after a restart; a commit makes the
effects and the "fired" mark durable together. So no timer is lost and none fires twice,
without the claim-then-recover dance the outbox needs for its network sends.

Handlers therefore do database work only (move a token along, and carry out the notices they
return through bot/outbox/enqueue.py apply_notices: bot/services/calls.py TIMER_HANDLERS) and
never talk to the network: they run while the timer's row lock — and, on SQLite, the
database's write lock — is held.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.outbox.loop import run_until_stopped
from bot.store.db import Database
from bot.store.models import Timer, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_S = 5.0
RETRY_CAP_S = 10 * 60.0
# Kept in the payload (the table has no error column): why the last try failed.
ERROR_KEY = "error"
ERROR_MAX_CHARS = 500


class TimerStatus(StrEnum):
    """Where a timer is in its life."""

    PENDING = "pending"  # waiting for its due time (or for another try)
    FIRED = "fired"  # its handler ran and committed
    CANCELLED = "cancelled"  # replaced or no longer needed
    FAILED = "failed"  # gave up: unknown kind or too many failed tries


TimerHandler = Callable[[Session, Timer, dt.datetime], None]


def schedule(
    session: Session,
    kind: str,
    due_at: dt.datetime,
    payload: Mapping[str, Any],
    identity_id: int | None = None,
    key: str | None = None,
    replace: bool = True,
) -> Timer:
    """Add a pending timer in the caller's transaction, replacing a pending one of the same kind and key.

    Two transactions scheduling the same kind and key at once could both insert; callers
    hold the lock of the row the timer belongs to (a conversation, a token), which orders them.
    `replace=False`: the caller knows there is none to replace (a token just made), and skips the look.
    """
    if due_at.tzinfo is None:
        raise ValueError("naive due_at given to schedule(); use an aware UTC time")
    if key is not None and replace:
        cancel(session, kind, key)
    timer = Timer(kind=kind, due_at=due_at, payload=dict(payload), key=key, identity_id=identity_id, status=TimerStatus.PENDING, attempts=0)
    session.add(timer)
    # The caller may want the id (to log it, or to put it in a message) before its commit.
    session.flush()
    return timer


def cancel(session: Session, kind: str, key: str) -> int:
    """Cancel the pending timers of a kind with this key; return how many.

    A timer a runner is firing at this moment is skipped, not waited for: waiting would
    take the locks in the opposite order to the runner (the caller holds its token, then
    wants the timer; the runner holds the timer, then wants the token) and deadlock. That
    timer fires, and its handler, which locks and re-checks its domain row, finds the work
    already done — so handlers must re-check, whichever way the race goes.
    """
    ids = list(
        session.scalars(
            select(Timer.id)
            .where(Timer.kind == kind, Timer.key == key, Timer.status == TimerStatus.PENDING)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return 0
    result = session.execute(
        update(Timer)
        .where(Timer.id.in_(ids), Timer.status == TimerStatus.PENDING)
        .values(status=TimerStatus.CANCELLED)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def retry_delay(attempts: int) -> dt.timedelta:
    """Return the wait before the next try after `attempts` failed ones: doubling, capped."""
    return dt.timedelta(seconds=min(RETRY_CAP_S, RETRY_BASE_S * 2 ** max(attempts - 1, 0)))


class TimerRunner:
    """Fires due timers through the handler registered for their kind, each exactly once."""

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, TimerHandler],
        clock: Callable[[], dt.datetime] = utcnow,
        batch_size: int = 20,
        outbox_signal: threading.Event | None = None,
    ):
        self.db = db
        self.handlers = dict(handlers)
        self.clock = clock
        self.batch_size = batch_size
        # Set after a pass that committed something, so an in-process outbox worker sends what
        # the handlers queued without waiting for its next poll.
        self.outbox_signal = outbox_signal

    def run_once(self) -> int:
        """Fire up to one batch of due timers; return how many were handled (fired, retried or failed)."""
        handled = 0
        while handled < self.batch_size and self._fire_next():
            handled += 1
        if handled and self.outbox_signal is not None:
            self.outbox_signal.set()
        return handled

    def drain(self, max_batches: int = 1000) -> int:
        """Fire until nothing is due; return how many timers were handled."""
        total = 0
        for _ in range(max_batches):
            handled = self.run_once()
            total += handled
            if handled == 0:
                break
        return total

    def run(self, stop: threading.Event, wake: threading.Event | None = None, idle_seconds: float = 0.5) -> None:
        """Fire timers until stopped, polling every idle_seconds or when woken."""
        run_until_stopped(self.run_once, stop, wake, idle_seconds, name="timer pass")

    def _fire_next(self) -> bool:
        """Fire the next due timer in one transaction; return False when none is due."""
        now = self.clock()
        timer_id: int | None = None
        attempts = 0
        try:
            with self.db.write() as session:
                timer = session.scalars(
                    select(Timer)
                    .where(Timer.status == TimerStatus.PENDING, Timer.due_at <= now)
                    .order_by(Timer.due_at, Timer.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if timer is None:
                    return False
                timer_id, attempts = timer.id, timer.attempts
                handler = self.handlers.get(timer.kind)
                if handler is None:
                    # Retrying cannot help: no code in this process knows the kind.
                    log.error("timer %s has kind %r, which no handler is registered for", timer.id, timer.kind)
                    self._mark(timer, now, TimerStatus.FAILED, error=f"no handler for timer kind {timer.kind!r}")
                    return True
                handler(session, timer, now)
                self._mark(timer, now, TimerStatus.FIRED)
        except Exception as exc:
            if timer_id is None:
                raise  # the claim itself failed (the database is away): nothing to record
            log.exception("timer %s failed on try %d", timer_id, attempts + 1)
            self._record_failure(timer_id, now, exc)
        return True

    @staticmethod
    def _mark(timer: Timer, now: dt.datetime, status: TimerStatus, error: str | None = None) -> None:
        timer.attempts += 1
        timer.claimed_at = now
        timer.status = status
        if status == TimerStatus.FIRED:
            timer.fired_at = now
        if error is not None:
            timer.payload = {**timer.payload, ERROR_KEY: error[:ERROR_MAX_CHARS]}

    def _record_failure(self, timer_id: int, now: dt.datetime, exc: Exception) -> None:
        # A separate transaction: the firing one is rolled back, effects and all.
        with self.db.write() as session:
            timer = session.get(Timer, timer_id, with_for_update=True, populate_existing=True)
            if timer is None or timer.status != TimerStatus.PENDING:
                return  # cancelled meanwhile, or the failed commit had in fact gone through
            error = f"{type(exc).__name__}: {exc}"
            if timer.attempts + 1 >= MAX_ATTEMPTS:
                log.error("timer %s (%s) failed %d times; giving up", timer.id, timer.kind, timer.attempts + 1)
                self._mark(timer, now, TimerStatus.FAILED, error=error)
                return
            self._mark(timer, now, TimerStatus.PENDING, error=error)
            timer.due_at = now + retry_delay(timer.attempts)
