"""The operators' dashboard: live queues, doctors on duty, today's figures and a range's charts.

Every figure follows bot/services/reports.py's definitions (a consultation is a call that ended
``done`` or ``referred``; it belongs to the IST day its patient was called; the no-show rate
is no-shows among the calls that ended as a consultation or a no-show; a wait runs from the
token's creation, or its session's start, to the call). Counts are SQL aggregates (GROUP BY):
at national scale a 30-day range holds millions of consultations. Only today's median waits
read rows — one narrow row per call of today, as a median cannot be summed up in SQL on both
SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import statistics
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import Date, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.services.booking import calling_days
from bot.services.reports import (
    COUNTED,
    IST,
    StateCount,
    day_bounds,
    session_start,
    wait_minutes,
)
from bot.store.models import (
    Consultation,
    ConsultationOutcome,
    Doctor,
    DoctorOpd,
    DoctorStatus,
    Opd,
    Person,
    Token,
    TokenStatus,
)
from flows.messages import ByLanguage

# The range shown when none (or a wrong one) is asked for: the last 30 days, today included.
DEFAULT_DAYS = 30
# The longest range a chart is drawn for (a leap year).
MAX_RANGE_DAYS = 366
# The seed's table: the ten states with most consultations.
TOP_STATES = 10
# Doctors listed busy first, then free, on a break, off duty.
STATUS_ORDER = (DoctorStatus.BUSY, DoctorStatus.FREE, DoctorStatus.PAUSED, DoctorStatus.OFFLINE)
CALLED_NOW = (TokenStatus.CALLED, TokenStatus.IN_CONSULTATION)


def today_in_india(now: dt.datetime) -> dt.date:
    """Return India's date at an aware moment."""
    return now.astimezone(IST).date()


def default_range(now: dt.datetime) -> tuple[dt.date, dt.date]:
    """Return the last DEFAULT_DAYS days of India, ending today."""
    today = today_in_india(now)
    return today - dt.timedelta(days=DEFAULT_DAYS - 1), today


# --- live ----------------------------------------------------------------------------------


class OpdNames:
    """Gives a row with an OPD's two names (name_en, name_hi) its name in a language."""

    name_en: str
    name_hi: str

    def name(self, lang: str) -> str:
        """Return the OPD's name in a language."""
        return self.name_hi if lang == "hi" else self.name_en


@dataclass(frozen=True)
class OpdQueue(OpdNames):
    """One active OPD's queue now."""

    opd_id: int
    code: str
    name_en: str
    name_hi: str
    waiting: int  # tokens waiting that a doctor may call now (booking.calling_days)
    called: int  # patients called or in a consultation now
    median_wait: float | None  # minutes, over today's calls; None before the first call
    doctors_on_duty: int  # free, busy or on a break


def by_name(queues: tuple[OpdQueue, ...], lang: str) -> list[OpdQueue]:
    """Return the queues in the order of their names in a language.

    By name rather than by how busy: the page refreshes every few seconds, and a coordinator
    finds "Paediatrics" where it was a moment ago; the busiest queues stand out by their
    figures. Devanagari's code points are in the Hindi alphabet's order (vowels, then क ख ग …;
    the vowel signs in the vowels' order, ं before them, conjuncts after), so NFC text sorts
    Hindi names in dictionary order, near enough, without a collation library.
    """
    return sorted(queues, key=lambda queue: (unicodedata.normalize("NFC", queue.name(lang)).casefold(), queue.code))


@dataclass(frozen=True)
class DoctorRow:
    """One doctor's status now."""

    doctor_id: int
    name: str
    status: DoctorStatus
    since: dt.datetime  # when the status was set (aware UTC)
    opds: tuple[ByLanguage, ...]  # the names of the doctor's OPDs

    @property
    def on_duty(self) -> bool:
        """Return True unless the doctor is off duty."""
        return self.status != DoctorStatus.OFFLINE


@dataclass(frozen=True)
class Today:
    """Today's figures (India's day), the way bot/services/reports.py counts them."""

    day: dt.date
    consultations: int
    no_shows: int

    @property
    def no_show_rate(self) -> float | None:
        """Return no-shows among the calls that ended as a consultation or a no-show; None when none did."""
        ended = self.consultations + self.no_shows
        return self.no_shows / ended if ended else None


