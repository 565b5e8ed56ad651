"""OPD sessions, tokens, queue positions and waits: the database side of Bookings.

A token's gap-free number and its row are bot/services/token_numbers.py's: one counter row per
OPD and day, moved on in the booking's transaction, so a rollback takes the number back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import statistics
from collections.abc import Sequence

from sqlalchemy import Select, bindparam, or_, select, true
from sqlalchemy.orm import Session as DbSession

from bot.platform.clock import IST
from bot.services.calendar import (
    LOOKAHEAD_DAYS,
    ahead_statement,
    calling_days,
    is_open,
    session_on,
    upcoming_sessions,
)
from bot.services.calls import cancel_token
from bot.services.desk import (
    DEFAULT_FOLLOW_UP_GRACE,
    unwatch_follow_up,
    watch_follow_up,
)
from bot.services.pings import pings_for
from bot.services.reminders import ReminderPolicy, drop, plan
from bot.services.token_numbers import book_token, has_room
from bot.store.models import (
    LIVE_TOKEN_STATUSES,
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
    BookingOutcome,
    BookingResult,
    Cancelled,
    Dependent,
    Intake,
    OpdInfo,
    Session,
    TokenInfo,
)

# The wait estimate uses the OPD's own recent consultations once it has this many.
MIN_CONSULTATIONS_FOR_ESTIMATE = 5
RECENT_CONSULTATIONS = 50


def minutes_per_patient(session: DbSession, opd: Opd) -> tuple[int, bool]:
    """Return the median length of the OPD's recent consultations, and whether it is the default."""
    return _minutes_from(session.execute(_recent_consultations_statement(), {"b_opd_id": opd.id}).all(), opd)


def _minutes_from(rows: Sequence[tuple[dt.datetime, dt.datetime]], opd: Opd) -> tuple[int, bool]:
    durations = [(end - start).total_seconds() / 60 for start, end in rows if end > start]
    if len(durations) < MIN_CONSULTATIONS_FOR_ESTIMATE:
        return opd.consult_minutes, True
    return max(1, round(statistics.median(durations))), False


# The statements every booking runs, built once (a statement built per call pays for its
# construction and its cache key each time; bot/dispatch_store.py says more).

@functools.cache
def _active_opds_statement() -> Select[tuple[Opd]]:
    return select(Opd).where(Opd.active.is_(True)).order_by(Opd.id)


@functools.cache
def _dependent_ids_statement() -> Select[tuple[int]]:
    return select(Person.id).where(Person.guardian_id == bindparam("b_guardian"))


@functools.cache
def _dependents_statement() -> Select[tuple[Person, Patient]]:
    return select(Person, Patient).join(Patient, Patient.person_id == Person.id).where(Person.guardian_id == bindparam("b_guardian")).order_by(Person.id)


@functools.cache
def _lock_family_member() -> Select[tuple[int]]:
    """The person b_person, locked, if it is b_me or one b_me is guardian of."""
    return (
        select(Person.id)
        .where(Person.id == bindparam("b_person"), or_(Person.id == bindparam("b_me"), Person.guardian_id == bindparam("b_me")))
        .with_for_update()
    )


@functools.cache
def _live_token_statement() -> Select[tuple[Token]]:
    """A person's live token of an OPD's day."""
    return select(Token).where(
        Token.opd_id == bindparam("b_opd_id"), Token.day == bindparam("b_day"), Token.person_id == bindparam("b_person"),
        Token.status.in_(LIVE_TOKEN_STATUSES),
    )


@functools.cache
def _recent_consultations_statement() -> Select[tuple[dt.datetime, dt.datetime]]:
    return (
        select(Token.started_at, Token.ended_at)
        .where(Token.opd_id == bindparam("b_opd_id"), Token.status == TokenStatus.DONE, Token.started_at.is_not(None), Token.ended_at.is_not(None))
        .order_by(Token.ended_at.desc())
        .limit(RECENT_CONSULTATIONS)
    )


