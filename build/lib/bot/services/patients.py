"""Patient records: the database side of flows' Patients port."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.services.erasure import erase_identity
from bot.store.models import Identity, Patient, Person, Role, utcnow
from flows.ports import Profile


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
            person = Person(role=Role.PATIENT, name=profile.name, language=self.identity.language or "en")
            self.session.add(person)
            self.identity.person = person
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

    def erase(self) -> None:
        """Erase this person's personal data (DPDP Act s.12); bot/services/erasure.py says what goes."""
        erase_identity(self.session, self.identity, self.now or utcnow())
