"""Walk-in patients booked by a health worker: the database side of flows' Walkins port."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy.orm import Session

from bot.services.booking import BookingRecords
from bot.services.calls import locked_consultation
from bot.services.desk import booked_by
from bot.services.identities import ensure_identity
from bot.services.reminders import ReminderPolicy
from bot.services.visits import record_joining
from bot.services.voice_lines import VOICE, set_call_me
from bot.store.models import HealthWorker, Identity, Patient, Person, Role, Token
from flows.ports import BookingOutcome, BookingResult, Intake, Joined, Party, WalkIn
from flows.steps.voice import spoken_language
from flows.understanding.text import fold

# The channel a walk-in patient's messages go to: their own phone, by SMS. While the real
# SMS channel is off, a local stand-in marks them sent, so the SMS texts are exercised.
SMS_CHANNEL = "sms"


class WalkinRecords:
    """A health worker's bookings for walk-in patients, inside the caller's transaction."""

    def __init__(self, session: Session, identity: Identity, now: dt.datetime, can_ring: bool = False, reminders: ReminderPolicy = ReminderPolicy()):
        self.session = session
        self.reminders = reminders
        self.identity = identity
        self.now = now
        # Whether the voice line places calls (TELEOPD_TWILIO_VOICE_FROM): the runtime says.
        self._can_ring = can_ring

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
        """Register the patient as a person of their own and book the next session; say which chat texts them."""
        worker = self._worker()
        sms_identity = ensure_identity(self.session, SMS_CHANNEL, patient.phone)
        person = self._patient(sms_identity, patient, worker)
        if patient.language is not None:
            # Chosen in front of the health worker for the phone these SMS go to (romanised Hindi
            # when it shows Devanagari as boxes): the number's SMS chat speaks it from now on, even
            # if someone registered on it before (who keeps their own record, language included,
            # and can send LANGUAGE). Else the walk-in's token would come in a script they cannot read.
            person.language = patient.language
            sms_identity.language = patient.language
        if sms_identity.language is None:
            sms_identity.language = patient.language or self.identity.language or "hi"
        bookings = BookingRecords(self.session, sms_identity, self.now, patient=person, reminders=self.reminders)
        result = bookings.book(opd_id, None, intake, priority=priority)
        if result.outcome in (BookingOutcome.CLOSED, BookingOutcome.FULL) and result.offer is not None:
            # The patient is standing at the clinic: take the next session for them.
            result = bookings.book(opd_id, None, intake, priority=priority, day=result.offer.day)
        if result.token is not None:
            token = self.session.get(Token, result.token.id)
            if token is not None:
                token.intake = {
                    **(token.intake or {}),
                    "health_worker_identity": self.identity.id, "health_worker": worker.person.name, "health_worker_clinic": worker.clinic,
                }
            # The health worker's flow tells the patient (flows/steps/health_worker.py): their own SMS chat.
            result = replace(result, patient_chat=Party(sms_identity.id, about=person.id))
        return result

    def can_ring(self) -> bool:
        """Tell whether "the doctor is ready" can be a phone call."""
        return self._can_ring

    def ring(self, phone: str) -> None:
        """Have "the doctor is ready" phone the walk-in's number, spoken in the language of their SMS."""
        line = ensure_identity(self.session, VOICE, phone)
        if line.language is None:
            line.language = spoken_language(ensure_identity(self.session, SMS_CHANNEL, phone).language)
        set_call_me(self.session, line, True)

    def join_with(self, consultation_id: int) -> Joined | None:
        """Record that the health worker joins the call with their walk-in: the doctor is told, the no-show timers stop."""
        consultation = locked_consultation(self.session, consultation_id)
        if consultation is None or booked_by(self.session, consultation.token) != self.identity.id:
            return None  # not a walk-in this health worker booked (a forged or stale button)
        return record_joining(self.session, consultation, self.now)

    def _patient(self, sms_identity: Identity, patient: WalkIn, worker: HealthWorker) -> Person:
        """Return the walk-in as a person of their own: the one this number's texts go to if the name is theirs, else a new one.

        A number typed by a health worker proves nothing (bot/services/identities.py): it is never
        linked to whoever uses it on WhatsApp or Telegram, and nobody registered on it is
        renamed or re-aged. The SMS identity becomes the walk-in's only while nobody holds it;
        the patient's own SMS reply from the number (a verified sender) is what links it further.
        """
        holder = sms_identity.person
        if holder is not None and holder.patient is not None and fold(holder.name) == fold(patient.name):
            return holder  # the same patient, back at the clinic
        person = Person(role=Role.PATIENT, name=patient.name, phone=patient.phone, language=patient.language or sms_identity.language or "hi")
        person.patient = Patient(age=patient.age, sex=patient.sex, state_code="", district=worker.clinic[:80], consent_at=self.now)
        self.session.add(person)
        self.session.flush()
        if holder is None:
            sms_identity.person_id = person.id
            self.session.flush()
            self.session.refresh(sms_identity)
        return person
