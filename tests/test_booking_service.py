"""BookingRecords, the database side of booking: sessions, gap-free numbers, queues and waits.

Every test builds registered patients straight from the models and books through
BookingRecords inside db.write() transactions, as the dispatcher does, with a fixed clock.
OPD hours are in India's time (IST); every clock here is an aware UTC datetime.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.services.booking import BookingRecords, minutes_per_patient
from bot.services.calendar import queue_position
from bot.services.opds import OpdSpec, upsert_opd
from bot.store.db import Database
from bot.store.models import (
    Identity,
    Opd,
    OpdDay,
    Patient,
    Person,
    Role,
    Token,
    TokenStatus,
)
from flows.ports import BookingOutcome, BookingResult, Intake

# The database is what is tested here: gap-free numbering and capacity under locks, unique (OPD, day, number), India's dates.
pytestmark = pytest.mark.both_databases

IST = ZoneInfo("Asia/Kolkata")
WED = dt.date(2026, 11, 25)  # a Wednesday
THU, FRI, SAT, SUN, MON = (WED + dt.timedelta(days=n) for n in range(1, 6))
TUE = WED - dt.timedelta(days=1)
INTAKE = Intake(text="bukhar hai 3 din se", symptoms=("fever",), duration_days=3)
_addresses = itertools.count(1)


def ist(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """Return an IST wall-clock time as an aware UTC datetime."""
    return dt.datetime.combine(day, dt.time(hour, minute), IST).astimezone(dt.UTC)


WED_10 = ist(WED, 10)  # 04:30 UTC, the OPDs below are open


# ---------------------------------------------------------------------------------------
# Building blocks


def add_opd(
    db: Database, code: str = "GEN", hours: str = "09:00-17:00", days: str = "mon-sat", capacity: int = 100, minutes: int = 10
) -> int:
    """Add an OPD through the catalogue code the CLI uses; return its id."""
    with db.write() as session:
        spec = OpdSpec(code, f"{code} OPD", f"{code} ओपीडी", "general_medicine", hours, days, capacity, consult_minutes=minutes)
        return upsert_opd(session, spec).id


def add_patients(db: Database, count: int, state: str = "BR", district: str = "Gaya") -> list[int]:
    """Register patients (person + patient + identity) in one transaction; return identity ids."""
    with db.write() as session:
        identities = []
        for _ in range(count):
            n = next(_addresses)
            person = Person(role=Role.PATIENT, name=f"Patient {n}", phone=f"+9198{n:08d}", language="hi")
            person.patient = Patient(age=30, sex="female", state_code=state, district=district, consent_at=WED_10 - dt.timedelta(days=30))
            identity = Identity(channel="local", address=f"patient-{n}", person=person, language="hi")
            session.add(identity)
            identities.append(identity)
        session.flush()
        return [identity.id for identity in identities]


def add_patient(db: Database, state: str = "BR", district: str = "Gaya") -> int:
    return add_patients(db, 1, state, district)[0]


def records(session, identity_id: int, now: dt.datetime) -> BookingRecords:  # type: ignore[no-untyped-def]
    return BookingRecords(session, session.get(Identity, identity_id), now)


def book(
    db: Database, identity_id: int, opd_id: int, now: dt.datetime = WED_10, day: dt.date | None = None,
    person_id: int | None = None, priority: bool = False,
) -> BookingResult:
    """Book in a transaction of its own, as one dispatched message does."""
    with db.write() as session:
        return records(session, identity_id, now).book(opd_id, person_id, INTAKE, priority, day=day)


def booked(result: BookingResult) -> tuple[dt.date, int]:
    assert result.outcome is BookingOutcome.BOOKED, result
    assert result.token is not None
    return result.token.day, result.token.number


def token_rows(db: Database, opd_id: int) -> list[Token]:
    with db.read() as session:
        return list(session.scalars(select(Token).where(Token.opd_id == opd_id).order_by(Token.day, Token.number)))


def set_status(db: Database, token_id: int, status: TokenStatus) -> None:
    with db.write() as session:
        session.get(Token, token_id).status = status  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------
# Numbers: from 1 each day for each OPD, no gaps


def test_numbers_start_at_one_per_opd_and_day_without_gaps(db: Database) -> None:
    gen, paed = add_opd(db, "GEN"), add_opd(db, "PAED")
    patients = add_patients(db, 5)
    # Interleaved between two OPDs: each counts on its own.
    got = [booked(book(db, p, opd)) for p, opd in zip(patients, [gen, paed, gen, gen, paed])]
    assert got == [(WED, 1), (WED, 1), (WED, 2), (WED, 3), (WED, 2)]
    # The next day starts again at 1, for the same patients.
    thursday = ist(THU, 10)
    assert [booked(book(db, p, gen, now=thursday)) for p in patients[:3]] == [(THU, 1), (THU, 2), (THU, 3)]
    with db.read() as session:
        counters = {(r.opd_id, r.day): r.issued for r in session.scalars(select(OpdDay))}
    assert counters == {(gen, WED): 3, (paed, WED): 2, (gen, THU): 3}


def test_a_rolled_back_booking_gives_its_number_back(db: Database) -> None:
    opd = add_opd(db)
    first, second = add_patients(db, 2)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), db.write() as session:
        result = records(session, first, WED_10).book(opd, None, INTAKE, False)
        assert result.token is not None and result.token.number == 1
        raise Abandoned  # e.g. the dispatcher fails later in the same transaction
    assert booked(book(db, second, opd)) == (WED, 1)
    assert booked(book(db, first, opd)) == (WED, 2)
    assert [t.number for t in token_rows(db, opd)] == [1, 2]


@pytest.mark.slow
def test_200_simultaneous_bookings_into_150_places(db: Database) -> None:
    """The issue's bar: exactly 150 tokens 1..150, 50 offers of the next session, no duplicates."""
    opd = add_opd(db, capacity=150)
    patients = add_patients(db, 200)
    barrier = threading.Barrier(len(patients), timeout=30)

    def one(identity_id: int) -> BookingResult:
        barrier.wait()
        return book(db, identity_id, opd)

    with ThreadPoolExecutor(len(patients)) as pool:
        results = list(pool.map(one, patients))

    by_outcome: dict[BookingOutcome, list[BookingResult]] = {}
    for result in results:
        by_outcome.setdefault(result.outcome, []).append(result)
    assert {k: len(v) for k, v in by_outcome.items()} == {BookingOutcome.BOOKED: 150, BookingOutcome.FULL: 50}
    assert sorted(r.token.number for r in by_outcome[BookingOutcome.BOOKED]) == list(range(1, 151))  # type: ignore[union-attr]
    # Every refusal offers the next working day's session, at its opening time.
    assert {(r.offer.day, r.offer.starts_at) for r in by_outcome[BookingOutcome.FULL]} == {(THU, ist(THU, 9))}  # type: ignore[union-attr]
    assert all(r.token is None for r in by_outcome[BookingOutcome.FULL])

    rows = token_rows(db, opd)
    assert len(rows) == 150
    assert {t.number for t in rows} == set(range(1, 151))
    assert len({(t.opd_id, t.day, t.number) for t in rows}) == 150
    assert len({t.person_id for t in rows}) == 150
    assert {t.day for t in rows} == {WED}
    with db.read() as session:
        counter = session.scalars(select(OpdDay).where(OpdDay.opd_id == opd)).one()
        assert (counter.day, counter.issued, counter.capacity) == (WED, 150, 150)
        # The full day is no longer offered; Thursday is.
        assert [s.day for s in records(session, patients[0], WED_10).sessions(opd, count=2)] == [THU, FRI]


