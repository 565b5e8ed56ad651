"""Who is pinged when a patient joins a queue (bot/services/pings.py), on both databases: the free,
on-duty, unmuted doctors of that OPD, once a minute at most (the clock is the booking's `now`,
moved by the test), at once for a danger sign; nobody off duty, paused, busy or muted; a token
for another day pings nobody. The escalation timer: a danger-sign token still waiting after the
setting's minutes pings every on-duty doctor who can see it (its OPD's and the round-the-clock
OPD's, busy or muted too) and shows on the dashboard; one called in time alerts nobody.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.outbox.enqueue import apply_notices
from bot.outbox.timers import TimerRunner
from bot.services.enrolment import add_doctor
from bot.services.pings import TIMER_HANDLERS, unserved_danger
from bot.store.db import Database
from bot.store.models import (
    Doctor,
    DoctorStatus,
    Identity,
    Opd,
    OutboxMessage,
    Timer,
    TokenStatus,
)
from flows.ports import BookingResult, Intake
from flows.steps.pings import ESCALATION_TIMER, ping_notices
from flows.steps.reminders import KINDS as REMINDER_KINDS
from tests.booking_records_helpers import (
    INTAKE,
    THU,
    WED_10,
    add_opd,
    add_patient,
    records,
    set_status,
)

pytestmark = pytest.mark.both_databases

DANGER = Intake(text="seene mein dard", symptoms=("chest_pain",), red_flags=("chest_pain",))
MINUTE = dt.timedelta(minutes=1)


def add_doctor_chat(db: Database, name: str, opd_ids: list[int], status: DoctorStatus = DoctorStatus.FREE, muted: bool = False) -> int:
    """Add a doctor of these OPDs with a chat of their own; return the chat's identity id."""
    with db.write() as session:
        person, _ = add_doctor(session, name, [session.get(Opd, opd_id) for opd_id in opd_ids])
        doctor = session.get(Doctor, person.id)
        doctor.status, doctor.pings_muted = status, muted
        identity = Identity(channel="local", address=f"doctor-{person.id}", person=person, language="en")
        session.add(identity)
        session.flush()
        return identity.id


def book_and_ping(db: Database, identity_id: int, opd_id: int, now: dt.datetime, intake: Intake = INTAKE, day: dt.date | None = None) -> BookingResult:
    """Book as the flow does and carry out its pings and timer in the same transaction."""
    with db.write() as session:
        result = records(session, identity_id, now).book(opd_id, None, intake, bool(intake.red_flags), day=day)
        apply_notices(session, ping_notices(result, now, escalation_minutes=10), now)
        return result


def pinged(result: BookingResult) -> list[tuple[int, int, int]]:
    return [(ping.doctor.identity_id, ping.waiting, ping.danger) for ping in result.pings]


def test_a_booking_pings_the_free_doctors_of_that_opd_with_the_queue_counts(db: Database) -> None:
    gen, derm = add_opd(db, "GEN"), add_opd(db, "DERM")
    free = add_doctor_chat(db, "Free", [gen])
    add_doctor_chat(db, "Other OPD", [derm])
    for status in (DoctorStatus.OFFLINE, DoctorStatus.PAUSED, DoctorStatus.BUSY):
        add_doctor_chat(db, f"Not free ({status})", [gen], status=status)
    add_doctor_chat(db, "Muted", [gen], muted=True)
    first = book_and_ping(db, add_patient(db), gen, WED_10)
    assert pinged(first) == [(free, 1, 0)]
    with db.read() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.identity_id == free)).all()
        assert [row.payload["text"]["id"] for row in rows] == ["{count} patient waiting in {opd}: send NEXT."]
        assert session.scalars(select(OutboxMessage)).all() == rows  # nobody else heard anything


def test_at_most_one_ping_a_minute_and_a_danger_sign_at_once(db: Database) -> None:
    gen = add_opd(db, "GEN")
    doctor = add_doctor_chat(db, "Free", [gen])
    assert pinged(book_and_ping(db, add_patient(db), gen, WED_10)) == [(doctor, 1, 0)]
    # Within the minute: counted, not pinged.
    assert pinged(book_and_ping(db, add_patient(db), gen, WED_10 + MINUTE - dt.timedelta(seconds=1))) == []
    # A danger sign within the same minute: at once, with the counts.
    assert pinged(book_and_ping(db, add_patient(db), gen, WED_10 + dt.timedelta(seconds=30), intake=DANGER)) == [(doctor, 3, 1)]
    # The danger ping started a new minute.
    assert pinged(book_and_ping(db, add_patient(db), gen, WED_10 + dt.timedelta(seconds=80))) == []
    assert pinged(book_and_ping(db, add_patient(db), gen, WED_10 + dt.timedelta(seconds=91))) == [(doctor, 5, 1)]