@functools.cache
def _place_and_recent_statement(priority: bool) -> Select[tuple[int, dt.datetime | None, dt.datetime | None]]:
    """A waiting token's count of tokens ahead beside the OPD's recent consultations, a row each (one row
    of NULLs when it has none yet): a booking's and a "where am I"'s two reads in one round trip."""
    ahead = ahead_statement(priority).subquery("ahead")
    recent = _recent_consultations_statement().subquery("recent")
    return select(ahead.c.ahead, recent.c.started_at, recent.c.ended_at).select_from(ahead.outerjoin(recent, true()))


def opd_info(opd: Opd, now: dt.datetime) -> OpdInfo:
    """Return what flows are told about an OPD."""
    nxt = next(iter(upcoming_sessions(opd, now)), None)
    return OpdInfo(
        id=opd.id,
        code=opd.code,
        specialty=opd.specialty,
        name=ByLanguage(en=opd.name_en, hi=opd.name_hi),
        open_now=is_open(opd, now),
        next_session=nxt.starts_at if nxt else now + dt.timedelta(days=LOOKAHEAD_DAYS),
    )


def token_info(session: DbSession, token: Token, now: dt.datetime) -> TokenInfo:
    """Return a token with its position and estimated wait."""
    opd = token.opd
    if token.status == TokenStatus.WAITING:
        rows = session.execute(
            _place_and_recent_statement(bool(token.priority)), {"b_opd_id": token.opd_id, "b_day": token.day, "b_number": token.number},
        ).all()
        position = rows[0].ahead + 1
        recent = [(row.started_at, row.ended_at) for row in rows if row.started_at is not None]
    else:
        position = 0
        recent = session.execute(_recent_consultations_statement(), {"b_opd_id": opd.id}).all()
    minutes, default = _minutes_from(recent, opd)
    found = session_on(opd, token.day, now)
    starts_at = found.starts_at if found else dt.datetime.combine(token.day, opd.opens_at, IST).astimezone(dt.UTC)
    return TokenInfo(
        id=token.id,
        opd_id=token.opd_id,
        opd_name=ByLanguage(en=opd.name_en, hi=opd.name_hi),
        opd_code=opd.code,
        number=token.number,
        day=token.day,
        starts_at=starts_at,
        position=position,
        wait_minutes=max(position - 1, 0) * minutes,
        wait_is_estimate_default=default,
        minutes_per_patient=minutes,
        patient_name=token.person.name,
        priority=token.priority,
        status=token.status,
        today=token.day == now.astimezone(IST).date(),
        follow_up_doctor=_doctor_name(session, token.doctor_id),
    )


def _doctor_name(session: DbSession, doctor_id: int | None) -> str:
    person = session.get(Person, doctor_id) if doctor_id is not None else None
    return person.name if person is not None else ""


