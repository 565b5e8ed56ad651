"""A reminder end to end on the local channel: the timer fires (on a clock the test moves), the
worker sends it to the patient's chat, and the patient's "1" cancels that very token; a patient
who sent STOP gets none. In English and Hindi (the chat's registration speaks both).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.outbox.timers import TimerRunner
from bot.runtime import Services
from bot.services.booking import BookingRecords
from bot.store.models import Identity, Token, TokenStatus, utcnow
from flows.ports import Intake
from tests.booking_records_helpers import add_opd, ist
from tests.doctor_helpers import (  # noqa: F401  (fixtures are used by being imported)
    LANGS,
    NAMES,
    _clear_of_midnight_ist,
    registered,
    today_ist,
)

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
