"""The day rolls over at midnight IST (18:30 UTC) while patients book and doctors call.

A token belongs to the IST date it was booked for: numbers start at 1 each IST day, with no
gaps, and each day has its own capacity counter (opd_days). The patient is told the date
their token is for. Time is driven through InboundMessage.received_at (the clock every flow
and record sees), a few seconds either side of midnight; nothing sleeps.

What happens to tokens still waiting when the day ends (the rule bot/booking.calling_days
states): a round-the-clock OPD's queue runs through midnight, so yesterday's waiting
patients are called first, before today's token 1, and keep their own date and number; a
day OPD closed hours before midnight, so its waiting tokens of yesterday are never called
as today's.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import select

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.runtime import Services
from bot.services.enrolment import add_doctor
from bot.services.opds import OpdSpec, find_opd, upsert_opd
from bot.store.models import Identity, OpdDay, Token, TokenStatus
from tests.helpers import LocalUser, Said

# The database is what is tested here: India's midnight in SQL date arithmetic.
pytestmark = pytest.mark.both_databases

IST = ZoneInfo("Asia/Kolkata")
LANGS = ("en", "hi")
BABEL = {"en": "en_IN", "hi": "hi_IN"}
# A Thursday in the past: replies queued at the simulated time are due at once.
DAY = dt.date(2026, 11, 26)
NEXT_DAY = DAY + dt.timedelta(days=1)
MIDNIGHT = dt.datetime.combine(NEXT_DAY, dt.time(0), IST)  # 2026-11-26 18:30 UTC
_ids = itertools.count(1)

OPEN = {"en": ["hello", "English"], "hi": ["नमस्ते", "हिंदी"]}
REGISTER = {
    "en": ["yes", "{name}", "34", "female", "Uttar Pradesh", "Varanasi", "skip", "yes"],
    "hi": ["हाँ", "{name}", "३४", "महिला", "उत्तर प्रदेश", "वाराणसी", "छोड़ें", "हाँ"],
}
# The complaint and the answers up to the OPD suggestion; then "1" books the suggestion.
INTAKE = {"en": ["I have fever and cough", "myself", "3 days", "moderate"], "hi": ["मुझे बुखार और खांसी है", "मैं खुद", "३ दिन से", "मध्यम"]}
NEXT = {"en": "next", "hi": "अगला"}
T = {
    "en": {
        "menu": "What would you like to do?",
        "suggest": "OPD fits these symptoms.",
        "open_now": "It is open now.",
        "next_session": "Its next session starts on {date}",
        "booked": "Your token is booked.",
        "number": "Token number: {number}\n",
        "today": "Date: today, {date}",
        "from": "Date: {date}, from 9:00 am",
        "full": "Today's tokens for {opd} are all taken.",
        "token_label": "Token {number}, {opd}",
        "nobody": "Nobody is waiting right now.",
    },
    "hi": {
        "menu": "आप क्या करना चाहेंगे?",
        "suggest": "इन तकलीफ़ों के लिए",
        "open_now": "यह अभी खुली है।",
        "next_session": "यह अगली बार {date}",
        "booked": "आपका टोकन बुक हो गया है।",
        "number": "टोकन नंबर: {number}\n",
        "today": "तारीख़: आज, {date}",
        "from": "तारीख़: {date}, सुबह 9:00 से",
        "full": "आज {opd} के सारे टोकन बुक हो चुके हैं।",
        "token_label": "टोकन {number}, {opd}",
        "nobody": "अभी कोई मरीज़ इंतज़ार में नहीं है।",
    },
}
NAMES = {"en": ("Sunita Devi", "Rahul Verma", "Kamla Devi", "Meena Kumari", "Pooja Singh"),
         "hi": ("सुनीता देवी", "राहुल वर्मा", "कमला देवी", "मीना कुमारी", "पूजा सिंह")}
OPD_NAME = {"NIGHT": {"en": "General Medicine (night)", "hi": "सामान्य चिकित्सा (रात)"}, "DAY": {"en": "General Medicine (day)", "hi": "सामान्य चिकित्सा (दिन)"}}


def ist(hour: int, minute: int, second: int = 0, day: dt.date = DAY) -> dt.datetime:
    """Return a moment given in India's time, as the UTC time a provider stamps."""
    return dt.datetime.combine(day, dt.time(hour, minute, second), IST).astimezone(dt.UTC)


