"""A doctor's desk: status, calling the next patient, the consultation in hand — the database side of flows' Desk port.

Calling the next patient is one transaction: the next waiting token in the doctor's OPDs
(red-flag priority first, then token order) is selected FOR UPDATE SKIP LOCKED, so two
doctors pressing "next" at once never get the same patient (on SQLite the write lock does
the same); the token is marked called and the consultation row is created. What the patient,
the health worker and the patient at place 3 are told, and the call's timers, come back to
the flow as facts (ConsultationView.call) and leave as the turn's notices: all committed together.

A follow-up token waits for its own doctor. When that doctor is off duty, any doctor of the OPD
may call it once the grace period (TELEOPD_FOLLOW_UP_GRACE_MINUTES) has passed both since the
doctor went off duty and since the token's session began: the patient is not left waiting for a
doctor who is away, and a doctor a little late to their session still finds their follow-ups.

The summary lists the patient's own last consultations (this person's, never another's on the
same phone or chat): date, doctor, advice and the private notes, which only doctors see.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from bot.outbox.timers import cancel, schedule
from bot.platform.clock import IST
from bot.services.calendar import calling_days, round_the_clock
from bot.services.calls import (
    DEFAULT_CALL_WINDOW,
    available,
    close_consultation,
    patient_party,
    queue_moved,
)
from bot.services.media import MediaLinkMaker, token_media
from bot.services.reminders import ReminderPolicy, watch_missed_call
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
    FollowUpOf,
    NewCall,
    Party,
    PastConsultation,
    VisitOutcome,
)
from flows.understanding.india import state_by_code
from flows.understanding.symptoms import lexicon

log = logging.getLogger(__name__)

# How many earlier consultations the doctor's summary lists: enough to see a course of care,
# few enough for a phone's screen.
HISTORY_SHOWN = 3
SEEN = (ConsultationOutcome.DONE, ConsultationOutcome.REFERRED)
# How long a follow-up waits for its own doctor who is off duty (TELEOPD_FOLLOW_UP_GRACE_MINUTES).
DEFAULT_FOLLOW_UP_GRACE = dt.timedelta(minutes=30)
# Fires when a follow-up may have become anyone's: the OPD's free doctors are pinged if it has
# (bot/services/pings.py on_follow_up_open).
FOLLOW_UP_TIMER = "follow_up_open"


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
        .where(Consultation.patient_id == consultation.patient_id, Consultation.id != consultation.id, Consultation.outcome.in_(SEEN))
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
        history=past_consultations(session, consultation),
        follow_up_of=_follows(session, token),
    )


def past_consultations(session: Session, consultation: Consultation, limit: int = HISTORY_SHOWN) -> tuple[PastConsultation, ...]:
    """Return the patient's last consultations before this one, newest first (with the private notes: for doctors only).

    By the patient's own person, not their phone or chat: a family member or a walk-in sharing
    the number is someone else, with a history of their own. An erased patient's consultations
    keep no advice, notes or intake (bot/services/erasure.py), and their person is never anyone's again.
    """
    rows = session.execute(
        select(Consultation, Person.name)
        .join(Person, Person.id == Consultation.doctor_id)
        .where(Consultation.patient_id == consultation.patient_id, Consultation.id != consultation.id, Consultation.outcome.in_(SEEN))
        .order_by(Consultation.called_at.desc(), Consultation.id.desc())
        .limit(limit)
    ).all()
    return tuple(
        PastConsultation(
            day=past.called_at.astimezone(IST).date(),
            doctor=doctor,
            advice=past.advice or "",
            notes=past.notes or "",
            red_flags=tuple((past.intake or {}).get("red_flags") or ()),
            referred=past.outcome == ConsultationOutcome.REFERRED,
        )
        for past, doctor in rows
    )


def _follow_up_id(token: Token) -> int | None:
    """Return the consultation a follow-up token was booked after (bot/services/visits.py follow_up), None for another token."""
    value = (token.intake or {}).get("follow_up_of")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _follows(session: Session, token: Token) -> FollowUpOf | None:
    """Return whose consultation, and of which day, a follow-up token follows."""
    followed_id = _follow_up_id(token)
    followed = session.get(Consultation, followed_id) if followed_id is not None else None
    if followed is None:
        return None
    doctor = session.get(Person, followed.doctor_id)
    return FollowUpOf(doctor.name if doctor else "", followed.called_at.astimezone(IST).date())


def session_began(opd: Opd, day: dt.date) -> dt.datetime:
    """Return when the OPD's session of a day began (midnight in India for a round-the-clock OPD)."""
    return dt.datetime.combine(day, dt.time(0) if round_the_clock(opd) else opd.opens_at, IST)