def test_a_token_for_another_day_pings_nobody_and_starts_no_escalation(db: Database) -> None:
    gen = add_opd(db, "GEN")
    add_doctor_chat(db, "Free", [gen])
    result = book_and_ping(db, add_patient(db), gen, WED_10, intake=DANGER, day=THU)
    assert result.token is not None and not result.joined_queue and result.pings == ()
    with db.read() as session:
        # (Its reminder the evening before is the only timer: tests/test_reminders_timers.py.)
        assert session.scalars(select(Timer).where(Timer.kind.not_in(REMINDER_KINDS))).all() == []
        assert session.scalars(select(OutboxMessage)).all() == []


def test_muting_and_going_off_duty_stop_pings(db: Database) -> None:
    gen = add_opd(db, "GEN")
    doctor = add_doctor_chat(db, "Free", [gen])
    with db.write() as session:
        session.scalars(select(Doctor)).one().pings_muted = True
    assert pinged(book_and_ping(db, add_patient(db), gen, WED_10)) == []
    with db.write() as session:
        row = session.scalars(select(Doctor)).one()
        row.pings_muted, row.status = False, DoctorStatus.OFFLINE
    assert pinged(book_and_ping(db, add_patient(db), gen, WED_10 + 2 * MINUTE, intake=DANGER)) == []
    with db.write() as session:
        session.scalars(select(Doctor)).one().status = DoctorStatus.FREE
    assert pinged(book_and_ping(db, add_patient(db), gen, WED_10 + 4 * MINUTE)) == [(doctor, 3, 1)]


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def test_an_unserved_danger_sign_pings_every_on_duty_doctor_who_can_see_it_and_the_dashboard(db: Database) -> None:
    gen, round_the_clock, derm = add_opd(db, "GEN"), add_opd(db, "GEN24", hours="24h", days="all"), add_opd(db, "DERM")
    own_busy = add_doctor_chat(db, "Own, busy", [gen], status=DoctorStatus.BUSY)
    night_muted = add_doctor_chat(db, "24 hours, muted", [round_the_clock], muted=True)
    add_doctor_chat(db, "24 hours, off duty", [round_the_clock], status=DoctorStatus.OFFLINE)
    add_doctor_chat(db, "Another OPD", [derm])
    result = book_and_ping(db, add_patient(db), gen, WED_10, intake=DANGER)
    assert result.joined_queue and result.pings == ()  # nobody free: only the escalation will tell
    clock = Clock(WED_10 + dt.timedelta(minutes=10) - dt.timedelta(seconds=1))
    runner = TimerRunner(db, TIMER_HANDLERS, clock=clock)
    assert runner.drain() == 0
    clock.now = WED_10 + dt.timedelta(minutes=10)
    assert runner.drain() == 1
    with db.read() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.identity_id)).all()
        assert [row.identity_id for row in rows] == [own_busy, night_muted]
        assert {row.payload["text"]["id"][:7] for row in rows} == {"Urgent:"}
        alerts = unserved_danger(session, clock.now)
        assert [(alert.number, alert.minutes, alert.red_flags) for alert in alerts] == [(1, 10, ("chest_pain",))]
    # Once a doctor calls it, the dashboard's alert is gone.
    assert result.token is not None
    set_status(db, result.token.id, TokenStatus.CALLED)
    with db.read() as session:
        assert unserved_danger(session, clock.now) == ()


def test_a_danger_sign_called_in_time_alerts_nobody(db: Database) -> None:
    gen = add_opd(db, "GEN")
    doctor = add_doctor_chat(db, "Free", [gen])
    result = book_and_ping(db, add_patient(db), gen, WED_10, intake=DANGER)
    assert pinged(result) == [(doctor, 1, 1)] and result.token is not None
    with db.read() as session:
        timer = session.scalars(select(Timer).where(Timer.kind == ESCALATION_TIMER)).one()
        assert timer.due_at == WED_10 + dt.timedelta(minutes=10)
    set_status(db, result.token.id, TokenStatus.CALLED)
    TimerRunner(db, TIMER_HANDLERS, clock=Clock(WED_10 + dt.timedelta(minutes=11))).drain()
    with db.read() as session:
        assert len(session.scalars(select(OutboxMessage)).all()) == 1  # the ping at booking, nothing more
        assert unserved_danger(session, WED_10 + dt.timedelta(minutes=11)) == ()
