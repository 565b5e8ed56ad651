"""The retry policy: what becomes of a send that did not go, and the writes that record it.

A row put back (rate limit, temporary error) takes the rows after it for its recipient
with it, so order holds. A send that may succeed later is tried again after an
exponential, jittered wait, up to MAX_ATTEMPTS; one that never will fails at once, or is
rerouted to SMS where the channel says so (WhatsApp outside its window, undelivered).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Sequence

from sqlalchemy import bindparam, case, exists, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from bot.channels.base import SendError
from bot.outbox.claims import Claimed
from bot.outbox.delivery import queue_sms_fallback
from bot.store.models import OutboxMessage, OutboxStatus

# Its lines are the worker's: they keep the logger name they had when this lived in worker.py.
log = logging.getLogger("bot.outbox.worker")

MAX_ATTEMPTS = 8
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 15 * 60.0
# When our own limiter gives no wait, look again after this long.
RATE_LIMIT_WAIT_S = 1.0
# An unanswered Telegram callback only leaves a spinner, and an old one cannot be answered:
# try an ack a few times, soon, then drop it.
ACK_ATTEMPTS = 3
ACK_RETRY_S = 1.0
# A sent row whose record met a database outage: first retry, and the longest wait between.
OUTAGE_RETRY_FIRST_S = 0.2
OUTAGE_RETRY_MAX_S = 2.0


_outbox = OutboxMessage.__table__
# The rows behind a put-back row for its recipient, made to wait as long (built once: a rate-limited chat puts rows back often).
_DELAY_FOLLOWERS = (
    update(_outbox)
    .where(
        # Not named after columns: SQLAlchemy keeps those names for the SET clause's own parameters.
        _outbox.c.channel == bindparam("b_channel"), _outbox.c.address == bindparam("b_address"),
        _outbox.c.id > bindparam("b_row_id"), _outbox.c.kind != "ack",
        _outbox.c.status == OutboxStatus.PENDING, _outbox.c.due_at < bindparam("b_due"),
    )
    .values(due_at=bindparam("b_due"))
)


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> dt.timedelta:
    """Return the wait before another try: exponential, capped, jittered within its upper half."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * (2 ** max(attempts - 1, 0)))
    return dt.timedelta(seconds=ceiling / 2 + rng() * ceiling / 2)


def hold(session: Session, rows: Sequence[Claimed], due: dt.datetime, spacing: dt.timedelta | None = None) -> dt.datetime:
    """Give claimed rows back unsent, their claim not counted; return when the last of them is due.

    All are due at `due`; with `spacing` (a recipient paced at one message a turn), the first
    at `due` and each next one a turn later.
    """
    dues = {r.id: due + (spacing or dt.timedelta(0)) * index for index, r in enumerate(rows)}
    if dues:
        session.connection().execute(
            update(_outbox)
            .where(_outbox.c.id.in_(list(dues)), _outbox.c.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING, due_at=case(dues, value=_outbox.c.id) if spacing else due,
                    attempts=_outbox.c.attempts - 1)
        )
    return max(dues.values(), default=due)


def put_back(
    session: Session, row: Claimed, due: dt.datetime, followers: Sequence[Claimed], spacing: float | None = None, **values: object,
) -> None:
    """Return a row to the queue until `due`, with every later row for its recipient.

    With `spacing` (the recipient takes a message every so many seconds: RateLimited.spacing),
    the followers are due one after another that far apart, and rows queued since after them.
    """
    # Core statements on the table, run on the session's connection: the worker's writes have
    # no ORM objects to keep in step, and the ORM's bulk UPDATE would look for some.
    connection = session.connection()
    connection.execute(update(_outbox).where(_outbox.c.id == row.id).values(status=OutboxStatus.PENDING, due_at=due, **values))
    if row.kind != "ack":
        if spacing and followers:  # the first follower a turn after this row, and so on
            turn = dt.timedelta(seconds=spacing)
            due = hold(session, followers, due + turn, turn)
        else:
            hold(session, followers, due)
        # Rows queued for them since, or left out of this batch, wait as long as the last of them.
        last = max([row.id, *(f.id for f in followers)])
        connection.execute(_DELAY_FOLLOWERS, {"b_channel": row.channel, "b_address": row.address, "b_row_id": last, "b_due": due})


def fall_back_to_sms(session: Session, row: Claimed, exc: SendError, now: dt.datetime) -> str:
    """Queue the SMS copy of a message this channel cannot carry; return the row's new status."""
    original = session.get(OutboxMessage, row.id)
    if original is None:
        return OutboxStatus.FAILED
    if queue_sms_fallback(session, original, f"{row.channel} {exc.code or 'needs fallback'}", now):
        return OutboxStatus.REROUTED
    # A copy queued before (this row sent twice after a crash) still stands.
    copied = session.scalar(select(exists().where(OutboxMessage.fallback_of == row.id)))
    return OutboxStatus.REROUTED if copied else OutboxStatus.FAILED


def record_through_outage(
    row: Claimed, write: Callable[[], None], clock: Callable[[], dt.datetime], claim_timeout: dt.timedelta,
) -> None:
    """Commit what became of a send (accepted, or to be tried later), waiting out a database outage.

    A row left "sending" comes back only after the claim timeout: one the provider
    accepted is then sent again, and the rows behind it for that recipient wait as
    long. So the write is retried while the database is away (OperationalError, InterfaceError: a dropped or
    refused connection; the pool's pre-ping reconnects), until half the claim timeout,
    after which the row may be taken for a dead worker's anyway. Found by bench/faults.py
    --scenario pg-restart.
    """
    wait_s = OUTAGE_RETRY_FIRST_S
    while True:
        try:
            write()
            return
        except (OperationalError, InterfaceError) as exc:
            if row.claimed_at is not None and clock() - row.claimed_at > claim_timeout / 2:
                raise
            log.warning("outbox row %s sent but not yet recorded (%s); retrying in %.1f s", row.id, type(exc).__name__, wait_s)
            time.sleep(wait_s)
            wait_s = min(wait_s * 2, OUTAGE_RETRY_MAX_S)
