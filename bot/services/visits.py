"""A patient's side of consultations: joining, declining, rating, a follow-up — the database side of flows' Visits port.

Each method records what the patient did and returns the facts the flow needs to tell the
doctor (flows/steps/visit.py joining_notices, released_notices); none queues a message itself.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.platform.clock import IST
from bot.services.booking import BookingRecords
from bot.services.calendar import upcoming_sessions
from bot.services.calls import (
    doctor_name,
    doctor_party,
    end_without_doctor,
    locked_consultation,
)
from bot.services.desk import DEFAULT_FOLLOW_UP_GRACE, watch_follow_up
from bot.services.reminders import ReminderPolicy
from bot.store.models import (
    Consultation,
    ConsultationOutcome,
    Identity,
    Token,
    TokenStatus,
)
from flows.ports import BookingOutcome, CallEnd, CallEnded, CallState, Intake, Joined

# How each way a consultation closes reads to the patient it called.
CALL_ENDS = {
    ConsultationOutcome.DONE: CallEnd.ADVISED,
    ConsultationOutcome.REFERRED: CallEnd.ADVISED,
    ConsultationOutcome.NO_SHOW: CallEnd.MISSED,
    ConsultationOutcome.CANCELLED: CallEnd.CANCELLED,
    ConsultationOutcome.ABANDONED: CallEnd.HANDED_BACK,
}


def record_joining(session: Session, consultation: Consultation | None, now: dt.datetime) -> Joined | None:
    """Record that someone is joining the call (the patient, or a walk-in's health worker with them); None if it is over."""
    if consultation is None or consultation.outcome is not None:
        return None
    if consultation.joined_at is not None:
        return Joined(consultation.id, consultation.token.number, None, first=False)
    consultation.joined_at = now
    consultation.token.status = TokenStatus.IN_CONSULTATION
    return Joined(consultation.id, consultation.token.number, doctor_party(session, consultation.doctor_id, last_spoken=True))


class VisitRecords:
    """A patient's side of consultations, inside the caller's transaction."""

    def __init__(
        self, session: Session, identity: Identity, now: dt.datetime, follow_up_grace: dt.timedelta = DEFAULT_FOLLOW_UP_GRACE,
        reminders: ReminderPolicy = ReminderPolicy(),
    ):
        self.session = session
        self.reminders = reminders
        self.identity = identity
        self.now = now
        self.follow_up_grace = follow_up_grace

    def _mine(self, consultation_id: int) -> Consultation | None:
        consultation = locked_consultation(self.session, consultation_id)
        if consultation is None or consultation.token.identity_id != self.identity.id:
            return None
        return consultation

    def join(self, consultation_id: int) -> Joined | None:
        """Record that the patient is joining; return the doctor to tell (the first time only), None if the call is over."""
        consultation = self._mine(consultation_id)
        return record_joining(self.session, consultation, self.now)

    def decline(self, consultation_id: int) -> CallEnded | None:
        """The patient cannot come: close the call as a no-show and free the doctor; return who to tell."""
        consultation = self._mine(consultation_id)
        if consultation is None or consultation.outcome is not None:
            return None
        return end_without_doctor(self.session, consultation, ConsultationOutcome.NO_SHOW, self.now)

    def call(self, consultation_id: int) -> CallState | None:
        """Return where the patient's call stands now, read from the log (a move of their chat may have been skipped)."""
        consultation = self.session.get(Consultation, consultation_id)
        if consultation is None or consultation.token.identity_id != self.identity.id:
            return None
        ended = CALL_ENDS[ConsultationOutcome(consultation.outcome)] if consultation.outcome is not None else None
        return CallState(consultation.token.number, doctor_name(self.session, consultation.doctor_id), ended, rated=consultation.rating is not None)

    def rate(self, consultation_id: int, stars: int) -> bool:
        """Record a 1-5 rating once."""
        consultation = self._mine(consultation_id)
        if consultation is None or consultation.rating is not None or not 1 <= stars <= 5 or consultation.outcome is None:
            return False
        consultation.rating = stars
        return True

    def follow_up(self, consultation_id: int) -> dt.date | None:
        """Book the same patient with the same doctor at the OPD's next session after today."""
        consultation = self._mine(consultation_id)
        if consultation is None:
            return None
        today = self.now.astimezone(IST).date()
        opd = consultation.token.opd
        bookings = BookingRecords(self.session, self.identity, self.now, follow_up_grace=self.follow_up_grace, reminders=self.reminders)
        for session_ in upcoming_sessions(opd, self.now):
            if session_.day <= today:
                continue
            intake = Intake(text="follow-up", for_whom="self")
            result = bookings.book(opd.id, consultation.patient_id, intake, priority=False, day=session_.day)
            if result.outcome in (BookingOutcome.BOOKED, BookingOutcome.EXISTING) and result.token is not None:
                token = self.session.get(Token, result.token.id)
                if token is not None:
                    token.doctor_id = consultation.doctor_id
                    token.intake = {**(token.intake or {}), "follow_up_of": consultation.id}
                    # If that doctor is away when its session comes, the OPD's other doctors hear of it.
                    watch_follow_up(self.session, token, self.now, self.follow_up_grace)
                return session_.day
        return None
