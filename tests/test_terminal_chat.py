"""`teleopd chat` as a user runs it: stdin piped from a file, what it printed read back.

The command itself (the installed console script in a subprocess: its arguments, its exit
status, a fresh SQLite file it migrates itself, stdin that ends without a newline) is run by
the tests marked "the command"; a subprocess's start-up costs about 1.5 s of CPU, so the
dialogs (what each line gets back, state kept between runs) run the same TerminalChat the
command runs, in this process, on a copy of the migrated test database.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.cli.chat import TerminalChat
from bot.platform.config import Settings
from bot.runtime import build_services
from bot.store.db import Database
from bot.store.models import Conversation, Identity, Patient, Person
from bot.store.models import InboundMessage as InboundRow

PG_RAW_URL = os.environ.get("TELEOPD_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_RAW_URL else [])
RUN_TIMEOUT_S = 90  # one whole scripted conversation; they take about a second
DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_scripts = itertools.count(1)


def teleopd_script() -> str:
    """Return the installed `teleopd` console script of this virtualenv."""
    beside_python = Path(sys.executable).parent / "teleopd"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("teleopd")
    assert found, "the teleopd console script is not installed (pip install -e .)"
    return found


def command_env(database_url: str) -> dict[str, str]:
    """Return the current environment with only the database configured for teleopd."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEOPD_", "TWILIO_"))}
    env["TELEOPD_DATABASE_URL"] = database_url
    return env


@dataclass
class Transcript:
    """What one `teleopd chat` run printed, cut into turns."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def before_input(self) -> str:
        """Return what was printed before the first line of input was echoed."""
        return self.stdout.split("you> ", 1)[0]

    @property
    def turns(self) -> list[tuple[str, str]]:
        """Return (what the user said, everything the bot printed after it) pairs, in order."""
        turns: list[tuple[str, list[str]]] = []
        for line in self.stdout.split("\n"):
            if line.startswith("you> "):
                turns.append((line[len("you> "):], []))
            elif turns:
                turns[-1][1].append(line)
        return [(said, "\n".join(reply)) for said, reply in turns]


@dataclass
class Backend:
    """Where a test's chats keep their state: the URL the command gets, and one to read it with."""

    name: str
    command_url: str
    read_url: str

    def database(self) -> Database:
        return Database(self.read_url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Return a fresh SQLite file (the command migrates it itself) or the migrated PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 't.db'}"
        return Backend("sqlite", url, url)
    read_url = request.getfixturevalue("pg_migrated")  # conftest: a schema of this run, migrated once
    return Backend("postgresql", read_url, read_url)


