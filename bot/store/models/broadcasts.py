"""Broadcasts: an operator's health advisory to a segment of opted-in patients, and each recipient's row.

A recipient row is made once per (broadcast, identity) — the UNIQUE constraint is what makes
"nobody gets it twice" hold across restarts and racing senders — and points at the outbox row
that carries the advisory once it is queued (bot/services/broadcasts.py).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, BigId, JsonDict, UTCDateTime, utcnow


class BroadcastStatus(StrEnum):
    """Where a broadcast is in its life."""

    DRAFT = "draft"  # written, not sent
    AWAITING_APPROVAL = "awaiting_approval"  # above the approval threshold: a second operator must approve
    APPROVED = "approved"  # may be sent
    SENDING = "sending"  # the sender expands it into recipients and queues their advisories
    DONE = "done"  # every recipient queued (or skipped)
    CANCELLED = "cancelled"  # stopped by an operator; what was queued stays queued


class RecipientStatus(StrEnum):
    """What became of one recipient of a broadcast."""

    PENDING = "pending"  # in the segment, not queued yet
    QUEUED = "queued"  # its outbox row exists (outbox_id): the outbox says sent, delivered or failed
    SKIPPED = "skipped"  # left out when its turn came: sent STOP, or revoked advisories, since the expansion


class Broadcast(Base):
    """One advisory: its text per language (or an approved template), its segment, who wrote and approved it, its progress."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # {"en": ..., "hi": ..., "hi-Latn": ...}; empty when a template is used.
    texts: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    template_key: Mapped[str | None] = mapped_column(String(40))
    # The filters (bot/services/broadcasts.py Segment): states, district, languages, channels, seen_within_days.
    segment: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=BroadcastStatus.DRAFT)
    author_id: Mapped[int] = mapped_column(BigId, ForeignKey("operators.id", ondelete="RESTRICT"))
    approver_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("operators.id", ondelete="RESTRICT"))
    # The segment's size when it was sent for approval or sending, and the recipients made so far.
    audience: Mapped[int] = mapped_column(Integer, default=0)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # Where the expansion stands: the last identity id made a recipient, and whether it is complete.
    expanded_through: Mapped[int] = mapped_column(BigId, default=0)
    expanded: Mapped[bool] = mapped_column(default=False)
    # The latest due time given to one of its outbox rows: the next are spaced after it (the pace).
    paced_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class BroadcastRecipient(Base):
    """One identity a broadcast goes to, at most once."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "identity_id", name="uq_broadcast_recipients_broadcast_identity"),
        # The sender takes a broadcast's pending recipients in id order.
        Index("ix_broadcast_recipients_broadcast_status", "broadcast_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(BigId, ForeignKey("broadcasts.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(BigId, ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=RecipientStatus.PENDING)
    outbox_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("outbox.id", ondelete="SET NULL"), index=True)
