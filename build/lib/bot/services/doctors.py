"""The clinic's side: a doctor's desk, calling the next patient, the consultation log, the call timers.

Calling the next patient is one transaction: the next waiting token in the doctor's OPDs
(red-flag priority first, then token order) is selected FOR UPDATE SKIP LOCKED, so two
doctors pressing "next" at once never get the same patient (on SQLite the write lock does
the same); the token is marked called, the consultation row is created, the patient's
message and the no-answer timer are queued — all committed together.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from bot.outbox import timers
from bot.platform.ratelimit import RateLimiter
from bot.services.booking import (
    IST,
    BookingRecords,
    calling_days,
    queue_position,
    upcoming_sessions,
)
from bot.services.enrolment import GuessBudget, enrol
from bot.services.identities import notification_identity
from bot.store.models import (
    Consultation,
    ConsultationOutcome,
    Conversation,
    Doctor,
    DoctorOpd,
    DoctorStatus,
    Identity,
    Opd,
    OutboxMessage,
    Patient,
    Person,
    Role,
    Token,
    TokenStatus,
)
from flows.messages import ByLanguage, Reply, reply_to_json
from flows.ports import (
    BookingOutcome,
    ConsultationView,
    DoctorState,
    DoctorView,
    Intake,
    VisitOutcome,
)
from flows.steps import visit
from flows.steps.health_worker import worker_call_notice
from flows.understanding.india import state_by_code
from flows.understanding.symptoms import lexicon

log = logging.getLogger(__name__)

# eSanjeevani's own window for a patient to answer a call: one reminder after it, then a
# no-show after a second window (TELEOPD_CALL_WINDOW_SECONDS).
DEFAULT_CALL_WINDOW = dt.timedelta(seconds=120)
# Patients told to get ready when they reach this place in the queue.
GET_READY_AT = 3
# Conversation steps where nothing is half-done, so a pushed call can take the patient's
# typed answer ("1", "aa raha hoon") as its own.
IDLE_STEPS = (None, "menu")


def symptom_names(codes: list[str] | tuple[str, ...]) -> list[ByLanguage]:
    """Return the names of symptom codes in both languages, for the doctor's summary."""
    by_code = {s.code: s for s in lexicon()}
    return [ByLanguage(en=by_code[c].en, hi=by_code[c].hi) for c in codes if c in by_code]


def queue_push(session: Session, identity_id: int | None, reply: Reply, now: dt.datetime, about: int | None = None) -> None:
    """Queue a message to a person where they last wrote from, in that identity's language, in the caller's transaction.

    `about` is the patient a token message concerns (see notification_identity).
    """
    if identity_id is None:
        return
    identity = notification_identity(session, identity_id, about)
    if identity is None:
        return
    queue_to(session, identity, reply, now)


def queue_to(session: Session, identity: Identity, reply: Reply, now: dt.datetime) -> None:
    """Queue a message to this very identity, in its language, in the caller's transaction."""
    session.add(
        OutboxMessage(
            identity_id=identity.id,
            channel=identity.channel,
            address=identity.address,
            language=identity.language or (identity.person.language if identity.person else None) or "en",
            kind=reply.kind,
            payload=reply_to_json(reply),
            due_at=now,
        )
    )


def move_conversation(session: Session, identity_id: int | None, step: str, data: dict[str, object], only_if_idle: bool) -> None:
    """Put an identity's conversation at a step (when it is idle, if asked), so typed answers fit."""
    if identity_id is None:
        return
    # SKIP LOCKED: the other side may be in the middle of a message of their own, holding
    # their conversation while waiting for the consultation row we hold. Waiting here could
    # deadlock; skipping only means their typed answers go through the buttons instead.
    conv = session.scalars(
        select(Conversation).where(Conversation.identity_id == identity_id).with_for_update(skip_locked=True)
    ).first()
    if conv is None or (only_if_idle and conv.step not in IDLE_STEPS):
        return
    conv.step = step
    conv.data = {**{k: v for k, v in (conv.data or {}).items() if k in ("red_flags",)}, **data}
    conv.version += 1


