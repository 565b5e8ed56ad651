"""The BookingRecords tests' shared pieces: a fixed week (Wednesday 10:00 IST and its neighbours),
OPDs and registered patients built straight from the models, and booking through BookingRecords
inside db.write() transactions, as the dispatcher does. Every clock here is an aware UTC datetime.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.services.booking import BookingRecords
from bot.services.opds import OpdSpec, upsert_opd
from bot.store.db import Database
from bot.store.models import (
    Identity,
    Patient,
    Person,
    Role,
    Token,
    TokenStatus,
)
from flows.ports import BookingOutcome, BookingResult, Intake

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
