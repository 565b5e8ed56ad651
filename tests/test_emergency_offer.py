"""What is offered after the emergency advice: 108 first, then a doctor now, then the specialty's
next session (booked with priority), with no form before the offer; after the Tele-MANAS reply
the offer is gentle, and "not now" books nothing and names the line again.
"""

from __future__ import annotations

import datetime as dt

import pytest

from flows.messages import ByLanguage
from tests.booking_helpers import (  # noqa: F401  (fixtures are used by being imported)
    _clear_of_midnight_ist,
)
from tests.emergency_helpers import GENTLE
from tests.helpers import (
    IN_MEMORY_NOW,
    registered_chat,
    registered_profile,
)

# --- after the emergency reply: 108 first, then a doctor now, then the specialty's next session ------
# (the pure flows with in-memory ports: tests/helpers.py; the round-the-clock OPD is open, the others open tomorrow)

PREGNANT_DANGER = {"en": "I am pregnant with severe headache and blurred vision", "hi": "मैं गर्भवती हूँ, सिर में तेज़ दर्द और धुंधला दिख रहा है"}
CALL_108_FIRST = {"en": "Call 108 first", "hi": "पहले 108"}
OPEN_NOW = {"en": "is open now", "hi": "अभी खुली है"}
GEN24 = {"en": "General Medicine (24 hours)", "hi": "सामान्य चिकित्सा (24 घंटे)"}
OBG = {"en": "Obstetrics & Gynaecology", "hi": "स्त्री एवं प्रसूति रोग"}
MYSELF = {"en": "myself", "hi": "मैं खुद"}
FORM_QUESTIONS = {"en": ("Who is the patient?", "Since when?", "How bad is it?"), "hi": ("मरीज़ कौन है?", "यह कब से है?", "तकलीफ़ कितनी है?")}


def _offer_after_danger_signs(catalogs, lang: str):  # type: ignore[no-untyped-def]
    chat = registered_chat(catalogs, lang, registered_profile(sex="female", age=26))
    texts = chat.send(PREGNANT_DANGER[lang])
    assert "108" in texts[0]
    return chat, chat.send(MYSELF[lang])


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_after_danger_signs_108_comes_first_then_a_doctor_now_then_the_specialtys_next_session(catalogs, lang: str) -> None:
    """A pregnant woman with severe headache and blurred vision was offered Obstetrics' session of the next morning."""
    chat, texts = _offer_after_danger_signs(catalogs, lang)
    assert CALL_108_FIRST[lang] in texts[0], texts
    offer = texts[-1]
    assert GEN24[lang] in offer and OPEN_NOW[lang] in offer, texts
    labels = [catalogs.translate(c.label, lang) if not isinstance(c.label, ByLanguage) else c.label.pick(lang) for c in chat.replies[-1].choices]
    # Booking now comes first, the specialty's next session (with its day) second.
    assert OBG[lang] in labels[1] and "26" in labels[1], labels
    chat.send("1")
    [(opd_id, _person, intake, priority, day)] = chat.ports["bookings"].booked
    assert (opd_id, priority, day) == (1, True, None) and "pregnancy_danger" in intake.red_flags
    assert chat.state.step == "menu"


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_after_danger_signs_the_specialtys_next_session_books_with_priority(catalogs, lang: str) -> None:
    chat, _ = _offer_after_danger_signs(catalogs, lang)
    chat.send("2")
    booked = chat.ports["bookings"].booked
    assert [(b[0], b[3]) for b in booked][-1] == (3, True), booked
    [token] = chat.ports["bookings"].live_tokens()
    assert token.opd_code == "OBG" and token.priority and token.day == (IN_MEMORY_NOW + dt.timedelta(hours=18)).date()


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_after_danger_signs_no_form_comes_before_the_offer(catalogs, lang: str) -> None:
    """Who the patient is is asked (the token needs a name); since when and how bad are not."""
    chat, texts = _offer_after_danger_signs(catalogs, lang)
    asked = "\n".join(texts)
    assert not any(q in asked for q in FORM_QUESTIONS[lang][1:]), texts


SELF_HARM = {"en": "I want to end my life", "hi": "मैं मरना चाहता हूँ"}


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_after_the_tele_manas_reply_the_offer_is_gentle_not_a_form(catalogs, lang: str) -> None:
    chat = registered_chat(catalogs, lang)
    texts = chat.send(SELF_HARM[lang])
    assert "14416" in texts[0]
    assert GENTLE[lang] in texts[-1], texts
    assert not any(q in "\n".join(texts) for q in FORM_QUESTIONS[lang]), texts
    # Yes: no questions about who, since when or how bad: a doctor now, called first.
    texts = chat.send("haan" if lang == "hi" else "yes")
    assert not any(q in "\n".join(texts) for q in FORM_QUESTIONS[lang]), texts
    chat.send("1")
    [(opd_id, person, intake, priority, day)] = chat.ports["bookings"].booked
    assert (opd_id, person, priority, day) == (1, None, True, None) and "self_harm" in intake.red_flags


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_not_now_after_the_tele_manas_reply_books_nothing_and_names_the_line_again(catalogs, lang: str) -> None:
    chat = registered_chat(catalogs, lang)
    chat.send(SELF_HARM[lang])
    texts = chat.send("abhi nahi" if lang == "hi" else "not now")
    assert "14416" in texts[0] and chat.state.step == "menu", texts
    assert chat.ports["bookings"].booked == [] and "red_flags" not in chat.state.data