@dataclass(frozen=True)
class Live:
    """What is happening now."""

    now: dt.datetime
    queues: tuple[OpdQueue, ...]
    doctors: tuple[DoctorRow, ...]
    today: Today

    @property
    def waiting(self) -> int:
        """Return the tokens waiting in every OPD."""
        return sum(queue.waiting for queue in self.queues)

    @property
    def doctors_on_duty(self) -> int:
        """Return the doctors on duty (each once, whatever their OPDs)."""
        return sum(1 for doctor in self.doctors if doctor.on_duty)


def _today_calls(session: Session, opds: dict[int, Opd], day: dt.date) -> tuple[Today, dict[int, float]]:
    """Return a day's figures and each OPD's median wait (minutes, as reports.wait_minutes measures one).

    One pass over the day's calls: their waits need a row each anyway.
    """
    low, high = day_bounds(day, day)
    rows = session.execute(
        select(Consultation.opd_id, Consultation.outcome, Consultation.called_at, Token.created_at, Token.day)
        .join(Token, Token.id == Consultation.token_id)
        .where(Consultation.called_at >= low, Consultation.called_at < high)
    )
    waits: dict[int, list[float]] = defaultdict(list)
    outcomes: Counter[str | None] = Counter()
    for opd_id, outcome, called_at, created_at, token_day in rows:
        outcomes[outcome] += 1
        opd = opds.get(opd_id) or session.get(Opd, opd_id)  # an OPD closed since still had its calls
        if opd is not None:
            waits[opd_id].append(wait_minutes(created_at, called_at, session_start(token_day, opd.opens_at, opd.closes_at)))
    today = Today(
        day=day,
        consultations=sum(outcomes[outcome] for outcome in COUNTED),
        no_shows=outcomes[ConsultationOutcome.NO_SHOW],
    )
    return today, {opd_id: statistics.median(values) for opd_id, values in waits.items()}


def build_live(session: Session, now: dt.datetime) -> Live:
    """Return the live queues, the doctors and today's figures at `now`."""
    today = today_in_india(now)
    opds = {opd.id: opd for opd in session.scalars(select(Opd).where(Opd.active.is_(True)).order_by(Opd.code))}
    # A round-the-clock OPD still calls yesterday's waiting tokens: count what can be called.
    live_rows = session.execute(
        select(Token.opd_id, Token.day, Token.status, func.count())
        .where(Token.day >= today - dt.timedelta(days=1), Token.day <= today, Token.status.in_((TokenStatus.WAITING, *CALLED_NOW)))
        .group_by(Token.opd_id, Token.day, Token.status)
    ).all()
    waiting: dict[int, int] = defaultdict(int)
    called: dict[int, int] = defaultdict(int)
    for opd_id, day, status, count in live_rows:
        opd = opds.get(opd_id)
        if opd is None or day not in calling_days(opd, now):
            continue
        (waiting if status == TokenStatus.WAITING else called)[opd_id] += count
    on_duty = dict(
        session.execute(
            select(DoctorOpd.opd_id, func.count())
            .join(Doctor, Doctor.person_id == DoctorOpd.doctor_id)
            .where(Doctor.status != DoctorStatus.OFFLINE)
            .group_by(DoctorOpd.opd_id)
        ).all()
    )
    figures_today, medians = _today_calls(session, opds, today)
    queues = tuple(
        OpdQueue(
            opd_id=opd.id, code=opd.code, name_en=opd.name_en, name_hi=opd.name_hi,
            waiting=waiting[opd.id], called=called[opd.id], median_wait=medians.get(opd.id),
            doctors_on_duty=on_duty.get(opd.id, 0),
        )
        for opd in opds.values()
    )
    return Live(now=now, queues=queues, doctors=build_doctors(session), today=figures_today)


def build_doctors(session: Session) -> tuple[DoctorRow, ...]:
    """Return every doctor with their status, since when, and their OPDs; busy first, then by name."""
    opds_of: dict[int, list[ByLanguage]] = defaultdict(list)
    for doctor_id, name_en, name_hi in session.execute(
        select(DoctorOpd.doctor_id, Opd.name_en, Opd.name_hi).join(Opd, Opd.id == DoctorOpd.opd_id).order_by(Opd.code)
    ):
        opds_of[doctor_id].append(ByLanguage(en=name_en, hi=name_hi))
    rows = [
        DoctorRow(doctor_id=doctor_id, name=name, status=DoctorStatus(status), since=since, opds=tuple(opds_of[doctor_id]))
        for doctor_id, name, status, since in session.execute(
            select(Doctor.person_id, Person.name, Doctor.status, Doctor.status_at).join(Person, Person.id == Doctor.person_id)
        )
    ]
    rows.sort(key=lambda row: (STATUS_ORDER.index(row.status), row.name, row.doctor_id))
    return tuple(rows)


