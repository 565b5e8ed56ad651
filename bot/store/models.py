"""The shared database: typed SQLAlchemy 2 models.

Every timestamp is stored timezone-aware in UTC (Babel treats a naive datetime as UTC and
reports in IST only when told to; see PROVIDERS.md §D). The migrations in migrations/ create
exactly these tables; tests/test_migrations.py checks that the two agree.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JsonDict = JSON().with_variant(JSONB(), "postgresql")
# BIGINT ids on PostgreSQL (a national outbox passes 2**31 rows); SQLite needs INTEGER for
# its rowid alias to autoincrement.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """Return the current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that always comes back aware in UTC (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC times")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Base class of every model."""


class Role(StrEnum):
    """What a person is to the service."""

    PATIENT = "patient"
    DOCTOR = "doctor"
    HEALTH_WORKER = "health_worker"


class OutboxStatus(StrEnum):
    """Where an outgoing message is on its way out."""

    PENDING = "pending"  # waiting for its due time and a worker
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"  # accepted by the provider (or shown, for the local channel)
    DELIVERED = "delivered"  # the provider confirmed delivery
    FAILED = "failed"  # gave up: permanent error or too many attempts
    SUPPRESSED = "suppressed"  # not sent: the user opted out before it was due
    REROUTED = "rerouted"  # not sent here: a copy went by SMS instead (row fallback_of points here)


class Person(Base):
    """Someone the service knows: a patient, a doctor or a health worker."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    role: Mapped[str] = mapped_column(String(20), default=Role.PATIENT)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(5), default="en")
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
    language: Mapped[str | None] = mapped_column(String(5))
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
        Index("ix_outbox_channel_address", "channel", "address", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int] = mapped_column(BigId, ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(5))
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
    __table_args__ = (Index("ix_timers_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TokenStatus(StrEnum):
    """Where a token is on its way through the OPD."""

    WAITING = "waiting"
    CALLED = "called"
    IN_CONSULTATION = "in_consultation"
    DONE = "done"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


LIVE_TOKEN_STATUSES = (TokenStatus.WAITING, TokenStatus.CALLED, TokenStatus.IN_CONSULTATION)


class Opd(Base):
    """A specialty clinic that gives tokens: hours in IST, working days, a daily capacity."""

    __tablename__ = "opds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    specialty: Mapped[str] = mapped_column(String(30), index=True)
    name_en: Mapped[str] = mapped_column(String(80))
    name_hi: Mapped[str] = mapped_column(String(80))
    # Local time in India (IST). opens_at == closes_at means round the clock.
    opens_at: Mapped[dt.time] = mapped_column(Time)
    closes_at: Mapped[dt.time] = mapped_column(Time)
    # ISO weekdays it works, "123456" = Monday to Saturday.
    working_days: Mapped[str] = mapped_column(String(7), default="123456")
    daily_capacity: Mapped[int] = mapped_column(Integer)
    languages: Mapped[str] = mapped_column(String(20), default="hi,en")
    # The estimate of one consultation's length until the OPD has enough of its own.
    consult_minutes: Mapped[int] = mapped_column(Integer, default=10)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpdDay(Base):
    """The token counter of one OPD on one day: numbers are issued from here, gap-free."""

    __tablename__ = "opd_days"

    opd_id: Mapped[int] = mapped_column(BigId, ForeignKey("opds.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    capacity: Mapped[int] = mapped_column(Integer)


class Token(Base):
    """A place in an OPD's queue on one day: (OPD, day, number) is unique."""

    __tablename__ = "tokens"
    __table_args__ = (
        UniqueConstraint("opd_id", "day", "number", name="uq_tokens_opd_day_number"),
        # At most one live token per patient per OPD per day, whoever booked it.
        Index(
            "uq_tokens_live_patient",
            "opd_id",
            "day",
            "person_id",
            unique=True,
            postgresql_where=text("status IN ('waiting', 'called', 'in_consultation')"),
            sqlite_where=text("status IN ('waiting', 'called', 'in_consultation')"),
        ),
        Index("ix_tokens_queue", "opd_id", "day", "status", "number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    opd_id: Mapped[int] = mapped_column(BigId, ForeignKey("opds.id", ondelete="RESTRICT"))
    day: Mapped[dt.date] = mapped_column(Date)
    number: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True)
    # Who is told about this token (the patient, or the relative who booked for them).
    identity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("identities.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=TokenStatus.WAITING)
    # Red-flag patients are called first (DESIGN.md "Safety").
    priority: Mapped[bool] = mapped_column(default=False)
    red_flags: Mapped[list[str]] = mapped_column(JsonDict, default=list)
    # What the patient told us, for the doctor: symptom codes, their own words, duration, severity.
    intake: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    called_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A follow-up booked with one doctor waits for that doctor only.
    doctor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("doctors.person_id", ondelete="SET NULL", name="fk_tokens_doctor_id"), index=True)
    # When the patient was told to get ready (at place 3 in the queue), so it is said once.
    ready_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    opd: Mapped[Opd] = relationship()
    person: Mapped[Person] = relationship()


class DoctorStatus(StrEnum):
    """Whether a doctor can be given a patient."""

    OFFLINE = "offline"  # off duty
    FREE = "free"  # on duty, waiting for the next patient
    BUSY = "busy"  # with a patient
    PAUSED = "paused"  # on duty, taking a break


class Doctor(Base):
    """A doctor: a person who sees patients in one or more OPDs."""

    __tablename__ = "doctors"

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default=DoctorStatus.OFFLINE)
    languages: Mapped[str] = mapped_column(String(20), default="hi,en")
    status_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship()
    opds: Mapped[list[Opd]] = relationship(secondary="doctor_opds", order_by="Opd.id")


class DoctorOpd(Base):
    """Which OPDs a doctor sees patients in."""

    __tablename__ = "doctor_opds"

    doctor_id: Mapped[int] = mapped_column(BigId, ForeignKey("doctors.person_id", ondelete="CASCADE"), primary_key=True)
    opd_id: Mapped[int] = mapped_column(BigId, ForeignKey("opds.id", ondelete="CASCADE"), primary_key=True)


class HealthWorker(Base):
    """A health worker at a spoke clinic, who books for walk-in patients."""

    __tablename__ = "health_workers"

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    clinic: Mapped[str] = mapped_column(String(120))

    person: Mapped[Person] = relationship()


class EnrolmentCode(Base):
    """A one-time code that links a channel identity to a doctor or health worker."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Only a hash is kept: a database dump must not hand out working codes.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used_by_identity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("identities.id", ondelete="SET NULL"))
    # A code not used by the time a newer one was issued, or the person was removed, works no more.
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ConsultationOutcome(StrEnum):
    """How a consultation ended (None while it goes on)."""

    DONE = "done"
    REFERRED = "referred"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"  # the patient cancelled after being called
    ABANDONED = "abandoned"  # the doctor went off duty in the middle


class Consultation(Base):
    """One patient seen (or called) by one doctor: the shared log every report is built from."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_id: Mapped[int] = mapped_column(BigId, ForeignKey("tokens.id", ondelete="CASCADE"), unique=True)
    doctor_id: Mapped[int] = mapped_column(BigId, ForeignKey("doctors.person_id", ondelete="RESTRICT"), index=True)
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id", ondelete="CASCADE"), index=True)
    opd_id: Mapped[int] = mapped_column(BigId, ForeignKey("opds.id", ondelete="RESTRICT"), index=True)
    room_url: Mapped[str] = mapped_column(String(300))
    # A snapshot of what the patient told us (symptoms, duration, severity, red flags).
    intake: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    state_code: Mapped[str | None] = mapped_column(String(6), index=True)
    called_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    joined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(12), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    advice: Mapped[str] = mapped_column(Text, default="")
    rating: Mapped[int | None] = mapped_column(Integer)
    follow_up_of: Mapped[int | None] = mapped_column(BigId, ForeignKey("consultations.id", ondelete="SET NULL"))

    token: Mapped[Token] = relationship()
    doctor: Mapped[Doctor] = relationship()


class Operator(Base):
    """Someone who signs in to the operator dashboard (`teleopd operator add`)."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Kept lower-case, so "Coord" and "coord" are one operator.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # werkzeug.security's scrypt hash, never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Removed operators keep their row (so a name given again is a new epoch, not an old cookie's).
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Bumped by a password reset or a removal: a session signed with an older epoch has ended.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)


class AppSecret(Base):
    """A secret the web processes share, generated once (the session key when TELEOPD_SECRET_KEY is unset)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OperatorSession(Base):
    """One sign-in to the dashboard: its cookie names it, and signing out ends it here."""

    __tablename__ = "operator_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(BigId, ForeignKey("operators.id"), index=True)
    # SHA-256 of the cookie's session key: a copy of the database opens no session.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WorkerHeartbeat(Base):
    """When a worker process last went round its loop (GET /healthz reports the newest)."""

    __tablename__ = "worker_heartbeats"

    # host:pid, one row per worker process.
    worker: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class WebChat(Base):
    """A chat the web page opened beyond the local demo: its address, and its secret as a hash.

    The page keeps the secret in an HttpOnly cookie; only its SHA-256 is stored, so the
    table opens no chat. A revoked chat stays (its address is not given out again).
    """

    __tablename__ = "web_chats"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The chat's address on the local channel (the Identity and outbox address): not secret.
    address: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