def locked_consultation(session: Session, consultation_id: int) -> Consultation | None:
    """Return a consultation locked for this transaction, read fresh after the lock.

    A no-show timer and the patient's "joining" can arrive together: whoever takes the lock
    second sees what the first decided.
    """
    return session.get(Consultation, consultation_id, with_for_update=True, populate_existing=True)


def doctor_name(session: Session, doctor_id: int) -> str:
    """Return a doctor's name."""
    person = session.get(Person, doctor_id)
    return person.name if person else ""


def consultation_view(session: Session, consultation: Consultation) -> ConsultationView:
    """Return what the doctor is shown about a consultation."""
    token = consultation.token
    person = session.get(Person, consultation.patient_id)
    patient = session.get(Patient, consultation.patient_id)
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
    )


def notify_get_ready(session: Session, opd_id: int, day: dt.date, now: dt.datetime, retry: bool = True) -> None:
    """Tell the patient who has just reached place 3 to get ready (once)."""
    waiting = session.scalars(
        select(Token)
        .where(Token.opd_id == opd_id, Token.day == day, Token.status == TokenStatus.WAITING)
        .order_by(Token.priority.desc(), Token.number)
        .limit(GET_READY_AT)
    ).all()
    if len(waiting) < GET_READY_AT:
        return
    candidate = waiting[GET_READY_AT - 1]
    # Another doctor may be calling this very token: skip it rather than wait for its lock.
    token = session.scalars(
        select(Token).where(Token.id == candidate.id, Token.ready_notified_at.is_(None), Token.status == TokenStatus.WAITING).with_for_update(skip_locked=True)
    ).first()
    if token is None:
        if retry:
            # Locked by another doctor's call right now: look again once that call has
            # committed, from the timer runner, instead of waiting for the lock here.
            timers.schedule(session, "get_ready", now, {"opd": opd_id, "day": day.isoformat()}, key=f"get_ready:{opd_id}:{day.isoformat()}")
        return
    if queue_position(session, token) == GET_READY_AT:
        token.ready_notified_at = now
        queue_push(session, token.identity_id, visit.get_ready(ByLanguage(en=token.opd.name_en, hi=token.opd.name_hi), token.number), now, about=token.person_id)


def close_consultation(session: Session, consultation: Consultation, outcome: ConsultationOutcome, now: dt.datetime) -> None:
    """End a consultation in the log, free its token and stop its timers."""
    consultation.outcome = outcome
    consultation.ended_at = now
    token = consultation.token
    token.status = {
        ConsultationOutcome.NO_SHOW: TokenStatus.NO_SHOW,
        ConsultationOutcome.CANCELLED: TokenStatus.CANCELLED,
    }.get(outcome, TokenStatus.DONE)
    token.started_at = consultation.joined_at or consultation.called_at
    token.ended_at = now
    timers.cancel(session, "call_reminder", f"consultation:{consultation.id}")
    timers.cancel(session, "call_no_show", f"consultation:{consultation.id}")


