"""Doctors and health workers: creating them, and one-time codes that link a chat to them.

An operator runs `teleopd doctor add` or `teleopd worker-user add`; it prints a code. The
doctor sends "enroll CODE" from any channel, and that identity becomes theirs. Only a
hash of the code is stored, it expires, and it works once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.platform.ratelimit import RateLimiter
from bot.store.models import (
    Doctor,
    DoctorOpd,
    EnrolmentCode,
    HealthWorker,
    Identity,
    Opd,
    Person,
    Role,
    utcnow,
)
from flows.steps.enrolment import DISABLED

log = logging.getLogger(__name__)

CODE_LIFETIME = dt.timedelta(days=7)
# Unambiguous letters and digits (no 0/O, 1/I/L): read aloud over a phone, typed on a keypad.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def new_code() -> str:
    """Return a fresh random code (40 bits: guessing one of a few live codes is hopeless)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_hash(code: str) -> str:
    """Return the stored form of a code; case and spaces do not matter."""
    cleaned = "".join(code.split()).upper().replace("-", "")
    return hashlib.sha256(cleaned.encode("ascii", "ignore")).hexdigest()


def issue_code(session: Session, person: Person, role: str, now: dt.datetime | None = None) -> str:
    """Create a one-time code for a person and return it (only its hash is kept)."""
    now = now or utcnow()
    code = new_code()
    session.add(EnrolmentCode(code_hash=code_hash(code), person_id=person.id, role=role, created_at=now, expires_at=now + CODE_LIFETIME))
    session.flush()
    return code


def add_doctor(session: Session, name: str, opds: list[Opd], languages: str = "hi,en", now: dt.datetime | None = None) -> tuple[Person, str]:
    """Create a doctor who sees patients in the given OPDs; return them and their code."""
    person = Person(role=Role.DOCTOR, name=name, language="en")
    session.add(person)
    session.flush()
    session.add(Doctor(person_id=person.id, languages=languages))
    session.add_all(DoctorOpd(doctor_id=person.id, opd_id=opd.id) for opd in opds)
    session.flush()
    return person, issue_code(session, person, Role.DOCTOR, now)


def add_health_worker(session: Session, name: str, clinic: str, now: dt.datetime | None = None) -> tuple[Person, str]:
    """Create a health worker at a clinic; return them and their code."""
    person = Person(role=Role.HEALTH_WORKER, name=name, language="hi")
    session.add(person)
    session.flush()
    session.add(HealthWorker(person_id=person.id, clinic=clinic))
    session.flush()
    return person, issue_code(session, person, Role.HEALTH_WORKER, now)


class EnrolResult(StrEnum):
    """What became of an enrolment attempt (the chat is told only enrolled, refused, or too many: flows/steps/enrolment.py)."""

    ENROLLED = "enrolled"
    UNKNOWN = "unknown"  # no such code
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"  # a newer code was issued, or the person was removed
    DISABLED = "disabled"  # the person's account is turned off
    TOO_MANY = "too_many"  # too many refused codes lately: not even looked at


@dataclass(frozen=True)
class GuessBudget:
    """How many refused codes are answered before codes are not even looked at for a while.

    Per chat, and for everyone together, so one person with many chats gets no more. With
    40-bit codes and even a thousand live at once, 100 guesses an hour for a year find one
    with odds of about 1 in 1,250. The counts are the process's own unless TELEOPD_REDIS_URL
    shares them (bot/platform/ratelimit.py): several web processes without Redis each allow as much.
    """

    per_chat: int = 5
    per_chat_seconds: int = 15 * 60
    overall: int = 100
    overall_seconds: int = 60 * 60


@dataclass(frozen=True)
class Enrolment:
    """The result, and who the identity now belongs to."""

    result: EnrolResult
    role: str | None = None
    name: str | None = None


def enrol(session: Session, identity: Identity, code: str, now: dt.datetime, limiter: RateLimiter | None = None, budget: GuessBudget = GuessBudget()) -> Enrolment:
    """Link an identity to the person a code was issued for, once; refused codes spend the guess budget."""
    chat, everyone = f"enrol/chat/{identity.id}", "enrol/all"
    if limiter is not None and not (
        limiter.has_room(chat, budget.per_chat, budget.per_chat_seconds) and limiter.has_room(everyone, budget.overall, budget.overall_seconds)
    ):
        log.warning("enrolment from identity %s not tried: too many refused codes lately", identity.id)
        return Enrolment(EnrolResult.TOO_MANY)
    result = _use_code(session, identity, code, now)
    if result.result is not EnrolResult.ENROLLED and limiter is not None:
        limiter.spend(chat, budget.per_chat, budget.per_chat_seconds)
        limiter.spend(everyone, budget.overall, budget.overall_seconds)
    return result


def _use_code(session: Session, identity: Identity, code: str, now: dt.datetime) -> Enrolment:
    row = session.scalars(select(EnrolmentCode).where(EnrolmentCode.code_hash == code_hash(code)).with_for_update()).first()
    if row is None:
        return Enrolment(EnrolResult.UNKNOWN)
    if row.used_at is not None:
        return Enrolment(EnrolResult.USED)
    if row.revoked_at is not None:
        return Enrolment(EnrolResult.REVOKED)
    if row.expires_at <= now:
        return Enrolment(EnrolResult.EXPIRED)
    person = session.get(Person, row.person_id)
    if person is None:
        return Enrolment(EnrolResult.UNKNOWN)
    if person.disabled_at is not None or person.removed_at is not None:
        return Enrolment(EnrolResult.DISABLED)
    row.used_at, row.used_by_identity_id = now, identity.id
    identity.person_id = person.id
    if identity.language:
        person.language = identity.language
    session.flush()
    return Enrolment(EnrolResult.ENROLLED, role=row.role, name=person.name)


def role_of(identity: Identity) -> str:
    """Return the role of the person behind an identity: patient unless enrolled, "disabled" for staff turned off."""
    person = identity.person
    if person is None:
        return Role.PATIENT
    if person.disabled_at is not None and person.role != Role.PATIENT:
        return DISABLED
    return person.role
