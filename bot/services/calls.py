"""A call's life after the doctor's NEXT: closing it, freeing the doctor, the call timers, "get ready".

The rules live here; what the others are told is built by the flows (flows/steps/visit.py
*_notices) from the facts these functions return, and carried out by
bot/outbox/enqueue.py apply_notices. The timer handlers are run by the worker, not by a flow
turn: they return notices too, and TIMER_HANDLERS applies them in the timer's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.outbox.enqueue import apply_notices
from bot.services.calendar import queue_position
from bot.services.reminders import ReminderPolicy, watch_missed_call
from bot.services.reminders import drop as drop_reminders
from bot.store.models import (
    Consultation,
    ConsultationOutcome,
    Doctor,
    DoctorStatus,
    Identity,
    Person,
    Timer,
    Token,
    TokenStatus,
)
from flows.messages import ByLanguage
from flows.notices import Notice
from flows.ports import CallEnded, Cancelled, Party, PlaceThree, QueueMoved
from flows.steps import visit

# eSanjeevani's own window for a patient to answer a call: one reminder after it, then a
# no-show after a second window (TELEOPD_CALL_WINDOW_SECONDS).
DEFAULT_CALL_WINDOW = dt.timedelta(seconds=120)
# Patients told to get ready when they reach this place in the queue.
GET_READY_AT = 3


def locked_consultation(session: Session, consultation_id: int) -> Consultation | None:
    """Return a consultation locked for this transaction, read fresh after the lock.

    A no-show timer and the patient's "joining" can arrive together: whoever takes the lock
    second sees what the first decided.
    """
    return session.get(Consultation, consultation_id, with_for_update=True, populate_existing=True)


def doctor_name(session: Session, doctor_id: int) -> str:
    """Return a doctor's name."""
    person = session.get(Person, doctor_id)
    return person.name if person else ""


def patient_party(token: Token) -> Party | None:
    """Return where a token's messages go: the chat that booked it, about its patient."""
    return Party(token.identity_id, about=token.person_id) if token.identity_id is not None else None


def doctor_party(session: Session, doctor_id: int, last_spoken: bool = False) -> Party | None:
    """Return a doctor's chat: the one used last (for a notice), or the newest (to put back home)."""
    order = Identity.last_inbound_at.desc().nulls_last() if last_spoken else Identity.id.desc()
    identity_id = session.scalar(select(Identity.id).where(Identity.person_id == doctor_id).order_by(order).limit(1))
    return Party(identity_id) if identity_id is not None else None


def queue_moved(session: Session, opd_id: int, day: dt.date, now: dt.datetime, retry: bool = True) -> QueueMoved:
    """Find the patient who has just reached place 3 and mark them told (once); or ask to look again later."""
    waiting = session.scalars(
        select(Token)
        .where(Token.opd_id == opd_id, Token.day == day, Token.status == TokenStatus.WAITING)
        .order_by(Token.priority.desc(), Token.number)
        .limit(GET_READY_AT)
    ).all()
    if len(waiting) < GET_READY_AT:
        return QueueMoved()
    candidate = waiting[GET_READY_AT - 1]
    # Another doctor may be calling this very token: skip it rather than wait for its lock.
    token = session.scalars(
        select(Token).where(Token.id == candidate.id, Token.ready_notified_at.is_(None), Token.status == TokenStatus.WAITING).with_for_update(skip_locked=True)
    ).first()
    if token is None:
        # Locked by another doctor's call right now: look again once that call has
        # committed, from the timer runner, instead of waiting for the lock here.
        return QueueMoved(look_again=(opd_id, day.isoformat())) if retry else QueueMoved()
    if queue_position(session, token) != GET_READY_AT:
        return QueueMoved()
    token.ready_notified_at = now
    party = patient_party(token)
    return QueueMoved(reached=PlaceThree(party, ByLanguage(en=token.opd.name_en, hi=token.opd.name_hi), token.number) if party else None)


def close_consultation(consultation: Consultation, outcome: ConsultationOutcome, now: dt.datetime) -> list[Notice]:
    """End a consultation in the log and free its token; return the notices that stop its timers."""
    consultation.outcome = outcome
    consultation.ended_at = now
    token = consultation.token
    token.status = {
        ConsultationOutcome.NO_SHOW: TokenStatus.NO_SHOW,
        ConsultationOutcome.CANCELLED: TokenStatus.CANCELLED,
    }.get(outcome, TokenStatus.DONE)
    token.started_at = consultation.joined_at or consultation.called_at
    token.ended_at = now
    return visit.stop_call_timers(consultation.id)


def available(doctor: Doctor) -> DoctorStatus:
    """Return a doctor's status once their call is over: free, unless their account was turned off meanwhile."""
    return DoctorStatus.OFFLINE if doctor.person.disabled_at is not None else DoctorStatus.FREE


