"""Walk-in patients booked by a health worker: the database side of flows' Walkins port."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.booking import BookingRecords
from bot.doctors import queue_push
from bot.identities import ensure_identity, link_verified_phone
from bot.models import HealthWorker, Identity, Patient, Person, Role, Token
from flows.health_worker import WalkIn, patient_token_sms
from flows.opd import BookingOutcome, BookingResult, Intake

# The channel a walk-in patient's messages go to: their own phone, by SMS. While the real
# SMS channel is off, a local stand-in marks them sent, so the SMS texts are exercised.
SMS_CHANNEL = "sms"


class WalkinRecords:
    """A health worker's bookings for walk-in patients, inside the caller's transaction."""

    def __init__(self, session: Session, identity: Identity, now: dt.datetime):
        self.session = session
        self.identity = identity
        self.now = now

    def _worker(self) -> HealthWorker:
        worker = self.session.get(HealthWorker, self.identity.person_id)
        if worker is None:
            raise LookupError("this identity is not a health worker's")
        return worker

    def clinic(self) -> tuple[str, str]:
        """Return the health worker's name and clinic."""
        worker = self._worker()
        return worker.person.name, worker.clinic

    def book(self, patient: WalkIn, opd_id: int, intake: Intake, priority: bool) -> BookingResult:
        """Register the patient on their phone's SMS identity, book the next session, text them."""
        worker = self._worker()
        sms_identity = ensure_identity(self.session, SMS_CHANNEL, patient.phone)
        if sms_identity.language is None:
            sms_identity.language = self.identity.language or "hi"
        if sms_identity.phone is None:
            # Texts reach this number, so it is the patient's: the same person on WhatsApp or
            # Telegram (by a verified number) is this patient, and hears on the channel used last.
            link_verified_phone(self.session, sms_identity, patient.phone)
        person = sms_identity.person
        if person is None:
            person = Person(role=Role.PATIENT, name=patient.name, phone=patient.phone, language=sms_identity.language)
            person.patient = Patient(age=patient.age, sex=patient.sex, state_code="", district=worker.clinic[:80], consent_at=self.now)
            self.session.add(person)
            self.session.flush()
            sms_identity.person_id = person.id
            self.session.flush()
            self.session.refresh(sms_identity)
        elif person.patient is not None:
            person.name, person.patient.age, person.patient.sex = patient.name, patient.age, patient.sex
        bookings = BookingRecords(self.session, sms_identity, self.now)
        result = bookings.book(opd_id, None, intake, priority=priority)
        if result.outcome in (BookingOutcome.CLOSED, BookingOutcome.FULL) and result.offer is not None:
            # The patient is standing at the clinic: take the next session for them.
            result = bookings.book(opd_id, None, intake, priority=priority, day=result.offer.day)
        if result.token is not None:
            token = self.session.get(Token, result.token.id)
            if token is not None:
                token.intake = {**(token.intake or {}), "health_worker_identity": self.identity.id, "health_worker": worker.person.name}
            info = result.token
            queue_push(self.session, sms_identity.id, patient_token_sms(info.number, info.opd_name, info.day, info.position, info.wait_minutes), self.now)
        return result
