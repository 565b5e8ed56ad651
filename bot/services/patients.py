"""Patient records: the database side of flows' Patients port.

A first registration (the onboarding's "yes") writes the person, the patient and the identity's
link to them with Core statements built once, on PostgreSQL in one (the two INSERTs
data-modifying CTEs of the identity's UPDATE): it is one of a journey's dearest turns
(bench/dispatch_cost.py), and the ORM's flush of three rows cost it about a millisecond.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import Insert, Update, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.services.erasure import erase_identity
from bot.store.models import Identity, Patient, Person, Role, utcnow
from bot.store.rows import as_persistent, column_binds, new_row_values
from flows.ports import Cancelled, Profile

_people = Person.__table__
_patients = Patient.__table__
_identities = Identity.__table__


class PatientRecords:
    """Reads and writes the patient behind one identity, inside the caller's transaction."""

    def __init__(self, session: Session, identity: Identity, now: dt.datetime | None = None):
        self.session = session
        self.identity = identity
        self.now = now

    def profile(self) -> Profile | None:
        """Return the identity's registered patient profile, if there is one."""
        person = self.identity.person
        if person is None or person.patient is None:
            return None
        patient = person.patient
        return Profile(
            name=person.name,
            age=patient.age,
            sex=patient.sex,
            state_code=patient.state_code,
            district=patient.district,
            phone=person.phone,
            consent_at=patient.consent_at,
        )

    def save_profile(self, profile: Profile) -> None:
        """Create the person and patient on first registration, or update them."""
        person = self.identity.person
        if person is None:
            self._register(profile)
            return
        person.name = profile.name
        person.phone = profile.phone
        if person.patient is None:
            person.patient = Patient(
                age=profile.age, sex=profile.sex, state_code=profile.state_code, district=profile.district, consent_at=profile.consent_at
            )
        else:
            patient = person.patient
            patient.age, patient.sex = profile.age, profile.sex
            patient.state_code, patient.district = profile.state_code, profile.district
        self.session.flush()

    def _register(self, profile: Profile) -> None:
        """Write the identity's person and patient and link them; the objects as loaded, nothing to flush."""
        now = utcnow()
        person_values = new_row_values(_people, {
            "role": Role.PATIENT, "name": profile.name, "phone": profile.phone, "language": self.identity.language or "en", "created_at": now,
        }, leave_out=("id",))
        patient_values = new_row_values(_patients, {
            "age": profile.age, "sex": profile.sex, "state_code": profile.state_code, "district": profile.district,
            "consent_at": profile.consent_at, "updated_at": now,
        }, leave_out=("person_id",))
        values = {**{f"p_{k}": v for k, v in person_values.items()}, **{f"q_{k}": v for k, v in patient_values.items()},
                  "b_identity": self.identity.id}
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            person_id = connection.execute(_registration_statement(), values).scalar_one()
        else:
            add_person, add_patient, link = _registration_statements()
            person_id = connection.execute(add_person, values).scalar_one()
            connection.execute(add_patient, {**values, "b_person": person_id})
            connection.execute(link, {**values, "b_person": person_id})
        person = as_persistent(self.session, Person, {**person_values, "id": person_id})
        patient = as_persistent(self.session, Patient, {**patient_values, "person_id": person_id})
        set_committed_value(person, "patient", patient)
        set_committed_value(patient, "person", person)
        set_committed_value(self.identity, "person_id", person_id)
        set_committed_value(self.identity, "person", person)

    def erase(self) -> tuple[Cancelled, ...]:
        """Erase this person's personal data (DPDP Act s.12; bot/services/erasure.py says what goes); return who is to be told."""
        return erase_identity(self.session, self.identity, self.now or utcnow()).cancelled


@functools.cache
def _registration_statements() -> tuple[Insert, Insert, Update]:
    """SQLite: the person (returning its id), the patient of b_person, the identity b_identity linked to b_person."""
    return (
        insert(_people).values(column_binds(_people, "p", leave_out=("id",))).returning(_people.c.id),
        insert(_patients).values({**column_binds(_patients, "q", leave_out=("person_id",)), "person_id": bindparam("b_person")}),
        update(_identities).where(_identities.c.id == bindparam("b_identity")).values(person_id=bindparam("b_person")),
    )


@functools.cache
def _registration_statement() -> Update:
    """PostgreSQL: the person and the patient inserted, and the identity b_identity linked to them, in one
    statement returning the person's id. PostgreSQL runs a data-modifying CTE to completion whether
    or not the statement reads it (https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING)."""
    person = insert(_people).values(column_binds(_people, "p", leave_out=("id",))).returning(_people.c.id).cte("new_person")
    patient_columns = column_binds(_patients, "q", leave_out=("person_id",))
    patient = (
        insert(_patients)
        .from_select(["person_id", *patient_columns], select(person.c.id, *patient_columns.values()))
        .cte("new_patient")
    )
    return (
        update(_identities).add_cte(person, patient)
        .where(_identities.c.id == bindparam("b_identity"))
        .values(person_id=select(person.c.id).scalar_subquery())
        .returning(_identities.c.person_id)
    )
