"""Global commands work at every step, in English, Hindi and romanised Hindi."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.platform.i18n import Catalogs
from bot.store.models import Identity, Patient
from flows.conversation import steps
from flows.engine import Inbound, State, Turn, choose_again, resolve_choice
from flows.messages import Text
from flows.ports import Ports
from flows.steps import menu, onboarding
from flows.understanding.commands import Command, match_command
from flows.understanding.text import fold
from tests.helpers import (
    FAKE_OPDS,
    IN_MEMORY_NOW,
    FakeBookings,
    FakePatients,
    FlowChat,
    LocalUser,
    registered_chat,
)

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
        "sex": "Are you female, male or other?", "state": "Which state", "district": "Which district?", "phone": "mobile number",
        "confirm": "Is everything correct?", "menu": "What would you like to do?",
    },
    "hi": {
        "language": "किस भाषा", "consent": "क्या आप सहमत हैं?", "name": "पूरा नाम", "age": "उम्र कितनी है",
        "sex": "आप महिला हैं, पुरुष हैं या अन्य?", "state": "किस राज्य", "district": "ज़िला कौन सा", "phone": "मोबाइल नंबर",
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
        ("stop", Command.STOP), ("STOP", Command.STOP), ("STOPALL", Command.STOP), ("unsubscribe", Command.STOP),
        ("band karo", Command.STOP), ("संदेश बंद करो", Command.STOP),
        ("रुकें", Command.MAYBE_STOP), ("ruko", Command.MAYBE_STOP), ("रुको", Command.MAYBE_STOP), ("बंद", Command.MAYBE_STOP),
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
    answer = user.say("stop" if lang == "en" else "संदेश बंद करो")
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


# --- stopping messages: at once on the carriers' keywords, after asking on softer words -------------------
# (the pure flows with in-memory ports: tests/helpers.py)

# Words that may mean "wait" ("ruko") as much as "stop": they ask first.
SOFT_STOP = ["ruko", "रुको", "रुकें", "बंद"]
# The carriers' opt-out keywords and plain "stop the messages": they stop at once.
CARRIER_STOP = ["STOP", "stopall", "UNSUBSCRIBE", "band karo", "संदेश बंद करो"]
STOP_QUESTION = {"en": "Do you want to stop all messages", "hi": "क्या आप हमारे सारे संदेश बंद करना चाहते हैं"}
STOPPED = {"en": "You will not get any more messages from us", "hi": "अब आपको हमारी ओर से कोई संदेश नहीं मिलेगा"}
MISSED_CALL = {"en": "we cannot tell you when the doctor is ready", "hi": "डॉक्टर के तैयार होने की ख़बर"}


def _with_token(catalogs: Catalogs, lang: str) -> FlowChat:
    bookings = FakeBookings()
    bookings.tokens.append(bookings.token(FAKE_OPDS[0], 5, IN_MEMORY_NOW))
    return registered_chat(catalogs, lang, bookings=bookings)


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("word", SOFT_STOP)
def test_a_word_that_may_mean_wait_asks_before_stopping(catalogs: Catalogs, lang: str, word: str) -> None:
    chat = registered_chat(catalogs, lang)
    texts = chat.send(word)
    assert not chat.state.opted_out
    assert STOP_QUESTION[lang] in texts[-1], texts
    # The first choice carries on where they were (a "1" meant for something else stops nothing); "yes" stops.
    texts = chat.send("1")
    assert not chat.state.opted_out and chat.state.step == "menu", texts
    chat.send(word)
    texts = chat.send("haan" if lang == "hi" else "yes")
    assert chat.state.opted_out and STOPPED[lang] in texts[0], texts


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("word", CARRIER_STOP)
def test_the_carriers_stop_words_stop_at_once(catalogs: Catalogs, lang: str, word: str) -> None:
    chat = registered_chat(catalogs, lang)
    texts = chat.send(word)
    assert chat.state.opted_out and STOPPED[lang] in texts[0], texts
    assert "START" in texts[0]


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_wait_after_the_emergency_reply_keeps_the_messages_coming(catalogs: Catalogs, lang: str) -> None:
    """"ruko" typed after the 108 reply opted the patient out, and "the doctor is ready" was held back."""
    chat = registered_chat(catalogs, lang)
    texts = chat.send("seene mein dard" if lang == "hi" else "chest pain")
    assert "108" in texts[0]
    asked = chat.state.step
    assert asked == "for_whom"
    chat.send("ruko")
    assert not chat.state.opted_out
    # Whatever they say next that is no answer to "stop messages?" goes to the question they were asked.
    chat.send("मैं खुद" if lang == "hi" else "myself")
    assert not chat.state.opted_out and chat.state.data["intake"]["for_whom"] == "self"


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_an_answer_after_the_stop_question_answers_the_question_it_interrupted(catalogs: Catalogs, lang: str) -> None:
    chat = registered_chat(catalogs, lang)
    chat.send("bukhar hai" if lang == "hi" else "fever")
    chat.send("1")
    assert chat.state.step == "since_when"
    chat.send("रुको" if lang == "hi" else "ruko")
    texts = chat.send("3 din se" if lang == "hi" else "3 days")
    assert not chat.state.opted_out
    assert chat.state.data["intake"]["duration_days"] == 3 and chat.state.step == "severity", texts


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("word", ["ruko", "STOP"])
def test_a_patient_with_a_token_is_told_what_stopping_costs(catalogs: Catalogs, lang: str, word: str) -> None:
    chat = _with_token(catalogs, lang)
    texts = chat.send(word)
    if word == "ruko":
        assert not chat.state.opted_out
        texts = texts + chat.send("2")
    assert chat.state.opted_out
    told = "\n".join(texts)
    assert "5" in told and ("General Medicine" if lang == "en" else "सामान्य चिकित्सा") in told, told
    assert MISSED_CALL[lang] in told, told


WAIT = ["ruko", "रुको", "रुकें", "रुकिए", "ruken", "rukein", "rukiye", "wait"]


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_consent_and_help_teach_no_word_that_means_wait(catalogs: Catalogs, lang: str) -> None:
    consent = catalogs.translate(steps()["consent"].ask(Turn(State(step="consent"), Inbound(), Ports(patients=FakePatients(), labels=catalogs), steps())).text, lang)
    taught = "\n".join([consent, catalogs.translate(menu.help_text(), lang), catalogs.translate(menu.help_sms(), lang)])
    words = set(fold(taught).split())
    assert not {fold(w) for w in WAIT} & words, taught


# --- every word a message teaches works ------------------------------------------------------------

# "Send MENU, STATUS … or STOP", "MENU – the main menu", "sending DELETE MY DATA", "or CANCEL", "“शुरू” या START".
TAUGHT_EN = re.compile(r"(?:\b[Ss]end(?:ing)?|,|\bor|या|^)\s*([A-Z]{2,}(?: [A-Z]{2,})*)\b", re.MULTILINE)
# "“मेरा डेटा हटाएँ” लिखकर", "मेनू – मुख्य मेनू", "मेनू, स्थिति, रद्द, भाषा या STOP भेजें".
QUOTED = re.compile(r"“([^”]+)”")
HELP_LINE = re.compile(r"^([^–\n]+?) – ", re.MULTILINE)
SENT_LIST = re.compile(r"^([^।:\n]+?) (?:भेजें|लिखें)।", re.MULTILINE)


def taught_words(text: str) -> set[str]:
    """Return the words a rendered message tells the reader to send."""
    words = set(TAUGHT_EN.findall(text)) | set(QUOTED.findall(text)) | set(HELP_LINE.findall(text))
    for listed in SENT_LIST.findall(text):
        words |= {w.strip() for w in re.split(r",| या ", listed) if w.strip()}
    return words


def _at(catalogs: Catalogs, lang: str, step: str, opted_out: bool = False) -> FlowChat:
    """Return a conversation at a step: before registering at consent, registered anywhere else."""
    if step == "consent":
        return FlowChat(catalogs, lang, State(step="consent", language=lang), bookings=FakeBookings())
    chat = _with_token(catalogs, lang)
    chat.state = State(step=step, language=lang, opted_out=opted_out)
    return chat


# Where each teaching message is read, and so where its words are sent.
TEACHING = {
    # The consent's notice comes before its question (flows/steps/onboarding.py consent_notice).
    "consent": lambda turn: onboarding.consent_notice().text,
    "consent-sms": lambda turn: onboarding.consent_notice().sms,
    "help": lambda turn: menu.help_text(),
    "help-sms": lambda turn: menu.help_sms(),
    "no-token": lambda turn: Text("You have no token booked. Send MENU and choose “See a doctor” to book one."),
    "opted-out": lambda turn: Text("You have stopped messages from teleopd. Send START to begin again."),
}
NOT_UNDERSTOOD = {choose_again().msgid, "Please send 1 to agree or 2 to decline.", "You have stopped messages from teleopd. Send START to begin again."}


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("message", TEACHING)
def test_every_word_a_message_teaches_works_where_it_is_read(catalogs: Catalogs, lang: str, message: str) -> None:
    step = "consent" if message.startswith("consent") else "menu"
    chat = _at(catalogs, lang, step, opted_out=message == "opted-out")
    turn = Turn(chat.state, Inbound(), Ports(patients=chat.patients, labels=catalogs), steps())
    rendered = catalogs.translate(TEACHING[message](turn), lang)
    words = taught_words(rendered)
    assert words, f"no taught words found in {rendered!r}"
    offered = steps()[step].ask(turn).choices
    for word in sorted(words):
        understood = match_command(word) is not None or resolve_choice(Inbound(text=word), fold(word), offered, catalogs) is not None
        assert understood, f"{message} ({lang}) teaches {word!r}, which is no command and no choice at {step}: {rendered!r}"
        tried = _at(catalogs, lang, step, opted_out=message == "opted-out")
        tried.send(word)
        replies = {reply.text.msgid for reply in tried.replies}
        assert not replies & NOT_UNDERSTOOD, f"{word!r} at {step} was not understood: {tried.last_texts!r}"


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_the_help_says_how_to_delete_ones_data(catalogs: Catalogs, lang: str) -> None:
    words = taught_words(catalogs.translate(menu.help_text(), lang))
    assert Command.ERASE in {match_command(w) for w in words}, words


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("words", ["mera data mitao", "मेरा डेटा मिटाओ", "मेरा डेटा मिटाएँ", "data mitao", "DELETE MY DATA", "मेरा डेटा हटाएँ"])
def test_asking_to_erase_in_the_words_of_the_consent_asks_to_confirm(catalogs: Catalogs, lang: str, words: str) -> None:
    """The consent says data can be erased ("मिटाने"); "mera data mitao" was not understood."""
    chat = registered_chat(catalogs, lang)
    chat.send(words)
    assert chat.state.step == "erase_confirm", chat.last_texts


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("who", ["disabled doctor", "tab waiting for its code"])
def test_stop_from_a_staff_chat_that_is_no_desk_opts_it_out(catalogs: Catalogs, lang: str, who: str) -> None:
    """STOP works where nothing else does: a turned-off doctor's chat, a staff tab before its code."""
    if who == "disabled doctor":
        chat = FlowChat(catalogs, lang, State(step="doctor_home", language=lang), role="disabled")
    else:
        chat = FlowChat(catalogs, lang, State(step="enrol_code", language=lang), opened_as="doctor")
    chat.send("STOP")
    assert chat.state.opted_out, chat.last_texts
    assert "START" in chat.last_texts[-1], chat.last_texts
