"""Doctors and health workers over time: turned off and on again, removed, given a new code.

A doctor who is turned off is never free and is given no patients: their desk goes off
duty, a patient they had called goes back to the queue in the same place (the call is logged
as abandoned until another doctor calls them), follow-ups booked with them wait for any doctor of the OPD, and their chats are
told, then answered only with that (flows/steps/enrolment.py). Their history stays: consultations
keep naming them, so reports add up the same. Removal turns them off for good, revokes their
codes and unlinks their chats; a new code unlinks the chats too (a lost phone: whoever has it
now gets no patients' messages) and revokes the codes not used yet.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.services.booking import IST
from bot.services.doctors import close_consultation, queue_push, queue_to
from bot.services.enrolment import issue_code
from bot.store.models import (
    LIVE_TOKEN_STATUSES,
    Consultation,
    ConsultationOutcome,
    Conversation,
    Doctor,
    DoctorStatus,
    EnrolmentCode,
    HealthWorker,
    Identity,
    Person,
    Role,
    Token,
    TokenStatus,
)
from flows.steps import visit
from flows.steps.enrolment import account_off, chat_unlinked

log = logging.getLogger(__name__)


class StaffError(Exception):
    """Something an operator asked that cannot be done, said in one line."""


@dataclass(frozen=True)
class StaffRow:
    """One doctor or health worker as `teleopd doctor list` / `worker-user list` show them."""

    id: int
    name: str
    works_at: str  # a doctor's OPD codes, a health worker's clinic
    desk: str  # a doctor's status (free, busy, …); "-" for a health worker
    account: str  # active, disabled since …, removed …
    chats: str  # the channels of the chats enrolled now, or "none"
    code: str  # the newest enrolment code: pending until …, used …, expired …, revoked, none


def find_staff(session: Session, role: str, person_id: int) -> Person:
    """Return the doctor or health worker with this id, or raise StaffError."""
    person = session.get(Person, person_id, with_for_update=True)
    if person is None or person.role != role:
        noun, command = ("doctor", "doctor list") if role == Role.DOCTOR else ("health worker", "worker-user list")
        raise StaffError(f"there is no {noun} with id {person_id}: see `teleopd {command}`")
    return person


def disable(session: Session, person: Person, now: dt.datetime) -> bool:
    """Turn a doctor's or health worker's account off and tell their chats; return False if it was off already."""
    _not_removed(person)
    if person.disabled_at is not None:
        return False
    person.disabled_at = now
    _stand_down(session, person, now)
    for identity in _chats(session, person):
        queue_to(session, identity, account_off("push"), now)
    log.info("%s %s turned off", person.role, person.id)
    return True


def enable(session: Session, person: Person) -> bool:
    """Turn an account back on (its chats are desks again); return False if it was on."""
    _not_removed(person)
    if person.disabled_at is None:
        return False
    person.disabled_at = None
    log.info("%s %s turned on again", person.role, person.id)
    return True


def remove(session: Session, person: Person, now: dt.datetime) -> None:
    """Remove a doctor or health worker for good: off, codes revoked, chats told and unlinked; history kept."""
    _not_removed(person)
    if person.disabled_at is None:
        person.disabled_at = now
        _stand_down(session, person, now)
    _revoke_codes(session, person, now)
    _unlink_chats(session, person, now)
    person.removed_at = now
    log.info("%s %s removed", person.role, person.id)


def new_code(session: Session, person: Person, now: dt.datetime) -> str:
    """Issue a new enrolment code; the old ones stop working and the chats enrolled now are told and unlinked."""
    _not_removed(person)
    _revoke_codes(session, person, now)
    _unlink_chats(session, person, now)
    return issue_code(session, person, person.role, now)


def staff_rows(session: Session, role: str, now: dt.datetime) -> list[StaffRow]:
    """Return every doctor (or health worker) with where they work and the state of their account, chats and code."""
    people = session.scalars(select(Person).where(Person.role == role).order_by(Person.id)).all()
    ids = [p.id for p in people]
    chats: dict[int, list[str]] = {}
    for person_id, channel in session.execute(
        select(Identity.person_id, Identity.channel).where(Identity.person_id.in_(ids)).order_by(Identity.channel)
    ):
        chats.setdefault(person_id, []).append(channel)
    codes: dict[int, EnrolmentCode] = {}
    for code in session.scalars(select(EnrolmentCode).where(EnrolmentCode.person_id.in_(ids)).order_by(EnrolmentCode.id)):
        codes[code.person_id] = code  # the newest wins
    rows = []
    for person in people:
        if role == Role.DOCTOR:
            doctor = session.get(Doctor, person.id)
            works_at = ",".join(o.code for o in doctor.opds) if doctor else ""
            desk = doctor.status if doctor else "-"
        else:
            worker = session.get(HealthWorker, person.id)
            works_at, desk = (worker.clinic if worker else ""), "-"
        rows.append(StaffRow(
            id=person.id, name=person.name, works_at=works_at or "-", desk=desk, account=_account(person),
            chats=", ".join(chats.get(person.id, [])) or "none", code=_code_state(codes.get(person.id), now),
        ))
    return rows


def _day(at: dt.datetime) -> str:
    return f"{at.astimezone(IST):%Y-%m-%d}"


def _account(person: Person) -> str:
    if person.removed_at is not None:
        return f"removed {_day(person.removed_at)}"
    if person.disabled_at is not None:
        return f"disabled since {_day(person.disabled_at)}"
    return "active"


def _code_state(code: EnrolmentCode | None, now: dt.datetime) -> str:
    if code is None:
        return "none"
    if code.used_at is not None:
        return f"used {_day(code.used_at)}"
    if code.revoked_at is not None:
        return "revoked"
    if code.expires_at <= now:
        return f"expired {_day(code.expires_at)}"
    return f"pending until {_day(code.expires_at)}"


def _not_removed(person: Person) -> None:
    if person.removed_at is not None:
        raise StaffError(f"{person.name} (id {person.id}) was removed on {_day(person.removed_at)}; add them again to give them a desk")


def _chats(session: Session, person: Person) -> list[Identity]:
    return list(session.scalars(select(Identity).where(Identity.person_id == person.id).order_by(Identity.id)))


def _stand_down(session: Session, person: Person, now: dt.datetime) -> None:
    """Take a doctor off duty for good: the patient they called back in the queue, their follow-ups open to any doctor."""
    doctor = session.get(Doctor, person.id, with_for_update=True)
    if doctor is None:
        return
    doctor.status, doctor.status_at = DoctorStatus.OFFLINE, now
    calls = session.scalars(
        select(Consultation).where(Consultation.doctor_id == person.id, Consultation.outcome.is_(None)).with_for_update()
    ).all()
    for consultation in calls:
        close_consultation(session, consultation, ConsultationOutcome.ABANDONED, now)
        token = consultation.token
        # Back in the queue at the same number (and priority), for the next free doctor.
        token.status, token.called_at, token.started_at, token.ended_at = TokenStatus.WAITING, None, None, None
        queue_push(session, token.identity_id, visit.call_cut_short(), now, about=token.person_id)
    session.execute(
        update(Token).where(Token.doctor_id == person.id, Token.status.in_(LIVE_TOKEN_STATUSES)).values(doctor_id=None)
    )


def _revoke_codes(session: Session, person: Person, now: dt.datetime) -> None:
    session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.person_id == person.id, EnrolmentCode.used_at.is_(None), EnrolmentCode.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _unlink_chats(session: Session, person: Person, now: dt.datetime) -> None:
    """Tell each chat enrolled now that it is no longer the person's, then make it a stranger's (it starts afresh)."""
    chats = _chats(session, person)
    for identity in chats:
        queue_to(session, identity, chat_unlinked(), now)
        identity.person = None
    if chats:
        session.execute(update(Conversation).where(Conversation.identity_id.in_([i.id for i in chats])).values(step=None, data={}))
    session.flush()