def end_without_doctor(session: Session, consultation: Consultation, outcome: ConsultationOutcome, now: dt.datetime) -> CallEnded:
    """Close a call the doctor did not end (declined, cancelled, no-show) and free the doctor; return who to tell."""
    close_consultation(consultation, outcome, now)  # its timers are stopped by the notices of CallEnded
    doctor = session.get(Doctor, consultation.doctor_id)
    if doctor is not None:
        doctor.status, doctor.status_at = available(doctor), now
    return CallEnded(consultation.id, consultation.token.number, doctor_party(session, consultation.doctor_id))


def cancel_token(session: Session, token: Token, now: dt.datetime) -> Cancelled:
    """Cancel a live token: close the call a doctor had made to it, and see who moved up to place 3."""
    called = token.status != TokenStatus.WAITING
    token.status = TokenStatus.CANCELLED
    token.cancelled_at = now
    session.flush()
    drop_reminders(session, token.id)
    call = cancel_call(session, token, now) if called else None
    # Everyone behind moved up one place: whoever reached place 3 is told to get ready.
    return Cancelled(call, queue_moved(session, token.opd_id, token.day, now))


def cancel_call(session: Session, token: Token, now: dt.datetime) -> CallEnded | None:
    """The patient cancelled after being called: log the call as cancelled and free the doctor (None: no call open)."""
    consultation = session.scalars(
        select(Consultation).where(Consultation.token_id == token.id, Consultation.outcome.is_(None)).with_for_update()
    ).first()
    if consultation is None:
        return None
    ended = end_without_doctor(session, consultation, ConsultationOutcome.CANCELLED, now)
    token.status = TokenStatus.CANCELLED
    return ended


def _open_call(session: Session, timer: Timer) -> Consultation | None:
    """Return the timer's call, locked, while it is still waiting for the patient."""
    payload = getattr(timer, "payload", {}) or {}
    consultation = locked_consultation(session, int(payload.get("consultation", 0)))
    if consultation is None or consultation.outcome is not None or consultation.joined_at is not None:
        return None
    return consultation


def on_call_reminder(session: Session, timer: Timer, now: dt.datetime) -> list[Notice]:
    """First window over with no answer: remind the patient once, then wait a second window."""
    consultation = _open_call(session, timer)
    if consultation is None:
        return []
    consultation.reminded_at = now
    window = float((timer.payload or {}).get("window", DEFAULT_CALL_WINDOW.total_seconds()))
    name = doctor_name(session, consultation.doctor_id)
    return visit.reminder_notices(consultation.id, patient_party(consultation.token), name, consultation.room_url, now, window)


def on_call_no_show(session: Session, timer: Timer, now: dt.datetime, reminders: ReminderPolicy = ReminderPolicy()) -> list[Notice]:
    """Second window over: the patient is a no-show; the doctor is offered the next patient."""
    consultation = _open_call(session, timer)
    if consultation is None:
        return []
    ended = end_without_doctor(session, consultation, ConsultationOutcome.NO_SHOW, now)
    watch_missed_call(session, consultation.token, now, reminders)  # "do you still need a doctor?", hours later
    return visit.no_show_notices(ended, patient_party(consultation.token))


def on_get_ready(session: Session, timer: Timer, now: dt.datetime) -> list[Notice]:
    """Look again for the patient at place 3, after a call that held their token has committed."""
    payload = timer.payload or {}
    moved = queue_moved(session, int(payload["opd"]), dt.date.fromisoformat(str(payload["day"])), now, retry=False)
    return visit.queue_moved_notices(moved, now)


def _applied(handler: Callable[[Session, Timer, dt.datetime], Sequence[Notice]]) -> Callable[[Session, Timer, dt.datetime], None]:
    """Return a timer handler that carries out the notices of `handler` in the timer's transaction."""

    def run(session: Session, timer: Timer, now: dt.datetime) -> None:
        apply_notices(session, handler(session, timer, now), now)

    run.__name__ = run.__qualname__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def timer_handlers(reminders: ReminderPolicy = ReminderPolicy()) -> dict[str, Callable[[Session, Timer, dt.datetime], None]]:
    """Return the call timers' handlers; a no-show asks later whether the patient still needs a doctor, as `reminders` says."""

    def on_no_show(session: Session, timer: Timer, now: dt.datetime) -> list[Notice]:
        return on_call_no_show(session, timer, now, reminders)

    on_no_show.__name__, on_no_show.__doc__ = on_call_no_show.__name__, on_call_no_show.__doc__
    return {
        "call_reminder": _applied(on_call_reminder),
        "call_no_show": _applied(on_no_show),
        "get_ready": _applied(on_get_ready),
    }


TIMER_HANDLERS = timer_handlers()
