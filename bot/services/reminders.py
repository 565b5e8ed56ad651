"""Reminders of a booked token: when they are due, and whether one still makes sense when it fires.

A token booked for a later day is reminded the evening before (TELEOPD_REMINDER_EVENING_AT,
18:00 India's time); a token that got no evening reminder (booked that day, or after the
evening hour the day before) is reminded before its day OPD opens
(TELEOPD_REMINDER_BEFORE_OPEN_MINUTES, 60). So each token is reminded once. A follow-up is
told in its doctor's words (TELEOPD_REMINDER_FOLLOW_UP). Round-the-clock OPDs have no opening
to remind of, and their tokens are for now: none. A patient who never answered the doctor's
call (a no-show: the call's timer, or the doctor's NO SHOW) is asked some hours later
(TELEOPD_REMINDER_MISSED_CALL_HOURS, 2) whether they still need a doctor, unless they have
booked again meanwhile; quiet hours apply to it as to the others.

Each reminder is a durable timer (bot/outbox/timers.py) keyed by its kind and the token, set
in the transaction that books the token (bot/services/booking.py) and cancelled in the one
that cancels or moves it (calls.py cancel_token, booking.py move): booking twice, or a retried
webhook, makes no second one. Every timer carries `not_after`, the moment after which it is
pointless: the session's start, and for "tomorrow" also midnight before the token's day (a
worker down all evening does not say "tomorrow" the next morning). When it fires, the handler
locks the token and sends only if the token still waits on the same day and the moment has
not passed; a reminder falling in quiet hours (TELEOPD_QUIET_HOURS, 21:00-08:00) waits for
their end if that is before `not_after`, and is dropped otherwise (logged and counted, in
teleopd_reminders with the reason).

The words are flows/steps/reminders.py's; they go through the outbox like any push (a patient
who sent STOP gets none; WhatsApp outside 24 h takes the message's template; a walk-in's go
by SMS to the number that booked them).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.outbox import timers
from bot.outbox.enqueue import apply_notices
from bot.platform.clock import IST
from bot.platform.config import Settings
from bot.platform.metrics import count_reminder
from bot.services.calendar import round_the_clock, session_on
from bot.store.models import LIVE_TOKEN_STATUSES, Opd, Person, Timer, Token, TokenStatus
from flows.messages import ByLanguage
from flows.notices import Notice
from flows.ports import Party
from flows.steps import reminders as words
from flows.steps.reminders import (
    BEFORE_OPEN,
    EVENING,
    KINDS,
    MISSED_CALL,
    DueReminder,
    reminder_key,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReminderPolicy:
    """Which reminders are on, when they are due, and the quiet hours (India's time)."""

    evening_at: dt.time | None = dt.time(18, 0)  # None: no evening reminder
    before_open: dt.timedelta = dt.timedelta(minutes=60)  # zero: none before opening
    follow_up: bool = True  # a follow-up told in its doctor's words
    missed_call_after: dt.timedelta = dt.timedelta(hours=2)  # zero: no "do you still need a doctor?"
    quiet: tuple[dt.time, dt.time] | None = (dt.time(21, 0), dt.time(8, 0))

    @classmethod
    def from_settings(cls, settings: Settings) -> ReminderPolicy:
        """Return the policy of teleopd's settings."""
        return cls(
            evening_at=settings.reminder_evening_at,
            before_open=dt.timedelta(minutes=settings.reminder_before_open_minutes),
            follow_up=settings.reminder_follow_up,
            missed_call_after=dt.timedelta(hours=settings.reminder_missed_call_hours),
            quiet=settings.quiet_hours,
        )

    def quiet_until(self, moment: dt.datetime) -> dt.datetime | None:
        """Return when the quiet hours around a moment end, or None when it is not in them."""
        if self.quiet is None:
            return None
        start, end = self.quiet
        local = moment.astimezone(IST)
        clock = local.time()
        crosses_midnight = start > end
        inside = (clock >= start or clock < end) if crosses_midnight else (start <= clock < end)
        if not inside:
            return None
        day = local.date() + dt.timedelta(days=1) if crosses_midnight and clock >= start else local.date()
        return dt.datetime.combine(day, end, IST).astimezone(dt.UTC)

    def placed(self, due: dt.datetime, not_after: dt.datetime) -> dt.datetime | None:
        """Return when a reminder due then goes out: then, or at the end of the quiet hours; None if that is too late."""
        later = self.quiet_until(due)
        when = later if later is not None else due
        return when if when < not_after else None


def _session_start(opd: Opd, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, opd.opens_at, IST).astimezone(dt.UTC)


def _midnight_before(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), IST).astimezone(dt.UTC)


