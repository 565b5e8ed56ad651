"""Danger signs anywhere in a conversation get the emergency advice first: during registration
(not taken for a name), while messages are stopped, mid-booking (the booking goes on), after an
abandoned booking (not flagging the next one), and, through the pure flows, at every step a
patient can be at.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.platform.i18n import Catalogs
from bot.runtime import Services
from bot.store.models import Identity, Person
from flows.conversation import steps
from flows.engine import State
from flows.understanding.text import is_devanagari
from tests.booking_helpers import (  # noqa: F401  (fixtures are used by being imported)
    JOURNEY,
    ChatUser,
    _clear_of_midnight_ist,
    all_open,
    register,
    run,
    step_of,
    tokens_of,
)
from tests.emergency_helpers import (
    ADVICE_PIECES,
    CHILD,
    SEEN_FIRST,
    advice_of,
    assert_advice_first,
    finish_booking_at_gen24,
)
from tests.helpers import (
    FakeBookings,
    FlowChat,
)
from tests.test_robustness import _chat_at

# (the step, the lines that reach it, what the user then says, the question that must come again)
DURING_ONBOARDING = [
    ("name", ["hello", "English", "yes"], "chest pain", "en", "chest_pain"),
    ("name", ["नमस्ते", "हिंदी", "हाँ"], "सीने में दर्द", "hi", "chest_pain"),
    ("age", ["hello", "English", "yes", "Asha"], "I can't breathe", "en", "severe_breathlessness"),
    ("age", ["namaste", "hindi", "haan", "Asha"], "saans nahi aa rahi", "hi", "severe_breathlessness"),
    ("state", ["नमस्ते", "हिंदी", "हाँ", "आशा", "३०", "महिला"], "मैं जीना नहीं चाहती", "hi", "self_harm"),
]
ONBOARDING_QUESTION = {
    ("name", "en"): "What is your full name?", ("name", "hi"): "आपका पूरा नाम क्या है?",
    ("age", "en"): "How old are you", ("age", "hi"): "आपकी उम्र कितनी है?",
    ("state", "hi"): "किस राज्य",
}


@pytest.mark.parametrize(("step", "lines", "text", "ui", "code"), DURING_ONBOARDING, ids=[f"{s}-{u}-{c}" for s, _, _, u, c in DURING_ONBOARDING])
def test_danger_signs_during_registration_get_the_advice_first(services: Services, step: str, lines: list[str], text: str, ui: str, code: str) -> None:
    user = ChatUser(services, f"onb-{step}-{ui}-{code}", "english" if ui == "en" else "hindi")
    for line in lines:
        user.say(line)
    assert step_of(services, user.user) == step
    answer = user.say(text)
    assert_advice_first(answer, code, ui)
    assert len(answer.texts) >= 2, "registration goes on after the advice"


@pytest.mark.parametrize(("step", "lines", "text", "ui", "code"), DURING_ONBOARDING[:2], ids=["name-en", "name-hi"])
def test_danger_signs_at_the_name_question_are_not_taken_for_a_name(services: Services, step: str, lines: list[str], text: str, ui: str, code: str) -> None:
    """Today "chest pain" is stored as the patient's name and the bot asks "How old are you, chest pain?"."""
    user = ChatUser(services, f"name-{ui}", "english" if ui == "en" else "hindi")
    for line in lines:
        user.say(line)
    answer = user.say(text)
    assert_advice_first(answer, code, ui)
    assert ONBOARDING_QUESTION[(step, ui)] in answer.texts[-1], answer.texts
    assert text not in answer.texts[-1], answer.texts


@pytest.mark.parametrize(
    ("style", "stop", "text", "ui"),
    [("english", "STOP", "I want to kill myself", "en"), ("hindi", "संदेश बंद करो", "मैं जीना नहीं चाहता", "hi"), ("romanised", "band karo", "jeena nahi chahta", "hi")],
)
def test_danger_signs_while_opted_out_still_get_the_advice_first(demo: Services, style: str, stop: str, text: str, ui: str) -> None:
    user = register(demo, style, f"stopped-{style}")
    answer = user.say(stop)
    assert "START" in answer.all_text
    with demo.db.read() as session:
        assert session.scalars(select(Identity.opted_out).where(Identity.address == user.user)).one() is True
    answer = user.say(text)
    assert_advice_first(answer, "self_harm", ui)
    assert "START" in answer.texts[-1], "and how to come back"
    # An ambulance sign too, in the user's language.
    answer = user.say({"english": "my father fainted", "hindi": "पापा बेहोश हो गए", "romanised": "papa behosh ho gaye"}[style])
    assert_advice_first(answer, "unconscious", ui)


