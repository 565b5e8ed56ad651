"""BookingRecords, the database side of booking: cancelling and moving tokens (only one's own or
one's family's), dependents sharing the guardian's place, and who may book for whom.

Every test builds registered patients straight from the models and books through
BookingRecords inside db.write() transactions, as the dispatcher does, with a fixed clock.
OPD hours are in India's time (IST); every clock here is an aware UTC datetime.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.store.db import Database
from bot.store.models import (
    Identity,
    OpdDay,
    Patient,
    Person,
    Token,
    TokenStatus,
)
from flows.ports import BookingOutcome
from tests.booking_records_helpers import (
    FRI,
    SUN,
    THU,
    WED,
    WED_10,
    add_opd,
    add_patient,
    add_patients,
    book,
    booked,
    records,
    set_status,
    token_rows,
)

# The database is what is tested here: gap-free numbering and capacity under locks, unique (OPD, day, number), India's dates.
pytestmark = pytest.mark.both_databases


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