# --- a range of days -----------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    """Consultations on one IST day."""

    day: dt.date
    consultations: int


@dataclass(frozen=True)
class OpdCount(OpdNames):
    """Consultations in one OPD."""

    opd_id: int
    code: str
    name_en: str
    name_hi: str
    consultations: int


@dataclass(frozen=True)
class RangeFigures:
    """Consultations over a range of IST days (both ends included), for the charts."""

    start: dt.date
    end: dt.date
    per_day: tuple[DayCount, ...]  # every day of the range, zeros included
    states: tuple[StateCount, ...]  # the TOP_STATES highest, highest first (as the seed lists them)
    opds: tuple[OpdCount, ...]  # highest first
    no_shows: int

    @property
    def consultations(self) -> int:
        """Return the consultations of the whole range."""
        return sum(day.consultations for day in self.per_day)

    @property
    def empty(self) -> bool:
        """Return True when no consultation happened in the range."""
        return self.consultations == 0


def ist_day(session: Session, moment: ColumnElement[dt.datetime]) -> ColumnElement[dt.date]:
    """Return the SQL expression of the IST date of a UTC timestamp column.

    India keeps no daylight saving, so on SQLite (UTC text) adding 5 h 30 min is exact;
    PostgreSQL converts with its time zone data.
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(literal("Asia/Kolkata"), moment), Date)
    return func.date(moment, "+330 minutes")


def _as_date(value: object) -> dt.date:
    # SQLite's date() returns text; PostgreSQL a date.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def build_range(session: Session, start: dt.date, end: dt.date) -> RangeFigures:
    """Return consultations per day, the top states and per OPD for IST days start..end."""
    if start > end:
        raise ValueError(f"the range starts on {start} after it ends on {end}")
    low, high = day_bounds(start, end)
    in_range = (Consultation.called_at >= low, Consultation.called_at < high)
    # Two scans of the range: per day and outcome, then per OPD and state (a few hundred groups).
    day = ist_day(session, Consultation.called_at).label("day")
    by_day: Counter[dt.date] = Counter()
    no_shows = 0
    for value, outcome, count in session.execute(
        select(day, Consultation.outcome, func.count())
        .where(*in_range, Consultation.outcome.in_((*COUNTED, ConsultationOutcome.NO_SHOW)))
        .group_by(day, Consultation.outcome)
    ).all():
        if outcome == ConsultationOutcome.NO_SHOW:
            no_shows += count
        else:
            by_day[_as_date(value)] += count
    per_day = tuple(
        DayCount(start + dt.timedelta(days=offset), by_day[start + dt.timedelta(days=offset)])
        for offset in range((end - start).days + 1)
    )
    by_state: Counter[str | None] = Counter()
    by_opd: Counter[int] = Counter()
    for opd_id, state_code, count in session.execute(
        select(Consultation.opd_id, Consultation.state_code, func.count())
        .where(*in_range, Consultation.outcome.in_(COUNTED))
        .group_by(Consultation.opd_id, Consultation.state_code)
    ).all():
        by_state[state_code] += count
        by_opd[opd_id] += count
    # As bot/services/reports.py ranks them: highest first, ties by code, an unrecorded state last.
    states = tuple(
        sorted(
            (StateCount(code, consultations) for code, consultations in by_state.items()),
            key=lambda item: (-item.consultations, item.code is None, item.code or ""),
        )[:TOP_STATES]
    )
    names = {opd.id: opd for opd in session.scalars(select(Opd).where(Opd.id.in_(list(by_opd))))} if by_opd else {}
    opds = sorted(
        (
            OpdCount(opd_id, names[opd_id].code, names[opd_id].name_en, names[opd_id].name_hi, consultations)
            for opd_id, consultations in by_opd.items()
        ),
        key=lambda item: (-item.consultations, item.code),
    )
    return RangeFigures(start=start, end=end, per_day=per_day, states=states, opds=tuple(opds), no_shows=no_shows)
