"""The consultation report: totals, waits, no-shows and ratings, per OPD, per doctor and per state.

Built from the shared consultation log (models.Consultation) for a range of India's days
(Asia/Kolkata, both ends included): a consultation belongs to the day on which its patient
was called, in IST, whatever the UTC date.

Definitions (the figures an OPD coordinator reads; tests/test_reports_figures.py pins each one):

- **consultations**: calls that ended with outcome ``done`` or ``referred``. No-shows are
  counted separately; calls cancelled by the patient, abandoned by the doctor or still open
  are shown as "other calls" so the figures add up to the log.
- **patients**: distinct patients among the consultations.
- **tokens issued**: tokens *for* the days of the range (Token.day), whatever their status.
- **wait** of one call, in minutes: from when the patient could start waiting to when the
  doctor called them, never negative. The patient starts waiting when the token was
  created, or, for a token booked ahead (the evening before, or before the OPD opened), when
  that day's session began (the OPD's opening time in IST; midnight for a round-the-clock
  OPD) — so an advance booking does not count the night as waiting. Every call in the range
  has a wait, whatever its outcome: a no-show waited too.
- **median** wait: statistics.median (the mean of the two middle waits for an even count).
- **p90** wait: nearest rank — the smallest wait that at least 90% of waits do not exceed,
  i.e. the ceil(0.9·n)-th smallest; always a wait that happened.
- **no-show rate**: no-shows / (consultations + no-shows), i.e. among the calls that ended
  either way; None when there were none.
- **average rating**: the mean of the 1-5 ratings given; None when there were none.
- **per state**: consultations by Consultation.state_code (the patient's state when the
  consultation was logged), highest first, ties by state code, an unrecorded state last.

User-facing text comes from the catalogs (flows.messages.t); numbers are grouped the Indian
way (42,23,054) in English and Hindi alike; state names come from flows.understanding.india.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from babel.numbers import format_percent
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.platform.clock import IST
from bot.platform.i18n import BABEL_LOCALE, Catalogs, format_number
from bot.store.models import Consultation, ConsultationOutcome, Opd, Person, Token
from flows.messages import Text, t
from flows.understanding.india import state_by_code

# Shown where a figure does not exist (no waits, no ratings, no calls that ended).
MISSING = "–"
# The p90 wait is the ceil(P90 · n)-th smallest wait (nearest rank).
P90 = 0.9
COUNTED = (ConsultationOutcome.DONE, ConsultationOutcome.REFERRED)


@dataclass(frozen=True)
class Figures:
    """The figures of one slice of the log: the whole range, one OPD or one doctor."""

    consultations: int = 0  # done + referred
    done: int = 0
    referred: int = 0
    no_shows: int = 0
    cancelled: int = 0  # the patient cancelled after being called
    abandoned: int = 0  # the doctor went off duty in the middle
    open: int = 0  # called, not ended yet
    patients: int = 0  # distinct patients among the consultations
    tokens: int | None = None  # tokens issued (None for a doctor: tokens belong to OPDs)
    waits: int = 0  # calls whose wait was measured (every call)
    median_wait: float | None = None  # minutes
    p90_wait: float | None = None  # minutes
    no_show_rate: float | None = None  # 0..1
    ratings: int = 0
    average_rating: float | None = None

    @property
    def calls(self) -> int:
        """Return every call in the slice, whatever its outcome."""
        return self.consultations + self.no_shows + self.cancelled + self.abandoned + self.open

    @property
    def other_calls(self) -> int:
        """Return the calls that were neither a consultation nor a no-show."""
        return self.cancelled + self.abandoned + self.open


@dataclass(frozen=True)
class OpdFigures:
    """One OPD's figures."""

    opd_id: int
    code: str
    name_en: str
    name_hi: str
    figures: Figures

    def name(self, lang: str) -> str:
        """Return the OPD's name in a language."""
        return self.name_hi if lang == "hi" else self.name_en


@dataclass(frozen=True)
class DoctorFigures:
    """One doctor's figures."""

    doctor_id: int
    name: str
    figures: Figures