@pytest.mark.parametrize("style", ["english", "hindi", "romanised"])
def test_danger_signs_mid_booking_come_first_and_the_booking_goes_on(demo: Services, style: str) -> None:
    user = register(demo, style, f"mid-{style}")
    ui = user.ui
    run(user, JOURNEY[style][:2])  # at "Since when?"
    answer = user.say({"english": "since an hour, now he fainted", "hindi": "एक घंटे से, अब बेहोश हो गया", "romanised": "ek ghante se, ab behosh ho gaya"}[style])
    assert_advice_first(answer, "unconscious", ui)
    answer = finish_booking_at_gen24(demo, user, for_child=False)
    [token] = tokens_of(demo, user.user)
    assert token.priority is True and "unconscious" in token.red_flags
    assert SEEN_FIRST[ui] in answer.all_text


@pytest.mark.parametrize("style", ["english", "romanised"])
def test_a_danger_sign_from_an_abandoned_booking_does_not_flag_the_next_one(all_open: Services, style: str) -> None:
    """Red flags stay in the conversation data until a booking finishes: MENU (flows/conversation.py
    _global_command) and start_booking (flows/steps/booking.py) clear the booking keys but not "red_flags",
    so a child's rash booked later is called first as "chest_pain"."""
    parent = register(all_open, style, f"stale-{style}")
    answer = parent.say({"english": "chest pain since morning", "romanised": "subah se seene mein dard"}[style])
    assert_advice_first(answer, "chest_pain", parent.ui)
    parent.say("menu")
    parent.say({"english": "See a doctor", "romanised": "doctor"}[style])
    answer = parent.say({"english": "my daughter has a rash", "romanised": "beti ko rash hai"}[style])
    assert not any(piece in answer.all_text for piece in ADVICE_PIECES)
    run(
        parent,
        [
            (CHILD[style], parent.q("dep_name")),
            ("Munni", parent.q("dep_age")),
            ("6", parent.q("dep_sex")),
            ("1", parent.q("since")),
            ({"english": "3 days", "romanised": "3 din"}[style], parent.q("how_bad")),
            ("1", parent.q("suggest")),
        ],
    )
    answer = parent.say("1")
    [token] = tokens_of(all_open, parent.user)
    with all_open.db.read() as session:
        assert session.get(Person, token.person_id).name == "Munni"  # type: ignore[union-attr]
    assert (token.priority, token.red_flags) == (False, []), token.red_flags
    assert SEEN_FIRST[parent.ui] not in answer.all_text


# --- the pure flows: every step a patient can be at, and staff ---------------------------------------
#
# flows.conversation.handle with in-memory ports and the real catalogs: each step reached the way
# a patient reaches it (or, for the steps the clinic's side moves a patient to, set as the notices of
# flows/steps/visit.py set them), then a danger sign typed there.


# The patient's steps past registration, reached from the menu by buttons and typed answers.
BOOKING_PATHS: dict[str, list[tuple[str, str]]] = {
    "menu": [],
    "symptoms": [("choice", "book")],
    "for_whom": [("choice", "book"), ("text", "fever")],
    "dep_name": [("choice", "book"), ("text", "fever"), ("choice", "child")],
    "dep_age": [("choice", "book"), ("text", "fever"), ("choice", "child"), ("text", "Munni")],
    "dep_sex": [("choice", "book"), ("text", "fever"), ("choice", "child"), ("text", "Munni"), ("text", "5")],
    "since_when": [("choice", "book"), ("text", "fever"), ("choice", "self")],
    "severity": [("choice", "book"), ("text", "fever"), ("choice", "self"), ("text", "2 days")],
    "opd_suggest": [("choice", "book"), ("text", "fever"), ("choice", "self"), ("text", "2 days"), ("choice", "mild")],
    "opd_pick": [("choice", "book"), ("text", "fever"), ("choice", "self"), ("text", "2 days"), ("choice", "mild"), ("choice", "other")],
    # opd:4, Dermatology, opens tomorrow (tests/helpers.py FAKE_OPDS): the next session is offered.
    "offer": [("choice", "book"), ("text", "fever"), ("choice", "self"), ("text", "2 days"), ("choice", "mild"), ("choice", "other"), ("choice", "opd:4")],
    "token_menu": [("booked", ""), ("choice", "token")],
    "move_pick": [("booked", ""), ("choice", "token"), ("choice", "move")],
    "cancel_confirm": [("booked", ""), ("choice", "token"), ("choice", "cancel")],
    "cancel_pick": [("booked", ""), ("booked", ""), ("choice", "token"), ("choice", "cancel")],
    "confirm": [("choice", "details")],
    "erase_confirm": [("text", "delete my data")],
    "stop_confirm": [("text", "ruko")],  # a word that may mean "wait": asked before opting out
    "support_offer": [("text", "I want to end my life")],  # the gentle offer after the Tele-MANAS reply
}
BOOK_ONE = [("choice", "book"), ("text", "fever"), ("choice", "self"), ("text", "2 days"), ("choice", "mild"), ("choice", "book")]
# Where the clinic's side puts a waiting patient (flows/steps/visit.py called_notices, ended_notices).
SET_BY_THE_CLINIC = {
    "called": {"consultation": 7, "doctor": "Meena Rao", "room": "https://meet.example/teleopd-x"},
    "rating": {"consultation": 7},
    "followup_offer": {"consultation": 7},
    # Asked once at the menu (flows/steps/advisories.py).
    "advisories_consent": {},
    # A reminder's question (bot/services/reminders.py moves an idle chat to it), and a missed call's.
    "reminder_answer": {"token": 1},
    "missed_call_answer": {},
}
# enrol_code: a web tab opened as a doctor or health worker, asking for the code (never a patient's step).
STAFF_STEPS = {"doctor_home", "consulting", "hw_home", "hw_phone", "hw_language", "hw_name", "hw_age", "hw_sex", "hw_symptoms", "hw_opd", "hw_call_me", "enrol_code"}


