"""A doctor's desk: status, calling the next patient, the consultation in hand — the database side of flows' Desk port.

Calling the next patient is one transaction: the next waiting token in the doctor's OPDs
(red-flag priority first, then token order) is selected FOR UPDATE SKIP LOCKED, so two
doctors pressing "next" at once never get the same patient (on SQLite the write lock does
the same); the token is marked called and the consultation row is created. What the patient,
the health worker and the patient at place 3 are told, and the call's timers, come back to
the flow as facts (ConsultationView.call) and leave as the turn's notices: all committed together.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from bot.services.calendar import calling_days
from bot.services.calls import (
    DEFAULT_CALL_WINDOW,
    available,
    close_consultation,
    patient_party,
    queue_moved,
)
from bot.services.media import MediaLinkMaker, token_media
from bot.services.voice_lines import ring_party
from bot.store.models import (
    Consultation,
    ConsultationOutcome,
    Doctor,
    DoctorOpd,
    DoctorStatus,
    Identity,
    Opd,
    Patient,
    Person,
    Role,
    Token,
    TokenStatus,
)
from flows.messages import ByLanguage
from flows.ports import (
    ConsultationView,
    DoctorState,
    DoctorView,
    NewCall,
    Party,
    VisitOutcome,
)
from flows.understanding.india import state_by_code
from flows.understanding.symptoms import lexicon

log = logging.getLogger(__name__)


def symptom_names(codes: list[str] | tuple[str, ...]) -> list[ByLanguage]:
    """Return the names of symptom codes in both languages, for the doctor's summary."""
    by_code = {s.code: s for s in lexicon()}
    return [ByLanguage(en=by_code[c].en, hi=by_code[c].hi) for c in codes if c in by_code]


def consultation_view(session: Session, consultation: Consultation, call: NewCall | None = None) -> ConsultationView:
    """Return what the doctor is shown about a consultation (and, for a call just made, what it changes for others)."""
    token = consultation.token
    person = session.get(Person, consultation.patient_id)
    patient = session.get(Patient, consultation.patient_id)
    doctor = session.get(Person, consultation.doctor_id)
    state = state_by_code(patient.state_code) if patient else None
    intake = consultation.intake or {}
    earlier = session.scalar(
        select(func.count())
        .select_from(Consultation)
        .where(
            Consultation.patient_id == consultation.patient_id,
            Consultation.id != consultation.id,
            Consultation.outcome.in_((ConsultationOutcome.DONE, ConsultationOutcome.REFERRED)),
        )
    )
    return ConsultationView(
        id=consultation.id,
        opd=ByLanguage(en=token.opd.name_en, hi=token.opd.name_hi),
        token_number=token.number,
        patient_name=person.name if person else "",
        age=patient.age if patient else 0,
        sex=patient.sex if patient else "",
        state=ByLanguage(en=state.name_en, hi=state.name_hi) if state else ByLanguage(en="-", hi="-"),
        symptoms=tuple(symptom_names(intake.get("symptoms") or ())),
        own_words=str(intake.get("text") or ""),
        duration=str(intake.get("duration_text") or ""),
        severity=str(intake.get("severity") or ""),
        red_flags=tuple(intake.get("red_flags") or token.red_flags or ()),
        earlier_consultations=earlier or 0,
        room_url=consultation.room_url,
        joined=consultation.joined_at is not None,
        patient=patient_party(token),
        doctor=doctor.name if doctor else "",
        advice=consultation.advice or "",
        health_worker=booked_by(session, token),
        walk_in_phone=(person.phone or "") if intake.get("for_whom") == "walk_in" and person else "",
        clinic=str(intake.get("health_worker_clinic") or ""),
        call=call,
    )


def _ring(session: Session, token: Token) -> Party | None:
    """Return the voice line to phone as well as the SMS, when the patient's number asked for calls (bot/services/voice.py)."""
    person = session.get(Person, token.person_id)
    booker = session.get(Identity, token.identity_id) if token.identity_id is not None else None
    phones = {person.phone if person else None, booker.phone if booker else None, booker.address if booker and booker.channel == "sms" else None}
    return ring_party(session, token.person_id, {p for p in phones if p})


def booked_by(session: Session, token: Token) -> int | None:
    """Return the chat of the health worker who booked this walk-in, while it is still theirs and they are on."""
    identity_id = (token.intake or {}).get("health_worker_identity")
    identity = session.get(Identity, identity_id) if isinstance(identity_id, int) else None
    if identity is None or identity.person is None or identity.person.role != Role.HEALTH_WORKER or identity.person.disabled_at is not None:
        return None  # a new code or a removal unlinked it: whoever has that phone now hears nothing of patients
    return identity.id