@dataclass(frozen=True)
class StateCount:
    """Consultations of patients from one state or union territory (None: not recorded)."""

    code: str | None
    consultations: int


@dataclass(frozen=True)
class Report:
    """The report of a range of India's days, both ends included."""

    start: dt.date
    end: dt.date
    total: Figures = field(default_factory=Figures)
    opds: tuple[OpdFigures, ...] = ()
    doctors: tuple[DoctorFigures, ...] = ()
    states: tuple[StateCount, ...] = ()  # highest first

    @property
    def empty(self) -> bool:
        """Return True when nothing happened in the range: no calls and no tokens."""
        return self.total.calls == 0 and not self.total.tokens and not self.states


# --- building ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """One consultation row, reduced to what the figures need."""

    opd_id: int
    doctor_id: int
    patient_id: int
    state_code: str | None
    outcome: str | None
    rating: int | None
    wait: float  # minutes


def day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return [start 00:00 IST, the day after end 00:00 IST) as aware UTC datetimes."""
    low = dt.datetime.combine(start, dt.time(0), IST)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), IST)
    return low.astimezone(dt.UTC), high.astimezone(dt.UTC)


def session_start(day: dt.date, opens_at: dt.time, closes_at: dt.time) -> dt.datetime:
    """Return when an OPD's session on a day begins (midnight IST for a round-the-clock OPD)."""
    opening = dt.time(0) if opens_at == closes_at else opens_at
    return dt.datetime.combine(day, opening, IST)


def wait_minutes(created_at: dt.datetime, called_at: dt.datetime, start: dt.datetime) -> float:
    """Return one call's wait in minutes: from creation, or from the session start if later.

    The session start counts only when the call came after it (a call before the OPD's
    opening, in a special session, waited from the token's creation); never negative.
    """
    began = max(created_at, start) if start <= called_at else created_at
    return max(0.0, (called_at - began).total_seconds() / 60)


def nearest_rank(values: Sequence[float], fraction: float) -> float | None:
    """Return the ceil(fraction · n)-th smallest value (nearest-rank percentile)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _figures(calls: Iterable[_Call], tokens: int | None) -> Figures:
    calls = list(calls)
    outcomes = Counter(call.outcome for call in calls)
    done, referred = outcomes[ConsultationOutcome.DONE], outcomes[ConsultationOutcome.REFERRED]
    no_shows = outcomes[ConsultationOutcome.NO_SHOW]
    waits = [call.wait for call in calls]
    ratings = [call.rating for call in calls if call.rating is not None]
    ended = done + referred + no_shows
    return Figures(
        consultations=done + referred,
        done=done,
        referred=referred,
        no_shows=no_shows,
        cancelled=outcomes[ConsultationOutcome.CANCELLED],
        abandoned=outcomes[ConsultationOutcome.ABANDONED],
        open=outcomes[None],
        patients=len({call.patient_id for call in calls if call.outcome in COUNTED}),
        tokens=tokens,
        waits=len(waits),
        median_wait=statistics.median(waits) if waits else None,
        p90_wait=nearest_rank(waits, P90),
        no_show_rate=no_shows / ended if ended else None,
        ratings=len(ratings),
        average_rating=statistics.mean(ratings) if ratings else None,
    )


def build_report(session: Session, start: dt.date, end: dt.date) -> Report:
    """Return the report of India's days start..end (both included) from the consultation log."""
    if start > end:
        raise ValueError(f"the report starts on {start} after it ends on {end}")
    low, high = day_bounds(start, end)
    rows = session.execute(
        select(
            Consultation.opd_id, Consultation.doctor_id, Consultation.patient_id, Consultation.state_code,
            Consultation.outcome, Consultation.rating, Consultation.called_at,
            Token.created_at, Token.day, Opd.opens_at, Opd.closes_at,
        )
        .join(Token, Token.id == Consultation.token_id)
        .join(Opd, Opd.id == Consultation.opd_id)
        .where(Consultation.called_at >= low, Consultation.called_at < high)
    ).all()
    calls = [
        _Call(
            opd_id=row.opd_id, doctor_id=row.doctor_id, patient_id=row.patient_id, state_code=row.state_code,
            outcome=row.outcome, rating=row.rating,
            wait=wait_minutes(row.created_at, row.called_at, session_start(row.day, row.opens_at, row.closes_at)),
        )
        for row in rows
    ]
    tokens = dict(
        session.execute(
            select(Token.opd_id, func.count()).where(Token.day >= start, Token.day <= end).group_by(Token.opd_id)
        ).all()
    )

    by_opd: dict[int, list[_Call]] = defaultdict(list)
    by_doctor: dict[int, list[_Call]] = defaultdict(list)
    for call in calls:
        by_opd[call.opd_id].append(call)
        by_doctor[call.doctor_id].append(call)

    opd_ids = set(by_opd) | set(tokens)
    opds = {opd.id: opd for opd in session.scalars(select(Opd).where(Opd.id.in_(opd_ids)))} if opd_ids else {}
    opd_figures = [
        OpdFigures(opd_id, opds[opd_id].code, opds[opd_id].name_en, opds[opd_id].name_hi, _figures(by_opd[opd_id], tokens.get(opd_id, 0)))
        for opd_id in opd_ids
    ]
    opd_figures.sort(key=lambda item: (-item.figures.consultations, item.code))

    names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(by_doctor))).all()) if by_doctor else {}
    doctor_figures = [
        DoctorFigures(doctor_id, names.get(doctor_id, str(doctor_id)), _figures(doctor_calls, None))
        for doctor_id, doctor_calls in by_doctor.items()
    ]
    doctor_figures.sort(key=lambda item: (-item.figures.consultations, item.name, item.doctor_id))

    per_state = Counter(call.state_code for call in calls if call.outcome in COUNTED)
    states = sorted(
        (StateCount(code, count) for code, count in per_state.items()),
        key=lambda item: (-item.consultations, item.code is None, item.code or ""),
    )
    return Report(
        start=start,
        end=end,
        total=_figures(calls, sum(tokens.values())),
        opds=tuple(opd_figures),
        doctors=tuple(doctor_figures),
        states=tuple(states),
    )


