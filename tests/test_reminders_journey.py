"""A reminder end to end on the local channel: the timer fires (on a clock the test moves), the
worker sends it to the patient's chat, and the patient's "1" cancels that very token; a patient
who sent STOP gets none; a patient the doctor marked NO SHOW is asked hours later whether they
still need a doctor. In English and Hindi (the chat's registration speaks both).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.outbox.timers import TimerRunner, TimerStatus
from bot.runtime import Services
from bot.services.booking import BookingRecords
from bot.store.models import Identity, Timer, Token, TokenStatus, utcnow
from flows.ports import Intake
from flows.steps import reminders
from tests.booking_records_helpers import add_opd, ist
from tests.doctor_helpers import (  # noqa: F401  (fixtures are used by being imported)
    LANGS,
    NAMES,
    WORDS,
    _clear_of_midnight_ist,
    book,
    consultation_of,
    enrolled_doctor,
    registered,
    step_of,
    today_ist,
)

# Strings that have broken parsers and databases elsewhere (NUL, a joiner, SQL, a bidi override).
NAUGHTY = ("\x00अगला\u200d", "'; DROP TABLE tokens; --", "\u202etoken 1")
SAYS = {"en": ("Reminder: tomorrow", "Cancel my token", "is cancelled."), "hi": ("याद दिला दें: कल", "मेरा टोकन रद्द करें", "रद्द कर दिया गया है।")}


class Clock:
    """A clock the test moves."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def book_for(services: Services, user: str, opd_id: int, day: dt.date) -> int:
    """Book a token for a chat's patient on a day, as its booking turn would; return the token id."""
    with services.db.write() as session:
        identity = session.scalars(select(Identity).where(Identity.address == user)).one()
        bookings = BookingRecords(session, identity, utcnow(), reminders=services.dispatcher.reminders)
        result = bookings.book(opd_id, None, Intake(text="fever"), priority=False, day=day)
        assert result.token is not None, result
        return result.token.id


def fire_evening_before(services: Services, day: dt.date) -> int:
    """Run the timers and the worker at 18:00 the evening before a day; return how many timers fired."""
    clock = Clock(ist(day - dt.timedelta(days=1), 18))
    services.worker.clock = clock
    return TimerRunner(services.db, services.timers.handlers, clock=clock).drain()


@pytest.mark.parametrize("lang", LANGS)
def test_the_reminder_reaches_the_chat_and_1_cancels_that_token(services: Services, lang: str) -> None:
    opd_id = add_opd(services.db, "DAY", "09:00-17:00", "mon-sun")
    patient = registered(services, "pat-1", lang, NAMES[lang][0])
    day = today_ist() + dt.timedelta(days=2)  # its evening-before is still to come, whatever the hour now
    token_id = book_for(services, "pat-1", opd_id, day)
    assert fire_evening_before(services, day) == 1
    reminded = patient.receive()
    headline, cancel_label, cancelled = SAYS[lang]
    assert len(reminded.texts) == 1 and reminded.texts[0].startswith(headline), reminded.texts
    assert reminded.last_choices[0] == cancel_label and len(reminded.last_choices) == 2
    for naughty in NAUGHTY:  # at the reminder's question on the real database: answered, and asked again
        assert patient.say(naughty).texts and step_of(services, "pat-1") == reminders.ANSWER_STEP
    answer = patient.say("1")
    assert any(cancelled in text for text in answer.texts), answer.texts
    with services.db.read() as session:
        assert session.get(Token, token_id).status == TokenStatus.CANCELLED  # type: ignore[union-attr]


def test_a_patient_who_sent_stop_gets_no_reminder(services: Services) -> None:
    opd_id = add_opd(services.db, "DAY", "09:00-17:00", "mon-sun")
    patient = registered(services, "pat-2", "en", NAMES["en"][1])
    day = today_ist() + dt.timedelta(days=2)
    book_for(services, "pat-2", opd_id, day)
    patient.say("STOP")
    assert fire_evening_before(services, day) == 1
    assert patient.receive().texts == []


MISSED = {"en": ("The doctor called you for token {number}", "no", "Get well soon."), "hi": ("डॉक्टर ने टोकन {number}", "नहीं", "जल्दी ठीक हो जाइए।")}


@pytest.mark.parametrize("lang", LANGS)
def test_a_no_show_is_asked_hours_later_whether_they_still_need_a_doctor(demo: Services, lang: str) -> None:
    patient = registered(demo, "pat-3", lang, NAMES[lang][2])
    token = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    doctor.say(WORDS[lang]["no_show"])
    ended = consultation_of(demo, token.id).ended_at
    patient.receive()
    with demo.db.read() as session:
        (timer,) = session.scalars(select(Timer).where(Timer.kind == reminders.MISSED_CALL, Timer.status == TimerStatus.PENDING)).all()
    # 2 hours later (TELEOPD_REMINDER_MISSED_CALL_HOURS), or at the end of the quiet hours if that falls in them.
    policy = demo.dispatcher.reminders
    assert timer.due_at == (policy.quiet_until(ended + policy.missed_call_after) or ended + policy.missed_call_after)
    clock = Clock(timer.due_at)
    demo.worker.clock = clock
    assert TimerRunner(demo.db, demo.timers.handlers, clock=clock).drain() == 1
    asked, answer, wished = MISSED[lang]
    said = patient.receive()
    assert len(said.texts) == 1 and said.texts[0].startswith(asked.format(number=token.number)), said.texts
    for naughty in NAUGHTY:
        assert patient.say(naughty).texts and step_of(demo, "pat-3") == reminders.MISSED_STEP
    assert any(wished in text for text in patient.say(answer).texts)
