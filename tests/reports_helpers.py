"""The report tests' shared pieces: a hand-built day of consultations (its rows, doctors and token
states, in India's time) written into a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.store.models import (
    Consultation,
    Doctor,
    DoctorOpd,
    DoctorStatus,
    Opd,
    Patient,
    Person,
    Role,
    Token,
    TokenStatus,
)

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
DAY = dt.date(2026, 11, 25)  # a Wednesday
BEFORE, AFTER = DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)


def at(day: dt.date, hhmm: str) -> dt.datetime:
    """Return an aware UTC datetime for a time of day in India."""
    hours, minutes = map(int, hhmm.split(":"))
    return dt.datetime(day.year, day.month, day.day, hours, minutes, tzinfo=IST).astimezone(dt.UTC)


@dataclass(frozen=True)
class Row:
    """One token of the day: when it was booked, when (and by whom) it was called, how it ended."""

    opd: str
    number: int
    created: str  # HH:MM IST on `day` (or on `created_day`)
    called: str | None = None
    doctor: str | None = None
    outcome: str | None = None  # None with `called`: the consultation is still open
    rating: int | None = None
    state: str | None = "IN-UP"
    patient: str | None = None  # a name shared by two rows is one patient
    day: dt.date = DAY
    created_day: dt.date | None = None
    token_status: str | None = None
    called_day: dt.date | None = None


# GEN opens 09:00 IST, PAED 10:00 IST. Waits (minutes) in the comments: from creation, or from
# the session start for a token booked before it.
ROWS = [
    Row("GEN", 1, "08:30", "09:05", "asha", "done", 5, "IN-UP"),  # 5 (from 09:00)
    Row("GEN", 2, "08:50", "09:10", "asha", "done", 4, "IN-UP"),  # 10 (from 09:00)
    Row("GEN", 3, "09:00", "09:20", "vikram", "done", 4, "IN-BR"),  # 20
    Row("GEN", 4, "09:10", "09:25", "asha", "no_show", None, "IN-DL"),  # 15
    Row("GEN", 5, "09:15", "09:40", "vikram", "referred", None, "IN-AP"),  # 25
    Row("GEN", 6, "09:20", "09:45", "asha", "done", 5, "IN-AP"),  # 25
    Row("GEN", 7, "09:30", "10:00", "vikram", "done", 3, "IN-KA"),  # 30
    Row("GEN", 8, "09:40", "10:10", "asha", "done", 4, "IN-AP"),  # 30
    Row("GEN", 9, "09:45", "10:30", "vikram", "no_show", None, "IN-AP"),  # 45
    Row("GEN", 10, "10:00", "10:40", "asha", "done", 5, "IN-MH", patient="shared"),  # 40
    Row("GEN", 11, "10:10", "11:00", "vikram", "done", None, "IN-AP"),  # 50
    Row("GEN", 12, "10:20", "11:10", "asha", "cancelled", None, "IN-AP"),  # 50
    Row("GEN", 13, "10:30", "11:30", "vikram", "done", 2, "IN-UP"),  # 60
    Row("GEN", 14, "11:00", "11:35", "asha", "referred", 4, "IN-KA"),  # 35
    Row("GEN", 15, "11:15"),  # still waiting
    Row("GEN", 16, "11:20", token_status=TokenStatus.CANCELLED),
    Row("GEN", 17, "18:00", "09:30", "vikram", "done", 5, "IN-TN", created_day=BEFORE),  # booked the evening before: 30
    Row("GEN", 18, "11:30", "12:00", "asha", None, None, "IN-AP"),  # open: 30
    Row("PAED", 1, "09:00", "10:05", "meena", "done", 5, "IN-AP"),  # 5 (from 10:00)
    Row("PAED", 2, "09:30", "10:15", "meena", "done", 4, "IN-KA"),  # 15 (from 10:00)
    Row("PAED", 3, "10:00", "10:30", "meena", "no_show", None, "IN-UP"),  # 30
    Row("PAED", 4, "10:05", "10:45", "meena", "done", 4, None),  # 40, state not recorded
    Row("PAED", 5, "10:20", "11:00", "meena", "done", 3, "IN-AP"),  # 40
    Row("PAED", 6, "10:30", "11:20", "meena", "referred", None, "IN-BR"),  # 50
    Row("PAED", 7, "10:40", "11:40", "meena", "done", 5, "IN-AP"),  # 60
    Row("PAED", 8, "10:50", "12:00", "meena", "done", 4, "IN-MH", patient="shared"),  # 70
    Row("PAED", 9, "11:00", "12:20", "meena", "abandoned", None, "IN-AP"),  # 80
    Row("PAED", 10, "11:10"),  # still waiting
    Row("PAED", 11, "09:10", "10:10", "meena", "no_show", None, "IN-GJ"),  # 10 (from 10:00)
    # The days around: 23:50 IST on the 24th, and 00:05 IST on the 26th — which is still the
    # 25th in UTC, so a report that cut days in UTC would count it on the 25th.
    Row("GEN", 1, "16:00", "23:50", "asha", "done", 3, "IN-AP", day=BEFORE, created_day=BEFORE),  # 470
    Row("GEN", 1, "00:01", "00:05", "vikram", "done", 5, "IN-AP", day=AFTER, created_day=AFTER),  # 4
]

DOCTORS = {"asha": ("Dr. Asha Rao", ["GEN"]), "vikram": ("Dr. Vikram Singh", ["GEN"]), "meena": ("Dr. Meena Iyer", ["PAED"])}
TOKEN_STATUS = {
    "done": TokenStatus.DONE, "referred": TokenStatus.DONE, "no_show": TokenStatus.NO_SHOW,
    "cancelled": TokenStatus.CANCELLED, "abandoned": TokenStatus.CANCELLED, None: TokenStatus.IN_CONSULTATION,
}


def build_day(session: Session) -> dict[str, int]:
    """Write the OPDs, doctors, patients, tokens and consultations of ROWS; return the doctors' ids."""
    created = at(BEFORE, "08:00")
    opds = {
        "GEN": Opd(code="GEN", specialty="general_medicine", name_en="General Medicine", name_hi="सामान्य चिकित्सा",
                   opens_at=dt.time(9), closes_at=dt.time(17), daily_capacity=100, created_at=created),
        "PAED": Opd(code="PAED", specialty="paediatrics", name_en="Paediatrics", name_hi="बाल रोग",
                    opens_at=dt.time(10), closes_at=dt.time(14), daily_capacity=50, created_at=created),
    }
    session.add_all(opds.values())
    session.flush()
    doctors: dict[str, int] = {}
    for key, (name, codes) in DOCTORS.items():
        person = Person(role=Role.DOCTOR, name=name, created_at=created)
        session.add(person)
        session.flush()
        session.add(Doctor(person_id=person.id, status=DoctorStatus.OFFLINE, status_at=created))
        session.flush()
        session.add_all(DoctorOpd(doctor_id=person.id, opd_id=opds[code].id) for code in codes)
        doctors[key] = person.id
    patients: dict[str, int] = {}
    for index, row in enumerate(ROWS):
        patient_key = row.patient or f"patient-{index}"
        if patient_key not in patients:
            person = Person(role=Role.PATIENT, name=f"Patient {index}", phone=f"+9190000{index:05d}", created_at=created)
            session.add(person)
            session.flush()
            session.add(Patient(person_id=person.id, age=30, sex="f", state_code=row.state or "IN-UP", district="X", consent_at=created))
            patients[patient_key] = person.id
        called = at(row.called_day or row.day, row.called) if row.called else None
        status = row.token_status or (TOKEN_STATUS[row.outcome] if called else TokenStatus.WAITING)
        token = Token(
            opd_id=opds[row.opd].id, day=row.day, number=row.number, person_id=patients[patient_key], status=status,
            created_at=at(row.created_day or row.day, row.created), called_at=called,
        )
        session.add(token)
        session.flush()
        if called is None:
            continue
        ended = called + dt.timedelta(minutes=7) if row.outcome else None
        session.add(Consultation(
            token_id=token.id, doctor_id=doctors[row.doctor], patient_id=patients[patient_key], opd_id=opds[row.opd].id,
            room_url=f"https://meet.example/{index}", state_code=row.state, called_at=called,
            joined_at=called if row.outcome not in ("no_show",) else None, ended_at=ended, outcome=row.outcome,
            notes="notes", advice="advice", rating=row.rating,
        ))
    session.flush()
    return doctors