# ---------------------------------------------------------------------------------------
# One live token per patient per OPD per day


def test_booking_again_shows_the_token_held_and_after_cancel_gives_a_new_one(db: Database) -> None:
    opd = add_opd(db)
    asha, ravi = add_patients(db, 2)
    first = book(db, asha, opd)
    assert booked(first) == (WED, 1)
    again = book(db, asha, opd)
    assert again.outcome is BookingOutcome.EXISTING
    assert again.token is not None and first.token is not None
    assert (again.token.id, again.token.number) == (first.token.id, 1)
    assert booked(book(db, ravi, opd)) == (WED, 2)
    with db.write() as session:
        assert records(session, asha, WED_10).cancel(first.token.id) is not None
    renewed = book(db, asha, opd)
    assert booked(renewed) == (WED, 3)
    assert renewed.token is not None and renewed.token.id != first.token.id
    statuses = [(t.number, t.status) for t in token_rows(db, opd)]
    assert statuses == [(1, TokenStatus.CANCELLED), (2, TokenStatus.WAITING), (3, TokenStatus.WAITING)]


def test_the_same_patient_may_hold_tokens_in_two_opds_and_on_two_days(db: Database) -> None:
    gen, derm = add_opd(db, "GEN"), add_opd(db, "DERM")
    asha = add_patient(db)
    assert booked(book(db, asha, gen)) == (WED, 1)
    assert booked(book(db, asha, derm)) == (WED, 1)
    assert booked(book(db, asha, gen, day=THU)) == (THU, 1)
    with db.read() as session:
        live = records(session, asha, WED_10).live_tokens()
    assert [(t.opd_code, t.day, t.number) for t in live] == [("GEN", WED, 1), ("DERM", WED, 1), ("GEN", THU, 1)]