class BookingRecords:
    """Bookings for the person behind one identity, inside the caller's transaction."""

    def __init__(
        self, session: DbSession, identity: Identity, now: dt.datetime, patient: Person | None = None,
        follow_up_grace: dt.timedelta = DEFAULT_FOLLOW_UP_GRACE, reminders: ReminderPolicy = ReminderPolicy(),
    ):
        self.session = session
        self.identity = identity
        self.now = now
        # How long a moved follow-up waits for its own doctor who is away (bot/services/desk.py).
        self.follow_up_grace = follow_up_grace
        # When a new token is reminded (bot/services/reminders.py).
        self.reminders = reminders
        # Who books, when not the identity's own person: a walk-in whose number's texts
        # already reach someone else registered on it (bot/services/walkins.py).
        self.patient = patient
        self._active_opds: list[Opd] | None = None
        self._active_opd_infos: list[OpdInfo] = []

    def _me(self) -> Person:
        person = self.patient or self.identity.person
        if person is None:
            raise LookupError("only a registered patient can book")
        return person

    def _family_ids(self) -> list[int]:
        me = self._me()
        return [me.id, *self.session.scalars(_dependent_ids_statement(), {"b_guardian": me.id})]

    def opds(self) -> list[OpdInfo]:
        """Return the active OPDs, in catalogue order.

        Read once a turn (a turn may ask more than once: the list, then the one chosen), and
        the rows kept: the session's identity map holds its objects only while they are
        referenced, and booking the chosen OPD then finds it there instead of reading it again.
        """
        if self._active_opds is None:
            self._active_opds = list(self.session.scalars(_active_opds_statement()))
            self._active_opd_infos = [opd_info(opd, self.now) for opd in self._active_opds]
        return list(self._active_opd_infos)

    def dependents(self) -> list[Dependent]:
        """Return the family members this user has booked for."""
        rows = self.session.execute(_dependents_statement(), {"b_guardian": self._me().id}).all()
        return [Dependent(person.id, person.name, patient.age, patient.sex) for person, patient in rows]

    def add_dependent(self, name: str, age: int, sex: str) -> int:
        """Register a family member under this user, sharing their state and district."""
        me = self._me()
        mine = me.patient
        if mine is None:
            raise LookupError("only a registered patient can add family members")
        existing = self.session.scalars(select(Person).where(Person.guardian_id == me.id, Person.name == name)).first()
        if existing is not None and existing.patient is not None:
            existing.patient.age, existing.patient.sex = age, sex
            return existing.id
        person = Person(role=Role.PATIENT, name=name, phone=me.phone, language=me.language, guardian_id=me.id)
        person.patient = Patient(age=age, sex=sex, state_code=mine.state_code, district=mine.district, consent_at=self.now)
        self.session.add(person)
        self.session.flush()
        return person.id

    def live_tokens(self) -> list[TokenInfo]:
        """Return the family's live tokens from today on, soonest first."""
        today = self.now.astimezone(IST).date()
        rows = self.session.scalars(
            select(Token)
            .where(Token.person_id.in_(self._family_ids()), Token.status.in_(LIVE_TOKEN_STATUSES), Token.day >= today)
            .order_by(Token.day, Token.number)
        )
        return [token_info(self.session, token, self.now) for token in rows]

    def sessions(self, opd_id: int, count: int = 3, after: dt.date | None = None) -> list[Session]:
        """Return the OPD's next sessions that still have tokens."""
        opd = self.session.get(Opd, opd_id)
        if opd is None:
            return []
        found = []
        for candidate in upcoming_sessions(opd, self.now):
            if after is not None and candidate.day <= after:
                continue
            if has_room(self.session, opd, candidate.day):
                found.append(candidate)
            if len(found) == count:
                break
        return found

    def book(self, opd_id: int, person_id: int | None, intake: Intake, priority: bool, day: dt.date | None = None) -> BookingResult:
        """Book today's session if it is open and has room; otherwise offer the next one.

        A token that joins a queue doctors are calling from now says which doctors to ping
        (bot/services/pings.py), and the flow pings them.
        """
        return self._book(opd_id, person_id, intake, priority, day, ping=True)

    def _book(self, opd_id: int, person_id: int | None, intake: Intake, priority: bool, day: dt.date | None, ping: bool) -> BookingResult:
        opd = self.session.get(Opd, opd_id)
        if opd is None or not opd.active:
            return BookingResult(BookingOutcome.NO_SESSION)
        me = self._me().id
        patient_id = person_id if person_id is not None else me
        # One person may book from two channels at once (Telegram and WhatsApp): the
        # dispatcher locks per identity, so lock the person too before looking for a live
        # token (FOR UPDATE is a no-op on SQLite, whose write lock already serialises
        # everything). The same statement finds the person among the family, or not.
        if self.session.execute(_lock_family_member(), {"b_person": patient_id, "b_me": me}).first() is None:
            raise LookupError("a token can only be booked for oneself or one's own family")
        sessions = list(upcoming_sessions(opd, self.now))
        if day is None:
            if not sessions:
                return BookingResult(BookingOutcome.NO_SESSION)
            first = sessions[0]
            if first.starts_at > self.now:  # closed now: say when it opens, let the patient choose
                return self._offer(opd, BookingOutcome.CLOSED, sessions)
            day = first.day
        elif not any(s.day == day for s in sessions):
            return self._offer(opd, BookingOutcome.CLOSED, sessions)
        existing = self.session.scalars(_live_token_statement(), {"b_opd_id": opd.id, "b_day": day, "b_person": patient_id}).first()
        if existing is not None:
            return BookingResult(BookingOutcome.EXISTING, token=token_info(self.session, existing, self.now))
        token = book_token(
            self.session, opd, day, patient_id, self.identity.id,
            priority=priority, red_flags=list(intake.red_flags), intake=intake.to_json(), now=self.now,
        )
        if token is None:
            return self._offer(opd, BookingOutcome.FULL, [s for s in sessions if s.day > day])
        plan(self.session, token, self.now, self.reminders, new=True)
        info = token_info(self.session, token, self.now)
        live = ping and day in calling_days(opd, self.now) and is_open(opd, self.now)
        return BookingResult(BookingOutcome.BOOKED, token=info, joined_queue=live, pings=pings_for(self.session, token, self.now) if live else ())

    def _offer(self, opd: Opd, outcome: BookingOutcome, sessions: list[Session]) -> BookingResult:
        for candidate in sessions:
            if has_room(self.session, opd, candidate.day):
                return BookingResult(outcome, offer=candidate)
        return BookingResult(BookingOutcome.NO_SESSION)

    def _own_live_token(self, token_id: int) -> Token | None:
        token = self.session.get(Token, token_id)
        if token is None or token.person_id not in self._family_ids() or token.status not in LIVE_TOKEN_STATUSES:
            return None
        return token

    def cancel(self, token_id: int) -> Cancelled | None:
        """Cancel one of the family's live tokens; return the call it ended and who moved up (the flow tells them)."""
        token = self._own_live_token(token_id)
        if token is None:
            return None
        # A doctor waiting for this patient has the call closed and is freed.
        return cancel_token(self.session, token, self.now)

    def move(self, token_id: int, day: dt.date) -> BookingResult:
        """Give the patient a token on another day and cancel the old one, in one transaction."""
        token = self._own_live_token(token_id)
        if token is None:
            return BookingResult(BookingOutcome.NO_SESSION)
        old_opd, person_id, intake, priority, status = token.opd_id, token.person_id, token.intake, token.priority, token.status
        follow_up_doctor, follows = token.doctor_id, (intake or {}).get("follow_up_of")
        token.status = TokenStatus.CANCELLED
        token.cancelled_at = self.now
        self.session.flush()
        drop(self.session, token.id)  # the new token has its own reminder
        # A moved token is not news to the doctors: no ping, no escalation.
        result = self._book(old_opd, person_id, Intake(**_intake_fields(intake)), priority, day, ping=False)
        if result.outcome is not BookingOutcome.BOOKED:
            # Nothing to move to: keep the old token as it was, reminder and all.
            token.status, token.cancelled_at = status, None
            self.session.flush()
            plan(self.session, token, self.now, self.reminders)
        elif follow_up_doctor is not None and result.token is not None:
            # A follow-up moved is still that doctor's follow-up.
            moved = self.session.get(Token, result.token.id)
            assert moved is not None
            moved.doctor_id, moved.intake = follow_up_doctor, {**(moved.intake or {}), "follow_up_of": follows}
            unwatch_follow_up(self.session, token.id)
            watch_follow_up(self.session, moved, self.now, self.follow_up_grace)
            result = dataclasses.replace(result, token=token_info(self.session, moved, self.now))
        return result


def _intake_fields(data: dict[str, object]) -> dict[str, object]:
    fields = dict(data)
    for key in ("symptoms", "unknown", "red_flags"):
        fields[key] = tuple(fields.get(key) or ())  # type: ignore[arg-type]
    return {k: v for k, v in fields.items() if k in Intake.__dataclass_fields__}
