"""The questions several flows ask (flows/steps/questions.py) as dialog tables on the pure core.

Each question is asked where each flow asks it (onboarding, a family member in booking, a
walk-in at the health worker's desk), in English and Hindi, with in-memory ports: a valid
answer is stored where that flow keeps it and the flow goes on to its next step; each kind
of bad answer gets its own reply, in the user's language, and the same question again.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.platform.i18n import Catalogs
from flows.conversation import steps
from flows.engine import Inbound, State, Turn
from flows.messages import Reply
from flows.ports import Ports
from flows.understanding.text import is_devanagari
from tests.helpers import FakeBookings, FakePatients, FlowChat, registered_profile

NEEDS_LETTERS = "A name needs letters. Please type the name, for example: Sunita Devi."
TOO_LONG = "That is too long for a name. Please send only the name, in at most {limit} letters."
BAD_AGE = "Please send the age as a number of years from 0 to 120, for example 34. For a baby under one year, send 0."
CHOOSE_AGAIN = "Please choose one of the options below: send its number, or type it."
BAD_PHONE_SKIPPABLE = "That does not look like a mobile number. Please send 10 digits, for example 98765 43210, or send SKIP."
BAD_PHONE = "That does not look like a mobile number. Please send 10 digits, for example 98765 43210."
CONSENT_UNCLEAR = "Please send 1 to agree or 2 to decline."

# Where each flow asks each question: (flow, step, data before, next step).
ASKED: dict[str, list[tuple[str, str, dict[str, Any], str]]] = {
    "name": [
        ("onboarding", "name", {}, "age"),
        ("onboarding, correcting", "name", {"editing": True}, "confirm"),
        ("booking", "dep_name", {"intake": {"text": "fever"}}, "dep_age"),
        ("health_worker", "hw_name", {"hw_phone": "+919876543210"}, "hw_age"),
    ],
    "age": [
        ("onboarding", "age", {"name": "Sunita Devi"}, "sex"),
        ("booking", "dep_age", {"intake": {"text": "fever"}, "dep_name": "Ravi"}, "dep_sex"),
        ("health_worker", "hw_age", {"hw_name": "Ravi"}, "hw_sex"),
    ],
    "sex": [
        ("onboarding", "sex", {"name": "Sunita Devi", "age": 34}, "state"),
        ("booking", "dep_sex", {"intake": {"text": "fever"}, "dep_name": "Ravi", "dep_age": 7}, "since_when"),
        ("health_worker", "hw_sex", {"hw_name": "Ravi", "hw_age": 7}, "hw_symptoms"),
    ],
    "phone": [
        ("onboarding", "phone", {"name": "Sunita Devi", "age": 34, "sex": "female", "state": "IN-UP", "district": "Varanasi"}, "confirm"),
        ("health_worker", "hw_phone", {}, "hw_language"),
    ],
}
# Where each flow keeps the answer.
FIELD = {
    "name": "name", "dep_name": "dep_name", "hw_name": "hw_name", "age": "age", "dep_age": "dep_age", "hw_age": "hw_age",
    "sex": "sex", "hw_sex": "hw_sex", "phone": "phone", "hw_phone": "hw_phone",
}
# Valid answers per language, and what is stored.
VALID: dict[str, dict[str, list[tuple[str, Any]]]] = {
    "name": {"en": [("Sunita Devi", "Sunita Devi")], "hi": [("सुनीता देवी", "सुनीता देवी"), ("Ramesh Kumar", "Ramesh Kumar")]},
    "age": {"en": [("34", 34), ("0", 0), ("120", 120)], "hi": [("३४ वर्ष", 34), ("34 saal", 34)]},
    "sex": {"en": [("female", "female"), ("2", "male"), ("other", "other")], "hi": [("महिला", "female"), ("purush", "male"), ("अन्य", "other")]},
    "phone": {"en": [("98765 43210", "+919876543210")], "hi": [("९८७६५४३२१०", "+919876543210"), ("+91 98765 43210", "+919876543210")]},
}
# Each kind of bad answer and the reply it gets (by catalog message id).
BAD: dict[str, list[tuple[str, str]]] = {
    "name": [("12345", NEEDS_LETTERS), ("!!!", NEEDS_LETTERS), ("Sunita " * 14, TOO_LONG)],
    "age": [("old", BAD_AGE), ("121", BAD_AGE), ("-3", BAD_AGE)],
    "sex": [("banana", CHOOSE_AGAIN), ("7", CHOOSE_AGAIN)],
    "phone": [("12", "{invalid}"), ("call me", "{invalid}")],
}
INVALID_PHONE = {"phone": BAD_PHONE_SKIPPABLE, "hw_phone": BAD_PHONE}
LANGS = ("en", "hi")


def chat_at(catalogs: Catalogs, flow: str, step: str, data: dict[str, Any], lang: str) -> FlowChat:
    """Return a conversation waiting at a question, as the flow that asks it left it."""
    state = State(step=step, data=dict(data), language=lang)
    if flow.startswith("onboarding"):
        return FlowChat(catalogs, lang, state)
    if flow == "booking":
        return FlowChat(catalogs, lang, state, patients=FakePatients(registered_profile()), bookings=FakeBookings())
    return FlowChat(catalogs, lang, state, role="health_worker", bookings=FakeBookings())


def replies_by_msgid(chat: FlowChat) -> list[str]:
    return [reply.text.msgid for reply in chat.replies]


def table(rows: dict[str, list[Any]], per: dict[str, Any]) -> list[Any]:
    """Return pytest params: every place a question is asked × the per-question cases × both languages."""
    params = []
    for question, places in rows.items():
        for flow, step, data, following in places:
            for lang in LANGS:
                cases = per[question][lang] if isinstance(per[question], dict) else per[question]
                for case in cases:
                    params.append(pytest.param(question, flow, step, data, following, lang, case, id=f"{question}-{flow}-{lang}-{case[0][:12]}"))
    return params


@pytest.mark.parametrize(("question", "flow", "step", "data", "following", "lang", "case"), table(ASKED, VALID))
def test_valid_answer_is_stored_and_the_flow_goes_on(catalogs: Catalogs, question, flow, step, data, following, lang, case) -> None:
    said, stored = case
    chat = chat_at(catalogs, flow, step, data, lang)
    texts = chat.send(said)
    assert chat.state.step == following, texts
    if step == "dep_sex":
        # A family member is registered as the last answer comes: the booking keeps their id.
        assert chat.ports["bookings"].family[-1].sex == stored
        assert chat.state.data["patient"] == chat.ports["bookings"].family[-1].person_id
        assert not {"dep_name", "dep_age", "dep_sex"} & chat.state.data.keys()
    else:
        assert chat.state.data[FIELD[step]] == stored
    if lang == "hi":
        assert is_devanagari(texts[-1]), texts


@pytest.mark.parametrize(("question", "flow", "step", "data", "following", "lang", "case"), table(ASKED, BAD))
def test_bad_answer_gets_its_reply_and_the_question_again(catalogs: Catalogs, question, flow, step, data, following, lang, case) -> None:
    said, problem = case
    chat = chat_at(catalogs, flow, step, data, lang)
    texts = chat.send(said)
    expected = INVALID_PHONE[step] if problem == "{invalid}" else problem
    assert chat.state.step == step
    assert chat.state.data == data, "a bad answer stores nothing"
    assert replies_by_msgid(chat) == [expected, question_asked(chat, step).text.msgid], "its reply, then the same question"
    if lang == "hi":
        assert all(is_devanagari(text) for text in texts), texts


def question_asked(chat: FlowChat, step: str) -> Reply:
    """Return the question a step asks in a conversation's current state."""
    ports = Ports(patients=chat.patients, labels=chat.catalogs, **{"default_language": "en", **chat.ports})
    return steps()[step].ask(Turn(chat.state, Inbound(), ports, steps()))


