"""Global commands work at every step, in English, Hindi and romanised Hindi."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.models import Identity, Patient
from flows.commands import Command, match_command
from tests.helpers import LocalUser

# Answers that walk a new user to each step (English chosen with "1", Hindi with "2").
TO_STEP = {
    "language": ["{hello}"],
    "consent": ["{hello}", "{lang}"],
    "name": ["{hello}", "{lang}", "1"],
    "age": ["{hello}", "{lang}", "1", "Asha"],
    "sex": ["{hello}", "{lang}", "1", "Asha", "30"],
    "state": ["{hello}", "{lang}", "1", "Asha", "30", "1"],
    "district": ["{hello}", "{lang}", "1", "Asha", "30", "1", "Bihar"],
    "phone": ["{hello}", "{lang}", "1", "Asha", "30", "1", "Bihar", "Gaya"],
    "confirm": ["{hello}", "{lang}", "1", "Asha", "30", "1", "Bihar", "Gaya", "skip"],
    "menu": ["{hello}", "{lang}", "1", "Asha", "30", "1", "Bihar", "Gaya", "skip", "1"],
}
LANGUAGE_NUMBER = {"en": "1", "hi": "2"}
GREETING = {"en": "hello", "hi": "नमस्ते"}  # a Devanagari greeting makes the bot guess Hindi
# The question each step asks, in each language (a piece of it).
QUESTION = {
    "en": {
        "language": "Which language", "consent": "Do you agree?", "name": "full name", "age": "How old are you",
        "sex": "What is your sex?", "state": "Which state", "district": "Which district?", "phone": "mobile number",
        "confirm": "Is everything correct?", "menu": "What would you like to do?",
    },
    "hi": {
        "language": "किस भाषा", "consent": "क्या आप सहमत हैं?", "name": "पूरा नाम", "age": "उम्र कितनी है",
        "sex": "आपका लिंग", "state": "किस राज्य", "district": "ज़िला कौन सा", "phone": "मोबाइल नंबर",
        "confirm": "क्या सब कुछ सही है?", "menu": "आप क्या करना चाहेंगे?",
    },
}
HELP_WORDS = {"en": ["help", "HELP", "/help"], "hi": ["मदद", "madad"]}


def _user_at(services, step: str, lang: str) -> LocalUser:  # type: ignore[no-untyped-def]
    user = LocalUser(services, f"{step}-{lang}")
    for line in TO_STEP[step]:
        user.say(line.format(lang=LANGUAGE_NUMBER[lang], hello=GREETING[lang]))
    return user


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("help", Command.HELP), ("मदद", Command.HELP), ("Madad", Command.HELP), ("/help", Command.HELP),
        ("menu", Command.MENU), ("मेनू", Command.MENU), ("Main Menu", Command.MENU),
        ("language", Command.LANGUAGE), ("भाषा", Command.LANGUAGE), ("bhasha", Command.LANGUAGE),
        ("stop", Command.STOP), ("STOP", Command.STOP), ("रुकें", Command.STOP), ("ruko", Command.STOP),
        ("start", Command.START), ("/start", Command.START), ("/start@teleopd_bot", Command.START),
        ("शुरू", Command.START), ("shuru", Command.START),
        ("I need help with my fever", None), ("stop the pain", None), ("", None), ("मदद करें डॉक्टर", None),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_command_words(text: str, command: Command | None) -> None:
    assert match_command(text) == command


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("step", list(TO_STEP))
def test_help_at_every_step_explains_and_asks_again(services, step: str, lang: str) -> None:
    user = _user_at(services, step, lang)
    for word in HELP_WORDS[lang]:
        answer = user.say(word)
        assert ("108" in answer.texts[0]) and (("HELP" if lang == "en" else "मदद") in answer.texts[0])
        assert QUESTION[lang][step] in answer.texts[-1]


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("step", [s for s in TO_STEP if s != "language"])
def test_language_at_every_step_switches_and_resumes(services, step: str, lang: str) -> None:
    user = _user_at(services, step, lang)
    answer = user.say("language" if lang == "en" else "भाषा")
    assert QUESTION[lang]["language"] in answer.all_text
    other = "hi" if lang == "en" else "en"
    answer = user.say(choice=other)
    assert QUESTION[other][step] in answer.texts[-1]


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("step", list(TO_STEP))
def test_stop_at_every_step_opts_out_and_start_comes_back(services, step: str, lang: str) -> None:
    user = _user_at(services, step, lang)
    answer = user.say("stop" if lang == "en" else "रुकें")
    assert "START" in answer.all_text
    with services.db.read() as session:
        assert session.scalars(select(Identity.opted_out).where(Identity.address == user.user)).one() is True
    assert "START" in user.say("hello").all_text
    answer = user.say("shuru")
    with services.db.read() as session:
        assert session.scalars(select(Identity.opted_out).where(Identity.address == user.user)).one() is False
    # Back where they were (or at consent/menu), with a question to answer.
    expected = {"language": "consent", "consent": "consent"}.get(step, step)
    assert QUESTION[lang][expected] in answer.texts[-1]


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_menu_before_registering_keeps_the_current_question(services, lang: str) -> None:
    user = _user_at(services, "age", lang)
    answer = user.say("menu" if lang == "en" else "मेनू")
    assert QUESTION[lang]["age"] in answer.texts[-1]
    assert len(answer.texts) == 2


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_registered_user_updates_details_from_the_menu(services, lang: str) -> None:
    user = _user_at(services, "menu", lang)
    answer = user.say(choice="details")
    assert QUESTION[lang]["confirm"] in answer.all_text
    user.say(choice="edit_district")
    answer = user.say("Nalanda")
    assert "Nalanda" in answer.all_text
    answer = user.say(choice="confirm")
    assert ("Your details are saved." if lang == "en" else "आपकी जानकारी सहेज ली गई है।") in answer.all_text
    with services.db.read() as session:
        patients = session.scalars(select(Patient)).all()
        assert session.scalar(select(func.count()).select_from(Patient)) == 1
    assert patients[0].district == "Nalanda"
    # From anywhere, menu brings the registered user back to the main menu.
    user.say(choice="details")
    assert QUESTION[lang]["menu"] in user.say("menu" if lang == "en" else "मेनू").texts[-1]


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_button_from_an_older_question_is_not_taken_for_this_one(services, lang: str) -> None:
    user = _user_at(services, "name", lang)
    answer = user.say(choice="female")
    assert QUESTION[lang]["name"] in answer.texts[-1]