@pytest.mark.parametrize(
    ("second_status", "allowed"),
    [
        pytest.param(TokenStatus.WAITING, False, id="waiting-rejected"),
        pytest.param(TokenStatus.CALLED, False, id="called-rejected"),
        pytest.param(TokenStatus.IN_CONSULTATION, False, id="in-consultation-rejected"),
        pytest.param(TokenStatus.CANCELLED, True, id="cancelled-allowed"),
        pytest.param(TokenStatus.DONE, True, id="done-allowed"),
        pytest.param(TokenStatus.NO_SHOW, True, id="no-show-allowed"),
    ],
)
def test_the_database_itself_holds_one_live_token_per_patient(db: Database, second_status: TokenStatus, allowed: bool) -> None:
    opd = add_opd(db)
    asha = add_patient(db)
    first = book(db, asha, opd)
    assert first.token is not None
    with db.read() as session:
        person_id = session.get(Identity, asha).person_id  # type: ignore[union-attr]

    def insert_second() -> None:
        with db.write() as session:
            session.add(Token(opd_id=opd, day=WED, number=2, person_id=person_id, status=second_status, created_at=WED_10))
            session.flush()

    if allowed:
        insert_second()
        assert len(token_rows(db, opd)) == 2
    else:
        with pytest.raises(IntegrityError):
            insert_second()
        assert [t.id for t in token_rows(db, opd)] == [first.token.id]


def test_the_database_rejects_a_duplicate_number(db: Database) -> None:
    opd = add_opd(db)
    asha, ravi = add_patients(db, 2)
    assert booked(book(db, asha, opd)) == (WED, 1)
    with db.read() as session:
        ravi_person = session.get(Identity, ravi).person_id  # type: ignore[union-attr]
    with pytest.raises(IntegrityError), db.write() as session:
        session.add(Token(opd_id=opd, day=WED, number=1, person_id=ravi_person, created_at=WED_10))
        session.flush()


# ---------------------------------------------------------------------------------------
# Outside hours: the next session, said with its date and time


@dataclass(frozen=True)
class Clock:
    hours: str
    days: str
    now: dt.datetime
    outcome: BookingOutcome
    day: dt.date  # the token's day (BOOKED) or the offered day (CLOSED)
    opens: dt.datetime | None = None  # the offered session's start


