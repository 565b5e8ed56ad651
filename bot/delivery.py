"""What providers say after a message left: delivery status callbacks, and the SMS fallback.

Twilio posts a status callback for each change of an outbound message's status
(PROVIDERS.md §B4): sent, delivered, read, undelivered, failed. Callbacks can arrive more
than once and out of order, so each (MessageSid, status) is recorded once and the outbox
row keeps the furthest status by rank, never moving back. A WhatsApp message that could
not be delivered (failed or undelivered, e.g. error 63016 outside the 24 h window) is sent
again by SMS, once: the SMS copy points at the original through the unique fallback_of.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.db import Database
from bot.identities import dialect_insert, ensure_identity
from bot.models import DeliveryEvent, Identity, OutboxMessage, OutboxStatus
from bot.phones import e164

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
            log.info("status %s for a message we did not send", status)
            return "unknown"
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
        return "updated"


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
    inserted = session.execute(
        dialect_insert(session)(OutboxMessage)
        .values(
            identity_id=sms_identity.id, channel=SMS_CHANNEL, address=phone, language=row.language, kind=row.kind,
            payload=row.payload, status=OutboxStatus.PENDING, due_at=now, attempts=0, recoveries=0,
            inbound_id=row.inbound_id, created_at=now, fallback_of=row.id,
        )
        .on_conflict_do_nothing(index_elements=["fallback_of"])
        .returning(OutboxMessage.id)
    ).scalar_one_or_none()
    if inserted is not None:
        log.info("outbox %s: falling back to SMS as outbox %s (%s)", row.id, inserted, reason)
    return inserted is not None


def _opt_out(session: Session, identity_id: int, at: dt.datetime) -> None:
    session.execute(update(Identity).where(Identity.id == identity_id).values(opted_out=True, opted_out_at=at))
