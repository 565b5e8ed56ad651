"""The one place outbox rows are built, and where a turn's notices to others are carried out.

`enqueue` adds a message row in the caller's transaction (`enqueue_turn` a turn's own messages in
one statement: the dispatcher's hot path); the worker (bot/outbox/worker.py)
sends it after the commit. `apply_notices` carries out flows/notices.py: a message to another
person (where they last wrote from, bot/services/identities.py notification_identity), a
move of their conversation, a timer scheduled or cancelled, a chat put in the coordinators'
inbox (bot/services/inbox.py). The dispatcher applies a
turn's Outcome.notices with it, the timer handlers (bot/services/calls.py) and the staff
commands theirs: nothing else builds an outbox row.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, bindparam, func, insert, select
from sqlalchemy.orm import Session

from bot.outbox import timers
from bot.services import inbox
from bot.services.identities import dialect_insert, notification_identity
from bot.store.models import Conversation, Identity, OutboxMessage, OutboxStatus
from flows.messages import Reply, reply_to_json
from flows.notices import (
    IDLE_STEPS,
    KEPT_ON_MOVE,
    CancelTimer,
    MoveConversation,
    Notice,
    Notify,
    OpenInbox,
    ScheduleTimer,
)


def enqueue(
    session: Session,
    *,
    identity_id: int,
    channel: str,
    address: str,
    language: str,
    kind: str,
    payload: Mapping[str, Any],
    due_at: dt.datetime,
    inbound_id: int | None = None,
    fallback_of: int | None = None,
) -> int | None:
    """Add one message to the outbox in the caller's transaction.

    With `fallback_of` (an SMS copy of a WhatsApp message that did not arrive) the row is
    inserted at once, unless a copy of that message exists: its id is returned, or None.
    Otherwise the row is added to the session (written at the next flush) and None returned.
    """
    values = dict(
        identity_id=identity_id, channel=channel, address=address, language=language,
        kind=kind, payload=dict(payload), due_at=due_at, inbound_id=inbound_id,
    )
    if fallback_of is None:
        session.add(OutboxMessage(**values))
        return None
    return session.execute(
        dialect_insert(session)(OutboxMessage)
        .values(**values, status=OutboxStatus.PENDING, attempts=0, recoveries=0, created_at=due_at, fallback_of=fallback_of)
        .on_conflict_do_nothing(index_elements=["fallback_of"])
        .returning(OutboxMessage.id)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class TurnMessage:
    """One message a turn queues for the person who wrote (an ack, a reply), as its row's values."""

    identity_id: int
    channel: str
    address: str
    language: str
    kind: str
    payload: Mapping[str, Any]
    due_at: dt.datetime
    inbound_id: int | None


@functools.cache
def _turn_insert(postgresql: bool, notify: bool) -> Insert:
    """The multi-row INSERT of a turn's messages, built once (a statement reused has its cache key computed once).

    PostgreSQL: with the NOTIFY that wakes a worker in another process in the same statement
    (a notification repeated in one transaction is delivered once, at the commit).
    """
    statement = insert(OutboxMessage.__table__)
    return statement.returning(func.pg_notify(bindparam("notify_channel"), "")) if postgresql and notify else statement


def enqueue_turn(session: Session, messages: Sequence[TurnMessage], notify_channel: str | None = None) -> bool:
    """Add a turn's messages to the outbox in one INSERT, in this order (their ids follow it).

    The dispatcher's hot path: Core, not one ORM object a row. With a notify_channel, on
    PostgreSQL, the same statement NOTIFYs it: return True when it did, so the caller need not.
    """
    if not messages:
        return False
    values = [
        {
            "identity_id": m.identity_id, "channel": m.channel, "address": m.address, "language": m.language,
            "kind": m.kind, "payload": dict(m.payload), "due_at": m.due_at, "inbound_id": m.inbound_id,
            "status": OutboxStatus.PENDING, "attempts": 0, "recoveries": 0, "created_at": m.due_at, "priority": 0,
        }
        for m in messages
    ]
    postgresql = session.get_bind().dialect.name == "postgresql"
    notify = notify_channel is not None and postgresql
    statement = _turn_insert(postgresql, notify)
    if notify:
        session.connection().execute(statement, [{**row, "notify_channel": notify_channel} for row in values]).all()
        return True
    session.connection().execute(statement, values)
    return False


# A broadcast's advisories are claimed after every reply and push (bot/outbox/claims.py).
BROADCAST_PRIORITY = 1


def enqueue_advisory(session: Session, identity: Identity, language: str, reply: Reply, due_at: dt.datetime) -> OutboxMessage:
    """Add a broadcast's advisory to one identity at the broadcast priority; return the row (its id is set at the next flush)."""
    row = OutboxMessage(
        identity_id=identity.id, channel=identity.channel, address=identity.address, language=language,
        kind=reply.kind, payload=reply_to_json(reply), due_at=due_at, priority=BROADCAST_PRIORITY,
    )
    session.add(row)
    return row


def enqueue_reply(session: Session, identity: Identity, reply: Reply, now: dt.datetime) -> None:
    """Queue a message to this very identity, in its language (else its person's, else English)."""
    language = identity.language or (identity.person.language if identity.person else None) or "en"
    enqueue(
        session, identity_id=identity.id, channel=identity.channel, address=identity.address, language=language,
        kind=reply.kind, payload=reply_to_json(reply), due_at=now,
    )


def apply_notices(session: Session, notices: Iterable[Notice], now: dt.datetime) -> int:
    """Carry out notices in the caller's transaction, in order; return how many messages were queued."""
    queued = 0
    for notice in notices:
        if isinstance(notice, Notify):
            identity = session.get(Identity, notice.identity_id) if notice.exact else notification_identity(session, notice.identity_id, notice.about)
            if identity is not None:
                enqueue_reply(session, identity, notice.reply, now)
                queued += 1
        elif isinstance(notice, MoveConversation):
            move_conversation(session, notice)
        elif isinstance(notice, ScheduleTimer):
            timers.schedule(session, notice.kind, notice.due_at, notice.payload, identity_id=notice.identity_id, key=notice.key)
        elif isinstance(notice, CancelTimer):
            timers.cancel(session, notice.kind, notice.key)
        elif isinstance(notice, OpenInbox):
            if notice.identity_id is not None:  # the dispatcher names the turn's own chat
                inbox.open_item(session, notice.identity_id, notice.reason, now)
        else:
            raise TypeError(f"not a notice: {notice!r}")
    return queued


def move_conversation(session: Session, move: MoveConversation) -> None:
    """Put an identity's conversation at a step (when it is idle, if asked), so typed answers fit."""
    # SKIP LOCKED: the other side may be in the middle of a message of their own, holding
    # their conversation while waiting for the consultation row we hold. Waiting here could
    # deadlock; skipping only means their typed answers go through the buttons instead.
    conv = session.scalars(
        select(Conversation).where(Conversation.identity_id == move.identity_id).with_for_update(skip_locked=True)
    ).first()
    if conv is None or (move.only_if_idle and conv.step not in IDLE_STEPS and not _still_at(conv, move)):
        return
    conv.step = move.step
    conv.data = {**{k: v for k, v in (conv.data or {}).items() if k in KEPT_ON_MOVE}, **move.data}
    conv.version += 1


def _still_at(conv: Conversation, move: MoveConversation) -> bool:
    """Return True when the conversation is at the step (and data) the move answers."""
    if move.or_at is None:
        return False
    step, data = move.or_at
    held = conv.data or {}
    return conv.step == step and all(held.get(key) == value for key, value in data.items())
