"""'Delete my data' (DPDP Act 2023, s.12): confirmed, complete, and the reports add up the same."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import JSON, String, Text, select

from bot.outbox.timers import TimerRunner
from bot.runtime import Services
from bot.services.calls import TIMER_HANDLERS
from bot.services.erasure import TIMER_HANDLERS as ERASURE_TIMERS
from bot.services.reports import build_report
from bot.store.models import Base, Consultation, Identity, Token, TokenStatus
from flows.understanding.commands import Command, match_command
from tests.doctor_helpers import (  # noqa: F401  (fixtures)
    ADVICE,
    COMPLAINT,
    LANGS,
    NAMES,
    WORDS,
    Chat,
    _clear_of_midnight_ist,
    book,
    enrolled_doctor,
    open_chat,
    step_of,
    today_ist,
    tokens_of,
)

PHONE = "9876543210"
HEADACHE = {"en": "I have a headache", "hi": "मुझे सिर दर्द है"}
DISTRICT = {"en": "Varanasi", "hi": "वाराणसी"}
OTHER_DISTRICT = {"en": "Lucknow", "hi": "लखनऊ"}
REGISTER = {
    "en": ["yes", "{name}", "34", "female", "Uttar Pradesh", "{district}", "{phone}", "yes"],
    "hi": ["हाँ", "{name}", "३४", "महिला", "उत्तर प्रदेश", "{district}", "{phone}", "हाँ"],
}
ASK = {"en": "Do you want us to delete your data?", "hi": "क्या आप चाहते हैं कि हम आपका डेटा हटा दें?"}
DONE = {"en": "Your data has been deleted.", "hi": "आपका डेटा हटा दिया गया है।"}
KEPT = {"en": "Your data is kept. Nothing was deleted.", "hi": "आपका डेटा सुरक्षित है। कुछ भी नहीं हटाया गया।"}
YES = {"en": "yes", "hi": "हाँ"}
NO = {"en": "no", "hi": "नहीं"}
MENU = {"en": "What would you like to do?", "hi": "आप क्या करना चाहेंगे?"}
GREETING = {"en": "Namaste! I am the teleopd assistant.", "hi": "नमस्ते! मैं टेलीओपीडी का सहायक हूँ।"}
ASK_FOR = {"en": "delete my data", "hi": "मेरा डेटा हटाएं"}
OPEN_WORD = {"en": "hello", "hi": "नमस्ते"}
COORDINATOR = {"en": "Please ask your OPD coordinator", "hi": "ओपीडी कोऑर्डिनेटर"}
ROMANISED = ["delete my data", "/delete", "erase my data", "मेरा डेटा हटाएं", "मेरा डेटा हटाओ", "mera data hatao", "mera data delete karo", "Mera Data Hatao!"]


def patient_chat(services: Services, user: str, lang: str, name: str, district: str, phone: str = "skip"):  # type: ignore[no-untyped-def]
    """A patient registers with a district and (typed) phone number; ends at the main menu."""
    chat = open_chat(services, user, lang)
    answer = None
    for line in REGISTER[lang]:
        answer = chat.say(line.format(name=name, district=district, phone=phone))
    assert answer is not None and answer.texts[-1] == MENU[lang], answer.texts
    return chat


def database_text(services: Services) -> str:
    """Return every text and JSON value of every table, one per line."""
    values = []
    with services.db.read() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON)) or "JSON" in type(c.type).__name__.upper()]
            for row in session.execute(select(*columns)) if columns else ():
                values.extend(json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v for v in row if v is not None)
    return "\n".join(values)


def report_figures(services: Services) -> tuple[object, ...]:
    with services.db.read() as session:
        report = build_report(session, today_ist(), today_ist())
    return report.total, report.states, tuple((o.code, o.figures) for o in report.opds), tuple((d.doctor_id, d.figures) for d in report.doctors)


# Erasure deletes and anonymises across tables (cascades, foreign keys): on both databases. The
# conversation around it (asking, confirming, keeping) runs on SQLite.
@pytest.mark.both_databases
@pytest.mark.parametrize("lang", LANGS)
def test_erasure_leaves_no_personal_value_and_the_reports_unchanged(demo: Services, lang: str) -> None:
    name, other = NAMES[lang][0], NAMES[lang][1]
    patient = patient_chat(demo, "erase-me-7f3", lang, name, DISTRICT[lang], PHONE)
    doctor = enrolled_doctor(demo, "doc", lang)
    # A consultation seen to the end, with the doctor's advice.
    book(demo, patient)
    doctor.say(WORDS[lang]["next"])
    patient.say(WORDS[lang]["join"])
    doctor.say(ADVICE[lang][0])
    doctor.say(WORDS[lang]["done"])
    patient.receive()
    patient.say("menu" if lang == "en" else "मेनू")
    # A second token, waiting, ahead of another patient's.
    waiting = book(demo, patient, COMPLAINT[lang])
    neighbour = patient_chat(demo, "neighbour", lang, other, OTHER_DISTRICT[lang])
    theirs = book(demo, neighbour, HEADACHE[lang])
    before = report_figures(demo)

    assert patient.say(ASK_FOR[lang]).texts[0].startswith(ASK[lang])
    told = patient.say(YES[lang]).texts
    assert told[0].startswith(DONE[lang]), told

    assert report_figures(demo) == before
    with demo.db.read() as session:
        assert session.get(Token, waiting.id).status == TokenStatus.CANCELLED
        assert session.get(Token, theirs.id).status == TokenStatus.WAITING
    # The doctor's next call skips the erased patient's cancelled token.
    doctor.say(WORDS[lang]["next"])
    with demo.db.read() as session:
        called = session.scalars(select(Consultation.token_id).order_by(Consultation.id.desc())).first()
    assert called == theirs.id

    # Only the confirmation's address is left, until the scrub an hour later.
    clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)  # noqa: E731
    TimerRunner(demo.db, {**TIMER_HANDLERS, **ERASURE_TIMERS}, clock=clock).drain()
    everything = database_text(demo)
    for personal in (name, PHONE, DISTRICT[lang], COMPLAINT[lang], ADVICE[lang][0], "erase-me-7f3"):
        assert personal not in everything, personal
    # Nobody else's data went.
    assert other in everything and OTHER_DISTRICT[lang] in everything and HEADACHE[lang] in everything

    # The person may start afresh: a new registration.
    assert patient.say("hello" if lang == "en" else "नमस्ते").texts[0].startswith(GREETING[lang])
    with demo.db.read() as session:
        fresh = session.scalars(select(Identity).where(Identity.address == "erase-me-7f3")).one()
        assert fresh.person_id is None


@pytest.mark.both_databases
@pytest.mark.parametrize("lang", LANGS)
def test_no_keeps_everything(demo: Services, lang: str) -> None:
    patient = patient_chat(demo, "keeper", lang, NAMES[lang][2], DISTRICT[lang], PHONE)
    token = book(demo, patient)
    assert patient.say(ASK_FOR[lang]).texts[0].startswith(ASK[lang])
    answer = patient.say(NO[lang]).texts
    assert answer[0] == KEPT[lang] and answer[-1] == MENU[lang]
    with demo.db.read() as session:
        assert session.get(Token, token.id).status == TokenStatus.WAITING
    everything = database_text(demo)
    assert NAMES[lang][2] in everything and PHONE in everything


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("at", ["language", "name"])
def test_no_before_registering_goes_back_to_registering(demo: Services, lang: str, at: str) -> None:
    """Someone not registered yet who asks, then keeps their data, carries on registering (not the menu)."""
    if at == "language":
        patient = Chat(demo, "newcomer", lang)
        patient.say(OPEN_WORD[lang])  # the first question is the language
    else:
        patient = open_chat(demo, "newcomer", lang)
        patient.say(YES[lang])  # consent given: the name is asked next
    assert step_of(demo, "newcomer") == at
    assert patient.say(ASK_FOR[lang]).texts[0].startswith(ASK[lang])
    answer = patient.say(NO[lang]).texts
    assert answer[0] == KEPT[lang]
    assert step_of(demo, "newcomer") == at
    assert MENU[lang] not in " ".join(answer)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("words", ROMANISED)
def test_every_way_of_asking_asks_to_confirm(demo: Services, lang: str, words: str) -> None:
    patient = patient_chat(demo, "asker", lang, NAMES[lang][3], DISTRICT[lang])
    assert patient.say(words).texts[0].startswith(ASK[lang])
    assert step_of(demo, "asker") == "erase_confirm"


def test_the_words_match_the_erase_command() -> None:
    assert {match_command(words) for words in ROMANISED} == {Command.ERASE}


@pytest.mark.parametrize("lang", LANGS)
def test_a_doctor_is_sent_to_their_coordinator(demo: Services, lang: str) -> None:
    doctor = enrolled_doctor(demo, "doc-erase", lang)
    answer = doctor.say(ASK_FOR[lang]).all_text
    assert COORDINATOR[lang] in answer
    assert step_of(demo, "doc-erase") == "doctor_home"


@pytest.mark.both_databases
@pytest.mark.parametrize("lang", LANGS)
def test_the_operator_erases_by_phone(demo: Services, lang: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import main

    patient = patient_chat(demo, "phoned-in", lang, NAMES[lang][4], DISTRICT[lang], PHONE)
    token = book(demo, patient)
    monkeypatch.setenv("TELEOPD_DATABASE_URL", demo.db.url)
    assert main(["patient", "erase", "--phone", f"+91{PHONE}"]) == 0
    printed = capsys.readouterr().out
    assert "erased 1 people and 1 chats: 1 live tokens cancelled" in printed, printed
    with demo.db.read() as session:
        assert session.get(Token, token.id).status == TokenStatus.CANCELLED
    everything = database_text(demo)
    assert NAMES[lang][4] not in everything and PHONE not in everything
    assert main(["patient", "erase", "--phone", f"+91{PHONE}"]) == 1
    assert "no patient or chat has that number" in capsys.readouterr().out


def test_the_operator_command_refuses_a_wrong_number(demo: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import main

    monkeypatch.setenv("TELEOPD_DATABASE_URL", demo.db.url)
    assert main(["patient", "erase", "--phone", "12345"]) != 0
    assert "--phone must be a mobile number" in capsys.readouterr().err


@pytest.mark.both_databases
@pytest.mark.parametrize("lang", LANGS)
def test_an_erased_walk_in_is_gone_from_the_health_workers_chat(demo: Services, lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.channels import local
    from bot.cli.main import main
    from tests.test_walkins import AGE, WALK_IN, book_walk_in, health_worker
    from tests.test_walkins import PHONE as WALK_IN_PHONE

    worker = health_worker(demo, lang)
    book_walk_in(demo, worker, WALK_IN[lang], AGE[lang][1])
    doctor = enrolled_doctor(demo, "doc", lang)
    assert WALK_IN[lang] in doctor.say(WORDS[lang]["next"]).all_text  # the worker is told the doctor calls them
    shown = lambda: "\n".join(m.text for m in local.messages_after(demo.db, worker.user, 0)[0])  # noqa: E731
    assert WALK_IN[lang] in shown() and WALK_IN_PHONE in shown()

    monkeypatch.setenv("TELEOPD_DATABASE_URL", demo.db.url)
    assert main(["patient", "erase", "--phone", WALK_IN_PHONE]) == 0

    # The worker's chat, as the web chat shows it, keeps the bookings' words but not who.
    assert WALK_IN[lang] not in shown() and WALK_IN_PHONE.removeprefix("+91") not in shown()
    assert "…" in shown()
    clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)  # noqa: E731
    TimerRunner(demo.db, {**TIMER_HANDLERS, **ERASURE_TIMERS}, clock=clock).drain()
    everything = database_text(demo)
    assert WALK_IN[lang] not in everything and WALK_IN_PHONE.removeprefix("+91") not in everything
    assert "Asha Kumari" in everything  # the worker is not erased with their patient


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the write-ahead log is SQLite's
@pytest.mark.parametrize("lang", LANGS)
def test_erasure_empties_sqlites_write_ahead_log(demo: Services, lang: str) -> None:
    name = NAMES[lang][0]
    patient = patient_chat(demo, "wal-patient", lang, name, DISTRICT[lang], PHONE)
    path = demo.db.engine.url.database
    assert path is not None
    wal = Path(f"{path}-wal")
    assert name.encode() in wal.read_bytes()  # the log holds what was written since its last checkpoint

    patient.say(ASK_FOR[lang])
    assert patient.say(YES[lang]).texts[0].startswith(DONE[lang])

    for written in (wal.read_bytes() if wal.exists() else b"", Path(path).read_bytes()):
        for personal in (name, PHONE, DISTRICT[lang]):
            assert personal.encode() not in written, personal