def patient_at(catalogs: Catalogs, lang: str, step: str | None) -> FlowChat:
    """Return a patient's conversation waiting at a step (None: before their first message, lang the default)."""
    if step is None:
        return FlowChat(catalogs, lang, default_language=lang)
    if step == "language":  # a first greeting in the language being tested sets it
        chat = FlowChat(catalogs, lang)
        chat.send({"en": "hello", "hi": "नमस्ते"}[lang])
        return chat
    if step in ("consent", "name", "age", "sex", "state", "district", "phone"):
        reached = _chat_at(catalogs, lang, step)
        return FlowChat(catalogs, lang, reached.state, patients=reached.patients)
    registered = _chat_at(catalogs, lang, "menu")
    chat = FlowChat(catalogs, lang, registered.state, patients=registered.patients, bookings=FakeBookings())
    if step in SET_BY_THE_CLINIC:
        chat.state = State(step=step, data=dict(SET_BY_THE_CLINIC[step]), language=lang)
    for kind, value in BOOKING_PATHS.get(step, []):
        if kind == "booked":
            for how, said in BOOK_ONE:
                chat.send(**{how: said})
        else:
            chat.send(**{kind: value})
    assert chat.state.step == step, (step, chat.state.step)
    return chat


PATIENT_STEPS = [None, "language", "consent", "name", "age", "sex", "state", "district", "phone", *BOOKING_PATHS, *SET_BY_THE_CLINIC]


def test_the_walk_reaches_every_step_a_patient_can_be_at() -> None:
    assert set(steps()) - STAFF_STEPS == set(PATIENT_STEPS) - {None}


# A self-harm sentence in Devanagari and ambulance signs as people type them, at every step.
ANYWHERE = [
    ("मुझे जीने का मन नहीं करता", "self_harm"),
    ("jine ka man nahi karta", "self_harm"),
    ("sas nahi aa rahi", "severe_breathlessness"),
    ("papa ke seenay mein dard", "chest_pain"),
]


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("step", PATIENT_STEPS, ids=[str(s) for s in PATIENT_STEPS])
def test_a_danger_sign_at_any_step_gets_the_advice_first_and_the_conversation_goes_on(catalogs: Catalogs, lang: str, step: str | None) -> None:
    """Today "मुझे जीने का मन नहीं करता" gets "please choose one of the options" at the menu."""
    for text, code in ANYWHERE:
        chat = patient_at(catalogs, lang, step)
        texts = chat.send(text)
        # A first message in Devanagari sets Hindi; otherwise the service's default holds.
        ui = chat.state.language or lang
        assert ui == ("hi" if step is None and is_devanagari(text) else lang)
        for piece in advice_of(code, ui):
            assert piece in texts[0], (step, text, texts)
        # Then the question of the step (or, at the menu, the booking the complaint starts).
        # After the Tele-MANAS reply the offer is gentle, not the booking's form (item 3); "wait?"
        # not answered goes back to the menu it interrupted, where the complaint is taken.
        complaint = "support_offer" if code == "self_harm" else "for_whom"
        expected = {None: "language", "menu": complaint, "symptoms": complaint, "stop_confirm": complaint}.get(step, step)
        assert chat.state.step == expected and len(texts) >= 2, (step, text, chat.state.step, texts)
        assert code in chat.state.data.get("red_flags", []), (step, text)