# --- text ----------------------------------------------------------------------------------


@cache
def _default_catalogs() -> Catalogs:
    return Catalogs()


def _minutes(value: float | None, lang: str) -> str:
    return MISSING if value is None else format_number(round(value, 1), lang)


def _rate(value: float | None, lang: str) -> str:
    return MISSING if value is None else format_percent(value, "#,##,##0.#%", locale=BABEL_LOCALE.get(lang, "en_IN"))


def _rating(value: float | None, lang: str) -> str:
    return MISSING if value is None else format_number(round(value, 1), lang)


def state_name(code: str | None, lang: str) -> Text | str:
    """Return a state's name in a language: a catalog text when it was not recorded."""
    if code is None:
        return t("State not recorded")
    state = state_by_code(code)
    return state.name(lang) if state is not None else code


def _figure_lines(figures: Figures, lang: str) -> list[Text]:
    lines = [t("Consultations: {count} (done {done}, referred {referred})", count=figures.consultations, done=figures.done, referred=figures.referred)]
    lines.append(t("Patients: {count}", count=figures.patients))
    if figures.tokens is not None:
        lines.append(t("Tokens issued: {count}", count=figures.tokens))
    lines.append(t("No-shows: {count} (no-show rate {rate})", count=figures.no_shows, rate=_rate(figures.no_show_rate, lang)))
    if figures.other_calls:
        lines.append(t(
            "Other calls: {count} (cancelled {cancelled}, abandoned {abandoned}, still open {open})",
            count=figures.other_calls, cancelled=figures.cancelled, abandoned=figures.abandoned, open=figures.open,
        ))
    lines.append(t(
        "Waiting time in minutes: median {median}, 90th percentile {p90}",
        median=_minutes(figures.median_wait, lang), p90=_minutes(figures.p90_wait, lang),
    ))
    lines.append(t("Average rating: {rating} (ratings given: {count})", rating=_rating(figures.average_rating, lang), count=figures.ratings))
    return lines