class ClockedChat(LocalUser):
    """A local-channel user whose every message carries the time it was sent."""

    def __init__(self, services: Services, user: str, lang: str):
        super().__init__(services, user)
        self.lang = lang

    def say_at(self, at: dt.datetime, text: str) -> Said:
        self.services.dispatcher.dispatch(
            InboundMessage(channel=local.NAME, address=self.user, provider_id=f"{self.user}:{next(_ids)}", text=text, received_at=at)
        )
        return self.receive()

    def t(self, key: str, **params: object) -> str:
        return T[self.lang][key].format(**params)

    def date(self, day: dt.date) -> str:
        return format_date(day, "long", locale=BABEL[self.lang])


def opd(services: Services, code: str, hours: str, capacity: int = 50) -> None:
    with services.db.write() as session:
        upsert_opd(session, OpdSpec(code, OPD_NAME[code]["en"], OPD_NAME[code]["hi"], "general_medicine", hours, "all", capacity))


def patient(services: Services, user: str, lang: str, name: str) -> ClockedChat:
    """Register a patient at noon IST on DAY; ends at the main menu."""
    chat = ClockedChat(services, user, lang)
    at = ist(12, 0)
    answer = None
    for i, line in enumerate([*OPEN[lang], *REGISTER[lang]]):
        answer = chat.say_at(at + dt.timedelta(seconds=i), line.format(name=name))
    assert answer is not None and chat.t("menu") in answer.texts[-1], answer.texts
    return chat


def start_booking(chat: ClockedChat, at: dt.datetime) -> Said:
    """Answer the booking questions one second apart from `at`, up to the OPD suggestion."""
    answer = None
    for i, line in enumerate(INTAKE[chat.lang]):
        answer = chat.say_at(at + dt.timedelta(seconds=i), line)
    assert answer is not None and chat.t("suggest") in answer.all_text, answer.texts
    return answer


def book(chat: ClockedChat, started: dt.datetime, confirmed: dt.datetime) -> Said:
    start_booking(chat, started)
    return chat.say_at(confirmed, "1")


def tokens(services: Services, code: str) -> list[tuple[dt.date, int, str]]:
    """Return (day, number, user) of every token of an OPD, in booking order."""
    with services.db.read() as session:
        opd_id = find_opd(session, code).id  # type: ignore[union-attr]
        rows = session.execute(
            select(Token.day, Token.number, Identity.address).join(Identity, Identity.id == Token.identity_id)
            .where(Token.opd_id == opd_id).order_by(Token.id)
        ).all()
    return [(day, number, user) for day, number, user in rows]


def counters(services: Services, code: str) -> dict[dt.date, tuple[int, int]]:
    with services.db.read() as session:
        opd_id = find_opd(session, code).id  # type: ignore[union-attr]
        rows = session.execute(select(OpdDay.day, OpdDay.issued, OpdDay.capacity).where(OpdDay.opd_id == opd_id)).all()
    return {day: (issued, capacity) for day, issued, capacity in rows}


def doctor(services: Services, user: str, lang: str, code: str) -> ClockedChat:
    """A doctor of this OPD enrols at noon IST on DAY; ends at the desk."""
    with services.db.write() as session:
        _, enrol_code = add_doctor(session, "Anita Sharma", [find_opd(session, code)], now=ist(11, 0))  # type: ignore[list-item]
    chat = ClockedChat(services, user, lang)
    for i, line in enumerate([*OPEN[lang], f"enroll {enrol_code}"]):
        chat.say_at(ist(12, 0) + dt.timedelta(seconds=i), line)
    return chat


