"""A clinic driven through the real services at given times, for the summary's history and the
follow-ups' grace (tests/test_summary_history_records.py, tests/test_follow_up_grace.py).

Doctors are added as the CLI adds them and enrol their chats with the code; patients register
with a profile; tokens are booked, called, written to and closed through bot/services/booking.py,
desk.py and visits.py, each in its own transaction, at the time the test says.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.platform.clock import IST
from bot.services.booking import BookingRecords
from bot.services.desk import DEFAULT_FOLLOW_UP_GRACE, DeskRecords
from bot.services.enrolment import add_doctor, enrol
from bot.services.identities import ensure_identity
from bot.services.opds import find_opd
from bot.services.patients import PatientRecords
from bot.services.visits import VisitRecords
from bot.store.db import Database
from bot.store.models import Identity
from flows.ports import (
    BookingOutcome,
    ConsultationView,
    DoctorState,
    Intake,
    Profile,
    VisitOutcome,
)

VIDEO = "https://meet.example/"
DAY = dt.date(2026, 11, 2)  # a Monday


def at(day: dt.date, hhmm: str, offset_days: int = 0) -> dt.datetime:
    """Return an aware UTC time for a time of day in India."""
    hours, minutes = map(int, hhmm.split(":"))
    return dt.datetime.combine(day + dt.timedelta(days=offset_days), dt.time(hours, minutes), IST).astimezone(dt.UTC)


def demo_copy(template: Path, folder: Path) -> Database:
    """Return a database copied from the demo template (the catalogue loaded once a session)."""
    path = folder / "teleopd.db"
    shutil.copy(template, path)
    return Database(f"sqlite:///{path}")


@dataclass
class Clinic:
    """The OPD's people and what happens to them, through the services."""

    db: Database
    grace: dt.timedelta = DEFAULT_FOLLOW_UP_GRACE

    def identity(self, session, address: str) -> Identity:  # type: ignore[no-untyped-def]
        return ensure_identity(session, "local", address)

    def doctor(self, address: str, name: str, now: dt.datetime, opds: tuple[str, ...] = ("GEN24",)) -> int:
        """Add a doctor and enrol their chat; return their person id."""
        with self.db.write() as session:
            person, code = add_doctor(session, name, [find_opd(session, opd) for opd in opds], now=now)
            assert enrol(session, self.identity(session, address), code, now).role == "doctor"
            return person.id

    def patient(self, address: str, name: str, now: dt.datetime, phone: str | None = None) -> int:
        """Register a patient on a chat; return their person id."""
        with self.db.write() as session:
            identity = self.identity(session, address)
            PatientRecords(session, identity, now).save_profile(Profile(name, 40, "female", "IN-UP", "Varanasi", phone, now))
            session.flush()
            assert identity.person_id is not None
            return identity.person_id

    def dependent(self, address: str, name: str, now: dt.datetime) -> int:
        with self.db.write() as session:
            return BookingRecords(session, self.identity(session, address), now).add_dependent(name, 6, "male")

    def book(self, address: str, now: dt.datetime, person_id: int | None = None, flags: tuple[str, ...] = (), opd: str = "GEN24") -> int:
        """Book today's token from a chat (for its patient or a family member); return its id."""
        with self.db.write() as session:
            opd_id = find_opd(session, opd).id  # type: ignore[union-attr]
            result = BookingRecords(session, self.identity(session, address), now).book(
                opd_id, person_id, Intake(text="fever", red_flags=flags), priority=bool(flags)
            )
            assert result.outcome is BookingOutcome.BOOKED and result.token is not None, result
            return result.token.id

    def desk(self, session, address: str, now: dt.datetime) -> DeskRecords:  # type: ignore[no-untyped-def]
        return DeskRecords(session, self.identity(session, address), now, VIDEO, follow_up_grace=self.grace)

    def call(self, address: str, now: dt.datetime) -> ConsultationView | None:
        """A doctor sends NEXT; return what they are shown (None: nobody they may call)."""
        with self.db.write() as session:
            return self.desk(session, address, now).call_next()

    def waiting(self, address: str, now: dt.datetime) -> int:
        """Return the count of patients the doctor's desk says are waiting for them."""
        with self.db.read() as session:
            return self.desk(session, address, now).view().waiting

    def status(self, address: str, status: DoctorState, now: dt.datetime) -> None:
        with self.db.write() as session:
            self.desk(session, address, now).set_status(status)

    def close(self, address: str, now: dt.datetime, advice: str = "", note: str = "", outcome: VisitOutcome = VisitOutcome.DONE) -> None:
        """The doctor writes advice and a private note, then ends the consultation in hand."""
        with self.db.write() as session:
            desk = self.desk(session, address, now)
            if advice:
                desk.write(advice, private=False)
            if note:
                desk.write(note, private=True)
            assert desk.finish(outcome) is not None

    def visit(
        self, patient: str, doctor: str, now: dt.datetime, advice: str = "", note: str = "", person_id: int | None = None,
        flags: tuple[str, ...] = (), outcome: VisitOutcome = VisitOutcome.DONE,
    ) -> int:
        """A whole consultation: booked, called five minutes later, closed ten minutes after; return the consultation id."""
        self.book(patient, now, person_id, flags)
        called = self.call(doctor, now + dt.timedelta(minutes=5))
        assert called is not None
        self.close(doctor, now + dt.timedelta(minutes=15), advice, note, outcome)
        return called.id

    def follow_up(self, patient: str, consultation_id: int, now: dt.datetime) -> dt.date:
        """The patient books a follow-up with the same doctor; return its day."""
        with self.db.write() as session:
            day = VisitRecords(session, self.identity(session, patient), now, self.grace).follow_up(consultation_id)
            assert day is not None
            return day