def plan(session: Session, token: Token, now: dt.datetime, policy: ReminderPolicy, new: bool = False) -> str | None:
    """Set a token's reminder timer (in the booking's transaction), replacing its pending one; return its kind, or None.

    A token just made (`new`) has no timer to replace: the look for one (an index lookup of its
    kind and key) is skipped where every booking would pay for it.
    """
    opd = token.opd
    if round_the_clock(opd) or session_on(opd, token.day, now) is None:
        return None
    starts = _session_start(opd, token.day)
    today = now.astimezone(IST).date()
    choices: list[tuple[str, dt.datetime, dt.datetime]] = []
    if policy.evening_at is not None and token.day > today:
        evening = dt.datetime.combine(token.day - dt.timedelta(days=1), policy.evening_at, IST).astimezone(dt.UTC)
        choices.append((EVENING, evening, min(starts, _midnight_before(token.day))))
    if policy.before_open > dt.timedelta(0):
        choices.append((BEFORE_OPEN, starts - policy.before_open, starts))
    for kind, due, not_after in choices:
        when = policy.placed(due, not_after)
        if when is None:
            log.info("token %s: its %s reminder falls in quiet hours until too late; none", token.id, kind)
            count_reminder(kind, "quiet_hours")
            continue
        if when <= now:
            continue  # booked after that moment: the booking itself has just told them
        payload = {"token": token.id, "day": token.day.isoformat(), "not_after": not_after.isoformat()}
        timers.schedule(session, kind, when, payload, identity_id=token.identity_id, key=reminder_key(token.id), replace=not new)
        return kind
    return None


def drop(session: Session, token_id: int) -> None:
    """Cancel a token's pending reminders (it is cancelled, or moved to another day)."""
    for kind in KINDS:
        timers.cancel(session, kind, reminder_key(token_id))


def due_reminder(session: Session, timer: Timer, now: dt.datetime, policy: ReminderPolicy) -> DueReminder | None:
    """Return the reminder a timer stands for if it is still to be sent now, else None (and say why).

    In quiet hours it is set again for their end, when that is still in time.
    """
    payload = timer.payload or {}
    kind = timer.kind
    token = session.get(Token, int(payload.get("token", 0)), with_for_update=True, populate_existing=True)
    if token is None or token.status != TokenStatus.WAITING or token.day.isoformat() != payload.get("day") or token.identity_id is None:
        count_reminder(kind, "token_gone")
        return None  # called, done, cancelled, moved or erased meanwhile
    not_after = dt.datetime.fromisoformat(str(payload["not_after"]))
    if now >= not_after:
        log.warning("token %s: %s reminder due %s fired at %s, after its moment %s; not sent", token.id, kind, timer.due_at, now, not_after)
        count_reminder(kind, "too_late")
        return None
    later = policy.quiet_until(now)
    if later is not None:
        if later < not_after:
            # Replaces this very timer's key: the runner marks this one fired, the new one waits.
            timers.schedule(session, kind, later, payload, identity_id=timer.identity_id, key=reminder_key(token.id))
            count_reminder(kind, "after_quiet_hours")
        else:
            log.info("token %s: %s reminder fell in quiet hours until too late; not sent", token.id, kind)
            count_reminder(kind, "quiet_hours")
        return None
    person = session.get(Person, token.person_id)
    doctor = session.get(Person, token.doctor_id) if token.doctor_id is not None and policy.follow_up else None
    count_reminder(kind, "sent")
    return DueReminder(
        kind=kind,
        patient=Party(token.identity_id, about=token.person_id),
        token_id=token.id,
        number=token.number,
        opd=ByLanguage(en=token.opd.name_en, hi=token.opd.name_hi),
        name=person.name if person is not None else "",
        day=token.day,
        starts_at=_session_start(token.opd, token.day),
        doctor=doctor.name if doctor is not None else "",
    )