HOURS_CASES = [
    pytest.param(Clock("09:00-17:00", "mon-sat", ist(WED, 7, 30), BookingOutcome.CLOSED, WED, ist(WED, 9)), id="before-opening-offers-today"),
    pytest.param(Clock("09:00-17:00", "mon-sat", ist(WED, 8, 59), BookingOutcome.CLOSED, WED, ist(WED, 9)), id="a-minute-before-opening"),
    pytest.param(Clock("09:00-17:00", "mon-sat", ist(WED, 9), BookingOutcome.BOOKED, WED), id="at-opening-books-today"),
    pytest.param(Clock("09:00-17:00", "mon-sat", ist(WED, 16, 59), BookingOutcome.BOOKED, WED), id="a-minute-before-closing"),
    pytest.param(Clock("09:00-17:00", "mon-sat", ist(WED, 17), BookingOutcome.CLOSED, THU, ist(THU, 9)), id="at-closing-offers-tomorrow"),
    pytest.param(Clock("09:00-17:00", "mon-sat", ist(WED, 18), BookingOutcome.CLOSED, THU, ist(THU, 9)), id="after-closing-offers-tomorrow"),
    # 00:01 IST Thursday is still Wednesday in UTC: the offer is Thursday's, not Friday's.
    pytest.param(Clock("09:00-17:00", "mon-sat", ist(THU, 0, 1), BookingOutcome.CLOSED, THU, ist(THU, 9)), id="after-midnight-ist-offers-today"),
    pytest.param(Clock("09:00-17:00", "mon-sat", ist(SAT, 18), BookingOutcome.CLOSED, MON, ist(MON, 9)), id="saturday-evening-offers-monday"),
    pytest.param(Clock("09:00-17:00", "mon-sat", ist(SUN, 11), BookingOutcome.CLOSED, MON, ist(MON, 9)), id="sunday-offers-monday"),
    pytest.param(Clock("10:00-16:00", "mon-fri", ist(FRI, 16), BookingOutcome.CLOSED, MON, ist(MON, 10)), id="mon-fri-friday-evening-offers-monday"),
    pytest.param(Clock("10:00-16:00", "mon-fri", ist(SAT, 12), BookingOutcome.CLOSED, MON, ist(MON, 10)), id="mon-fri-saturday-offers-monday"),
    pytest.param(Clock("10:00-16:00", "mon,wed,fri", ist(WED, 17), BookingOutcome.CLOSED, FRI, ist(FRI, 10)), id="mon-wed-fri-skips-thursday"),
    pytest.param(Clock("24h", "all", ist(SUN, 3), BookingOutcome.BOOKED, SUN), id="24h-sunday-3am"),
    pytest.param(Clock("24h", "all", ist(WED, 23, 59), BookingOutcome.BOOKED, WED), id="24h-2359-ist"),
    pytest.param(Clock("24h", "all", ist(THU, 0, 1), BookingOutcome.BOOKED, THU), id="24h-0001-ist-is-the-next-day"),
    pytest.param(Clock("24h", "all", ist(THU, 0), BookingOutcome.BOOKED, THU), id="24h-midnight-ist"),
    pytest.param(Clock("24h", "mon-sat", ist(SUN, 12), BookingOutcome.CLOSED, MON, ist(MON, 0)), id="24h-mon-sat-on-sunday"),
]


@pytest.mark.parametrize("case", HOURS_CASES)
def test_outside_hours_the_next_session_is_offered(db: Database, case: Clock) -> None:
    opd = add_opd(db, hours=case.hours, days=case.days)
    asha = add_patient(db)
    result = book(db, asha, opd, now=case.now)
    assert result.outcome is case.outcome, result
    if case.outcome is BookingOutcome.BOOKED:
        assert result.token is not None and result.offer is None
        assert (result.token.day, result.token.number, result.token.today) == (case.day, 1, True)
    else:
        assert result.token is None and result.offer is not None
        assert (result.offer.day, result.offer.starts_at) == (case.day, case.opens)
        assert result.offer.starts_at.utcoffset() == dt.timedelta(0)
        assert token_rows(db, opd) == []  # nothing booked until the patient takes the offer
    with db.read() as session:
        [info] = records(session, asha, case.now).opds()
    assert info.open_now is (case.outcome is BookingOutcome.BOOKED)
    assert info.next_session == (case.now if info.open_now else case.opens)


