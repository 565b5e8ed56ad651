"""The summary's history from the shared log (bot/services/desk.py past_consultations): the patient's
own last 3 consultations that were seen (done or referred), newest first, never a family member's on
the same chat, never what an erasure took; a follow-up's summary names the consultation it follows.

One clinic, built once for the module through the real services at fixed times (SQLite: the query is
plain ORDER BY and LIMIT, nothing a database does its own way). The words: tests/test_summary_history.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.base import InboundMessage
from bot.outbox.payloads import translate
from bot.platform.i18n import Catalogs
from bot.runtime import Services
from bot.services.erasure import erase_identity
from bot.services.reports import build_report, render_csv, render_text
from bot.store.models import Consultation, OutboxMessage
from flows.engine import LANGUAGES
from flows.ports import ConsultationView, FollowUpOf, PastConsultation, VisitOutcome
from tests.doctor_helpers import (  # noqa: F401  (_clear_of_midnight_ist: a fixture, "today" stays one day in India)
    ADVICE,
    NAMES,
    WORDS,
    _clear_of_midnight_ist,
    book,
    enrolled_doctor,
    identity_of,
    registered,
    today_ist,
)
from tests.history_helpers import DAY, Clinic, at, demo_copy


@dataclass
class Seen:
    """What the doctors were shown when the returning patients were called."""

    returning: ConsultationView  # the patient with five earlier calls, one a no-show
    child: ConsultationView  # their child, booked from the same chat
    erased: ConsultationView  # a patient who had themselves erased, back on the same chat
    erased_log: list[Consultation]  # the erased patient's old consultation, kept anonymised


@pytest.fixture(scope="module")
def seen(sqlite_demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seen]:
    db = demo_copy(sqlite_demo_template, tmp_path_factory.mktemp("history"))
    clinic = Clinic(db)
    clinic.doctor("asha", "Anita Sharma", at(DAY, "08:00"))
    clinic.doctor("raj", "Rajesh Kumar", at(DAY, "08:00"))
    clinic.patient("p1", "Sunita Devi", at(DAY, "09:00"), phone="+919812345678")
    child = clinic.dependent("p1", "Munna", at(DAY, "09:00"))
    clinic.patient("e1", "Kamla Devi", at(DAY, "09:00"), phone="+919898989898")

    clinic.visit("p1", "asha", at(DAY, "10:00"), advice="Oldest advice", note="oldest note")
    clinic.visit("p1", "raj", at(DAY, "10:00", 1), advice="Go to the district hospital", outcome=VisitOutcome.REFERRED)
    clinic.visit("p1", "asha", at(DAY, "10:00", 2), advice="Child advice", note="child's note", person_id=child)
    clinic.visit("p1", "asha", at(DAY, "10:00", 3), outcome=VisitOutcome.NO_SHOW)
    clinic.visit("p1", "raj", at(DAY, "10:00", 4), advice="Paracetamol 500 mg\nRest", note="likely viral", flags=("chest_pain",))
    last = clinic.visit("p1", "asha", at(DAY, "02:00", 5), advice="Newest advice")
    clinic.visit("e1", "asha", at(DAY, "11:00"), advice="Erased advice", note="erased note")
    with db.write() as session:
        erase_identity(session, clinic.identity(session, "e1"), at(DAY, "12:00"))

    # The returning patient's follow-up, booked after the last visit: the next day's session, with Dr. Sharma.
    assert clinic.follow_up("p1", last, at(DAY, "02:30", 5)) == DAY + dt.timedelta(days=6)
    returning = clinic.call("asha", at(DAY, "10:05", 6))
    clinic.close("asha", at(DAY, "10:10", 6), advice="Follow-up advice")
    clinic.book("p1", at(DAY, "10:20", 6), person_id=child)
    child_seen = clinic.call("raj", at(DAY, "10:25", 6))
    clinic.close("raj", at(DAY, "10:30", 6))
    # Back on the same chat after the erasure: a new registration, with the same name and number.
    erased_person = clinic.patient("e1", "Kamla Devi", at(DAY, "10:00", 6), phone="+919898989898")
    clinic.book("e1", at(DAY, "10:40", 6))
    erased = clinic.call("raj", at(DAY, "10:45", 6))
    assert returning is not None and child_seen is not None and erased is not None
    with db.read() as session:
        erased_log = list(session.scalars(select(Consultation).where(Consultation.called_at == at(DAY, "11:05"))))
        # The log says which consultation a follow-up followed.
        assert session.get(Consultation, returning.id).follow_up_of == last  # type: ignore[union-attr]
    assert erased_log and all(kept.patient_id != erased_person for kept in erased_log)
    yield Seen(returning, child_seen, erased, erased_log)
    db.dispose()


def test_the_last_three_seen_newest_first_with_doctor_advice_notes_and_danger_signs(seen: Seen) -> None:
    assert seen.returning.history == (
        PastConsultation(DAY + dt.timedelta(days=5), "Anita Sharma", "Newest advice", "", ()),
        PastConsultation(DAY + dt.timedelta(days=4), "Rajesh Kumar", "Paracetamol 500 mg\nRest", "likely viral", ("chest_pain",)),
        PastConsultation(DAY + dt.timedelta(days=1), "Rajesh Kumar", "Go to the district hospital", "", (), referred=True),
    )
    # The no-show is no consultation; the oldest is counted, past the three shown.
    assert seen.returning.earlier_consultations == 4


def test_the_date_is_india_s(seen: Seen) -> None:
    # The newest was called at 02:05 in India: 20:35 UTC, the day before; the follow-up names India's day too.
    assert seen.returning.history[0].day == DAY + dt.timedelta(days=5)
    assert seen.returning.follow_up_of == FollowUpOf("Anita Sharma", DAY + dt.timedelta(days=5))


def test_a_family_member_on_the_same_chat_has_a_history_of_their_own(seen: Seen) -> None:
    assert seen.child.history == (PastConsultation(DAY + dt.timedelta(days=2), "Anita Sharma", "Child advice", "child's note", ()),)
    assert all("Child" not in past.advice and "child" not in past.notes for past in seen.returning.history)
    assert seen.child.follow_up_of is None


def test_an_erased_patient_s_consultations_are_in_no_one_s_history(seen: Seen) -> None:
    assert seen.erased.history == () and seen.erased.earlier_consultations == 0
    # The log keeps the call, with nothing of the patient's in it.
    [kept] = seen.erased_log
    assert (kept.advice, kept.notes, kept.intake) == ("", "", {})


LONG_ADVICE = "Paracetamol 500 mg twice a day for three days.\nDrink plenty of water, rest, and come back if the fever lasts a week."
LONG_NOTE = "Suspect typhoid: ask for a Widal test and a blood count if the fever lasts beyond the week."


def test_erasure_takes_the_history_out_of_the_summaries_doctors_were_sent(demo: Services, catalogs: Catalogs) -> None:
    """The summary shows the advice and the note cut short: the erasure finds them cut short too."""
    now = dt.datetime.now(dt.UTC)
    clinic = Clinic(demo.db)
    clinic.doctor("asha", "Anita Sharma", now - dt.timedelta(days=3))
    clinic.patient("p9", "Savitri Bai", now - dt.timedelta(days=3))
    clinic.visit("p9", "asha", now - dt.timedelta(days=2), advice=LONG_ADVICE, note=LONG_NOTE)
    clinic.book("p9", now - dt.timedelta(minutes=1))
    # The chat was enrolled outside it: its first message opens the desk, the second calls.
    for n in range(2):
        demo.dispatcher.dispatch(InboundMessage(channel="local", address="asha", provider_id=f"asha:{n}", text="next"))

    def summaries() -> list[str]:
        with demo.db.read() as session:
            doctor = clinic.identity(session, "asha").id
            rows = session.scalars(select(OutboxMessage).where(OutboxMessage.identity_id == doctor)).all()
            return [translate(catalogs, row.payload, "en").text or "" for row in rows]

    [summary] = [text for text in summaries() if "Earlier consultations: 1" in text]
    assert "Paracetamol 500 mg twice a day for three days. / Drink plenty of water, rest…" in summary
    assert "Private note: Suspect typhoid: ask for a Widal test and a blood count if…" in summary
    with demo.db.write() as session:
        erase_identity(session, clinic.identity(session, "p9"), now)
    [summary] = [text for text in summaries() if "Earlier consultations: 1" in text]
    for piece in ("Paracetamol", "Drink plenty", "typhoid", "Widal", "Savitri"):
        assert piece not in summary, summary
    assert "Dr. Anita Sharma" in summary  # the doctor's own words stay readable


def test_a_private_note_reaches_doctors_only(demo: Services, catalogs: Catalogs) -> None:
    """A whole journey through the dispatcher: the note is in the next doctor's summary, and in nothing
    the patient is sent (any language, the SMS forms too), nor in the reports."""
    note = "suspect anaemia, repeat Hb"
    patient = registered(demo, "pat", "en", NAMES["en"][0])
    doctor = enrolled_doctor(demo, "doc", "en")
    book(demo, patient)
    doctor.say(WORDS["en"]["next"])
    patient.say(WORDS["en"]["join"])
    doctor.say(ADVICE["en"][0])
    doctor.say(f"NOTE: {note}")
    doctor.say(WORDS["en"]["done"])
    patient.receive()
    patient.say("5")  # the rating, then the follow-up offered
    assert "is booked for" in patient.say("1").all_text  # a follow-up with the same doctor (tomorrow)
    for words in ("my token", "my details", "menu"):
        patient.say(words)
    book(demo, patient)  # back today as well
    doctor.receive()
    summary = doctor.say(WORDS["en"]["next"]).texts[0]
    assert f"Private note: {note}" in summary, summary
    patient.receive()

    with demo.db.read() as session:
        doctor_chat = identity_of(demo, "doc").id
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.identity_id != doctor_chat)).all()
        report = build_report(session, today_ist(), today_ist() + dt.timedelta(days=1))
    assert len(rows) > 20 and any(ADVICE["en"][0] in json.dumps(row.payload) for row in rows)  # the patient heard plenty, the advice too
    for row in rows:
        for lang in LANGUAGES:
            for sms in (False, True):
                said = translate(catalogs, row.payload, lang, sms=sms)
                assert note not in said.text and "anaemia" not in json.dumps(row.payload), said.text
    for lang in ("en", "hi"):
        assert "anaemia" not in render_text(report, lang, catalogs)
    assert "anaemia" not in render_csv(report)