CONSENT_GIVEN = [("yes", "en"), ("1", "en"), ("agree", "en"), ("हाँ", "hi"), ("sahmat", "hi"), ("theek hai", "hi")]
CONSENT_REFUSED = [("no", "en"), ("2", "en"), ("decline", "en"), ("नहीं", "hi"), ("ना", "hi"), ("असहमत", "hi")]
REFUSED = "All right. We have not stored any of your details, and we will not message you again.\nIf you change your mind, send START."
SUPPORT = {"intake": {"text": "I want to end my life"}, "red_flags": ["self_harm"]}
SUPPORT_DECLINED = "All right. Tele-MANAS is there for you day and night on 14416, and you can write to me at any time."


@pytest.mark.parametrize(("said", "lang"), CONSENT_GIVEN)
def test_consent_yes_starts_registration(catalogs: Catalogs, said: str, lang: str) -> None:
    chat = chat_at(catalogs, "onboarding", "consent", {}, lang)
    chat.send(said)
    assert chat.state.step == "name" and not chat.state.opted_out
    assert set(chat.state.data) == {"consent_at"}


@pytest.mark.parametrize(("said", "lang"), CONSENT_REFUSED)
def test_consent_no_keeps_nothing(catalogs: Catalogs, said: str, lang: str) -> None:
    chat = chat_at(catalogs, "onboarding", "consent", {}, lang)
    texts = chat.send(said)
    assert chat.state.opted_out and chat.state.data == {}
    assert replies_by_msgid(chat) == [REFUSED]
    assert is_devanagari(texts[0]) == (lang == "hi")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("step", "data", "problem"), [("consent", {}, CONSENT_UNCLEAR), ("support_offer", SUPPORT, None)])