@pytest.mark.parametrize("lang", LANGS)
def test_booking_begun_at_2359_50_and_confirmed_after_midnight_lands_on_the_new_day(services: Services, lang: str) -> None:
    opd(services, "NIGHT", "24h")
    early = patient(services, "early", lang, NAMES[lang][0])
    book(early, ist(23, 0), ist(23, 0, 10))  # the day's token 1 at 23:00
    late = patient(services, "late", lang, NAMES[lang][1])
    suggestion = start_booking(late, ist(23, 59, 50))
    assert late.t("open_now") in suggestion.all_text
    answer = late.say_at(ist(0, 0, 10, day=NEXT_DAY), "1")
    assert late.t("booked") in answer.all_text, answer.texts
    assert late.t("number", number=1) in answer.all_text, answer.texts
    assert late.t("today", date=late.date(NEXT_DAY)) in answer.all_text, answer.texts
    assert tokens(services, "NIGHT") == [(DAY, 1, "early"), (NEXT_DAY, 1, "late")]
    assert counters(services, "NIGHT") == {DAY: (1, 50), NEXT_DAY: (1, 50)}


@pytest.mark.parametrize("lang", LANGS)
def test_patients_either_side_of_midnight_get_gap_free_numbers_of_their_own_day(services: Services, lang: str) -> None:
    opd(services, "NIGHT", "24h")
    confirmations = [ist(23, 59, 30), ist(23, 59, 59), MIDNIGHT.astimezone(dt.UTC), ist(0, 0, 1, day=NEXT_DAY)]
    for i, confirmed in enumerate(confirmations):
        chat = patient(services, f"p{i}", lang, NAMES[lang][i])
        answer = book(chat, confirmed - dt.timedelta(seconds=20), confirmed)
        expected_day = DAY if i < 2 else NEXT_DAY
        assert chat.t("today", date=chat.date(expected_day)) in answer.all_text, answer.texts
    assert tokens(services, "NIGHT") == [(DAY, 1, "p0"), (DAY, 2, "p1"), (NEXT_DAY, 1, "p2"), (NEXT_DAY, 2, "p3")]


@pytest.mark.parametrize("lang", LANGS)
def test_the_capacity_counter_is_per_day(services: Services, lang: str) -> None:
    opd(services, "NIGHT", "24h", capacity=2)
    for i, confirmed in enumerate([ist(23, 50), ist(23, 55)]):
        book(patient(services, f"p{i}", lang, NAMES[lang][i]), confirmed - dt.timedelta(seconds=10), confirmed)
    # A third patient at 23:59:55 finds the day full and is offered the next day's session.
    third = patient(services, "p2", lang, NAMES[lang][2])
    start_booking(third, ist(23, 59, 50))
    offer = third.say_at(ist(23, 59, 55), "1")
    assert third.t("full", opd=OPD_NAME["NIGHT"][lang]) in offer.all_text, offer.texts
    # They accept it after midnight; then a fourth patient books the new day's second place.
    answer = third.say_at(ist(0, 0, 5, day=NEXT_DAY), "1")
    assert third.t("number", number=1) in answer.all_text, answer.texts
    assert third.t("today", date=third.date(NEXT_DAY)) in answer.all_text, answer.texts
    book(patient(services, "p3", lang, NAMES[lang][3]), ist(0, 0, 20, day=NEXT_DAY), ist(0, 0, 30, day=NEXT_DAY))
    assert tokens(services, "NIGHT") == [(DAY, 1, "p0"), (DAY, 2, "p1"), (NEXT_DAY, 1, "p2"), (NEXT_DAY, 2, "p3")]
    assert counters(services, "NIGHT") == {DAY: (2, 2), NEXT_DAY: (2, 2)}