def test_bookings_either_side_of_midnight_ist_go_on_their_own_days(db: Database) -> None:
    opd = add_opd(db, "GEN24", hours="24h", days="all")
    asha, ravi = add_patients(db, 2)
    late, early = ist(WED, 23, 59), ist(THU, 0, 1)
    assert late.date() == early.date() == WED  # both are Wednesday in UTC
    assert booked(book(db, asha, opd, now=late)) == (WED, 1)
    assert booked(book(db, ravi, opd, now=late)) == (WED, 2)
    # Two minutes later it is Thursday in India: numbering starts again, and Asha may book again.
    assert booked(book(db, asha, opd, now=early)) == (THU, 1)
    assert booked(book(db, ravi, opd, now=early)) == (THU, 2)
    with db.read() as session:
        live = records(session, asha, early).live_tokens()  # Wednesday's token is past
    assert [(t.day, t.number, t.today) for t in live] == [(THU, 1, True)]


def test_taking_the_offered_session(db: Database) -> None:
    opd = add_opd(db, minutes=12)
    asha, ravi = add_patients(db, 2)
    evening = ist(WED, 18)
    offer = book(db, asha, opd, now=evening)
    assert offer.outcome is BookingOutcome.CLOSED and offer.offer is not None
    taken = book(db, asha, opd, now=evening, day=offer.offer.day)
    assert booked(taken) == (THU, 1)
    assert taken.token is not None
    assert taken.token.today is False
    assert taken.token.starts_at == ist(THU, 9)
    assert (taken.token.position, taken.token.wait_minutes) == (1, 0)
    second = book(db, ravi, opd, now=evening, day=THU)
    assert second.token is not None
    assert (second.token.number, second.token.position, second.token.wait_minutes, second.token.minutes_per_patient) == (2, 2, 12, 12)
    # The same offer taken twice shows the token already held.
    again = book(db, asha, opd, now=evening, day=THU)
    assert again.outcome is BookingOutcome.EXISTING and again.token is not None and again.token.number == 1


@pytest.mark.parametrize(
    "day",
    [
        pytest.param(SUN, id="non-working-day"),
        pytest.param(TUE, id="a-day-gone-by"),
        pytest.param(WED + dt.timedelta(days=30), id="beyond-the-lookahead"),
    ],
)
def test_asking_for_a_day_without_a_session_offers_the_soonest_one(db: Database, day: dt.date) -> None:
    opd = add_opd(db)
    asha = add_patient(db)
    result = book(db, asha, opd, day=day)
    assert result.outcome is BookingOutcome.CLOSED
    assert result.offer is not None and (result.offer.day, result.offer.starts_at) == (WED, WED_10)  # open now
    assert token_rows(db, opd) == []


def test_a_full_day_then_a_full_offer_moves_on(db: Database) -> None:
    opd = add_opd(db, capacity=1)
    asha, ravi, meena = add_patients(db, 3)
    assert booked(book(db, asha, opd)) == (WED, 1)
    full = book(db, ravi, opd)
    assert full.outcome is BookingOutcome.FULL and full.offer is not None
    assert (full.offer.day, full.offer.starts_at) == (THU, ist(THU, 9))
    assert booked(book(db, ravi, opd, day=THU)) == (THU, 1)
    # Wednesday and Thursday are both full now: Friday is offered.
    later = book(db, meena, opd)
    assert later.outcome is BookingOutcome.FULL and later.offer is not None and later.offer.day == FRI
    assert book(db, meena, opd, day=THU).offer.day == FRI  # type: ignore[union-attr]


