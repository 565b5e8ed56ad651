"""The photos, documents and voice notes patients send for their doctors (bot/services/media.py)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, BigId, UTCDateTime, utcnow


class MediaStatus(StrEnum):
    """Where a file is: to fetch, kept, refused, or to be deleted."""

    PENDING = "pending"  # to fetch from the provider (bot/media/fetcher.py), at due_at
    FETCHING = "fetching"  # a fetcher took it at claimed_at (taken again if it died)
    STORED = "stored"  # checked and kept in the storage under storage_key
    REFUSED = "refused"  # not kept: too big, or not the bytes of a kind we take
    FAILED = "failed"  # the provider would not give it, try after try
    ERASED = "erased"  # its patient was erased: the file goes, then the row


class MediaItem(Base):
    """One file a patient sent, with the token (and consultation) it is for."""

    __tablename__ = "media"
    __table_args__ = (
        # A provider's retry, or the same Telegram file sent again from one chat, is kept once.
        UniqueConstraint("channel", "provider_key", name="uq_media_channel_provider_key"),
        Index("ix_media_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("identities.id", ondelete="SET NULL"), index=True)
    person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("people.id", ondelete="SET NULL"), index=True)
    # NULL until the patient has a token (a file sent mid-booking goes with the next one booked).
    token_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tokens.id", ondelete="SET NULL"), index=True)
    consultation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("consultations.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))  # photo, document, voice
    # What the provider declared, then what the bytes are (bot/media/checks.py).
    mime: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(200))
    # How the provider names it: Telegram's file_id, Twilio's media URL.
    provider_ref: Mapped[str] = mapped_column(Text, default="")
    # The SHA-256 of the chat and the provider's lasting name for the file (Telegram's file_unique_id, Twilio's URL).
    provider_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=MediaStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    stored_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
