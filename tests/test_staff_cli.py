"""Doctors and health workers turned off, on again, removed, given a new code: `teleopd doctor …` and
`teleopd worker-user …` run in-process (main()), their chats through the real dispatcher, in
English and Hindi, on SQLite and PostgreSQL.

A doctor turned off is never free and gets no patients (a patient they had called goes back to
the queue); their chat is told, and answered only with that. A new code unlinks the chat of a
lost phone. Removal keeps the history: consultations keep naming the doctor.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

import webhooks
from bot.runtime import Services
from bot.services.enrolment import add_doctor, issue_code
from bot.services.opds import find_opd
from bot.services.reports import build_report
from bot.store.models import (
    ConsultationOutcome,
    Doctor,
    DoctorStatus,
    Person,
    Role,
    Token,
    TokenStatus,
)
from tests.doctor_helpers import (  # noqa: F401  (fixtures)
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
    registered,
    step_of,
    today_ist,
    token,
)
from tests.test_operator_cli import teleopd  # noqa: F401  (fixture)
from tests.test_walkins import AGE, WALK_IN, book_walk_in, health_worker

ACCOUNT_OFF = {"en": "Your coordinator has turned off your account", "hi": "आपके कोऑर्डिनेटर ने आपका खाता बंद कर दिया है"}
UNLINKED = {"en": "This chat is no longer linked to your doctor or health worker account", "hi": "यह चैट अब आपके डॉक्टर या स्वास्थ्य कर्मी खाते से जुड़ी नहीं है"}
CUT_SHORT = {"en": "The doctor who called you can no longer see patients.", "hi": "जिन डॉक्टर ने आपको बुलाया था, वे अब मरीज़ नहीं देख सकते।"}
GREETING = {"en": "Namaste! I am the teleopd assistant.", "hi": "नमस्ते! मैं टेलीओपीडी का सहायक हूँ।"}


def doctor_id(services: Services, user: str) -> str:
    person_id = identity_of(services, user).person_id
    assert person_id is not None
    return str(person_id)


def listed(teleopd, command: str, person_id: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Return one row of `teleopd doctor list` / `worker-user list` by its columns (split on two spaces or more)."""
    status, lines, err = teleopd(command, "list")
    assert status == 0, err
    header = re.split(r"\s{2,}", lines[0])
    rows = [dict(zip(header, re.split(r"\s{2,}", line))) for line in lines[1:]]
    return next(row for row in rows if row["id"] == person_id)


@pytest.mark.parametrize("lang", LANGS)
def test_a_disabled_doctor_gets_no_patient_and_their_chat_is_told(demo: Services, teleopd, lang: str) -> None:  # type: ignore[no-untyped-def]
    doctor = enrolled_doctor(demo, "doc", lang)
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    waiting = book(demo, patient)
    doctor.say(WORDS[lang]["pause"])
    person_id = doctor_id(demo, "doc")

    status, lines, _ = teleopd("doctor", "disable", "--id", person_id)
    assert status == 0 and "is turned off" in lines[-1], lines
    assert ACCOUNT_OFF[lang] in doctor.receive().all_text
    for said in (WORDS[lang]["next"], "menu", "help"):
        answer = doctor.say(said).texts
        assert len(answer) == 1 and ACCOUNT_OFF[lang] in answer[0], (said, answer)
    assert consultations(demo) == [] and token(demo, waiting.id).status == TokenStatus.WAITING
    with demo.db.read() as session:
        assert session.get(Doctor, int(person_id)).status == DoctorStatus.OFFLINE  # type: ignore[union-attr]
    row = listed(teleopd, "doctor", person_id)
    assert row["account"].startswith("disabled since") and row["status"] == "offline" and row["enrolled chats"] == "local"
    assert row["code"].startswith("used ")
    # The web chat still shows a doctor's tab (the bot itself says the account is off).
    assert webhooks.create_app(demo, local_demo=True).test_client().get("/api/chat/doc/messages").get_json()["role"] == "doctor"

    status, lines, _ = teleopd("doctor", "enable", "--id", person_id)
    assert status == 0 and "is on again" in lines[-1]
    assert NAMES[lang][0] in doctor.say(WORDS[lang]["next"]).all_text  # a desk again: the patient is called
    assert listed(teleopd, "doctor", person_id)["account"] == "active"


