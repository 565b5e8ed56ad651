"""What providers say after a message left: delivery status callbacks, and the SMS fallback.

Twilio posts a status callback for each change of an outbound message's status
(PROVIDERS.md §B4): sent, delivered, read, undelivered, failed. Callbacks can arrive more
than once and out of order, so each (MessageSid, status) is recorded once and the outbox
row keeps the furthest status by rank, never moving back. A WhatsApp message that could
not be delivered (failed or undelivered, e.g. error 63016 outside the 24 h window) is sent
again by SMS, once: the SMS copy points at the original through the unique fallback_of.

A callback can come before the worker has stored the message's SID (Twilio may post
"sent" or even "failed" before its API response reaches us, and surely before our commit):
it is filed with no row, and record_sent applies it, by the same rules, when the row is
marked sent. On PostgreSQL both take a transaction lock on the SID, so each sees the
other's commit; SQLite's single writer gives the same order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from bot.outbox.enqueue import enqueue
from bot.platform.phones import e164
from bot.services import inbox
from bot.services.identities import dialect_insert, ensure_identity
from bot.store.db import Database
from bot.store.models import (
    Conversation,
    DeliveryEvent,
    Identity,
    OutboxMessage,
    OutboxStatus,
)

log = logging.getLogger(__name__)

SMS_CHANNEL = "sms"
WHATSAPP_CHANNEL = "whatsapp"

# Twilio's message statuses in the order a message moves through them; the two failures
# are final and outrank everything (https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks).
STATUS_RANK = {
    "accepted": 0, "scheduled": 0, "queued": 0, "sending": 1, "sent": 2,
    "delivered": 3, "read": 4, "undelivered": 5, "failed": 5, "canceled": 5,
}
FAILED_STATUSES = ("undelivered", "failed")
# Twilio 21610: the recipient replied STOP; nothing more may be sent to them.
UNSUBSCRIBED = "21610"


def record_status(db: Database, provider_id: str, status: str, error_code: str | None, at: dt.datetime) -> str:
    """Record one status callback; return "duplicate", "unknown", "updated" or "stale"."""
    status = status.lower()
    with db.write() as session:
        _lock_provider_ids(session, [provider_id])
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.provider_id == provider_id).with_for_update()).first()
        inserted = session.execute(
            dialect_insert(session)(DeliveryEvent)
            .values(provider_id=provider_id, status=status, error_code=error_code, outbox_id=row.id if row else None, received_at=at)
            .on_conflict_do_nothing(index_elements=["provider_id", "status"])
            .returning(DeliveryEvent.id)
        ).scalar_one_or_none()
        if inserted is None:
            return "duplicate"
        if row is None:
            # A message of a previous deployment, or of another app on the same account.
            log.info("status %s for a message we did not send (or not yet marked sent)", status)
            return "unknown"
        return _apply_status(session, row, status, error_code, at)


# A sent row's mark and the look for callbacks that came before it, built once: every message
# sent runs them (bot/outbox/worker.py), and a statement reused has its cache key computed once.
_outbox = OutboxMessage.__table__
_MARK_SENT = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("outbox_id"))
    .values(status=OutboxStatus.SENT, provider_id=bindparam("provider_id"), sent_at=bindparam("sent_at"),
            rendered=bindparam("rendered", type_=_outbox.c.rendered.type))
)
# An answered acknowledgement (Telegram's callback query): nothing rendered, no provider id.
_MARK_ACKNOWLEDGED = (
    update(_outbox).where(_outbox.c.id == bindparam("outbox_id")).values(status=OutboxStatus.SENT, sent_at=bindparam("sent_at"))
)
_EARLY_EVENTS = (
    select(DeliveryEvent)
    .where(DeliveryEvent.provider_id.in_(bindparam("provider_ids", expanding=True)), DeliveryEvent.outbox_id.is_(None))
    .order_by(DeliveryEvent.id)
)
# Provider ids locked in one statement: a status callback's one, or a group of marks'. The
# worker's groups never share a provider id (each row is one worker's), so only a status
# callback, which takes one lock, ever waits on them: no order between groups to keep against deadlock.
_PROVIDER_ID_LOCKS = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k")


@dataclass(frozen=True)
class SentMark:
    """A row the provider accepted (or an acknowledgement answered), to be marked sent."""

    outbox_id: int
    channel: str
    provider_id: str | None
    # The message as it was laid out for its channel; None for an acknowledgement.
    rendered: dict[str, object] | None
    sent_at: dt.datetime


def record_sent(session: Session, marks: Sequence[SentMark]) -> None:
    """Mark rows sent under their provider ids, then apply the status callbacks that came before.

    Any number of rows in one transaction: one statement for the locks, one batch of
    UPDATEs (psycopg sends an executemany in one pipeline), one look for early callbacks.
    """
    taking_callbacks = {m.provider_id: m.outbox_id for m in marks if m.provider_id is not None and m.channel in (WHATSAPP_CHANNEL, SMS_CHANNEL)}
    _lock_provider_ids(session, list(taking_callbacks))
    sent = [
        {"outbox_id": m.outbox_id, "provider_id": m.provider_id, "sent_at": m.sent_at, "rendered": m.rendered}
        for m in marks if m.rendered is not None
    ]
    acknowledged = [{"outbox_id": m.outbox_id, "sent_at": m.sent_at} for m in marks if m.rendered is None]
    for statement, values in ((_MARK_SENT, sent), (_MARK_ACKNOWLEDGED, acknowledged)):
        if values:
            session.connection().execute(statement, values)
    if not taking_callbacks:
        return
    early = session.scalars(_EARLY_EVENTS, {"provider_ids": list(taking_callbacks)}).all()
    for provider_id in dict.fromkeys(event.provider_id for event in early):
        row = session.get(OutboxMessage, taking_callbacks[provider_id])
        if row is None:
            continue
        # By rank, ties in the order they came: the same end as callbacks after the commit.
        for event in sorted((e for e in early if e.provider_id == provider_id), key=lambda e: STATUS_RANK.get(e.status, -1)):
            event.outbox_id = row.id
            _apply_status(session, row, event.status, event.error_code, event.received_at)


def _apply_status(session: Session, row: OutboxMessage, status: str, error_code: str | None, at: dt.datetime) -> str:
    """Move a row to a newly recorded provider status unless it ranks lower; return "updated" or "stale"."""
    if STATUS_RANK.get(status, -1) <= STATUS_RANK.get(row.provider_status or "", -1):
        return "stale"
    row.provider_status, row.provider_status_at = status, at
    if status in ("delivered", "read") and row.status == OutboxStatus.SENT:
        row.status = OutboxStatus.DELIVERED
    elif status in FAILED_STATUSES:
        row.status = OutboxStatus.FAILED
        row.error_code = error_code or status
        if error_code == UNSUBSCRIBED:
            _opt_out(session, row.identity_id, at)
        elif row.channel == WHATSAPP_CHANNEL and queue_sms_fallback(session, row, f"whatsapp {status} {error_code or ''}".strip(), at):
            row.status = OutboxStatus.REROUTED
        else:
            _tell_coordinators_if_called(session, row, at)
    return "updated"


def _tell_coordinators_if_called(session: Session, row: OutboxMessage, at: dt.datetime) -> None:
    """A message that did not reach a patient the doctor is calling (no copy left to try): a person should phone them."""
    # An SMS copy's chat is the WhatsApp chat it copies: that one was moved to "called".
    original = session.get(OutboxMessage, row.fallback_of) if row.fallback_of is not None else row
    identity_id = original.identity_id if original is not None else row.identity_id
    if session.scalar(select(Conversation.step).where(Conversation.identity_id == identity_id)) == "called":
        inbox.open_item(session, identity_id, inbox.UNDELIVERED, at)


def queue_sms_fallback(session: Session, row: OutboxMessage, reason: str, now: dt.datetime) -> bool:
    """Queue one SMS copy of a WhatsApp message; return False when there is no number or a copy exists."""
    if row.channel != WHATSAPP_CHANNEL:
        return False
    identity = session.get(Identity, row.identity_id)
    phone = e164(identity.phone if identity is not None and identity.phone else row.address.removeprefix("whatsapp:"))
    if phone is None:
        return False
    sms_identity = ensure_identity(session, SMS_CHANNEL, phone)
    if sms_identity.phone is None:
        sms_identity.phone = phone
    if sms_identity.person_id is None and identity is not None and identity.person_id is not None:
        sms_identity.person_id = identity.person_id
    if sms_identity.language is None:
        sms_identity.language = row.language
    inserted = enqueue(
        session, identity_id=sms_identity.id, channel=SMS_CHANNEL, address=phone, language=row.language, kind=row.kind,
        payload=row.payload, due_at=now, inbound_id=row.inbound_id, fallback_of=row.id,
    )
    if inserted is not None:
        log.info("outbox %s: falling back to SMS as outbox %s (%s)", row.id, inserted, reason)
    return inserted is not None


def _lock_provider_ids(session: Session, provider_ids: Sequence[str]) -> None:
    """On PostgreSQL, hold a transaction lock on each provider id (SQLite has one writer anyway)."""
    if provider_ids and session.get_bind().dialect.name == "postgresql":
        # The advisory lock's key for a provider id: 64 bits of its hash.
        keys = [int.from_bytes(hashlib.blake2b(p.encode(), digest_size=8).digest(), "big", signed=True) for p in provider_ids]
        session.connection().execute(_PROVIDER_ID_LOCKS, {"keys": sorted(keys)})


def _opt_out(session: Session, identity_id: int, at: dt.datetime) -> None:
    session.execute(update(Identity).where(Identity.id == identity_id).values(opted_out=True, opted_out_at=at))