def test_an_inactive_or_unknown_opd_has_no_session(db: Database) -> None:
    opd = add_opd(db)
    asha = add_patient(db)
    with db.write() as session:
        session.get(Opd, opd).active = False  # type: ignore[union-attr]
    assert book(db, asha, opd).outcome is BookingOutcome.NO_SESSION
    assert book(db, asha, opd + 1000).outcome is BookingOutcome.NO_SESSION
    assert token_rows(db, opd) == []


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


# ---------------------------------------------------------------------------------------
# Cancel and move


def test_cancel_only_ones_own_or_familys_live_token(db: Database) -> None:
    opd = add_opd(db)
    asha, ravi = add_patients(db, 2)
    with db.write() as session:
        child = records(session, asha, WED_10).add_dependent("Chhotu", 6, "male")
    asha_token = book(db, asha, opd).token
    child_token = book(db, asha, opd, person_id=child).token
    ravi_token = book(db, ravi, opd).token
    assert asha_token and child_token and ravi_token
    with db.write() as session:
        mine = records(session, ravi, WED_10)
        assert mine.cancel(asha_token.id) is None, "cancelled someone else's token"
        assert mine.cancel(child_token.id) is None, "cancelled someone else's child's token"
        assert mine.cancel(999_999) is None
    with db.write() as session:
        assert records(session, asha, WED_10).cancel(child_token.id) is not None
    with db.write() as session:
        assert records(session, asha, WED_10).cancel(child_token.id) is None, "cancelled twice"
    set_status(db, asha_token.id, TokenStatus.DONE)
    with db.write() as session:
        assert records(session, asha, WED_10).cancel(asha_token.id) is None, "cancelled a finished token"
    rows = {t.id: (t.status, t.cancelled_at) for t in token_rows(db, opd)}
    assert rows == {
        asha_token.id: (TokenStatus.DONE, None),
        child_token.id: (TokenStatus.CANCELLED, WED_10),
        ravi_token.id: (TokenStatus.WAITING, None),
    }


def test_move_gives_a_new_number_on_the_new_day_and_cancels_the_old_token(db: Database) -> None:
    opd = add_opd(db)
    asha, ravi = add_patients(db, 2)
    assert booked(book(db, ravi, opd, day=THU)) == (THU, 1)
    old = book(db, asha, opd).token
    assert old is not None and old.number == 1
    with db.write() as session:
        moved = records(session, asha, WED_10).move(old.id, THU)
    assert booked(moved) == (THU, 2)
    assert moved.token is not None and moved.token.id != old.id and moved.token.today is False
    rows = {(t.day, t.number): (t.status, t.cancelled_at) for t in token_rows(db, opd)}
    assert rows == {(WED, 1): (TokenStatus.CANCELLED, WED_10), (THU, 1): (TokenStatus.WAITING, None), (THU, 2): (TokenStatus.WAITING, None)}
    with db.read() as session:
        assert [(t.day, t.number) for t in records(session, asha, WED_10).live_tokens()] == [(THU, 2)]


@pytest.mark.parametrize(
    ("target", "outcome", "offered"),
    [
        pytest.param(THU, BookingOutcome.FULL, FRI, id="full-day"),
        pytest.param(SUN, BookingOutcome.CLOSED, None, id="non-working-day"),
    ],
)
def test_a_move_that_cannot_be_made_keeps_the_old_token(
    db: Database, target: dt.date, outcome: BookingOutcome, offered: dt.date | None
) -> None:
    opd = add_opd(db, capacity=2)
    asha, ravi, meena = add_patients(db, 3)
    booked(book(db, ravi, opd, day=THU))
    booked(book(db, meena, opd, day=THU))
    old = book(db, asha, opd).token
    assert old is not None
    with db.write() as session:
        result = records(session, asha, WED_10).move(old.id, target)
    assert result.outcome is outcome and result.token is None
    assert result.offer is not None
    if offered is not None:
        assert result.offer.day == offered
    with db.read() as session:
        token = session.get(Token, old.id)
        assert token is not None
        assert (token.day, token.number, token.status, token.cancelled_at) == (WED, 1, TokenStatus.WAITING, None)
        assert session.scalar(select(func.count()).select_from(Token).where(Token.person_id == token.person_id)) == 1
        issued = dict(session.execute(select(OpdDay.day, OpdDay.issued).where(OpdDay.opd_id == opd)).all())
    assert issued == {WED: 1, THU: 2}


