"""BookingRecords, the database side of booking: gap-free token numbers per OPD and day (also
under 200 simultaneous bookings and rolled-back ones), one live token per patient held by the
database itself, and one person booking from two channels at once.

Every test builds registered patients straight from the models and books through
BookingRecords inside db.write() transactions, as the dispatcher does, with a fixed clock.
OPD hours are in India's time (IST); every clock here is an aware UTC datetime.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.models import (
    Identity,
    OpdDay,
    Patient,
    Person,
    Role,
    Token,
    TokenStatus,
)
from flows.ports import BookingOutcome, BookingResult
from tests.booking_records_helpers import (
    FRI,
    INTAKE,
    THU,
    WED,
    WED_10,
    add_opd,
    add_patient,
    add_patients,
    book,
    booked,
    ist,
    records,
    token_rows,
)

# The database is what is tested here: gap-free numbering and capacity under locks, unique (OPD, day, number), India's dates.
pytestmark = pytest.mark.both_databases


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


def test_a_day_with_one_place_gives_it_once_then_offers_the_next_day(db: Database) -> None:
    # The day's row is made by its first booking and counted on by the next (one statement).
    opd = add_opd(db, capacity=1)
    first, second = add_patients(db, 2)
    assert booked(book(db, first, opd)) == (WED, 1)
    full = book(db, second, opd)
    assert full.outcome == BookingOutcome.FULL and full.token is None
    assert full.offer is not None and full.offer.day == THU
    with db.read() as session:
        assert session.scalars(select(OpdDay.issued)).all() == [1]


def test_booking_the_opd_just_listed_costs_no_second_read_of_it(db: Database) -> None:
    """The booking turn is the dearest a patient sends (bench/dispatch_cost.py): its statements,
    counted. The OPDs listed in the turn are not read again to book one, nor is the list read
    twice; the family check is the person's lock; a day already open takes its number in one
    UPDATE. A regression shows as a count, not as a time."""
    opd = add_opd(db)
    first, second = add_patients(db, 2)
    booked(book(db, first, opd))  # the day's row is made
    statements: list[str] = []

    def seen(conn, cursor, statement, *_):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    with db.write() as session:
        bookings = records(session, second, WED_10)
        assert bookings.identity.person is not None  # the dispatcher's load brings the person with the identity
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            listed = bookings.opds()
            assert bookings.opds() == listed
            result = bookings.book(listed[0].id, None, INTAKE, False)
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
    assert booked(result) == (WED, 2)
    work = [s for s in statements if s.split(None, 1)[0] not in ("BEGIN", "COMMIT")]
    assert sum(" FROM opds" in s for s in work) == 1, work
    assert sum(s.startswith("SELECT people.id FROM people") for s in work) == 1, work
    assert not any(s.startswith("INSERT INTO opd_days") for s in work), work
    if db.is_sqlite:  # the number, then the token: the write lock is the database's
        assert [s.split(" ", 2)[1] for s in work if s.startswith(("UPDATE opd_days", "INSERT INTO tokens"))] == ["opd_days", "INTO"], work
    else:  # the number taken and the token inserted in one statement
        assert sum(s.startswith("WITH taken AS (UPDATE opd_days") and "INSERT INTO tokens" in s for s in work) == 1, work
        assert not any(s.startswith(("UPDATE opd_days", "INSERT INTO tokens")) for s in work), work
    # The list, the lock, the live token, the number and the token (one statement on
    # PostgreSQL), its place beside the recent consultations' lengths (the wait), the free
    # doctors to ping (the OPD is open): six on PostgreSQL, seven on SQLite.
    assert len(work) == (7 if db.is_sqlite else 6), work


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