class DeskRecords:
    """A doctor's desk, inside the caller's transaction."""

    def __init__(self, session: Session, identity: Identity, now: dt.datetime, video_base_url: str, call_window: dt.timedelta = DEFAULT_CALL_WINDOW):
        self.session = session
        self.identity = identity
        self.now = now
        self.video_base_url = video_base_url
        self.call_window = call_window

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

    def _opd_ids(self) -> list[int]:
        return list(self.session.scalars(select(DoctorOpd.opd_id).where(DoctorOpd.doctor_id == self.doctor.person_id)))

    def _callable(self):  # type: ignore[no-untyped-def]
        """Return the condition on Token for the doctor's OPDs and the days they call now (booking.calling_days)."""
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
        )

    def set_status(self, status: DoctorState) -> None:
        """Set the doctor's availability (busy while a consultation is open)."""
        doctor = self.doctor
        doctor.status = DoctorStatus.BUSY if self._open() is not None else DoctorStatus(status.value)
        doctor.status_at = self.now

    def call_next(self) -> ConsultationView | None:
        """Call the next waiting patient in the doctor's OPDs, atomically (none for a doctor turned off)."""
        current = self._open()
        if current is not None:
            return consultation_view(self.session, current)
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
        name = doctor.person.name
        queue_push(self.session, token.identity_id, visit.doctor_ready(consultation.id, name, consultation.room_url), self.now, about=token.person_id)
        move_conversation(
            self.session, token.identity_id, "called",
            {"consultation": consultation.id, "doctor": name, "room": consultation.room_url}, only_if_idle=True,
        )
        timers.schedule(
            self.session, "call_reminder", self.now + self.call_window,
            {"consultation": consultation.id, "window": self.call_window.total_seconds()},
            identity_id=token.identity_id, key=f"consultation:{consultation.id}",
        )
        worker = self._booked_by(token)
        if worker is not None:
            patient_person = self.session.get(Person, token.person_id)
            queue_to(self.session, worker, worker_call_notice(token.number, patient_person.name if patient_person else ""), self.now)
        notify_get_ready(self.session, token.opd_id, token.day, self.now)
        log.info("doctor %s called token %s (%s)", doctor.person_id, token.id, "priority" if token.priority else "in order")
        return consultation_view(self.session, consultation)

    def _booked_by(self, token: Token) -> Identity | None:
        """Return the chat of the health worker who booked this walk-in, while it is still theirs and they are on."""
        identity_id = (token.intake or {}).get("health_worker_identity")
        identity = self.session.get(Identity, identity_id) if isinstance(identity_id, int) else None
        if identity is None or identity.person is None or identity.person.role != Role.HEALTH_WORKER or identity.person.disabled_at is not None:
            return None  # a new code or a removal unlinked it: whoever has that phone now hears nothing of patients
        return identity

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
        """End the consultation in hand, log it, and tell the patient."""
        current = self._open()
        if current is None:
            return None
        view = consultation_view(self.session, current)
        close_consultation(self.session, current, ConsultationOutcome(outcome.value), self.now)
        identity_id = current.token.identity_id
        if outcome is VisitOutcome.NO_SHOW:
            queue_push(self.session, identity_id, visit.missed(), self.now, about=current.patient_id)
        else:
            name = self.doctor.person.name
            queue_push(self.session, identity_id, visit.advice(current.id, name, current.advice), self.now, about=current.patient_id)
            move_conversation(self.session, identity_id, "rating", {"consultation": current.id}, only_if_idle=True)
        self.doctor.status, self.doctor.status_at = available(self.doctor), self.now
        return view


class VisitRecords:
    """A patient's side of consultations, inside the caller's transaction."""

    def __init__(self, session: Session, identity: Identity, now: dt.datetime):
        self.session = session
        self.identity = identity
        self.now = now

    def _mine(self, consultation_id: int) -> Consultation | None:
        consultation = locked_consultation(self.session, consultation_id)
        if consultation is None or consultation.token.identity_id != self.identity.id:
            return None
        return consultation

    def join(self, consultation_id: int) -> bool:
        """Record that the patient is joining, and tell the doctor."""
        consultation = self._mine(consultation_id)
        if consultation is None or consultation.outcome is not None:
            return False
        if consultation.joined_at is None:
            consultation.joined_at = self.now
            consultation.token.status = TokenStatus.IN_CONSULTATION
            timers.cancel(self.session, "call_reminder", f"consultation:{consultation.id}")
            timers.cancel(self.session, "call_no_show", f"consultation:{consultation.id}")
            doctor_identity = self._doctor_identity(consultation)
            queue_push(self.session, doctor_identity, doctor_notice("joining", consultation), self.now)
        return True

    def decline(self, consultation_id: int) -> None:
        """The patient cannot come: close the call as a no-show and free the doctor."""
        consultation = self._mine(consultation_id)
        if consultation is None or consultation.outcome is not None:
            return
        close_consultation(self.session, consultation, ConsultationOutcome.NO_SHOW, self.now)
        release_doctor(self.session, consultation, "declined", self.now)

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
        bookings = BookingRecords(self.session, self.identity, self.now)
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
                return session_.day
        return None

    def _doctor_identity(self, consultation: Consultation) -> int | None:
        return self.session.scalar(select(Identity.id).where(Identity.person_id == consultation.doctor_id).order_by(Identity.last_inbound_at.desc().nulls_last()).limit(1))


