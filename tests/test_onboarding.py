"""Whole onboarding conversations as tables, in English, Devanagari Hindi and romanised Hindi."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.platform.i18n import Catalogs
from bot.store.models import Identity, OutboxMessage, Patient, Person
from flows.engine import State
from flows.understanding.india import state_by_code
from tests.helpers import FlowChat, LocalUser

LANGUAGE_NUMBER = {"en": "1", "hi": "2"}  # the language question's choices, in order

# (what the user says, a piece of what the bot must answer) — the whole registration.
ENGLISH = [
    ("hello", "Which language would you like to use?"),
    ("English", "Do you agree?"),
    ("yes", "What is your full name?"),
    ("Sunita Devi", "How old are you, Sunita Devi?"),
    ("34", "Are you female, male or other?"),
    ("female", "Which state or union territory do you live in?"),
    ("Uttar Pradesh", "Which district?"),
    ("Varanasi", "10-digit mobile number"),
    ("98765 43210", "Sex: Female\nState: Uttar Pradesh\nDistrict: Varanasi\nMobile: +919876543210"),
    ("1", "Thank you, Sunita Devi, you are registered."),
]
HINDI = [
    ("नमस्ते", "आप किस भाषा में बात करना चाहेंगे?"),
    ("हिंदी", "क्या आप सहमत हैं?"),
    ("हाँ", "आपका पूरा नाम क्या है?"),
    ("सुनीता देवी", "सुनीता देवी जी, आपकी उम्र कितनी है?"),
    ("३४ वर्ष", "आप महिला हैं, पुरुष हैं या अन्य?"),
    ("महिला", "आप किस राज्य या केंद्र शासित प्रदेश में रहते हैं?"),
    ("उत्तर प्रदेश", "आपका ज़िला कौन सा है?"),
    ("वाराणसी", "मोबाइल नंबर"),
    ("छोड़ें", "लिंग: महिला\nराज्य: उत्तर प्रदेश\nज़िला: वाराणसी\nमोबाइल: नहीं दिया"),
    ("हाँ", "धन्यवाद सुनीता देवी जी, आपका रजिस्ट्रेशन हो गया है।"),
]
ROMANISED = [
    ("namaste", "Which language would you like to use?"),
    ("hindi", "क्या आप सहमत हैं?"),
    ("haan", "आपका पूरा नाम क्या है?"),
    ("Ramesh Kumar", "Ramesh Kumar जी, आपकी उम्र कितनी है?"),
    ("34 saal", "आप महिला हैं, पुरुष हैं या अन्य?"),
    ("purush", "राज्य"),
    ("bihar", "ज़िला"),
    ("Patna", "मोबाइल नंबर"),
    ("9876543210", "राज्य: बिहार"),
    ("theek hai", "रजिस्ट्रेशन हो गया है"),
]
DIALOGS = {"english": (ENGLISH, "en"), "hindi": (HINDI, "hi"), "romanised-hindi": (ROMANISED, "hi")}


@pytest.mark.parametrize("name", DIALOGS)
def test_onboarding_completes(services, name: str) -> None:
    dialog, language = DIALOGS[name]
    user = LocalUser(services, f"user-{name}")
    for said, expected in dialog:
        answer = user.say(said)
        assert expected in answer.all_text, f"after {said!r} expected {expected!r}, got {answer.texts!r}"
    with services.db.read() as session:
        identity = session.scalars(select(Identity).where(Identity.address == f"user-{name}")).one()
        assert identity.language == language
        person = session.get(Person, identity.person_id)
        patient = session.get(Patient, identity.person_id)
    assert person is not None and patient is not None
    assert patient.age == 34
    assert patient.state_code in ("IN-UP", "IN-BR")
    assert patient.consent_at is not None
    # Every reply is in the user's language: Hindi users get Devanagari.
    with services.db.read() as session:
        languages = set(session.scalars(select(OutboxMessage.language).where(OutboxMessage.identity_id == identity.id)))
    assert languages <= {language, "en"}


# The order a reader looks a name up in: the Latin alphabet, and the varnamala (vowels, then
# consonants) for a Devanagari name.
ALPHABET = {"en": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "hi": "अआइईउऊऋएऐओऔकखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसह"}


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_the_state_list_is_in_the_readers_alphabet_and_its_numbers_pick_from_it(catalogs: Catalogs, lang: str) -> None:
    chat = FlowChat(catalogs, lang, State(step="sex", language=lang))
    question = chat.send("female")[-1]
    numbers = {name: number for number, name in re.findall(r"^(\d+)\. (.+)$", question, re.MULTILINE)}
    assert len(numbers) == 36
    initials = [ALPHABET[lang].index(name[0]) for name in numbers]
    assert initials == sorted(initials), list(numbers)
    chat.send(numbers[state_by_code("IN-UP").name(lang)])
    assert (chat.state.step, chat.state.data["state"]) == ("district", "IN-UP")


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_confirmation_screen_corrects_a_field(services, lang: str) -> None:
    user = LocalUser(services, f"fix-{lang}")
    for said in ["hi", LANGUAGE_NUMBER[lang], "1", "Asha", "40", "1", "5", "Gaya", "skip"]:
        user.say(said)
    answer = user.say(choice="edit_age")
    assert ("How old are you" if lang == "en" else "आपकी उम्र कितनी है") in answer.all_text
    answer = user.say("41")
    assert ("Age: 41" if lang == "en" else "उम्र: 41") in answer.all_text
    answer = user.say(choice="edit_state")
    answer = user.say("Jharkhand")
    assert ("State: Jharkhand" if lang == "en" else "राज्य: झारखंड") in answer.all_text
    answer = user.say(choice="confirm")
    assert ("What would you like to do?" if lang == "en" else "आप क्या करना चाहेंगे?") in answer.all_text
    with services.db.read() as session:
        patient = session.scalars(select(Patient)).one()
    assert (patient.age, patient.state_code) == (41, "IN-JH")


@pytest.mark.parametrize(
    ("said", "problem_en", "problem_hi"),
    [
        pytest.param("abc", "Please send the age as a number", "कृपया उम्र", id="letters"),
        pytest.param("121", "from 0 to 120", "0 से 120", id="too-old"),
        pytest.param("-3", "from 0 to 120", "0 से 120", id="negative"),
        pytest.param("😀", "Please send the age as a number", "कृपया उम्र", id="emoji"),
        pytest.param("34 and 35", "Please send the age as a number", "कृपया उम्र", id="two-numbers"),
    ],
)
@pytest.mark.parametrize("lang", ["en", "hi"])
def test_bad_age_is_asked_again(services, lang: str, said: str, problem_en: str, problem_hi: str) -> None:
    user = LocalUser(services, f"age-{lang}")
    for line in ["hi", LANGUAGE_NUMBER[lang], "1", "Asha"]:
        user.say(line)
    answer = user.say(said)
    assert (problem_en if lang == "en" else problem_hi) in answer.all_text
    # …and the question itself comes again, so the user is never left without one.
    assert ("How old are you" if lang == "en" else "आपकी उम्र कितनी है") in answer.texts[-1]


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_declining_consent_stores_nothing_but_the_opt_out(services, lang: str) -> None:
    user = LocalUser(services, f"decline-{lang}")
    user.say("hello")
    user.say(LANGUAGE_NUMBER[lang])
    answer = user.say("no" if lang == "en" else "नहीं")
    assert ("We have not stored any of your details" if lang == "en" else "हमने आपकी कोई जानकारी नहीं रखी") in answer.all_text
    with services.db.read() as session:
        identity = session.scalars(select(Identity)).one()
        assert identity.opted_out and identity.person_id is None
        assert session.scalars(select(Person)).first() is None
    # Anything but START gets the same short notice; START brings the consent question back.
    assert "START" in user.say("hello?").all_text
    answer = user.say("start" if lang == "en" else "शुरू")
    assert ("Do you agree?" if lang == "en" else "क्या आप सहमत हैं?") in answer.all_text
