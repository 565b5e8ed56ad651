"""Doctors' pings: who is told that patients wait, at most once a minute, and the danger-sign escalation.

A booking into a queue doctors are calling from now asks `pings_for` which doctors to tell:
the free, on-duty, unmuted doctors of that OPD (a follow-up token: its own doctor only) whose
last ping is a minute old or more — or at once, whatever the minute, for a danger-sign token.
The minute is kept durably (doctors.pinged_at) and taken with one conditional UPDATE per
doctor, so two bookings committing together ping a doctor once, on both databases.

A doctor mutes and unmutes pings at the desk (Desk.mute_pings, doctors.pings_muted). A
danger-sign token also starts the escalation timer (flows/steps/pings.py schedules it).
When it fires and the token is still waiting, every on-duty doctor who can see it — its own
OPD's and the round-the-clock OPDs' doctors, busy, on a break or muted alike — is pinged,
and the operators' dashboard lists it under "Now" (`unserved_danger`) until a doctor calls it:
the coordinators have no chat of their own.

A follow-up token is its own doctor's; when that doctor is off duty it becomes every OPD
doctor's after a grace period (bot/services/desk.py callable_by). Its timer (`watch_follow_up`,
set when it is booked and when its doctor goes off duty) fires then, and if the token still
waits and its doctor is still away, the OPD's free doctors are pinged as for a booking.

What is said is built by the flows (flows/steps/pings.py) from the facts returned here.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, or_, select, update
from sqlalchemy.orm import Session

from bot.outbox.enqueue import apply_notices
from bot.outbox.timers import TimerStatus
from bot.services import inbox
from bot.services.calendar import calling_days, round_the_clock
from bot.services.calls import doctor_party
from bot.services.desk import (
    DEFAULT_FOLLOW_UP_GRACE,
    FOLLOW_UP_TIMER,
    open_to_any_doctor,
)
from bot.store.models import (
    Doctor,
    DoctorOpd,
    DoctorStatus,
    Identity,
    Opd,
    Person,
    Timer,
    Token,
    TokenStatus,
)
from flows.messages import ByLanguage
from flows.notices import Notice, OpenInbox
from flows.ports import Party, Ping
from flows.steps import pings as ping_flow

# At most one "patients waiting" ping a minute per doctor (issue 16): a busy OPD must not
# turn a doctor's chat into a stream of pings.
PING_INTERVAL = dt.timedelta(minutes=1)
ON_DUTY = (DoctorStatus.FREE, DoctorStatus.BUSY, DoctorStatus.PAUSED)


def opd_name(opd: Opd) -> ByLanguage:
    """Return an OPD's name in both languages."""
    return ByLanguage(en=opd.name_en, hi=opd.name_hi)


def queue_counts(session: Session, opd: Opd, now: dt.datetime) -> tuple[int, int]:
    """Return the tokens waiting in an OPD's queue now (those a doctor may call), and how many have danger signs."""
    flags = session.scalars(
        select(Token.red_flags).where(Token.opd_id == opd.id, Token.day.in_(calling_days(opd, now)), Token.status == TokenStatus.WAITING)
    ).all()
    return len(flags), sum(1 for found in flags if found)


def pings_for(session: Session, token: Token, now: dt.datetime, anyone: bool = False) -> tuple[Ping, ...]:
    """Return the doctors to ping about a token that has just joined the queue (or, anyone, a follow-up now
    open to every doctor of the OPD), and mark them pinged."""
    opd = token.opd
    own_doctor = token.doctor_id is not None and not anyone  # a follow-up waits for its own doctor only
    candidates = list(session.scalars(_free_doctors_statement(own_doctor), {"b_opd_id": opd.id, "b_doctor_id": token.doctor_id}))
    if not candidates:
        return ()
    urgent = bool(token.red_flags)
    waiting, danger = queue_counts(session, opd, now)
    found = []
    for doctor_id in candidates:
        if not _take_ping(session, doctor_id, now, urgent):
            continue
        party = doctor_party(session, doctor_id, last_spoken=True)
        if party is not None:
            found.append(Ping(party, opd_name(opd), waiting, danger))
    return tuple(found)


@functools.cache
def _free_doctors_statement(own_doctor: bool) -> Select[tuple[int]]:
    """The OPD's (b_opd_id) free doctors who take pings, or only its doctor b_doctor_id; built once
    (every booking into a live queue asks)."""
    query = (
        select(Doctor.person_id)
        .join(DoctorOpd, DoctorOpd.doctor_id == Doctor.person_id)
        .join(Person, Person.id == Doctor.person_id)
        .where(
            DoctorOpd.opd_id == bindparam("b_opd_id"),
            Doctor.status == DoctorStatus.FREE,
            Doctor.pings_muted.is_(False),
            Person.disabled_at.is_(None),
        )
        .order_by(Doctor.person_id)
    )
    return query.where(Doctor.person_id == bindparam("b_doctor_id")) if own_doctor else query