def away_doctors(now: dt.datetime, grace: dt.timedelta):  # type: ignore[no-untyped-def]
    """Return the doctors off duty for the grace period or longer, as a subquery (their follow-ups are anyone's)."""
    return select(Doctor.person_id).where(Doctor.status == DoctorStatus.OFFLINE, Doctor.status_at <= now - grace)


def callable_by(doctor_id: int, opd: Opd, day: dt.date, now: dt.datetime, grace: dt.timedelta):  # type: ignore[no-untyped-def]
    """Return the condition on Token for the tokens of one OPD's day that this doctor may call.

    Any token but another doctor's follow-up; that too once its doctor has been off duty for the
    grace period and the day's session has been going on for as long.
    """
    mine = or_(Token.doctor_id.is_(None), Token.doctor_id == doctor_id)
    if session_began(opd, day) > now - grace:
        return mine
    return or_(mine, Token.doctor_id.in_(away_doctors(now, grace)))


def open_to_any_doctor(session: Session, token: Token, now: dt.datetime, grace: dt.timedelta) -> bool:
    """Tell whether any doctor of the OPD may call a follow-up token now (callable_by's rule, for one token)."""
    if token.doctor_id is None:
        return True
    doctor = session.get(Doctor, token.doctor_id)
    if doctor is None:
        return True
    return doctor.status == DoctorStatus.OFFLINE and doctor.status_at <= now - grace and session_began(token.opd, token.day) <= now - grace


def watch_follow_up(session: Session, token: Token, now: dt.datetime, grace: dt.timedelta) -> None:
    """Set the timer that pings the OPD's free doctors if the follow-up becomes anyone's: grace after the later of now and its session's start."""
    due = max(now, session_began(token.opd, token.day)) + grace
    schedule(session, FOLLOW_UP_TIMER, due, {"token": token.id, "grace_seconds": int(grace.total_seconds())}, key=f"token:{token.id}")


def unwatch_follow_up(session: Session, token_id: int) -> None:
    """Stop the timer of a follow-up that is no longer waiting (moved to another day)."""
    cancel(session, FOLLOW_UP_TIMER, f"token:{token_id}")


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
        follow_up_grace: dt.timedelta = DEFAULT_FOLLOW_UP_GRACE,
        media_links: MediaLinkMaker | None = None, reminders: ReminderPolicy = ReminderPolicy(),
    ):
        self.session = session
        self.identity = identity
        self.now = now
        self.video_base_url = video_base_url
        self.call_window = call_window
        self.follow_up_grace = follow_up_grace
        # Signs the links to the patient's photos and voice notes in the summary (None: no links).
        self.media_links = media_links
        # When a patient who never answered is asked whether they still need a doctor (NO SHOW).
        self.reminders = reminders

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
        """Return the condition on Token for the tokens this doctor may call now: their OPDs' calling days
        (calendar.calling_days), other doctors' follow-ups only after the grace period (callable_by)."""
        doctor_id = self.doctor.person_id
        opds = self.session.scalars(select(Opd).join(DoctorOpd, DoctorOpd.opd_id == Opd.id).where(DoctorOpd.doctor_id == doctor_id))
        return or_(
            false(),
            *(
                and_(Token.opd_id == opd.id, Token.day == day, callable_by(doctor_id, opd, day, self.now, self.follow_up_grace))
                for opd in opds
                for day in calling_days(opd, self.now)
            ),
        )

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
        """Set the doctor's availability (busy while a consultation is open); off duty, their follow-ups waiting now are watched."""
        doctor = self.doctor
        doctor.status = DoctorStatus.BUSY if self._open() is not None else DoctorStatus(status.value)
        doctor.status_at = self.now
        if doctor.status == DoctorStatus.OFFLINE:
            opds = {opd.id: calling_days(opd, self.now) for opd in doctor.opds}
            waiting = self.session.scalars(
                select(Token).where(Token.doctor_id == doctor.person_id, Token.status == TokenStatus.WAITING, Token.opd_id.in_(opds))
            )
            for token in waiting:
                if token.day in opds[token.opd_id]:
                    watch_follow_up(self.session, token, self.now, self.follow_up_grace)

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
            .where(self._callable(), Token.status == TokenStatus.WAITING)
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
            follow_up_of=_follow_up_id(token),
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
        if current.outcome == ConsultationOutcome.NO_SHOW:
            watch_missed_call(self.session, current.token, self.now, self.reminders)  # "do you still need a doctor?", hours later
        self.doctor.status, self.doctor.status_at = available(self.doctor), self.now
        return view