def test_moving_someone_elses_token_does_nothing(db: Database) -> None:
    opd = add_opd(db)
    asha, ravi = add_patients(db, 2)
    token = book(db, asha, opd).token
    assert token is not None
    with db.write() as session:
        assert records(session, ravi, WED_10).move(token.id, THU).outcome is BookingOutcome.NO_SESSION
    assert [(t.day, t.number, t.status) for t in token_rows(db, opd)] == [(WED, 1, TokenStatus.WAITING)]


# ---------------------------------------------------------------------------------------
# Family members


def test_dependents_share_the_guardians_place_and_their_tokens_show_together(db: Database) -> None:
    opd, paed = add_opd(db, "GEN"), add_opd(db, "PAED")
    asha = add_patient(db, state="UP", district="Varanasi")
    with db.write() as session:
        mine = records(session, asha, WED_10)
        child = mine.add_dependent("Chhotu", 6, "male")
        mother = mine.add_dependent("Kamla Devi", 67, "female")
        assert mine.add_dependent("Chhotu", 7, "male") == child  # the same child again: updated, not doubled
    with db.read() as session:
        patient = session.get(Patient, child)
        assert patient is not None
        assert (patient.state_code, patient.district, patient.age, patient.sex) == ("UP", "Varanasi", 7, "male")
        person = session.get(Person, child)
        guardian = session.get(Identity, asha).person_id  # type: ignore[union-attr]
        assert person is not None and person.guardian_id == guardian
        assert [(d.person_id, d.name, d.age) for d in records(session, asha, WED_10).dependents()] == [
            (child, "Chhotu", 7), (mother, "Kamla Devi", 67)
        ]
    assert booked(book(db, asha, paed, person_id=child)) == (WED, 1)
    assert booked(book(db, asha, opd, person_id=mother)) == (WED, 1)
    assert booked(book(db, asha, opd)) == (WED, 2)  # the guardian too, same OPD and day
    assert book(db, asha, opd, person_id=mother).outcome is BookingOutcome.EXISTING
    with db.read() as session:
        own_name = session.get(Identity, asha).person.name  # type: ignore[union-attr]
        live = records(session, asha, WED_10).live_tokens()
    assert sorted((t.opd_code, t.number, t.patient_name) for t in live) == [
        ("GEN", 1, "Kamla Devi"), ("GEN", 2, own_name), ("PAED", 1, "Chhotu")
    ]
    assert [t.day for t in live] == [WED] * 3


def test_booking_for_someone_outside_the_family_is_refused(db: Database) -> None:
    opd = add_opd(db)
    asha, ravi = add_patients(db, 2)
    with db.write() as session:
        ravis_child = records(session, ravi, WED_10).add_dependent("Munni", 4, "female")
        ravi_person = session.get(Identity, ravi).person_id  # type: ignore[union-attr]
    for stranger in (ravi_person, ravis_child, 999_999):
        with pytest.raises(LookupError):
            book(db, asha, opd, person_id=stranger)
    assert token_rows(db, opd) == []
    with db.read() as session:
        assert session.get(OpdDay, (opd, WED)) is None  # no number was taken


