"""Doctors enrolling through the real dispatcher, in English and Hindi: a one-time code links
the chat to the doctor and opens the desk; wrong, used or expired codes get a clear reply (that
does not say whether the code exists) and leave a patient; guessing runs out; a patient typing
doctor words gets the patient menu.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.dispatch import Dispatcher
from bot.runtime import Services
from bot.services.enrolment import GuessBudget, add_doctor, issue_code
from bot.services.opds import find_opd
from bot.store.models import (
    Role,
    TokenStatus,
)
from tests.doctor_helpers import (  # noqa: F401  (fixtures are used by being imported)
    DOCTOR,
    LANGS,
    NAMES,
    WORDS,
    Chat,
    _clear_of_midnight_ist,
    add_doctor_code,
    book,
    consultations,
    enrolled_doctor,
    identity_of,
    open_chat,
    registered,
    step_of,
    token,
    tokens_of,
)
from webhooks.webchat import ENROL_WORD

# --- enrolment ------------------------------------------------------------------------------------

# How the code may be typed: as printed, with a slash, in lowercase, with spaces inside.
FORMS = {
    "plain": lambda code: f"enroll {code}",
    "slash": lambda code: f"/enroll {code}",
    "lowercase": lambda code: f"enroll {code.lower()}",
    "spaces": lambda code: f"enroll {code[:4]} {code[4:]}",
    "capital_command": lambda code: f"ENROLL {code}",
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("form", FORMS)
def test_enrolment_links_the_chat_to_the_doctor_and_opens_the_desk(demo: Services, form: str, lang: str) -> None:
    code = add_doctor_code(demo)
    doctor = open_chat(demo, f"doc-{form}-{lang}", lang)
    answer = doctor.say(FORMS[form](code))
    assert answer.texts[0] == doctor.t("welcome", name=DOCTOR)
    assert doctor.t("desk", name=DOCTOR) in answer.texts[-1]
    assert step_of(demo, doctor.user) == "doctor_home"
    identity = identity_of(demo, doctor.user)
    assert identity.person is not None and identity.person.role == Role.DOCTOR and identity.person.name == DOCTOR
    # The desk answers doctor's words now.
    answer = doctor.say(WORDS[lang]["next"])
    assert doctor.t("nobody") in answer.texts[0], answer.texts


def _refused_code(services: Services, kind: str) -> str:
    """Return a code that is wrong, used already, or expired."""
    if kind == "wrong":
        return "ZZZZ9999"
    if kind == "used":
        code = add_doctor_code(services, "Other Doctor")
        other = Chat(services, "the-real-doctor", "en")
        assert "Welcome, Dr. Other Doctor" in other.say(f"enroll {code}").all_text
        return code
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)  # codes live 7 days
    with services.db.write() as session:
        person, _ = add_doctor(session, "Late Doctor", [find_opd(session, "GEN24")])  # type: ignore[list-item]
        return issue_code(session, person, Role.DOCTOR, now=past)


REFUSAL = ("wrong", "used", "expired")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", REFUSAL)
def test_a_patient_with_a_refused_code_gets_a_clear_reply_and_stays_a_patient(demo: Services, kind: str, lang: str) -> None:
    patient = registered(demo, f"pat-{kind}-{lang}", lang, NAMES[lang][0])
    person_before = identity_of(demo, patient.user).person_id
    code = _refused_code(demo, kind)
    answer = patient.say(f"enroll {code}")
    assert patient.t("refused") in answer.texts[0], answer.texts
    assert patient.t("menu") in answer.texts[-1], answer.texts
    assert step_of(demo, patient.user) == "menu"
    identity = identity_of(demo, patient.user)
    assert identity.person_id == person_before and identity.person.role == Role.PATIENT
    # Doctor's words still get the patient menu, not a desk.
    for word in (WORDS[lang]["next"], WORDS[lang]["done"]):
        answer = patient.say(word)
        assert patient.t("menu") in answer.texts[-1], answer.texts
        assert not any(patient.t("desk", name=DOCTOR) in text or patient.t("nobody") in text for text in answer.texts)
    assert step_of(demo, patient.user) == "menu"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", REFUSAL)
def test_a_new_chat_with_a_refused_code_is_told_and_starts_as_a_patient(demo: Services, kind: str, lang: str) -> None:
    code = _refused_code(demo, kind)
    chat = open_chat(demo, f"new-{kind}-{lang}", lang)
    answer = chat.say(f"/enroll {code}")
    assert chat.t("refused") in answer.texts[0], answer.texts
    assert step_of(demo, chat.user) not in ("doctor_home", "consulting")
    assert identity_of(demo, chat.user).person_id is None
    answer = chat.say(WORDS[lang]["next"])
    assert not any(chat.t("nobody") in text or chat.t("desk", name=DOCTOR) in text for text in answer.texts)


@pytest.mark.parametrize("lang", LANGS)
def test_a_refused_code_does_not_say_whether_it_exists(demo: Services, lang: str) -> None:
    answers = []
    for kind in REFUSAL:
        code = _refused_code(demo, kind)
        chat = registered(demo, f"guess-{kind}-{lang}", lang, NAMES[lang][1])
        answers.append(chat.say(f"enroll {code}").texts)
    assert answers[0] == answers[1] == answers[2], answers
    assert "coordinator" in answers[0][0] or "कोऑर्डिनेटर" in answers[0][0]


@pytest.mark.parametrize("lang", LANGS)
def test_one_guesser_with_many_chats_runs_out_of_guesses(demo: Services, lang: str) -> None:
    demo.dispatcher = Dispatcher(demo.db, demo.catalogs, limiter=demo.limiter, enrol_budget=GuessBudget(per_chat=2, overall=5))
    code = add_doctor_code(demo)
    guesser = Chat(demo, f"guesser-0-{lang}", lang)
    for guess in ("ZZZZ9999", "ZZZZ8888"):
        assert guesser.t("refused") in guesser.say(f"{ENROL_WORD[lang]} {guess}").texts[0]
    # The chat's own guesses are spent: even the right code is not looked at now.
    too_many = guesser.say(f"{ENROL_WORD[lang]} {code}").texts[0]
    assert guesser.t("refused") not in too_many and ("hour" in too_many or "घंटे" in too_many), too_many
    assert identity_of(demo, guesser.user).person_id is None
    # New chats get the guesses everyone shares, and no more.
    for n in (1, 2, 3):
        chat = Chat(demo, f"guesser-{n}-{lang}", lang)
        assert chat.t("refused") in chat.say(f"{ENROL_WORD[lang]} ZZZZ777{n}").texts[0]
    late = Chat(demo, f"guesser-4-{lang}", lang)
    assert late.say(f"{ENROL_WORD[lang]} {code}").texts[0] == too_many
    assert identity_of(demo, late.user).person_id is None


def test_a_code_works_once_even_for_the_same_doctor_on_a_second_channel(demo: Services) -> None:
    code = add_doctor_code(demo)
    first = Chat(demo, "doc-phone", "en")
    assert first.t("welcome", name=DOCTOR) in first.say(f"enroll {code}").all_text
    second = registered(demo, "doc-second", "en", "Someone Else")
    answer = second.say(f"enroll {code}")
    assert second.t("refused") in answer.texts[0] and second.t("menu") in answer.texts[-1]
    assert identity_of(demo, second.user).person.role == Role.PATIENT


@pytest.mark.parametrize("lang", LANGS)
def test_a_patient_typing_doctor_words_gets_the_patient_menu(demo: Services, lang: str) -> None:
    enrolled_doctor(demo, "doc", lang)  # a doctor exists, and a patient waits
    patient = registered(demo, f"pat-{lang}", lang, NAMES[lang][0])
    book(demo, patient)
    for word in ("next", "done", "अगला", "हो गया", "free", "off"):
        answer = patient.say(word)
        assert patient.t("menu") in answer.texts[-1], (word, answer.texts)
        assert not any(patient.t("desk", name=DOCTOR) in t or "Token 1, " in t or "टोकन 1, " in t for t in answer.texts), answer.texts
    assert consultations(demo) == []
    assert token(demo, tokens_of(demo, patient.user)[0].id).status == TokenStatus.WAITING


def test_enrolling_in_devanagari_as_the_first_message_welcomes_in_hindi(demo: Services) -> None:
    """A first message in Devanagari gets Hindi everywhere else (flows.conversation._first_contact)."""
    code = add_doctor_code(demo)
    doctor = Chat(demo, "doc-hi", "hi")
    answer = doctor.say(f"नामांकन {code}")
    assert answer.texts[0] == doctor.t("welcome", name=DOCTOR), answer.texts
    assert doctor.t("desk", name=DOCTOR) in answer.texts[-1], answer.texts