def _take_ping(session: Session, doctor_id: int, now: dt.datetime, urgent: bool) -> bool:
    """Record a ping to a doctor unless they had one in the last minute (a danger sign: always); return whether to send it."""
    condition = [Doctor.person_id == doctor_id]
    if not urgent:
        condition.append(or_(Doctor.pinged_at.is_(None), Doctor.pinged_at <= now - PING_INTERVAL))
    # One conditional UPDATE: the row lock orders two bookings pinging the same doctor at once.
    result = session.execute(update(Doctor).where(*condition).values(pinged_at=now).execution_options(synchronize_session=False))
    return bool(result.rowcount)


@dataclass(frozen=True)
class Unserved:
    """A danger-sign token still waiting after the escalation: what the doctors and the dashboard are told."""

    token_id: int
    number: int
    opd_name: ByLanguage
    red_flags: tuple[str, ...]
    minutes: int  # how long it has waited


def _unserved(token: Token, now: dt.datetime) -> Unserved:
    waited = max(0, int((now - token.created_at).total_seconds() // 60))
    return Unserved(token.id, token.number, opd_name(token.opd), tuple(token.red_flags or ()), waited)


def escalation_doctors(session: Session, token: Token) -> list[Party]:
    """Return the chats of every on-duty doctor who can see a token: its OPD's and the round-the-clock OPDs' doctors."""
    opds = [token.opd_id, *(opd.id for opd in session.scalars(select(Opd).where(Opd.active.is_(True))) if round_the_clock(opd))]
    doctor_ids = session.scalars(
        select(Doctor.person_id)
        .join(DoctorOpd, DoctorOpd.doctor_id == Doctor.person_id)
        .join(Person, Person.id == Doctor.person_id)
        .where(DoctorOpd.opd_id.in_(opds), Doctor.status.in_(ON_DUTY), Person.disabled_at.is_(None))
        .group_by(Doctor.person_id)
        .order_by(Doctor.person_id)
    )
    return [party for doctor_id in doctor_ids if (party := doctor_party(session, doctor_id, last_spoken=True)) is not None]


def on_danger_escalation(session: Session, timer: Timer, now: dt.datetime) -> list[Notice]:
    """A danger-sign token's minutes are up: if nobody has called it, alert every on-duty doctor who can see it."""
    token_id = int((timer.payload or {}).get("token", 0))
    token = session.get(Token, token_id, with_for_update=True, populate_existing=True)
    if token is None or token.status != TokenStatus.WAITING:
        return []  # called, cancelled or erased meanwhile: nothing to escalate
    waiting = _unserved(token, now)
    notices = ping_flow.escalation_notices(escalation_doctors(session, token), waiting.number, waiting.opd_name, waiting.red_flags, waiting.minutes)
    # And the coordinators' inbox: a person looks at the chat of a patient with danger signs nobody called.
    chat = session.scalar(
        select(Identity.id).where(Identity.person_id == token.person_id).order_by(Identity.last_inbound_at.desc().nulls_last(), Identity.id).limit(1)
    )
    return [*notices, OpenInbox(inbox.DANGER, chat)] if chat is not None else notices


def unserved_danger(session: Session, now: dt.datetime) -> tuple[Unserved, ...]:
    """Return the danger-sign tokens whose escalation fired and that still wait: the dashboard's alert."""
    since = now - dt.timedelta(days=2)  # a round-the-clock queue keeps yesterday's tokens
    fired = session.scalars(
        select(Timer.payload).where(Timer.kind == ping_flow.ESCALATION_TIMER, Timer.status == TimerStatus.FIRED, Timer.due_at >= since)
    ).all()
    ids = {int(payload.get("token", 0)) for payload in fired if payload}
    if not ids:
        return ()
    tokens = session.scalars(select(Token).where(Token.id.in_(ids), Token.status == TokenStatus.WAITING).order_by(Token.created_at, Token.id))
    return tuple(_unserved(token, now) for token in tokens)


def on_follow_up_open(session: Session, timer: Timer, now: dt.datetime) -> list[Notice]:
    """A follow-up's grace is up: if it still waits and its doctor is still away, ping the OPD's free doctors, who may call it now."""
    payload = timer.payload or {}
    token = session.get(Token, int(payload.get("token", 0)), with_for_update=True, populate_existing=True)
    grace = dt.timedelta(seconds=int(payload.get("grace_seconds", DEFAULT_FOLLOW_UP_GRACE.total_seconds())))
    if token is None or token.status != TokenStatus.WAITING or token.doctor_id is None or token.day not in calling_days(token.opd, now):
        return []  # called, cancelled or erased meanwhile, or its doctor's own for good
    if not open_to_any_doctor(session, token, now, grace):
        return []  # its doctor came back on duty (going off again sets a new timer)
    return ping_flow.pinged(pings_for(session, token, now, anyone=True))


def _applied(session: Session, timer: Timer, now: dt.datetime) -> None:
    apply_notices(session, on_danger_escalation(session, timer, now), now)


def _follow_up_applied(session: Session, timer: Timer, now: dt.datetime) -> None:
    apply_notices(session, on_follow_up_open(session, timer, now), now)


TIMER_HANDLERS = {ping_flow.ESCALATION_TIMER: _applied, FOLLOW_UP_TIMER: _follow_up_applied}
