"""People and their conversations: who someone is to the service, each channel address of theirs, and where their chat stands."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.store.models.base import (
    Base,
    BigId,
    JsonDict,
    LanguageTag,
    UTCDateTime,
    utcnow,
)


class Role(StrEnum):
    """What a person is to the service."""

    PATIENT = "patient"
    DOCTOR = "doctor"
    HEALTH_WORKER = "health_worker"



class Person(Base):
    """Someone the service knows: a patient, a doctor or a health worker."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    role: Mapped[str] = mapped_column(String(20), default=Role.PATIENT)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(LanguageTag, default="en")
    # A family member booked for by someone else (a child, a parent): who looks after them.
    guardian_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("people.id", ondelete="CASCADE", name="fk_people_guardian_id"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Staff only (bot/services/staff.py): turned off by an operator (no patients, their chats told so),
    # and removed for good (their chats unlinked; the row stays, as consultations name them).
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient | None] = relationship(back_populates="person", uselist=False)


class Patient(Base):
    """A registered patient's details (India's DPDP Act: stored with consent, erasable)."""

    __tablename__ = "patients"

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    age: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(10))
    state_code: Mapped[str] = mapped_column(String(6), index=True)
    district: Mapped[str] = mapped_column(String(80))
    consent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Health advisories (broadcasts) are a consent of their own, asked once (flows/steps/advisories.py):
    # when it was asked, and the patient's last yes (cleared by a no) or no. Only a yes receives them.
    advisories_asked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    advisories_opted_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    advisories_opted_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship(back_populates="patient")


class Identity(Base):
    """One address on one channel (a Telegram chat, a WhatsApp number, a web chat user)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_identities_channel_address"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("people.id", ondelete="SET NULL"), index=True)
    language: Mapped[str | None] = mapped_column(LanguageTag)
    opted_out: Mapped[bool] = mapped_column(default=False)
    opted_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_inbound_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The E.164 number this identity is known to reach, only when the provider vouches for
    # it (a WhatsApp or SMS sender, a Telegram contact the user shared of themselves): it
    # links one person's identities across channels. A typed number is never put here.
    phone: Mapped[str | None] = mapped_column(String(20), index=True)

    person: Mapped[Person | None] = relationship()


class Conversation(Base):
    """Where one identity is in its conversation; locked while a message is handled."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int] = mapped_column(BigId, ForeignKey("identities.id", ondelete="CASCADE"), unique=True)
    step: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    # Counts handled messages; a test reads it to prove each message was handled once.
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The operator who has taken this chat over from the bot (bot/services/inbox.py), or None:
    # read with the locked row, so the dispatcher's "held?" costs no query of its own.
    held_by: Mapped[int | None] = mapped_column(BigId)
    # Answers in a row that fit none of the question's choices (flows/steps/human.py: the third
    # puts the chat in the inbox). A column, not data: a bad answer stores nothing in the data.
    misses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
