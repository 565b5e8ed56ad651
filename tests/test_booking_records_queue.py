"""BookingRecords, the database side of booking: queue positions (priority first, then by number,
skipping finished tokens; a future day's queue) and the wait estimate.

Every test builds registered patients straight from the models and books through
BookingRecords inside db.write() transactions, as the dispatcher does, with a fixed clock.
OPD hours are in India's time (IST); every clock here is an aware UTC datetime.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.services.booking import minutes_per_patient
from bot.services.calendar import queue_position
from bot.store.db import Database
from bot.store.models import (
    Opd,
    Person,
    Role,
    Token,
    TokenStatus,
)
from tests.booking_records_helpers import (
    THU,
    TUE,
    WED_10,
    add_opd,
    add_patients,
    book,
    booked,
    ist,
    records,
    set_status,
)

# The database is what is tested here: gap-free numbering and capacity under locks, unique (OPD, day, number), India's dates.
pytestmark = pytest.mark.both_databases


# ---------------------------------------------------------------------------------------
# Queue position and wait


def test_queue_position_priority_first_then_by_number_skipping_finished_tokens(db: Database) -> None:
    opd = add_opd(db)
    patients = add_patients(db, 7)
    priority = {4, 6}  # red-flag patients, by token number
    tokens = {}
    for number, patient in enumerate(patients, start=1):
        result = book(db, patient, opd, priority=number in priority)
        assert result.token is not None and result.token.number == number
        tokens[number] = result.token.id
    set_status(db, tokens[1], TokenStatus.DONE)
    set_status(db, tokens[2], TokenStatus.CANCELLED)
    set_status(db, tokens[3], TokenStatus.IN_CONSULTATION)
    # Waiting: 4 (priority), 5, 6 (priority), 7 → called in the order 4, 6, 5, 7.
    expected = {4: 1, 6: 2, 5: 3, 7: 4}
    with db.read() as session:
        positions = {n: queue_position(session, session.get(Token, tokens[n])) for n in expected}  # type: ignore[arg-type]
        seen = {}
        for number, patient in enumerate(patients, start=1):
            [info] = records(session, patient, WED_10).live_tokens() or [None]
            seen[number] = None if info is None else (info.position, info.wait_minutes, info.status)
    assert positions == expected
    assert seen == {
        1: None, 2: None,  # done and cancelled: not live
        3: (0, 0, TokenStatus.IN_CONSULTATION),  # with the doctor: not waiting
        4: (1, 0, TokenStatus.WAITING), 6: (2, 10, TokenStatus.WAITING),
        5: (3, 20, TokenStatus.WAITING), 7: (4, 30, TokenStatus.WAITING),
    }


def test_a_future_days_queue_counts_only_that_days_tokens(db: Database) -> None:
    opd = add_opd(db)
    patients = add_patients(db, 5)
    for patient in patients[:3]:
        booked(book(db, patient, opd))
    book(db, patients[3], opd, day=THU)
    last = book(db, patients[4], opd, day=THU)
    assert last.token is not None
    assert (last.token.day, last.token.number, last.token.position, last.token.wait_minutes) == (THU, 2, 2, 10)
    assert last.token.today is False


def _done_tokens(db: Database, opd_id: int, minutes: list[float | None], status: TokenStatus = TokenStatus.DONE) -> None:
    """Give the OPD finished consultations of these lengths (None: no end time) on Tuesday."""
    with db.write() as session:
        person = Person(role=Role.PATIENT, name="Earlier patient")
        session.add(person)
        session.flush()
        for number, length in enumerate(minutes, start=1):
            start = ist(TUE, 9) + dt.timedelta(minutes=40 * number)
            end = None if length is None else start + dt.timedelta(minutes=length)
            session.add(Token(opd_id=opd_id, day=TUE, number=number, person_id=person.id, status=status, started_at=start, ended_at=end, created_at=start))


@pytest.mark.parametrize(
    ("durations", "status", "minutes", "default"),
    [
        pytest.param([], TokenStatus.DONE, 10, True, id="none-yet-default"),
        pytest.param([4, 6, 8, 10], TokenStatus.DONE, 10, True, id="four-default"),
        pytest.param([4, 6, 8, 10, None], TokenStatus.DONE, 10, True, id="four-and-one-without-end-default"),
        pytest.param([4, 6, 8, 10, 30], TokenStatus.CANCELLED, 10, True, id="cancelled-ones-do-not-count"),
        pytest.param([4, 6, 8, 10, 30], TokenStatus.DONE, 8, False, id="five-median-8"),
        pytest.param([30, 10, 4, 8, 6], TokenStatus.DONE, 8, False, id="five-unordered-median-8"),
        pytest.param([4, 6, 8, 10, 12, 30], TokenStatus.DONE, 9, False, id="six-median-9"),
        pytest.param([0.5] * 5, TokenStatus.DONE, 1, False, id="under-a-minute-counts-as-one"),
    ],
)
def test_wait_estimate(db: Database, durations: list[float | None], status: TokenStatus, minutes: int, default: bool) -> None:
    opd = add_opd(db, minutes=10)
    _done_tokens(db, opd, durations, status)
    with db.read() as session:
        assert minutes_per_patient(session, session.get(Opd, opd)) == (minutes, default)  # type: ignore[arg-type]
    infos = [book(db, patient, opd).token for patient in add_patients(db, 3)]
    assert [(t.position, t.wait_minutes, t.minutes_per_patient, t.wait_is_estimate_default) for t in infos] == [  # type: ignore[union-attr]
        (p, (p - 1) * minutes, minutes, default) for p in (1, 2, 3)
    ]