@pytest.mark.parametrize("lang", LANGS)
def test_disabling_a_doctor_in_a_call_puts_the_patient_back_for_another(demo: Services, teleopd, lang: str) -> None:  # type: ignore[no-untyped-def]
    doctor = enrolled_doctor(demo, "doc", lang)
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    called = book(demo, patient)
    follower = registered(demo, "follower", lang, NAMES[lang][1])
    follow_up = book(demo, follower)
    with demo.db.write() as session:  # a follow-up booked with this doctor
        session.get(Token, follow_up.id).doctor_id = int(doctor_id(demo, "doc"))  # type: ignore[union-attr]
    doctor.say(WORDS[lang]["next"])
    patient.receive()

    assert teleopd("doctor", "disable", "--id", doctor_id(demo, "doc"))[0] == 0

    [call] = consultations(demo)
    assert call.outcome == ConsultationOutcome.ABANDONED and call.doctor_id == int(doctor_id(demo, "doc"))
    assert token(demo, called.id).status == TokenStatus.WAITING and token(demo, follow_up.id).doctor_id is None
    assert CUT_SHORT[lang] in patient.receive().all_text
    # Another doctor calls the same patient, in their place (first), then the follow-up.
    other = enrolled_doctor(demo, "doc2", lang, name="Ravi Gupta")
    assert NAMES[lang][0] in other.say(WORDS[lang]["next"]).all_text
    other.say(WORDS[lang]["done"])
    assert NAMES[lang][1] in other.say(WORDS[lang]["next"]).all_text
    # The log has the patient once, seen by the doctor who saw them.
    seen = [c for c in consultations(demo) if c.token_id == called.id]
    assert [(c.doctor_id, c.outcome) for c in seen] == [(int(doctor_id(demo, "doc2")), ConsultationOutcome.DONE)]


@pytest.mark.parametrize("lang", LANGS)
def test_a_new_code_unlinks_the_lost_phone_and_stops_the_old_codes(demo: Services, teleopd, lang: str) -> None:  # type: ignore[no-untyped-def]
    lost = enrolled_doctor(demo, "lost-phone", lang)
    person_id = doctor_id(demo, "lost-phone")
    with demo.db.write() as session:
        spare = issue_code(session, session.get(Person, int(person_id)), Role.DOCTOR)  # type: ignore[arg-type]
    assert listed(teleopd, "doctor", person_id)["code"].startswith("pending until")

    status, lines, _ = teleopd("doctor", "new-code", "--id", person_id)
    assert status == 0 and "unlinked" in lines[0], lines
    code = lines[-1]
    assert UNLINKED[lang] in lost.receive().all_text
    # Whoever has the old phone now is a stranger to the bot, not a doctor.
    answer = lost.say(WORDS[lang]["next"])
    assert answer.texts[0].startswith(GREETING[lang]), answer.texts
    assert identity_of(demo, "lost-phone").person_id is None
    row = listed(teleopd, "doctor", person_id)
    assert row["enrolled chats"] == "none" and row["code"].startswith("pending until")

    stranger = Chat(demo, "finder", lang)
    assert identity_of_after(stranger, f"enroll {spare}") is None  # the code issued before is revoked
    new_phone = Chat(demo, "new-phone", "en")
    assert new_phone.t("welcome", name=DOCTOR) in new_phone.say(f"enroll {code}").texts[0]
    assert identity_of(demo, "new-phone").person_id == int(person_id)
    assert listed(teleopd, "doctor", person_id)["enrolled chats"] == "local"


def identity_of_after(chat: Chat, text: str) -> int | None:
    chat.say(text)
    return identity_of(chat.services, chat.user).person_id


@pytest.mark.parametrize("lang", LANGS)
def test_a_removed_doctor_keeps_their_consultations_and_cannot_come_back(demo: Services, teleopd, lang: str) -> None:  # type: ignore[no-untyped-def]
    doctor = enrolled_doctor(demo, "doc", lang)
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    book(demo, patient)
    doctor.say(WORDS[lang]["next"])
    doctor.say(WORDS[lang]["done"])
    person_id = doctor_id(demo, "doc")
    with demo.db.read() as session:
        before = build_report(session, today_ist(), today_ist())

    status, lines, _ = teleopd("doctor", "remove", "--id", person_id)
    assert status == 0 and "removed" in lines[-1]
    assert UNLINKED[lang] in doctor.receive().all_text
    assert identity_of(demo, "doc").person_id is None
    [seen] = consultations(demo)
    assert seen.doctor_id == int(person_id) and seen.outcome == ConsultationOutcome.DONE
    with demo.db.read() as session:
        after = build_report(session, today_ist(), today_ist())
        assert after.doctors == before.doctors and after.total == before.total
    row = listed(teleopd, "doctor", person_id)
    assert row["account"].startswith("removed") and row["enrolled chats"] == "none"
    for command in ("enable", "disable", "new-code"):
        status, lines, err = teleopd("doctor", command, "--id", person_id)
        assert status == 2 and "was removed" in err and len(err.strip().splitlines()) == 1, (command, err)