def test_an_unregistered_identity_cannot_book(db: Database) -> None:
    opd = add_opd(db)
    with db.write() as session:
        stranger = Identity(channel="local", address="not-registered")
        session.add(stranger)
        session.flush()
        stranger_id = stranger.id
    with pytest.raises(LookupError):
        book(db, stranger_id, opd)
    with db.write() as session, pytest.raises(LookupError):
        records(session, stranger_id, WED_10).add_dependent("X", 5, "male")


# ---------------------------------------------------------------------------------------
# The catalogue as a patient sees it


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(WED_10, {"GEN24": (True, WED_10), "GEN": (True, WED_10), "EYE": (False, ist(WED, 11))}, id="wednesday-10"),
        pytest.param(ist(WED, 18), {"GEN24": (True, ist(WED, 18)), "GEN": (False, ist(THU, 9)), "EYE": (False, ist(THU, 11))}, id="wednesday-evening"),
        pytest.param(ist(SAT, 12), {"GEN24": (True, ist(SAT, 12)), "GEN": (True, ist(SAT, 12)), "EYE": (False, ist(MON, 11))}, id="saturday-noon"),
        pytest.param(ist(SUN, 23, 30), {"GEN24": (True, ist(SUN, 23, 30)), "GEN": (False, ist(MON, 9)), "EYE": (False, ist(MON, 11))}, id="sunday-night"),
    ],
)
def test_opds_lists_active_ones_with_when_they_open(db: Database, now: dt.datetime, expected: dict[str, tuple[bool, dt.datetime]]) -> None:
    add_opd(db, "GEN24", hours="24h", days="all")
    add_opd(db, "GEN", hours="09:00-17:00", days="mon-sat")
    closed = add_opd(db, "DERM", hours="10:00-16:00", days="mon-fri")
    add_opd(db, "EYE", hours="11:00-15:00", days="mon-fri")
    with db.write() as session:
        session.get(Opd, closed).active = False  # type: ignore[union-attr]
    asha = add_patient(db)
    with db.read() as session:
        infos = records(session, asha, now).opds()
    assert [o.code for o in infos] == ["GEN24", "GEN", "EYE"]  # catalogue order, inactive left out
    assert {o.code: (o.open_now, o.next_session) for o in infos} == expected
    assert {o.name.hi for o in infos} == {"GEN24 ओपीडी", "GEN ओपीडी", "EYE ओपीडी"}


def test_one_person_booking_from_two_channels_at_once_gets_one_token(db: Database) -> None:
    """The same patient on Telegram and WhatsApp (one person, two identities) taps "book" on both at once."""
    opd = add_opd(db)
    rounds = 10
    pairs = []
    with db.write() as session:
        for n in range(rounds):
            person = Person(role=Role.PATIENT, name=f"Two-phone {n}", phone=f"+9197{n:08d}", language="hi")
            person.patient = Patient(age=40, sex="male", state_code="BR", district="Gaya", consent_at=WED_10)
            telegram = Identity(channel="telegram", address=f"tg-{n}", person=person)
            whatsapp = Identity(channel="whatsapp", address=f"whatsapp:+9197{n:08d}", person=person)
            session.add_all([telegram, whatsapp])
            session.flush()
            pairs.append((telegram.id, whatsapp.id))
    failures: list[str] = []
    for telegram_id, whatsapp_id in pairs:
        barrier = threading.Barrier(2, timeout=10)

        def one(identity_id: int) -> BookingOutcome | str:
            barrier.wait()
            try:
                return book(db, identity_id, opd).outcome
            except Exception as exc:  # collected: the assertion below says what came back
                return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"

        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(one, (telegram_id, whatsapp_id)))
        if sorted(map(str, outcomes)) != sorted(map(str, [BookingOutcome.BOOKED, BookingOutcome.EXISTING])):
            failures.append(repr(outcomes))
    assert failures == [], f"{len(failures)} of {rounds} simultaneous pairs: {failures[:3]}"
    rows = token_rows(db, opd)
    assert sorted(t.number for t in rows) == list(range(1, rounds + 1))  # one token each, no gaps
