"""Asking for a person, a chat a coordinator holds, and being stuck: the flows' side of the inbox, in every language."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.platform.i18n import Catalogs
from flows.conversation import handle
from flows.engine import LANGUAGES, Inbound, State
from flows.notices import OpenInbox
from flows.ports import Ports
from flows.steps import human
from flows.understanding.commands import Command, match_command
from tests.helpers import (
    IN_MEMORY_NOW,
    FakePatients,
    registered_chat,
    registered_profile,
    rendered_in_every_language,
)

# IN_MEMORY_NOW is 3 pm in India: within the default hours (9 to 17). 11:30 pm in India is not.
NIGHT = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)
ASKING = {
    "en": ["talk to a person", "Human", "coordinator", "I want to talk to someone"],
    "hi": ["किसी व्यक्ति से बात", "इंसान से बात करनी है", "मुझे किसी से बात करनी है"],
    "hi-Latn": ["insaan se baat karni hai", "kisi se baat karni hai", "Insan se baat"],
}
SOON = {"en": "person from our team", "hi": "हमारी टीम", "hi-Latn": "hamari team"}
MENU = {"en": "What would you like to do?", "hi": "आप क्या करना चाहेंगे?", "hi-Latn": "Aap kya karna chahenge?"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_words_for_a_person_in_every_language_are_one_command(lang: str) -> None:
    for words in ASKING[lang]:
        assert match_command(words) is Command.HUMAN, words
    # A sentence with more in it is no command: the steps (and the danger-sign screen) read it.
    assert match_command("insaan se baat karni hai, seene mein dard hai") is None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_asking_for_a_person_flags_the_chat_and_says_a_person_will_reply(catalogs: Catalogs, lang: str) -> None:
    chat = registered_chat(catalogs, lang)
    texts = chat.send(ASKING[lang][0])
    assert chat.notices == [OpenInbox(human.ASKED)]
    assert SOON[lang] in texts[0] and "108" in texts[0]
    assert MENU[lang] in texts[-1]  # and the question they were at, again
    assert chat.state.step == "menu"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_outside_office_hours_the_patient_is_told_when_the_team_is_back(catalogs: Catalogs, lang: str) -> None:
    chat = registered_chat(catalogs, lang)
    texts = chat.send(ASKING[lang][0], at=NIGHT)
    assert chat.notices == [OpenInbox(human.ASKED)]
    assert "9:00" in texts[0] and "5:00" in texts[0] and "108" in texts[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_held_chat_gets_no_answer_from_the_bot_but_danger_signs_still_get_108(catalogs: Catalogs, lang: str) -> None:
    ports = Ports(patients=FakePatients(registered_profile()), labels=catalogs)
    state = State(step="menu", language=lang, held=True)
    quiet = handle(state, Inbound(text="kya aap meri baat sun rahe hain?", received_at=IN_MEMORY_NOW), ports)
    assert quiet.replies == [] and quiet.notices == [] and quiet.state.step == "menu"
    danger = handle(state, Inbound(text="chest pain and I cannot breathe", received_at=IN_MEMORY_NOW), ports)
    assert [reply.emergency for reply in danger.replies] == [True]
    assert "108" in rendered_in_every_language(catalogs, danger.replies[0])[lang]
    assert danger.state.step == "menu"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_three_unrecognised_answers_at_one_question_put_the_chat_in_the_inbox_once(catalogs: Catalogs, lang: str) -> None:
    chat = registered_chat(catalogs, lang)
    flagged = []
    for _ in range(4):
        chat.send("qwzx")
        flagged.append(chat.notices)
    assert flagged == [[], [], [OpenInbox(human.STUCK)], []]
    chat.send("1")  # an answer that fits starts the count again
    assert chat.state.misses == 0 and "misses" not in chat.state.data


@pytest.mark.parametrize("lang", LANGUAGES)
def test_what_the_patient_is_told_on_takeover_reply_and_hand_back_renders_in_their_language(catalogs: Catalogs, lang: str) -> None:
    taken = rendered_in_every_language(catalogs, human.taken_over())[lang]
    said = rendered_in_every_language(catalogs, human.coordinator_says("Aapka token 5 hai"))[lang]
    back = [rendered_in_every_language(catalogs, reply)[lang] for reply in human.handed_back(registered=True)]
    assert "Aapka token 5 hai" in said
    assert MENU[lang] in back[1]
    if lang != "en":
        english = [rendered_in_every_language(catalogs, human.taken_over())["en"]]
        assert taken not in english