@pytest.mark.parametrize("lang", LANGS)
def test_a_health_workers_lost_phone_hears_nothing_of_their_patients(demo: Services, teleopd, lang: str) -> None:  # type: ignore[no-untyped-def]
    worker = health_worker(demo, lang)
    book_walk_in(demo, worker, WALK_IN[lang], AGE[lang][1])
    worker_id = doctor_id(demo, worker.user)
    assert listed(teleopd, "worker-user", worker_id)["clinic"] == "PHC Sarnath"

    assert teleopd("worker-user", "disable", "--id", worker_id)[0] == 0
    assert ACCOUNT_OFF[lang] in worker.receive().all_text
    answer = worker.say(choice="book").texts + worker.say("book").texts
    assert all(ACCOUNT_OFF[lang] in text for text in answer), answer
    assert listed(teleopd, "worker-user", worker_id)["account"].startswith("disabled since")

    status, lines, _ = teleopd("worker-user", "new-code", "--id", worker_id)
    assert status == 0 and "note: their account is turned off" in "\n".join(lines), lines
    assert UNLINKED[lang] in worker.receive().all_text
    # The doctor calls the walk-in: the chat that was the worker's is not told.
    doctor = enrolled_doctor(demo, "doc", lang)
    assert WALK_IN[lang] in doctor.say(WORDS[lang]["next"]).all_text
    assert worker.receive().texts == []
    # The code works once the account is on again.
    assert teleopd("worker-user", "enable", "--id", worker_id)[0] == 0
    found = Chat(demo, "new-phone", lang)
    found.say(f"enroll {lines[-1]}")
    assert identity_of(demo, "new-phone").person_id == int(worker_id)


def test_the_lists_show_each_code_state_and_a_wrong_id_is_one_line(demo: Services, teleopd) -> None:  # type: ignore[no-untyped-def]
    pending = add_doctor_code(demo, "Pending Doctor")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    with demo.db.write() as session:
        late, _ = add_doctor(session, "Late Doctor", [find_opd(session, "GEN24")], now=past)  # type: ignore[list-item]
        late_id = str(late.id)
    assert pending
    status, lines, _ = teleopd("doctor", "list")
    assert status == 0 and lines[0].split()[:4] == ["id", "name", "opds", "status"]
    assert listed(teleopd, "doctor", late_id)["code"].startswith("expired ")
    assert any("pending until" in line and "Pending Doctor" in line for line in lines)
    status, _, err = teleopd("doctor", "disable", "--id", "999")
    assert status == 2 and "there is no doctor with id 999" in err
    status, _, err = teleopd("worker-user", "disable", "--id", late_id)
    assert status == 2 and f"there is no health worker with id {late_id}" in err
    status, _, err = teleopd("doctor", "enable", "--id", "x1")
    assert status == 2 and "--id takes a whole number" in err
    status, lines, _ = teleopd("worker-user", "list")
    assert status == 0 and lines == ["no health workers yet: add one with `teleopd worker-user add --name ... --clinic ...`"]


def test_demo_after_its_doctor_was_removed_adds_a_new_one(services: Services, teleopd) -> None:  # type: ignore[no-untyped-def]
    from tests.test_operator_cli import code_in, enrols_as

    status, lines, _ = teleopd("demo")
    assert status == 0 and enrols_as(services, "first-tab", code_in(lines, "Doctor")) == Role.DOCTOR
    first = doctor_id(services, "first-tab")
    assert teleopd("doctor", "remove", "--id", first)[0] == 0
    status, lines, _ = teleopd("demo")
    assert status == 0 and enrols_as(services, "second-tab", code_in(lines, "Doctor")) == Role.DOCTOR
    second = doctor_id(services, "second-tab")
    assert second != first
    assert listed(teleopd, "doctor", first)["account"].startswith("removed")
    assert listed(teleopd, "doctor", second)["account"] == "active"