# How long after its moment "do you still need a doctor?" still makes sense (quiet hours may push it to the morning).
MISSED_CALL_VALID = dt.timedelta(hours=12)


def watch_missed_call(session: Session, token: Token, now: dt.datetime, policy: ReminderPolicy) -> None:
    """Set the "do you still need a doctor?" timer of a token whose call the patient never answered (a no-show)."""
    if policy.missed_call_after <= dt.timedelta(0):
        return
    moment = now + policy.missed_call_after
    not_after = moment + MISSED_CALL_VALID
    when = policy.placed(moment, not_after)
    if when is None:
        count_reminder(MISSED_CALL, "quiet_hours")
        return
    payload = {"token": token.id, "not_after": not_after.isoformat()}
    timers.schedule(session, MISSED_CALL, when, payload, identity_id=token.identity_id, key=reminder_key(token.id))


def missed_call_notices(session: Session, timer: Timer, now: dt.datetime, policy: ReminderPolicy) -> list[Notice]:
    """Ask a patient who missed the doctor's call whether they still need one, unless they booked again or it is too late."""
    payload = dict(timer.payload or {})
    token = session.get(Token, int(payload.get("token", 0)), with_for_update=True, populate_existing=True)
    if token is None or token.status != TokenStatus.NO_SHOW or token.identity_id is None:
        count_reminder(MISSED_CALL, "token_gone")
        return []
    not_after = dt.datetime.fromisoformat(str(payload["not_after"]))
    if now >= not_after:
        log.warning("token %s: missed-call reminder fired at %s, after its moment %s; not sent", token.id, now, not_after)
        count_reminder(MISSED_CALL, "too_late")
        return []
    later = policy.quiet_until(now)
    if later is not None:
        if later < not_after:
            timers.schedule(session, MISSED_CALL, later, payload, identity_id=timer.identity_id, key=reminder_key(token.id))
        count_reminder(MISSED_CALL, "after_quiet_hours" if later < not_after else "quiet_hours")
        return []
    today = now.astimezone(IST).date()
    again = session.scalar(
        select(Token.id).where(Token.person_id == token.person_id, Token.status.in_(LIVE_TOKEN_STATUSES), Token.day >= today).limit(1)
    )
    if again is not None:
        count_reminder(MISSED_CALL, "booked_again")
        return []
    count_reminder(MISSED_CALL, "sent")
    opd = ByLanguage(en=token.opd.name_en, hi=token.opd.name_hi)
    return words.missed_call_notices(Party(token.identity_id, about=token.person_id), token.number, opd)


def timer_handlers(policy: ReminderPolicy) -> dict[str, Callable[[Session, Timer, dt.datetime], None]]:
    """Return the reminder timers' handlers (bot/runtime.py hands them to the TimerRunner)."""

    def fire(session: Session, timer: Timer, now: dt.datetime) -> None:
        due = due_reminder(session, timer, now, policy)
        if due is not None:
            apply_notices(session, words.reminder_notices(due), now)

    def missed(session: Session, timer: Timer, now: dt.datetime) -> None:
        apply_notices(session, missed_call_notices(session, timer, now, policy), now)

    return {**{kind: fire for kind in KINDS}, MISSED_CALL: missed}
