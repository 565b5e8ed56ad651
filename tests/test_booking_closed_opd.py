"""Booking an OPD that is closed now, in English, Devanagari Hindi and romanised Hindi: the
next session is offered, accepting books that day, declining books nothing, and Hindi times
are written in Hindi. The OPD's hours are set relative to now (IST).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.runtime import Services
from bot.services.opds import DEMO_OPDS, OpdSpec, upsert_opd
from bot.store.models import TokenStatus
from tests.booking_helpers import (  # noqa: F401  (fixtures are used by being imported)
    OTHER_OPD,
    STYLES,
    YES,
    ChatUser,
    Q,
    _clear_of_midnight_ist,
    assert_clean,
    live_position,
    long_date,
    message_with,
    read_token,
    register,
    run,
    today_ist,
    tokens_of,
)
from tests.helpers import Said

# --- an OPD closed now: the next session is offered, with its date and time ----------------------


@pytest.fixture
def closed_now(services: Services) -> Services:
    """GEN24 and a skin clinic that does not work today (IST) and opens at 9 am on every other day."""
    today = today_ist()
    days = "".join(str(d) for d in range(1, 8) if d != today.isoweekday())
    with services.db.write() as session:
        upsert_opd(session, DEMO_OPDS[0])
        upsert_opd(session, OpdSpec("SKIN", "Skin Clinic", "त्वचा क्लिनिक", "dermatology", "09:00-17:00", days, 50))
    return services


SKIN = {"en": "Skin Clinic", "hi": "त्वचा क्लिनिक"}
RASH = {
    "english": [("itching and rash", Q["en"]["who"]), ("1", Q["en"]["since"]), ("4 days", Q["en"]["how_bad"])],
    "hindi": [("खुजली और दाने", Q["hi"]["who"]), ("१", Q["hi"]["since"]), ("४ दिन से", Q["hi"]["how_bad"])],
    "romanised": [("khujli aur daane", Q["hi"]["who"]), ("1", Q["hi"]["since"]), ("chaar din se", Q["hi"]["how_bad"])],
}


PICK_SKIN = {"english": "Skin Clinic", "hindi": "त्वचा क्लिनिक", "romanised": "2"}


def _suggested_closed(patient: ChatUser) -> str:
    """Walk to the suggestion of the skin clinic, which must say when it next opens."""
    run(patient, RASH[patient.style])
    tomorrow = long_date(today_ist() + dt.timedelta(days=1), patient.ui)
    suggestion = patient.say("2").texts[-1]
    assert SKIN[patient.ui] in suggestion and patient.q("book_it") in suggestion, suggestion
    assert tomorrow in suggestion and "9:00" in suggestion, suggestion
    return suggestion


def _to_the_offer(services: Services, patient: ChatUser) -> Said:
    """Pick the closed skin clinic from the list: the bot offers its next session."""
    _suggested_closed(patient)
    assert patient.q("pick") in patient.say(OTHER_OPD[patient.style]).texts[-1]
    answer = patient.say(PICK_SKIN[patient.style])
    offer = answer.texts[-1]
    tomorrow = long_date(today_ist() + dt.timedelta(days=1), patient.ui)
    assert patient.q("closed") in offer and patient.q("offer") in offer, offer
    assert SKIN[patient.ui] in offer and tomorrow in offer and "9:00" in offer, offer
    assert not tokens_of(services, patient.user)
    return answer


@pytest.mark.parametrize("style", STYLES)
def test_accepting_a_suggested_opd_closed_now_books_its_next_session(closed_now: Services, style: str) -> None:
    patient = register(closed_now, style, f"next-{style}")
    _suggested_closed(patient)
    answer = patient.say(YES[style])
    shown = message_with(answer, patient.q("booked"))
    tomorrow = today_ist() + dt.timedelta(days=1)
    assert long_date(tomorrow, patient.ui) in shown and "9:00" in shown, shown
    [token] = tokens_of(closed_now, patient.user)
    assert (token.opd.code, token.day, token.number) == ("SKIN", tomorrow, 1)
    assert read_token(shown, patient.ui) == (1, live_position(closed_now, token.id))
    assert_clean(patient)


@pytest.mark.parametrize("style", STYLES)
def test_closed_opd_offers_the_next_session_and_accepting_books_that_day(closed_now: Services, style: str) -> None:
    patient = register(closed_now, style, f"offer-{style}")
    _to_the_offer(closed_now, patient)
    answer = patient.say(YES[style])
    shown = message_with(answer, patient.q("booked"))
    tomorrow = today_ist() + dt.timedelta(days=1)
    assert long_date(tomorrow, patient.ui) in shown and "9:00" in shown
    [token] = tokens_of(closed_now, patient.user)
    assert (token.opd.code, token.day, token.number, token.status) == ("SKIN", tomorrow, 1, TokenStatus.WAITING)
    assert read_token(shown, patient.ui) == (1, live_position(closed_now, token.id))
    assert patient.q("menu") in answer.texts[-1]
    assert_clean(patient)


@pytest.mark.parametrize("style", STYLES)
def test_closed_opd_declining_the_offer_books_nothing(closed_now: Services, style: str) -> None:
    patient = register(closed_now, style, f"decline-{style}")
    _to_the_offer(closed_now, patient)
    answer = patient.say({"english": "No, not now", "hindi": "नहीं", "romanised": "nahi"}[style])
    assert patient.q("declined") in answer.all_text and patient.q("menu") in answer.texts[-1]
    assert tokens_of(closed_now, patient.user) == []
    # The conversation goes on: the round-the-clock OPD books at once.
    run(patient, RASH[style])
    run(patient, [("1", patient.q("suggest")), (OTHER_OPD[style], patient.q("pick"))])
    answer = patient.say("GEN24")
    assert patient.q("booked") in answer.all_text
    [token] = tokens_of(closed_now, patient.user)
    assert (token.opd.code, token.day) == ("GEN24", today_ist())
    assert_clean(patient)


def test_hindi_times_are_written_in_hindi(closed_now: Services) -> None:
    """A Hindi chat says "सुबह 9:00", not "9:00 am"."""
    patient = register(closed_now, "hindi", "time-hi")
    offer = _to_the_offer(closed_now, patient).texts[-1]
    assert "सुबह 9:00" in offer and not re.search(r"\b(?:am|pm)\b", offer), offer
