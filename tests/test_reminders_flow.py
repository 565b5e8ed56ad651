"""A token's reminder as the flows say it, and the patient's answers to it, in English, Hindi and romanised Hindi.

Pure flows with the in-memory ports: the reminder (tomorrow, today, a follow-up in its doctor's
words) says the token, the time and how to cancel; it is a push (none after STOP) with the two
answers; the patient's idle chat is put at its question, where "Cancel my token", "1" or the
word CANCEL cancels that token, "I will come" keeps it, and "yes" (which could mean either) is
asked again. The database side (when, once, never late) is tests/test_reminders_timers.py.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.platform.i18n import Catalogs
from flows.engine import LANGUAGES
from flows.messages import ByLanguage
from flows.notices import MoveConversation, Notify
from flows.ports import Party
from flows.steps import reminders
from tests.helpers import (
    FAKE_OPDS,
    FakeBookings,
    registered_chat,
    rendered_in_every_language,
)

STARTS = dt.datetime(2026, 11, 26, 3, 30, tzinfo=dt.UTC)  # Thursday 9:00 am in India
OPD = ByLanguage(en="General Medicine", hi="सामान्य चिकित्सा")
# What each language's text says: the OPD, tomorrow / today, the time, the way to cancel.
SAYS = {
    "en": {"opd": "General Medicine", "tomorrow": "tomorrow", "today": "today", "cancel": "CANCEL", "doctor": "Dr. Anita Sharma"},
    "hi": {"opd": "सामान्य चिकित्सा", "tomorrow": "कल", "today": "आज", "cancel": "रद्द", "doctor": "डॉ. Anita Sharma"},
    "hi-Latn": {"opd": "General Medicine", "tomorrow": "kal", "today": "aaj", "cancel": "CANCEL", "doctor": "Dr. Anita Sharma"},
}
CANCEL_WORDS = {"en": "cancel", "hi": "रद्द", "hi-Latn": "radd"}
COME_WORDS = {"en": "I will come", "hi": "ज़रूर आएँगे", "hi-Latn": "zaroor aayenge"}
YES_WORDS = {"en": "yes", "hi": "हाँ", "hi-Latn": "haan"}


def due(kind: str, doctor: str = "") -> reminders.DueReminder:
    return reminders.DueReminder(kind, Party(41, about=9), 1, 14, OPD, "Sunita Devi", STARTS.date(), STARTS, doctor)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("kind", "doctor", "when"),
    [(reminders.EVENING, "", "tomorrow"), (reminders.BEFORE_OPEN, "", "today"), (reminders.EVENING, "Anita Sharma", "tomorrow"),
     (reminders.BEFORE_OPEN, "Anita Sharma", "today")],
)
def test_a_reminder_says_the_token_when_and_how_to_cancel(catalogs: Catalogs, lang: str, kind: str, doctor: str, when: str) -> None:
    reply = reminders.reminder(due(kind, doctor))
    text = rendered_in_every_language(catalogs, reply)[lang]
    says = SAYS[lang]
    assert "14" in text and "9:00" in text and says[when] in text.lower() and says["cancel"] in text
    assert (says["doctor"] in text) == bool(doctor)
    assert doctor or says["opd"] in text
    other = "today" if when == "tomorrow" else "tomorrow"
    assert says[other] not in text.lower().split()
    assert reply.kind == "push"  # a patient who sent STOP gets none
    assert [choice.key for choice in reply.choices] == ["cancel", "keep"]
    assert reply.sms is not None


def test_a_reminder_puts_the_idle_chat_at_its_question_for_that_token() -> None:
    notify, move = reminders.reminder_notices(due(reminders.EVENING))
    assert isinstance(notify, Notify) and notify.identity_id == 41 and notify.about == 9
    assert isinstance(move, MoveConversation)
    assert (move.identity_id, move.step, dict(move.data), move.only_if_idle) == (41, reminders.ANSWER_STEP, {"token": 1}, True)


def reminded(catalogs: Catalogs, lang: str) -> tuple:  # type: ignore[type-arg]
    """Return a patient's chat as a reminder leaves it (at its question), and their bookings with the token."""
    bookings = FakeBookings()
    bookings.tokens.append(bookings.token(FAKE_OPDS[1], 14, STARTS))
    chat = registered_chat(catalogs, lang, bookings=bookings)
    chat.state.step = reminders.ANSWER_STEP
    chat.state.data["token"] = bookings.tokens[0].id
    return chat, bookings


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("how", ["button", "number", "word"])
def test_cancel_from_the_reminder_cancels_that_token(catalogs: Catalogs, lang: str, how: str) -> None:
    chat, bookings = reminded(catalogs, lang)
    if how == "button":
        chat.send(choice="cancel")
    else:
        chat.send("1" if how == "number" else CANCEL_WORDS[lang])
    assert bookings.tokens[0].status == "cancelled"
    assert "14" in chat.last_texts[0]
    assert chat.state.step == "menu" and "token" not in chat.state.data


