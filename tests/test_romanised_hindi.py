"""Romanised Hindi (hi-Latn): chosen by the patient, offered when they write it by SMS, GSM-7 throughout."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.channels.sms_text import is_gsm7, render_sms
from bot.outbox.payloads import translate
from bot.platform.i18n import Catalogs
from flows.engine import LANGUAGES, State
from flows.messages import (
    ByLanguage,
    Choice,
    Reply,
    TimeOfDay,
    reply_from_json,
    reply_to_json,
    t,
)
from flows.steps import visit
from flows.understanding.hinglish import is_romanised_hindi
from tests.helpers import FakeBookings, FlowChat, registered_chat
from tests.test_webchat_page import _page
from tests.webchat_push_helpers import client  # noqa: F401  (fixtures)

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    "text",
    ["mujhe bukhar hai", "namaste", "Namaste ji", "seene mein dard", "pet me dard ho raha hai", "sir dard",
     "mere bete ko 3 din se bukhar hai", "theek hai", "BP high hai", "Dr sahab", "appointment chahiye"],
)
def test_hindi_in_latin_letters_is_recognised(text: str) -> None:
    assert is_romanised_hindi(text)


@pytest.mark.parametrize(
    "text",
    ["hello", "hi", "Hi there", "I have fever", "I have chest pain", "chest pain", "my child has fever since 3 days",
     "help", "start", "main menu", "book a doctor", "good morning", "yes", "1", "", "नमस्ते", "मुझे बुखार है"],
)
def test_english_devanagari_and_numbers_are_not_romanised_hindi(text: str) -> None:
    assert not is_romanised_hindi(text)


def _sms_bodies(chat: FlowChat) -> list[str]:
    """Return the last turn's replies as the SMS channel sends them, in the conversation's language."""
    bodies = []
    for reply in chat.replies:
        payload = json.loads(json.dumps(reply_to_json(reply)))  # as the outbox keeps it
        bodies.append(render_sms(translate(chat.catalogs, payload, chat.state.language or "en", sms=True)))
    return bodies


def test_romanised_hindi_by_sms_gets_the_question_in_it_and_it_offered_first(catalogs: Catalogs) -> None:
    chat = FlowChat(catalogs, "en", channel="sms")
    chat.send("mujhe bukhar hai")
    assert (chat.state.step, chat.state.language) == ("language", "hi-Latn")
    assert chat.last_choices == ["hi-Latn", "en", "hi"]
    greeting, question = _sms_bodies(chat)
    assert greeting.startswith("Namaste! Main teleopd ka sahayak hoon.")
    assert question == "Aap kis bhasha mein baat karna chahenge?\n1 Hinglish (English akshar)\n2 English\n3 Hindi (Hindi akshar)"
    assert is_gsm7(greeting + question)
    chat.send("1")
    assert (chat.state.step, chat.state.language) == ("consent", "hi-Latn")


@pytest.mark.parametrize("said", ["3", "hindi"])
def test_the_suggestion_is_only_a_suggestion(catalogs: Catalogs, said: str) -> None:
    chat = FlowChat(catalogs, "en", channel="sms")
    chat.send("namaste")
    chat.send(said)
    assert (chat.state.step, chat.state.language) == ("consent", "hi")


@pytest.mark.parametrize("channel", ["whatsapp", "telegram", "web", None])
def test_romanised_hindi_on_a_smartphone_channel_changes_nothing(catalogs: Catalogs, channel: str | None) -> None:
    chat = FlowChat(catalogs, "en", channel=channel)
    chat.send("mujhe bukhar hai")
    assert (chat.state.step, chat.state.language) == ("language", "en")
    assert chat.last_choices == ["en", "hi", "hi-Latn"]


@pytest.mark.parametrize("said", ["hello", "I have fever", "hi"])
def test_english_by_sms_is_not_taken_for_romanised_hindi(catalogs: Catalogs, said: str) -> None:
    chat = FlowChat(catalogs, "en", channel="sms")
    chat.send(said)
    assert chat.state.language == "en"
    assert chat.last_choices == ["en", "hi", "hi-Latn"]


def test_romanised_hindi_at_the_language_question_makes_it_the_suggestion(catalogs: Catalogs) -> None:
    chat = FlowChat(catalogs, "en", channel="sms")
    chat.send("hello")
    texts = chat.send("mujhe doctor chahiye")
    assert chat.state.language == "hi-Latn"
    assert chat.last_choices == ["hi-Latn", "en", "hi"]
    assert texts[0] == "Kripya neeche se bhasha chunein: uska number bhejein, ya uska naam likhein."


def test_danger_signs_in_romanised_hindi_get_108_first(catalogs: Catalogs) -> None:
    chat = FlowChat(catalogs, "en", channel="sms")
    chat.send("seene mein dard")
    assert chat.replies[0].emergency
    advice, *rest = _sms_bodies(chat)
    assert "108" in advice and "112" in advice
    assert advice == "EMERGENCY: abhi 108 par ambulance bulayein ya 112 par call karein. Der na karein."
    assert chat.state.step == "language"
    assert all(is_gsm7(body) for body in [advice, *rest])


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("typed", ["hinglish", "roman hindi", "Hinglish: Hindi in English letters", "english akshar"])
def test_romanised_hindi_is_chosen_by_what_people_type(catalogs: Catalogs, lang: str, typed: str) -> None:
    chat = FlowChat(catalogs, lang, State(step="language", language=lang))
    chat.send(typed)
    assert (chat.state.step, chat.state.language) == ("consent", "hi-Latn")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_language_command_offers_romanised_hindi(catalogs: Catalogs, lang: str) -> None:
    chat = registered_chat(catalogs, lang)
    chat.send("LANGUAGE")
    assert set(chat.last_choices) == {"en", "hi", "hi-Latn"}
    texts = chat.send("hinglish")
    assert chat.state.language == "hi-Latn"
    assert texts[0] == "Theek hai, ab hum Hindi mein baat karenge, English akshar mein."
    assert chat.state.step == "menu"


def test_a_whole_sms_conversation_in_romanised_hindi_is_gsm7(catalogs: Catalogs) -> None:
    """From the first reply to the last: every SMS a romanised Hindi patient gets is GSM-7."""
    bookings = FakeBookings()
    chat = FlowChat(catalogs, "en", channel="sms", bookings=bookings)
    said = [
        "mujhe bukhar hai", "1", "haan", "Ramesh Kumar", "34", "purush", "bihar", "Patna", "9876543210", "haan",
        "1", "mujhe 3 din se bukhar aur khansi hai", "1", "1", "1", "STATUS", "CANCEL", "1", "HELP", "bhasha", "1", "STOP",
    ]
    sent = []
    for words in said:
        chat.send(words)
        sent += _sms_bodies(chat)
    assert chat.state.language == "hi-Latn" and chat.state.opted_out
    assert len(bookings.booked) == 1
    assert any(body.startswith("Token 1, General Medicine") and "STATUS" in body for body in sent), sent
    not_gsm7 = [body for body in sent if not is_gsm7(body)]
    assert not not_gsm7, not_gsm7


def test_names_that_are_data_come_in_latin_letters() -> None:
    name = ByLanguage(en="Uttar Pradesh", hi="उत्तर प्रदेश")
    assert [name.pick(lang) for lang in ("en", "hi", "hi-Latn", "hi_Latn")] == ["Uttar Pradesh", "उत्तर प्रदेश", "Uttar Pradesh", "Uttar Pradesh"]
    label = ByLanguage(en="हिन्दी", hi="हिन्दी", latn="Hindi (Hindi akshar)")
    assert label.pick("hi-Latn") == "Hindi (Hindi akshar)"
    # The outbox keeps it, and gives it back.
    kept = reply_from_json(json.loads(json.dumps(reply_to_json(Reply(t("Language"), (Choice("hi", label),))))))
    assert kept.choices[0].label == label


def test_dates_and_times_in_romanised_hindi_are_latin_and_gsm7(catalogs: Catalogs) -> None:
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(366)]
    times = [TimeOfDay(dt.datetime(2026, 1, 1, h, m, tzinfo=IST)) for h in range(24) for m in (0, 30)]
    shown = [catalogs.format_value(value, "hi-Latn") for value in (*days, *times, dt.datetime(2026, 9, 30, 14, 30, tzinfo=IST))]
    assert all(is_gsm7(text) and text.isascii() for text in shown), [t for t in shown if not is_gsm7(t)]
    assert catalogs.format_value(dt.date(2026, 9, 30), "hi-Latn") == "30 September, 2026"
    assert catalogs.format_value(TimeOfDay(dt.datetime(2026, 1, 1, 9, 30, tzinfo=IST)), "hi-Latn") == "subah 9:30"
    # CLDR says "noon" and "midnight" in English: said in Hindi like the rest.
    assert catalogs.format_value(TimeOfDay(dt.datetime(2026, 1, 1, 12, 0, tzinfo=IST)), "hi-Latn") == "dopahar 12:00"
    assert catalogs.format_value(TimeOfDay(dt.datetime(2026, 1, 1, 0, 0, tzinfo=IST)), "hi-Latn") == "raat 12:00"
    assert catalogs.format_value(4223054, "hi-Latn") == "42,23,054"


def test_the_web_chat_opens_in_romanised_hindi_when_asked(client) -> None:  # noqa: F811  (fixture)
    """A chat switched to romanised Hindi reloads with ?lang=hi-Latn: its page speaks it, in Latin letters."""
    page = _page(client, "?lang=hi-Latn")
    assert page.by_id("send")[2] == "Bhejein"
    assert page.by_id("text")[1]["lang"] == "hi-Latn"


def test_the_notices_of_a_call_reach_a_romanised_hindi_patient_in_gsm7(catalogs: Catalogs) -> None:
    """What other people's turns send them (the doctor's call, the reminder, place 3, the advice) is Latin too."""
    room = "https://meet.example/teleopd-abc"
    notices = [
        visit.doctor_ready(7, "Anita Sharma", room), visit.reminder(7, "Anita Sharma", room), visit.missed(), visit.call_cut_short(),
        visit.get_ready(ByLanguage("General Medicine", "सामान्य चिकित्सा"), 12),
        visit.advice(7, "Anita Sharma", "Paracetamol 500 mg din mein teen baar, 3 din tak. Paani khoob piyein."),
    ]
    for reply in notices:
        body = render_sms(translate(catalogs, json.loads(json.dumps(reply_to_json(reply))), "hi-Latn", sms=True))
        assert is_gsm7(body) and body.isascii(), body