def unique_user(prefix: str) -> str:
    """Return a user id no other run has used (PostgreSQL keeps every run's users)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def chat(workdir: Path, database_url: str, lines: list[str], *args: str, final_newline: bool = True) -> Transcript:
    """Run `teleopd chat ARGS` with the lines as its stdin (a file); return what it printed."""
    script = workdir / f"script-{next(_scripts)}.txt"
    script.write_bytes(("\n".join(lines) + ("\n" if final_newline and lines else "")).encode("utf-8"))
    with script.open("rb") as stdin:
        done = subprocess.run(
            [teleopd_script(), "chat", *args],
            stdin=stdin,
            capture_output=True,
            cwd=workdir,
            env=command_env(database_url),
            timeout=RUN_TIMEOUT_S,
        )
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8", errors="replace")
    assert "Traceback" not in stderr, stderr
    return Transcript(done.returncode, stdout, stderr)


def chat_here(database_url: str, lines: list[str], user: str, lang: str | None = None) -> Transcript:
    """Run what `teleopd chat --user USER [--lang LANG]` runs (TerminalChat), in this process, with the lines as its input."""
    services = build_services(Settings(database_url=database_url))
    out = io.StringIO()
    try:
        code = TerminalChat(services, user, language=lang, out=out).run(io.StringIO("".join(line + "\n" for line in lines)))
    finally:
        services.close()
    return Transcript(code, out.getvalue(), "")


@pytest.fixture
def migrated_url(sqlite_template: Path, tmp_path: Path) -> str:
    """Return a SQLite file already migrated (conftest's template, copied): the in-process chats' database."""
    path = tmp_path / "chat.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def check_dialog(transcript: Transcript, dialog: list[tuple[str, tuple[str, ...]]]) -> None:
    """Check that each line got its answer, in order, and that the command ended well."""
    assert transcript.returncode == 0, transcript.stderr
    turns = transcript.turns
    assert [said for said, _ in turns] == [said for said, _ in dialog], transcript.stdout
    for (said, reply), (_, expected) in zip(turns, dialog):
        for piece in expected:
            assert piece in reply, f"after {said!r} expected {piece!r} in:\n{reply}"


def patient_of(db: Database, user: str) -> tuple[Identity, Person, Patient]:
    """Return the local user's identity, person and patient rows."""
    with db.read() as session:
        identity = session.scalars(select(Identity).where(Identity.channel == local.NAME, Identity.address == user)).one()
        assert identity.person_id is not None, f"{user} has no person after onboarding"
        person = session.get(Person, identity.person_id)
        patient = session.get(Patient, identity.person_id)
    assert person is not None and patient is not None, f"{user} has no patient row after onboarding"
    return identity, person, patient


# ---------------------------------------------------------------------------------------
# Whole onboardings: (what the user types, pieces of what the bot must print after it).

ENGLISH = [
    ("hello", ("Which language would you like to use?", "1. English", "2. हिन्दी")),
    ("1", ("Do you agree?", "1. I agree", "2. No, I do not agree")),
    ("yes", ("What is your full name?",)),
    ("Sunita Devi", ("How old are you, Sunita Devi?",)),
    ("34", ("Are you female, male or other?", "1. Female", "2. Male", "3. Other")),
    ("female", ("Which state or union territory do you live in?", "34. Uttar Pradesh", "36. West Bengal")),
    ("Uttar Pradesh", ("Which district?",)),
    ("Varanasi", ("10-digit mobile number", "1. Skip")),
    ("skip", ("Name: Sunita Devi\n     Age: 34\n     Sex: Female\n     State: Uttar Pradesh\n     District: Varanasi\n     Mobile: Not given", "1. Yes, correct")),
    ("1", ("Thank you, Sunita Devi, you are registered.", "What would you like to do?")),
]
HINDI = [
    ("नमस्ते", ("आप किस भाषा में बात करना चाहेंगे?", "1. English", "2. हिन्दी")),
    ("2", ("क्या आप सहमत हैं?", "1. मैं सहमत हूँ")),
    ("हाँ", ("आपका पूरा नाम क्या है?",)),
    ("सुनीता देवी", ("सुनीता देवी जी, आपकी उम्र कितनी है?",)),
    ("३४ वर्ष", ("आप महिला हैं, पुरुष हैं या अन्य?", "1. महिला", "2. पुरुष")),
    ("महिला", ("आप किस राज्य या केंद्र शासित प्रदेश में रहते हैं?", "उत्तर प्रदेश")),
    ("उत्तर प्रदेश", ("आपका ज़िला कौन सा है?",)),
    ("वाराणसी", ("मोबाइल नंबर", "1. छोड़ें")),
    ("छोड़ें", ("नाम: सुनीता देवी", "उम्र: 34", "लिंग: महिला", "राज्य: उत्तर प्रदेश", "ज़िला: वाराणसी", "मोबाइल: नहीं दिया")),
    ("हाँ", ("धन्यवाद सुनीता देवी जी, आपका रजिस्ट्रेशन हो गया है।", "आप क्या करना चाहेंगे?")),
]
ROMANISED = [
    ("namaste", ("Which language would you like to use?", "1. English", "2. हिन्दी")),
    ("hindi", ("क्या आप सहमत हैं?",)),
    ("haan", ("आपका पूरा नाम क्या है?",)),
    ("Ramesh", ("Ramesh जी, आपकी उम्र कितनी है?",)),
    ("34 saal", ("आप महिला हैं, पुरुष हैं या अन्य?",)),
    ("purush", ("राज्य", "5. बिहार")),
    ("bihar", ("ज़िला",)),
    ("Patna", ("मोबाइल नंबर",)),
    ("9876543210", ("लिंग: पुरुष", "राज्य: बिहार", "ज़िला: Patna", "+919876543210")),
    ("theek hai", ("रजिस्ट्रेशन हो गया है",)),
]
# name: (dialog, language, the patient row: name, age, sex, state, district, phone)
ONBOARDINGS = {
    "english": (ENGLISH, "en", ("Sunita Devi", 34, "female", "IN-UP", "Varanasi", None)),
    "devanagari-hindi": (HINDI, "hi", ("सुनीता देवी", 34, "female", "IN-UP", "वाराणसी", None)),
    "romanised-hindi": (ROMANISED, "hi", ("Ramesh", 34, "male", "IN-BR", "Patna", "+919876543210")),
}


@pytest.mark.parametrize("name", ONBOARDINGS)
def test_scripted_onboarding_completes(migrated_url: str, name: str) -> None:
    user = unique_user(name)
    dialog = ONBOARDINGS[name][0]
    transcript = chat_here(migrated_url, [said for said, _ in dialog], user)
    check_onboarding(transcript, Database(migrated_url), user, name)


def test_the_command_onboards_on_a_fresh_database(backend: Backend, tmp_path: Path) -> None:
    """The console script: a fresh SQLite file it migrates itself, or the shared PostgreSQL."""
    user = unique_user("command")
    transcript = chat(tmp_path, backend.command_url, [said for said, _ in ENGLISH], "--user", user)
    check_onboarding(transcript, backend.database(), user, "english")


def check_onboarding(transcript: Transcript, db: Database, user: str, name: str) -> None:
    """Check an onboarding's dialog, the language of its replies, and the patient it registered."""
    dialog, language, (full_name, age, sex, state, district, phone) = ONBOARDINGS[name]
    check_dialog(transcript, dialog)
    if language == "hi":
        # Hindi users get Devanagari: every reply after the language choice is Hindi.
        for said, reply in transcript.turns[1:]:
            assert DEVANAGARI.search(reply), f"after {said!r} the reply has no Devanagari:\n{reply}"
            assert "What " not in reply and "Please " not in reply, f"English text after {said!r}:\n{reply}"
    try:
        identity, person, patient = patient_of(db, user)
    finally:
        db.dispose()
    assert identity.language == language
    assert (person.name, patient.age, patient.sex.lower(), patient.state_code, patient.district, person.phone) == (
        full_name, age, sex, state, district, phone,
    )
    assert patient.consent_at is not None


# The same onboarding with every choice typed as its number, then as its words (the label).
# (typed as a number, typed as the choice's words, what the bot must say next)
CHOICES_EN = [
    ("hello", "hello", "Which language would you like to use?"),
    ("1", "English", "Do you agree?"),
    ("1", "I agree", "What is your full name?"),
    ("Asha", "Asha", "How old are you, Asha?"),
    ("40", "40", "Are you female, male or other?"),
    ("1", "Female", "Which state or union territory"),
    ("34", "Uttar Pradesh", "Which district?"),
    ("Varanasi", "Varanasi", "10-digit mobile number"),
    ("1", "Skip", "Mobile: Not given"),
    ("1", "Yes, correct", "you are registered"),
]
CHOICES_HI = [
    ("नमस्ते", "नमस्ते", "आप किस भाषा में बात करना चाहेंगे?"),
    ("2", "हिन्दी", "क्या आप सहमत हैं?"),
    ("1", "मैं सहमत हूँ", "आपका पूरा नाम क्या है?"),
    ("आशा", "आशा", "आशा जी, आपकी उम्र कितनी है?"),
    ("40", "40", "आप महिला हैं, पुरुष हैं या अन्य?"),
    ("1", "महिला", "आप किस राज्य या केंद्र शासित प्रदेश में रहते हैं?"),
    ("5", "उत्तर प्रदेश", "आपका ज़िला कौन सा है?"),  # the Hindi list is in Devanagari order
    ("वाराणसी", "वाराणसी", "मोबाइल नंबर"),
    ("1", "छोड़ें", "मोबाइल: नहीं दिया"),
    ("1", "हाँ, सही है", "आपका रजिस्ट्रेशन हो गया है"),
]


@pytest.mark.parametrize("typed", ["number", "words"])
@pytest.mark.parametrize("table", [CHOICES_EN, CHOICES_HI], ids=["en", "hi"])
def test_a_choice_may_be_typed_as_its_number_or_its_words(migrated_url: str, table, typed: str) -> None:
    column = 0 if typed == "number" else 1
    dialog = [(row[column], (row[2],)) for row in table]
    url = migrated_url
    transcript = chat_here(url, [said for said, _ in dialog], "chooser")
    check_dialog(transcript, dialog)
    db = Database(url)
    try:
        _, person, patient = patient_of(db, "chooser")
    finally:
        db.dispose()
    assert (patient.age, patient.sex.lower(), patient.state_code, person.phone) == (40, "female", "IN-UP", None)


# ---------------------------------------------------------------------------------------
# --lang, --user, and state kept in the database between runs.


# The first through the console script (its --lang option), the others in this process.
@pytest.mark.parametrize(("first_line", "through"), [("hello", "the command"), ("नमस्ते", "here"), ("namaste", "here")])
def test_lang_hi_skips_the_language_question(tmp_path: Path, migrated_url: str, first_line: str, through: str) -> None:
    url = migrated_url
    if through == "the command":
        transcript = chat(tmp_path, url, [first_line, "1"], "--user", "preset", "--lang", "hi")
    else:
        transcript = chat_here(url, [first_line, "1"], "preset", lang="hi")
    assert transcript.returncode == 0, transcript.stderr
    (_, first), (_, second) = transcript.turns
    assert "क्या आप सहमत हैं?" in first and "1. मैं सहमत हूँ" in first, first
    assert "भाषा में बात करना" not in first and "Which language" not in first, first
    assert "आपका पूरा नाम क्या है?" in second, second  # "1" was the consent choice, not a language
    db = Database(url)
    try:
        with db.read() as session:
            identity = session.scalars(select(Identity).where(Identity.address == "preset")).one()
    finally:
        db.dispose()
    assert identity.language == "hi"


def test_lang_does_not_override_a_language_already_chosen(migrated_url: str) -> None:
    url = migrated_url
    chat_here(url, ["hello", "English"], "chosen")
    transcript = chat_here(url, ["yes"], "chosen", lang="hi")
    assert transcript.returncode == 0, transcript.stderr
    assert [said for said, _ in transcript.turns] == ["yes"], transcript.stdout
    assert "What is your full name?" in transcript.turns[0][1], transcript.stdout


def test_user_isolates_conversations(migrated_url: str) -> None:
    url = migrated_url
    alice = chat_here(url, ["hello", "English"], "alice")
    bob = chat_here(url, ["नमस्ते"], "bob")
    # Bob's first run shows Bob's greeting only — none of Alice's messages.
    assert "Do you agree?" not in bob.stdout and "Welcome to teleopd" not in bob.stdout, bob.stdout
    assert "आप किस भाषा में बात करना चाहेंगे?" in bob.turns[0][1]
    # Alice carries on where she was (consent), not where Bob is (language).
    alice_again = chat_here(url, ["yes"], "alice")
    assert "What is your full name?" in alice_again.turns[0][1], alice_again.stdout
    assert "आप किस भाषा" not in alice_again.stdout
    db = Database(url)
    try:
        with db.read() as session:
            languages = dict(session.execute(select(Identity.address, Identity.language)).all())
            conversations = session.scalar(select(func.count()).select_from(Conversation))
    finally:
        db.dispose()
    assert set(languages) == {"alice", "bob"} and languages["alice"] == "en" and languages["bob"] != "en"
    assert conversations == 2
    assert alice.returncode == bob.returncode == alice_again.returncode == 0


def test_a_second_run_continues_the_conversation_and_prints_what_is_waiting(migrated_url: str) -> None:
    url = migrated_url
    first = chat_here(url, ["hello", "1"], "asha")
    assert "Do you agree?" in first.turns[-1][1]
    # While the terminal is closed, the same local user answers from the web chat: the reply
    # is queued in the outbox and not yet shown anywhere.
    services = build_services(Settings(database_url=url))
    try:
        services.dispatcher.dispatch(InboundMessage(channel=local.NAME, address="asha", provider_id="asha:web-1", text="I agree"))
    finally:
        services.db.dispose()
    second = chat_here(url, ["Asha"], "asha")
    assert second.returncode == 0, second.stderr
    assert "What is your full name?" in second.before_input, second.stdout  # printed at start
    assert "How old are you, Asha?" in second.turns[0][1], second.stdout  # the same conversation


def test_a_second_run_does_not_print_again_what_the_first_printed(migrated_url: str) -> None:
    url = migrated_url
    chat_here(url, ["hello", "1"], "asha")
    second = chat_here(url, ["yes"], "asha")
    assert second.returncode == 0, second.stderr
    # The first run printed the greeting, the language question and the consent text; only
    # messages not printed yet belong at the start of the second run.
    assert second.before_input == "", f"the second run printed again, before any input:\n{second.before_input}"
    assert second.stdout.count("Which language would you like to use?") == 0, second.stdout


# ---------------------------------------------------------------------------------------
# End of input and awkward lines.


def test_end_of_input_exits_zero(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    nothing = chat(tmp_path, url, [], "--user", "silent")
    assert (nothing.returncode, nothing.stdout) == (0, "")
    # The last line has no newline: it is still a message, and its reply is printed.
    unterminated = chat(tmp_path, url, ["hello", "1"], "--user", "silent", final_newline=False)
    assert unterminated.returncode == 0, unterminated.stderr
    assert unterminated.turns[-1][0] == "1" and "Do you agree?" in unterminated.turns[-1][1], unterminated.stdout


def test_empty_lines_are_ignored(migrated_url: str) -> None:
    url = migrated_url
    transcript = chat_here(url, ["", "hello", "", "   ", "\t", "1", "", ""], "gaps")
    assert transcript.returncode == 0, transcript.stderr
    assert [said for said, _ in transcript.turns] == ["hello", "1"], transcript.stdout
    assert "Do you agree?" in transcript.turns[1][1]
    db = Database(url)
    try:
        with db.read() as session:
            received = session.scalar(select(func.count()).select_from(InboundRow))
            version = session.scalar(select(Conversation.version))
    finally:
        db.dispose()
    assert (received, version) == (2, 2)


# (label, lines before, the awkward line, what the bot must ask again or next)
AWKWARD = [
    ("10k-at-language", ["hello"], "x" * 10_000, "Which language would you like to use?"),
    ("10k-at-name", ["hello", "1", "yes"], "N" * 10_000, "What is your full name?"),
    ("10k-devanagari-at-district", ["hello", "1", "yes", "Asha", "34", "1", "bihar"], "ज" * 10_000, "Which district?"),
    ("nul-at-consent", ["hello", "1"], "ye\x00s", "What is your full name?"),  # the NUL is dropped
    ("nul-in-name", ["hello", "1", "yes"], "As\x00ha", "How old are you, As"),
    ("nul-only", ["hello", "1", "yes"], "\x00", "What is your full name?"),
    ("nul-in-district", ["hello", "1", "yes", "Asha", "34", "1", "bihar"], "Pat\x00na", "10-digit mobile number"),
]


# A NUL is what PostgreSQL refuses to store, so the NUL cases run on both databases; the long
# lines on SQLite.
@pytest.mark.parametrize(("backend", "before", "line", "expected"), [
    pytest.param(backend, *case[1:], id=f"{backend}-{case[0]}") for case in AWKWARD for backend in BACKENDS if backend == "sqlite" or "\x00" in case[2]
], indirect=["backend"])
def test_awkward_lines_get_an_answer(backend: Backend, migrated_url: str, before: list[str], line: str, expected: str) -> None:
    user = unique_user("awkward")
    url = migrated_url if backend.name == "sqlite" else backend.command_url
    transcript = chat_here(url, [*before, line, "menu"], user)
    assert transcript.returncode == 0, transcript.stderr
    turns = transcript.turns
    assert len(turns) == len(before) + 2, transcript.stdout[-2000:]
    said, reply = turns[len(before)]
    assert expected in reply, f"after a {len(line)}-character line expected {expected!r} in:\n{reply[:2000]}"
    assert "\x00" not in reply, "a NUL byte came back in the bot's reply"
    assert turns[-1][1].strip(), "no answer to the line after the awkward one"
    # Each line was handled once, the awkward one included: nothing half-done.
    db = Database(url)
    try:
        with db.read() as session:
            identity = session.scalars(select(Identity).where(Identity.address == user)).one()
            version = session.scalar(select(Conversation.version).where(Conversation.identity_id == identity.id))
    finally:
        db.dispose()
    assert version == len(before) + 2
