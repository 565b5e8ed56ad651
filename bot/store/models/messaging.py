"""Messages in and out, and alarms: the dedupe record of each inbound message, the outbox, delivery callbacks and timers."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import (
    Base,
    BigId,
    JsonDict,
    LanguageTag,
    UTCDateTime,
    utcnow,
)


class OutboxStatus(StrEnum):
    """Where an outgoing message is on its way out."""

    PENDING = "pending"  # waiting for its due time and a worker
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"  # accepted by the provider (or shown, for the local channel)
    DELIVERED = "delivered"  # the provider confirmed delivery
    FAILED = "failed"  # gave up: permanent error or too many attempts
    SUPPRESSED = "suppressed"  # not sent: the user opted out before it was due
    REROUTED = "rerouted"  # not sent here: a copy went by SMS instead (row fallback_of points here)



class InboundMessage(Base):
    """A message received; (channel, provider_id) is the dedupe key providers' retries hit.

    The text itself is not kept here: the conversation step has used it, and what must be
    kept (a name, a symptom) is stored where it belongs, with consent.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id", name="uq_inbound_channel_provider_id"),
        # One identity's messages of the last minute, counted for the flood limit (bot/dispatch.py).
        Index("ix_inbound_messages_identity_received", "identity_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str] = mapped_column(String(200))
    identity_id: Mapped[int] = mapped_column(BigId, ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="text")
    length: Mapped[int] = mapped_column(Integer, default=0)
    step_before: Mapped[str | None] = mapped_column(String(40))
    step_after: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """A message to send, committed with the state change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "due_at"),
        # One recipient's rows of one status, in order: the claim's per-row checks (an earlier
        # row being sent, earlier rows waiting) find just those rows, not the recipient's whole
        # history; the local chat's reads and a recipient's hold use it too.
        Index("ix_outbox_recipient", "channel", "address", "status", "id"),
        # The claim's order (bot/outbox/claims.py): pending rows by priority, then id. Without it
        # PostgreSQL sorted every due row of a 5,000-row backlog on each claim (12.6 ms, 2.3 ms with it).
        Index("ix_outbox_claim_order", "status", "priority", "id"),
        # One lane's claim order (a claim of one channel's rows): without it such a claim walked
        # every channel's pending rows.
        Index("ix_outbox_lane_claim_order", "status", "channel", "priority", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int] = mapped_column(BigId, ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(LanguageTag)
    kind: Mapped[str] = mapped_column(String(10), default="reply")
    # The message as flows produced it (catalog id + parameters + choices); rendered by the
    # worker in `language` for `channel`.
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDict)
    # What was actually sent (text and choices as rendered), kept for the local channel's
    # history and for support.
    rendered: Mapped[dict[str, Any] | None] = mapped_column(JsonDict)
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
    error_code: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    inbound_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The provider's last word on delivery (Twilio status callbacks: sent, delivered, read,
    # undelivered, failed), kept apart from our own status; callbacks arrive out of order.
    provider_status: Mapped[str | None] = mapped_column(String(20))
    provider_status_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # How often a worker died holding this row: the second time it is not sent again, so a
    # crash between send and mark repeats a message at most once.
    recoveries: Mapped[int] = mapped_column(Integer, default=0)
    # An SMS copy of a WhatsApp message that could not be delivered points at the original;
    # unique, so a message falls back to SMS once at most.
    fallback_of: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("outbox.id", ondelete="SET NULL", name="fk_outbox_fallback_of"), unique=True
    )
    # Claimed lowest first (bot/outbox/claims.py): replies and pushes are 0, a broadcast's
    # advisories 1 (bot/services/broadcasts.py), so a broadcast never holds back "the doctor is ready".
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DeliveryEvent(Base):
    """A provider's delivery status callback: (provider_id, status) is its dedupe key."""

    __tablename__ = "delivery_events"
    __table_args__ = (UniqueConstraint("provider_id", "status", name="uq_delivery_events_provider_id_status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(40))
    outbox_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("outbox.id", ondelete="SET NULL"), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Timer(Base):
    """A durable alarm (a reminder, a no-show window) that a worker claims when due."""

    __tablename__ = "timers"
    # A timer's key ("the same timer": a token's reminder, a call's no-show window) is looked up
    # to replace or cancel it, in the transaction of a booking, a move or a call: indexed.
    __table_args__ = (Index("ix_timers_due", "status", "due_at"), Index("ix_timers_kind_key", "kind", "key"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    key: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