class DeskRecords:
    """A doctor's desk, inside the caller's transaction."""

    def __init__(
        self, session: Session, identity: Identity, now: dt.datetime, video_base_url: str, call_window: dt.timedelta = DEFAULT_CALL_WINDOW,
        media_links: MediaLinkMaker | None = None,
    ):
        self.session = session
        self.identity = identity
        self.now = now
        self.video_base_url = video_base_url
        self.call_window = call_window
        # Signs the links to the patient's photos and voice notes in the summary (None: no links).
        self.media_links = media_links

    @property
    def doctor(self) -> Doctor:
        doctor = self.session.get(Doctor, self.identity.person_id)
        if doctor is None:
            raise LookupError("this identity is not a doctor's")
        return doctor

    def _open(self) -> Consultation | None:
        # Locked: a timer (no-show) or the patient (joining, cancelling) may be changing it.
        return self.session.scalars(
            select(Consultation)
            .where(Consultation.doctor_id == self.doctor.person_id, Consultation.outcome.is_(None))
            .order_by(Consultation.id.desc())
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()

    def _callable(self):  # type: ignore[no-untyped-def]
        """Return the condition on Token for the doctor's OPDs and the days they call now (calendar.calling_days)."""
        opds = self.session.scalars(select(Opd).join(DoctorOpd, DoctorOpd.opd_id == Opd.id).where(DoctorOpd.doctor_id == self.doctor.person_id))
        return or_(false(), *(and_(Token.opd_id == opd.id, Token.day.in_(calling_days(opd, self.now))) for opd in opds))

    def view(self) -> DoctorView:
        """Return the doctor's state, queue length and consultation in hand."""
        doctor = self.doctor
        waiting = self.session.scalar(
            select(func.count()).select_from(Token).where(self._callable(), Token.status == TokenStatus.WAITING)
        )
        current = self._open()
        return DoctorView(
            name=doctor.person.name,
            status=doctor.status,
            opds=tuple(ByLanguage(en=o.name_en, hi=o.name_hi) for o in doctor.opds),
            waiting=waiting or 0,
            consultation=consultation_view(self.session, current) if current else None,
            pings_muted=doctor.pings_muted,
        )

    def mute_pings(self, muted: bool) -> None:
        """Stop or restart the doctor's pings (bot/services/pings.py skips a muted doctor)."""
        self.doctor.pings_muted = muted

    def set_status(self, status: DoctorState) -> None:
        """Set the doctor's availability (busy while a consultation is open)."""
        doctor = self.doctor
        doctor.status = DoctorStatus.BUSY if self._open() is not None else DoctorStatus(status.value)
        doctor.status_at = self.now

    def call_next(self) -> ConsultationView | None:
        """Call the next waiting patient in the doctor's OPDs, atomically (none for a doctor turned off)."""
        current = self._open()
        if current is not None:
            return self._with_media(consultation_view(self.session, current), current.token)
        doctor = self.doctor
        if doctor.person.disabled_at is not None:
            return None
        token = self.session.scalars(
            select(Token)
            .where(
                self._callable(),
                Token.status == TokenStatus.WAITING,
                or_(Token.doctor_id.is_(None), Token.doctor_id == doctor.person_id),
            )
            .order_by(Token.priority.desc(), Token.day, Token.number, Token.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if token is None:
            return None
        token.status = TokenStatus.CALLED
        token.called_at = self.now
        patient = self.session.get(Patient, token.person_id)
        call = dict(
            doctor_id=doctor.person_id,
            patient_id=token.person_id,
            opd_id=token.opd_id,
            # An unguessable room: 128 random bits, URL-safe.
            room_url=f"{self.video_base_url}teleopd-{secrets.token_urlsafe(16)}",
            intake=token.intake or {},
            state_code=patient.state_code if patient else None,
            called_at=self.now,
        )
        # A token is in the log once. One whose call was abandoned (its doctor was turned off:
        # bot/services/staff.py) is back in the queue, and this call takes over its row: the log names
        # the doctor who saw the patient.
        consultation = self.session.scalars(select(Consultation).where(Consultation.token_id == token.id)).first()
        if consultation is None:
            consultation = Consultation(token_id=token.id, **call)
            self.session.add(consultation)
        else:
            for name, value in {**call, "reminded_at": None, "joined_at": None, "ended_at": None, "outcome": None}.items():
                setattr(consultation, name, value)
        self.session.flush()
        doctor.status, doctor.status_at = DoctorStatus.BUSY, self.now
        view = consultation_view(self.session, consultation)
        # Last: it may lock the token at place 3 (SKIP LOCKED), which other doctors' NEXT then
        # pass by until this transaction commits.
        moved = queue_moved(self.session, token.opd_id, token.day, self.now)
        log.info("doctor %s called token %s (%s)", doctor.person_id, token.id, "priority" if token.priority else "in order")
        news = NewCall(self.call_window.total_seconds(), moved, ring=_ring(self.session, token))
        return dataclasses.replace(self._with_media(view, token), call=news)

    def _with_media(self, view: ConsultationView, token: Token) -> ConsultationView:
        """Add the patient's kept files, with their links, to the summary."""
        if self.media_links is None:
            return view
        items = token_media(self.session, token)
        return dataclasses.replace(view, media=tuple((item.kind, self.media_links.url(item.id)) for item in items))

    def write(self, text: str, private: bool) -> None:
        """Add advice (for the patient) or a private note to the consultation in hand."""
        current = self._open()
        if current is None:
            return
        if private:
            current.notes = f"{current.notes}\n{text}".strip()
        else:
            current.advice = f"{current.advice}\n{text}".strip()

    def finish(self, outcome: VisitOutcome) -> ConsultationView | None:
        """End the consultation in hand and log it; the flow tells the patient (ConsultationView.patient)."""
        current = self._open()
        if current is None:
            return None
        view = consultation_view(self.session, current)
        # Its timers are stopped by the flow's notices (flows/steps/visit.py ended_notices).
        close_consultation(current, ConsultationOutcome(outcome.value), self.now)
        self.doctor.status, self.doctor.status_at = available(self.doctor), self.now
        return view
