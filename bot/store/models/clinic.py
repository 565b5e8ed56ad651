"""The OPDs and what happens in them: tokens in a day's queue, doctors and health workers, enrolment codes, consultations."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.store.models.base import Base, BigId, JsonDict, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy finds them by name in Base's registry
    from bot.store.models.people import Person

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
    # The last "patients waiting" ping (bot/services/pings.py): at most one a minute.
    pinged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The doctor asked for no pings (MUTE) until UNMUTE; a danger sign's escalation still reaches them.
    pings_muted: Mapped[bool] = mapped_column(default=False)
    # Printed on the e-prescription (Telemedicine Practice Guidelines 2020): the State Medical
    # Council's or the NMC's registration number, and the degrees; set by `teleopd doctor add/edit`.
    registration_number: Mapped[str | None] = mapped_column(String(40))
    qualification: Mapped[str | None] = mapped_column(String(120))

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
