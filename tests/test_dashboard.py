"""The operators' dashboard: figures built from real bookings, calls and outcomes (the page: tests/test_dashboard_page.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from bot.services.booking import BookingRecords
from bot.services.dashboard import (
    DayCount,
    build_live,
    build_range,
    default_range,
)
from bot.services.desk import DeskRecords
from bot.services.enrolment import add_doctor, enrol
from bot.services.identities import ensure_identity
from bot.services.opds import find_opd, load_demo
from bot.services.patients import PatientRecords
from bot.services.reports import IST, StateCount, build_report
from bot.store.db import Database
from bot.store.models import DoctorStatus, Opd
from flows.ports import BookingOutcome, DoctorState, Intake, Profile, VisitOutcome

SVG = "{http://www.w3.org/2000/svg}"
VIDEO = "https://meet.example/"
LANGS = ["en", "hi"]
# A Wednesday; the clinic's events of the day below are at these times (IST).
DAY = dt.date(2026, 11, 25)


def at(day: dt.date, hhmm: str) -> dt.datetime:
    """Return an aware UTC datetime for a time of day in India."""
    hours, minutes = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes), IST).astimezone(dt.UTC)


# --- the clinic, driven through the real services -------------------------------------------


@dataclass
class Clinic:
    """Books, calls and ends consultations through bot/services/booking.py and bot/services/desk.py at given times."""

    db: Database

    def opd(self, code: str) -> Opd:
        with self.db.read() as session:
            found = find_opd(session, code)
            assert found is not None
            return found

    def doctor(self, address: str, name: str, opds: tuple[str, ...], now: dt.datetime) -> None:
        """Add a doctor (as the CLI does) and enrol their chat with the code."""
        with self.db.write() as session:
            _, code = add_doctor(session, name, [find_opd(session, opd) for opd in opds], now=now)
            identity = ensure_identity(session, "local", address)
            assert enrol(session, identity, code, now).role == "doctor"

    def patient(self, address: str, state: str, now: dt.datetime) -> None:
        """Register a patient from a state."""
        with self.db.write() as session:
            identity = ensure_identity(session, "local", address)
            PatientRecords(session, identity, now).save_profile(
                Profile(name=f"Patient {address}", age=40, sex="f", state_code=state, district="X", phone=None, consent_at=now)
            )

    def book(self, address: str, opd: str, now: dt.datetime) -> None:
        opd_id = self.opd(opd).id
        with self.db.write() as session:
            identity = ensure_identity(session, "local", address)
            result = BookingRecords(session, identity, now).book(opd_id, None, Intake(text="fever"), priority=False)
            assert result.outcome is BookingOutcome.BOOKED, result

    def desk(self, session, address: str, now: dt.datetime) -> DeskRecords:  # type: ignore[no-untyped-def]
        return DeskRecords(session, ensure_identity(session, "local", address), now, VIDEO)

    def status(self, address: str, state: DoctorState, now: dt.datetime) -> None:
        with self.db.write() as session:
            self.desk(session, address, now).set_status(state)

    def call(self, address: str, now: dt.datetime) -> None:
        with self.db.write() as session:
            assert self.desk(session, address, now).call_next() is not None

    def finish(self, address: str, outcome: VisitOutcome, now: dt.datetime) -> None:
        with self.db.write() as session:
            assert self.desk(session, address, now).finish(outcome) is not None


def clinic_day(db: Database, day: dt.date, clock=at) -> Clinic:  # type: ignore[no-untyped-def]
    """One morning at GEN24 (round the clock): five patients, two doctors on duty, one off duty.

    Waits (minutes, from booking to call): 40 (done), 45 (no-show), 50 (referred), 55 (in
    consultation now); the fifth patient is still waiting.
    """
    clinic = Clinic(db)
    with db.write() as session:
        load_demo(session)
    clinic.doctor("asha", "Dr. Asha Rao", ("GEN24",), clock(day, "08:00"))
    clinic.doctor("vikram", "Dr. Vikram Singh", ("GEN24", "GEN"), clock(day, "08:00"))
    clinic.doctor("meena", "Dr. Meena Iyer", ("PAED",), clock(day, "08:00"))
    for index, (address, state) in enumerate((("p1", "IN-UP"), ("p2", "IN-DL"), ("p3", "IN-BR"), ("p4", "IN-AP"), ("p5", "IN-KA"))):
        clinic.patient(address, state, clock(day, "08:30"))
        clinic.book(address, "GEN24", clock(day, f"09:{index * 5:02d}"))
    clinic.status("meena", DoctorState.OFFLINE, clock(day, "08:00"))
    clinic.status("asha", DoctorState.FREE, clock(day, "09:30"))
    clinic.status("vikram", DoctorState.PAUSED, clock(day, "09:45"))
    clinic.call("asha", clock(day, "09:40"))
    clinic.finish("asha", VisitOutcome.DONE, clock(day, "09:50"))
    clinic.call("asha", clock(day, "09:50"))
    clinic.finish("asha", VisitOutcome.NO_SHOW, clock(day, "09:55"))
    clinic.call("asha", clock(day, "10:00"))
    clinic.finish("asha", VisitOutcome.REFERRED, clock(day, "10:10"))
    clinic.call("asha", clock(day, "10:10"))
    return clinic


@pytest.fixture
def clinic(db: Database) -> Clinic:
    return clinic_day(db, DAY)


# --- figures -----------------------------------------------------------------------------------


@pytest.mark.both_databases
def test_live_queues_doctors_and_today(clinic: Clinic) -> None:
    with clinic.db.read() as session:
        live = build_live(session, at(DAY, "10:15"))
    queues = {queue.code: queue for queue in live.queues}
    gen24 = queues["GEN24"]
    assert (gen24.waiting, gen24.called, gen24.doctors_on_duty) == (1, 1, 2)
    assert gen24.median_wait == 47.5  # of 40, 45, 50, 55
    assert (gen24.name_en, gen24.name_hi) == ("General Medicine (24 hours)", "सामान्य चिकित्सा (24 घंटे)")
    # Every active OPD has its row, with nothing going on.
    assert (queues["PAED"].waiting, queues["PAED"].called, queues["PAED"].median_wait, queues["PAED"].doctors_on_duty) == (0, 0, None, 0)
    assert queues["GEN"].doctors_on_duty == 1  # Dr. Singh, on a break, sees GEN patients too
    assert live.waiting == 1 and live.doctors_on_duty == 2
    # Busy first, then free, on a break, off duty.
    assert [(d.name, d.status, d.since) for d in live.doctors] == [
        ("Dr. Asha Rao", DoctorStatus.BUSY, at(DAY, "10:10")),
        ("Dr. Vikram Singh", DoctorStatus.PAUSED, at(DAY, "09:45")),
        ("Dr. Meena Iyer", DoctorStatus.OFFLINE, at(DAY, "08:00")),
    ]
    assert [o.en for o in live.doctors[1].opds] == ["General Medicine", "General Medicine (24 hours)"]
    assert (live.today.day, live.today.consultations, live.today.no_shows) == (DAY, 2, 1)
    assert live.today.no_show_rate == pytest.approx(1 / 3)


@pytest.mark.both_databases
def test_today_agrees_with_the_report(clinic: Clinic) -> None:
    with clinic.db.read() as session:
        live = build_live(session, at(DAY, "10:15"))
        report = build_report(session, DAY, DAY)
    gen24 = next(q for q in live.queues if q.code == "GEN24")
    assert live.today.consultations == report.total.consultations
    assert live.today.no_show_rate == report.total.no_show_rate
    assert gen24.median_wait == next(o for o in report.opds if o.code == "GEN24").figures.median_wait


@pytest.mark.both_databases
def test_a_new_day_starts_with_no_calls_but_the_round_the_clock_queue_carries_on(clinic: Clinic) -> None:
    with clinic.db.read() as session:
        live = build_live(session, at(DAY + dt.timedelta(days=1), "00:30"))
    gen24 = next(q for q in live.queues if q.code == "GEN24")
    # Yesterday's waiting patient is still called at GEN24 (booking.calling_days).
    assert (gen24.waiting, gen24.called, gen24.median_wait) == (1, 1, None)
    assert (live.today.consultations, live.today.no_shows, live.today.no_show_rate) == (0, 0, None)


@pytest.mark.both_databases
def test_a_range_counts_every_india_day_zeros_included(clinic: Clinic) -> None:
    # A consultation at 00:10 IST on the 23rd: 18:40 UTC on the 22nd, counted on the 23rd.
    early = DAY - dt.timedelta(days=2)
    clinic.patient("p6", "IN-UP", at(early, "00:00"))
    clinic.book("p6", "GEN24", at(early, "00:01"))
    clinic.status("vikram", DoctorState.FREE, at(early, "00:10"))
    clinic.call("vikram", at(early, "00:10"))
    clinic.finish("vikram", VisitOutcome.DONE, at(early, "00:20"))
    with clinic.db.read() as session:
        figures = build_range(session, DAY - dt.timedelta(days=4), DAY + dt.timedelta(days=1))
    assert figures.per_day == tuple(
        DayCount(DAY + dt.timedelta(days=offset), count) for offset, count in zip(range(-4, 2), (0, 0, 1, 0, 2, 0), strict=True)
    )
    assert figures.consultations == 3 and figures.no_shows == 1 and not figures.empty
    # Highest first, ties by code, as the report ranks them.
    assert figures.states == (StateCount("IN-UP", 2), StateCount("IN-BR", 1))
    assert [(o.code, o.consultations) for o in figures.opds] == [("GEN24", 3)]


@pytest.mark.both_databases
def test_a_range_with_no_data_is_zeros(clinic: Clinic) -> None:
    with clinic.db.read() as session:
        figures = build_range(session, dt.date(2020, 1, 1), dt.date(2020, 1, 31))
    assert len(figures.per_day) == 31 and all(day.consultations == 0 for day in figures.per_day)
    assert figures.empty and figures.states == () and figures.opds == () and figures.no_shows == 0


@pytest.mark.both_databases
def test_only_the_ten_highest_states_are_charted(db: Database) -> None:
    clinic = Clinic(db)
    with db.write() as session:
        load_demo(session)
    clinic.doctor("asha", "Dr. Asha Rao", ("GEN24",), at(DAY, "08:00"))
    clinic.status("asha", DoctorState.FREE, at(DAY, "08:00"))
    # Eleven states; IN-AP has three consultations, IN-KA two, the others one each.
    states = ["IN-AP"] * 3 + ["IN-KA"] * 2 + ["IN-BR", "IN-DL", "IN-GJ", "IN-MH", "IN-MP", "IN-TN", "IN-UK", "IN-UP", "IN-WB"]
    for index, state in enumerate(states):
        clinic.patient(f"s{index}", state, at(DAY, "08:00"))
        clinic.book(f"s{index}", "GEN24", at(DAY, "08:10"))
        clinic.call("asha", at(DAY, f"09:{index:02d}"))
        clinic.finish("asha", VisitOutcome.DONE, at(DAY, f"09:{index:02d}"))
    with db.read() as session:
        figures = build_range(session, DAY, DAY)
    assert [(s.code, s.consultations) for s in figures.states] == [
        ("IN-AP", 3), ("IN-KA", 2), ("IN-BR", 1), ("IN-DL", 1), ("IN-GJ", 1), ("IN-MH", 1), ("IN-MP", 1), ("IN-TN", 1),
        ("IN-UK", 1), ("IN-UP", 1),
    ]


def test_a_range_that_ends_before_it_starts_is_refused(db: Database) -> None:
    with db.read() as session, pytest.raises(ValueError):
        build_range(session, DAY, DAY - dt.timedelta(days=1))


def test_the_default_range_is_the_last_30_india_days() -> None:
    # 20:00 UTC on the 25th is already the 26th in India.
    assert default_range(dt.datetime(2026, 11, 25, 20, 0, tzinfo=dt.UTC)) == (dt.date(2026, 10, 28), dt.date(2026, 11, 26))