@pytest.mark.parametrize("lang", LANGUAGES)
def test_i_will_come_keeps_the_token(catalogs: Catalogs, lang: str) -> None:
    chat, bookings = reminded(catalogs, lang)
    chat.send(COME_WORDS[lang])
    assert bookings.tokens[0].status == "waiting"
    assert "14" in chat.last_texts[0] and chat.state.step == "menu"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_yes_is_asked_again_not_taken_as_cancel(catalogs: Catalogs, lang: str) -> None:
    chat, bookings = reminded(catalogs, lang)
    chat.send(YES_WORDS[lang])
    assert bookings.tokens[0].status == "waiting"
    assert chat.state.step == reminders.ANSWER_STEP and chat.last_choices == ["cancel", "keep"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_answer_to_a_token_gone_meanwhile_says_so(catalogs: Catalogs, lang: str) -> None:
    chat, bookings = reminded(catalogs, lang)
    bookings.cancel(bookings.tokens[0].id)  # cancelled from another chat, or called
    chat.send(choice="cancel")
    english = rendered_in_every_language(catalogs, chat.replies[0])["en"]
    assert english == "That token is no longer booked."
    assert chat.state.step == "menu"



# --- a call never answered: "do you still need a doctor?" -------------------------------------------

ASKS = {"en": "Do you still need a doctor?", "hi": "क्या आपको अब भी डॉक्टर को दिखाना है?", "hi-Latn": "Kya aapko ab bhi doctor ko dikhana hai?"}
NO = {"en": "no", "hi": "नहीं", "hi-Latn": "nahi"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_missed_call_asks_whether_they_still_need_a_doctor(catalogs: Catalogs, lang: str) -> None:
    notify, move = reminders.missed_call_notices(Party(41, about=9), 14, OPD)
    assert isinstance(notify, Notify) and notify.reply.kind == "push" and notify.reply.sms is not None
    text = rendered_in_every_language(catalogs, notify.reply)[lang]
    assert "14" in text and SAYS[lang]["opd"] in text and text.endswith(ASKS[lang])
    assert [choice.key for choice in notify.reply.choices] == ["book", "no"]
    assert isinstance(move, MoveConversation) and move.step == reminders.MISSED_STEP


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("answer", "step"), [("1", "symptoms"), ("yes", "symptoms"), ("no", "menu"), ("xyz", reminders.MISSED_STEP)])
def test_the_answer_to_still_need_a_doctor_books_or_goes_home(catalogs: Catalogs, lang: str, answer: str, step: str) -> None:
    chat = registered_chat(catalogs, lang)
    chat.state.step = reminders.MISSED_STEP
    chat.send({"yes": YES_WORDS[lang], "no": NO[lang]}.get(answer, answer))
    assert chat.state.step == step
    assert not chat.ports["bookings"].booked  # a booking starts with its questions, nothing booked yet
