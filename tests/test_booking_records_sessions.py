"""BookingRecords, the database side of booking: sessions. Outside hours the next session is
offered; midnight in IST; taking the offered session; a day without a session; full days; an
inactive or unknown OPD; the list of active OPDs with when they open.

Every test builds registered patients straight from the models and books through
BookingRecords inside db.write() transactions, as the dispatcher does, with a fixed clock.
OPD hours are in India's time (IST); every clock here is an aware UTC datetime.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from bot.store.db import Database
from bot.store.models import Opd
from flows.ports import BookingOutcome
from tests.booking_records_helpers import (
    FRI,
    MON,
    SAT,
    SUN,
    THU,
    TUE,
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