class AccountRecords:
    """Enrolment, inside the caller's transaction; refused codes counted by the limiter (bot/services/enrolment.py)."""

    def __init__(self, session: Session, identity: Identity, now: dt.datetime, limiter: RateLimiter | None = None, budget: GuessBudget = GuessBudget()):
        self.session = session
        self.identity = identity
        self.now = now
        self.limiter = limiter
        self.budget = budget

    def enrol(self, code: str) -> tuple[str, str | None, str | None]:
        """Use a one-time code for this identity."""
        result = enrol(self.session, self.identity, code, self.now, self.limiter, self.budget)
        return result.result.value, result.role, result.name


def doctor_notice(kind: str, consultation: Consultation) -> Reply:
    """Return a message for the doctor about their consultation."""
    from flows.steps.doctor import notice

    return notice(kind, consultation.token.number)


def available(doctor: Doctor) -> DoctorStatus:
    """Return a doctor's status once their call is over: free, unless their account was turned off meanwhile."""
    return DoctorStatus.OFFLINE if doctor.person.disabled_at is not None else DoctorStatus.FREE


def release_doctor(session: Session, consultation: Consultation, why: str, now: dt.datetime) -> None:
    """Free the doctor after a call ended without them, tell them, and put their chat back home."""
    doctor = session.get(Doctor, consultation.doctor_id)
    if doctor is not None:
        doctor.status, doctor.status_at = available(doctor), now
    identity_id = session.scalar(select(Identity.id).where(Identity.person_id == consultation.doctor_id).order_by(Identity.id.desc()).limit(1))
    queue_push(session, identity_id, doctor_notice(why, consultation), now)
    move_conversation(session, identity_id, "doctor_home", {}, only_if_idle=False)


def on_call_reminder(session: Session, timer: object, now: dt.datetime) -> None:
    """First window over with no answer: remind the patient once, then wait a second window."""
    payload = getattr(timer, "payload", {}) or {}
    consultation = locked_consultation(session, int(payload.get("consultation", 0)))
    if consultation is None or consultation.outcome is not None or consultation.joined_at is not None:
        return
    consultation.reminded_at = now
    name = doctor_name(session, consultation.doctor_id)
    queue_push(session, consultation.token.identity_id, visit.reminder(consultation.id, name, consultation.room_url), now, about=consultation.patient_id)
    window = dt.timedelta(seconds=float(payload.get("window", DEFAULT_CALL_WINDOW.total_seconds())))
    timers.schedule(
        session, "call_no_show", now + window, {"consultation": consultation.id},
        identity_id=consultation.token.identity_id, key=f"consultation:{consultation.id}",
    )


def on_call_no_show(session: Session, timer: object, now: dt.datetime) -> None:
    """Second window over: the patient is a no-show; the doctor is offered the next patient."""
    payload = getattr(timer, "payload", {}) or {}
    consultation = locked_consultation(session, int(payload.get("consultation", 0)))
    if consultation is None or consultation.outcome is not None or consultation.joined_at is not None:
        return
    close_consultation(session, consultation, ConsultationOutcome.NO_SHOW, now)
    queue_push(session, consultation.token.identity_id, visit.missed(), now, about=consultation.patient_id)
    release_doctor(session, consultation, "no_show", now)


def cancel_call(session: Session, token: Token, now: dt.datetime) -> None:
    """The patient cancelled after being called: log the call as cancelled and free the doctor."""
    consultation = session.scalars(
        select(Consultation).where(Consultation.token_id == token.id, Consultation.outcome.is_(None)).with_for_update()
    ).first()
    if consultation is None:
        return
    close_consultation(session, consultation, ConsultationOutcome.CANCELLED, now)
    token.status = TokenStatus.CANCELLED
    release_doctor(session, consultation, "declined", now)


def on_get_ready(session: Session, timer: object, now: dt.datetime) -> None:
    """Look again for the patient at place 3, after a call that held their token has committed."""
    payload = getattr(timer, "payload", {}) or {}
    notify_get_ready(session, int(payload["opd"]), dt.date.fromisoformat(str(payload["day"])), now, retry=False)


TIMER_HANDLERS = {"call_reminder": on_call_reminder, "call_no_show": on_call_no_show, "get_ready": on_get_ready}