@pytest.mark.parametrize("lang", LANGS)
def test_a_day_opd_at_midnight_books_the_coming_morning_and_says_so(services: Services, lang: str) -> None:
    opd(services, "DAY", "09:00-17:00")
    chat = patient(services, "p0", lang, NAMES[lang][0])
    suggestion = start_booking(chat, ist(23, 59, 50))
    assert chat.t("next_session", date=chat.date(NEXT_DAY)) in suggestion.all_text, suggestion.texts
    answer = chat.say_at(ist(0, 0, 10, day=NEXT_DAY), "1")
    assert chat.t("from", date=chat.date(NEXT_DAY)) in answer.all_text, answer.texts
    assert chat.t("number", number=1) in answer.all_text, answer.texts
    # A second patient who asks after midnight is booked on the same morning, as number 2.
    book(patient(services, "p1", lang, NAMES[lang][1]), ist(0, 5, day=NEXT_DAY), ist(0, 5, 10, day=NEXT_DAY))
    assert tokens(services, "DAY") == [(NEXT_DAY, 1, "p0"), (NEXT_DAY, 2, "p1")]
    assert counters(services, "DAY") == {NEXT_DAY: (2, 50)}


@pytest.mark.parametrize("lang", LANGS)
def test_call_next_after_midnight_in_a_round_the_clock_opd_calls_yesterdays_waiting_first(services: Services, lang: str) -> None:
    opd(services, "NIGHT", "24h")
    desk = doctor(services, "doc", lang, "NIGHT")
    for i, confirmed in enumerate([ist(23, 58), ist(23, 59), ist(0, 0, 2, day=NEXT_DAY)]):
        book(patient(services, f"p{i}", lang, NAMES[lang][i]), confirmed - dt.timedelta(seconds=10), confirmed)
    assert tokens(services, "NIGHT") == [(DAY, 1, "p0"), (DAY, 2, "p1"), (NEXT_DAY, 1, "p2")]
    called = []
    for i, at in enumerate([ist(0, 0, 5, day=NEXT_DAY), ist(0, 10, day=NEXT_DAY), ist(0, 20, day=NEXT_DAY)]):
        answer = desk.say_at(at, NEXT[lang])
        assert desk.t("token_label", number=[1, 2, 1][i], opd=OPD_NAME["NIGHT"][lang]) in answer.all_text, answer.texts
        called.append(called_tokens(services))
        desk.say_at(at + dt.timedelta(minutes=5), {"en": "done", "hi": "हो गया"}[lang])
    # Yesterday's two waiting patients first, in their order, then today's token 1.
    assert called[-1] == [(DAY, 1), (DAY, 2), (NEXT_DAY, 1)]
    assert desk.t("nobody") in desk.say_at(ist(0, 30, day=NEXT_DAY), NEXT[lang]).all_text


@pytest.mark.parametrize("lang", LANGS)
def test_call_next_after_midnight_in_a_day_opd_never_calls_yesterdays_tokens_as_todays(services: Services, lang: str) -> None:
    opd(services, "DAY", "09:00-17:00")
    desk = doctor(services, "doc", lang, "DAY")
    book(patient(services, "p0", lang, NAMES[lang][0]), ist(10, 0), ist(10, 0, 10))  # DAY's token 1, never seen
    book(patient(services, "p1", lang, NAMES[lang][1]), ist(0, 0, 1, day=NEXT_DAY), ist(0, 0, 3, day=NEXT_DAY))
    assert tokens(services, "DAY") == [(DAY, 1, "p0"), (NEXT_DAY, 1, "p1")]
    # A doctor who presses NEXT at 00:00:05 gets today's token 1 (booked for the morning),
    # not yesterday's token 1, whose session ended at 17:00.
    answer = desk.say_at(ist(0, 0, 5, day=NEXT_DAY), NEXT[lang])
    assert desk.t("token_label", number=1, opd=OPD_NAME["DAY"][lang]) in answer.all_text, answer.texts
    assert called_tokens(services) == [(NEXT_DAY, 1)]
    with services.db.read() as session:
        assert session.scalars(select(Token.status).where(Token.day == DAY)).one() == TokenStatus.WAITING


def called_tokens(services: Services) -> list[tuple[dt.date, int]]:
    with services.db.read() as session:
        rows = session.execute(select(Token.day, Token.number).where(Token.called_at.is_not(None)).order_by(Token.called_at)).all()
    return [(day, number) for day, number in rows]