def test_yes_no_neither_asks_again(catalogs: Catalogs, step: str, data: dict[str, Any], problem: str | None, lang: str) -> None:
    flow = "onboarding" if step == "consent" else "booking"
    chat = chat_at(catalogs, flow, step, data, lang)
    texts = chat.send("maybe tomorrow")
    assert chat.state.step == step and chat.state.data == data and not chat.state.opted_out
    asked = question_asked(chat, step).text.msgid
    assert replies_by_msgid(chat) == ([problem] if problem else []) + [asked]
    assert is_devanagari(texts[-1]) == (lang == "hi")


@pytest.mark.parametrize(("said", "lang"), [("yes", "en"), ("1", "en"), ("haan", "hi"), ("हाँ जी", "hi")])
def test_support_offer_yes_goes_to_an_opd_for_the_writer(catalogs: Catalogs, said: str, lang: str) -> None:
    chat = chat_at(catalogs, "booking", "support_offer", SUPPORT, lang)
    chat.send(said)
    assert chat.state.step == "opd_suggest"
    assert chat.state.data["patient"] is None and chat.state.data["intake"]["for_whom"] == "self"


@pytest.mark.parametrize(("said", "lang"), [("no", "en"), ("later", "en"), ("नहीं", "hi"), ("baad mein", "hi")])
def test_support_offer_no_leaves_it_kindly(catalogs: Catalogs, said: str, lang: str) -> None:
    chat = chat_at(catalogs, "booking", "support_offer", SUPPORT, lang)
    texts = chat.send(said)
    assert chat.state.step == "menu"
    assert replies_by_msgid(chat)[0] == SUPPORT_DECLINED
    assert not {"intake", "red_flags"} & chat.state.data.keys()
    assert is_devanagari(texts[0]) == (lang == "hi")


@pytest.mark.parametrize(("said", "lang"), [("skip", "en"), ("later", "en"), ("छोड़ें", "hi"), ("baad mein", "hi")])
def test_phone_may_be_skipped_where_the_flow_allows_it(catalogs: Catalogs, said: str, lang: str) -> None:
    """Onboarding lets the patient leave the number out; the health worker must give the walk-in's (their SMS goes there)."""
    place = ASKED["phone"][0]
    chat = chat_at(catalogs, place[0], place[1], place[2], lang)
    chat.send(said)
    assert chat.state.step == "confirm" and chat.state.data["phone"] is None
    walk_in = chat_at(catalogs, "health_worker", "hw_phone", {}, lang)
    walk_in.send(said)
    assert walk_in.state.step == "hw_phone" and "hw_phone" not in walk_in.state.data
    assert replies_by_msgid(walk_in)[0] == BAD_PHONE