def render_text(report: Report, lang: str, catalogs: Catalogs | None = None) -> str:
    """Return the report as plain text in English ("en") or Hindi ("hi")."""
    catalogs = catalogs or _default_catalogs()

    def say(text: Text | str) -> str:
        return text if isinstance(text, str) else catalogs.translate(text, lang)

    if report.start == report.end:
        title = t("Consultation report for {day}", day=report.start)
    else:
        title = t("Consultation report for {start} to {end}", start=report.start, end=report.end)
    out = [say(title), ""]
    if report.total.consultations == 0:
        out.append(say(t("No consultations in this period.")))
    if not report.empty:
        out.extend(say(line) for line in _figure_lines(report.total, lang))
    if report.opds:
        out += ["", say(t("By OPD"))]
        for opd in report.opds:
            out.append(opd.name(lang))
            out.extend("  " + say(line) for line in _figure_lines(opd.figures, lang))
    if report.doctors:
        out += ["", say(t("By doctor"))]
        for doctor in report.doctors:
            out.append(doctor.name)
            out.extend("  " + say(line) for line in _figure_lines(doctor.figures, lang))
    if report.states:
        out += ["", say(t("Consultations by state"))]
        out.extend(state_lines(report, lang, catalogs))
    return "\n".join(out) + "\n"


def state_lines(report: Report, lang: str, catalogs: Catalogs | None = None) -> list[str]:
    """Return the per-state table the way the seed lists it: "आंध्र प्रदेश 42,23,054", highest first."""
    catalogs = catalogs or _default_catalogs()
    lines = []
    for item in report.states:
        name = state_name(item.code, lang)
        shown = name if isinstance(name, str) else catalogs.translate(name, lang)
        lines.append(f"{shown} {format_number(item.consultations, lang)}")
    return lines


# --- CSV -----------------------------------------------------------------------------------

CSV_HEADER = ("section", "key", "metric", "value")
_METRICS = (
    "consultations", "done", "referred", "no_shows", "cancelled", "abandoned", "open", "patients", "tokens",
    "waits", "median_wait_minutes", "p90_wait_minutes", "no_show_rate", "ratings", "average_rating",
)


def _value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    return value


def _figure_rows(section: str, key: str, figures: Figures) -> list[tuple[object, ...]]:
    values = {
        "consultations": figures.consultations, "done": figures.done, "referred": figures.referred,
        "no_shows": figures.no_shows, "cancelled": figures.cancelled, "abandoned": figures.abandoned,
        "open": figures.open, "patients": figures.patients, "tokens": figures.tokens, "waits": figures.waits,
        "median_wait_minutes": figures.median_wait, "p90_wait_minutes": figures.p90_wait,
        "no_show_rate": figures.no_show_rate, "ratings": figures.ratings, "average_rating": figures.average_rating,
    }
    return [(section, key, metric, _value(values[metric])) for metric in _METRICS if not (metric == "tokens" and figures.tokens is None)]


def render_csv(report: Report) -> str:
    """Return the report as CSV rows (section, key, metric, value), numbers unformatted.

    Sections: ``period`` (start, end as YYYY-MM-DD); ``total``; ``opd`` keyed by OPD code
    (with name_en, name_hi); ``doctor`` keyed by the doctor's id (with name); ``state`` keyed
    by ISO code (empty when not recorded), metric ``consultations``. Rates are fractions
    (0.1739, not 17.4%), waits are minutes; a figure that does not exist is empty.
    """
    rows: list[tuple[object, ...]] = [
        ("period", "", "start", report.start.isoformat()),
        ("period", "", "end", report.end.isoformat()),
    ]
    rows += _figure_rows("total", "", report.total)
    for opd in report.opds:
        rows += [("opd", opd.code, "name_en", opd.name_en), ("opd", opd.code, "name_hi", opd.name_hi)]
        rows += _figure_rows("opd", opd.code, opd.figures)
    for doctor in report.doctors:
        rows.append(("doctor", doctor.doctor_id, "name", doctor.name))
        rows += _figure_rows("doctor", str(doctor.doctor_id), doctor.figures)
    rows += [("state", item.code or "", "consultations", item.consultations) for item in report.states]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return buffer.getvalue()
