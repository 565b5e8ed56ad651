"""The operators' dashboard at /dashboard: live queues, doctors, today's figures and a range's charts.

GET /dashboard[?from=YYYY-MM-DD&to=YYYY-MM-DD&lang=en|hi] → HTML. The range is of India's
days, both ends included, the last 30 days by default; a date that cannot be read, a start
after the end or a range over 366 days shows the default range with a notice (never an
error page). The charts are inline SVG drawn here (webhooks/operators/charts.py), so the page shows every
figure without JavaScript; webhooks/static/dashboard.js only refreshes it in place.

POST /dashboard/callbacks/done (request=<id>) closes a call-back request from the voice line (key 3),
listed under "Now" with the number masked and the time in IST (bot/services/callbacks.py).
"Now" opens with an alert for each danger-sign token still waiting after its escalation
(TELEOPD_DANGER_ESCALATION_MINUTES; bot/services/pings.py unserved_danger): the coordinators' ping.

The operator login (webhooks/operators/auth.py) guards every endpoint of this blueprint and
sets g.operator; this module does no authentication of its own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from babel.dates import format_date, format_datetime
from babel.numbers import format_percent
from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup

from bot.platform.i18n import BABEL_LOCALE
from bot.services.callbacks import CallbackRow, mark_done, open_callbacks
from bot.services.dashboard import (
    DEFAULT_DAYS,
    MAX_RANGE_DAYS,
    DoctorRow,
    Live,
    RangeFigures,
    build_live,
    build_range,
    by_name,
    default_range,
    today_in_india,
)
from bot.services.pings import unserved_danger
from bot.services.reports import IST, state_name
from bot.store.models import DoctorStatus, utcnow
from webhooks.operators import charts
from webhooks.pages import number, page_language, t

blueprint = Blueprint("dashboard", __name__)  # its pages are in the app's webhooks/templates

# Without JavaScript the page reloads itself this often (a <meta refresh> in <noscript>);
# with it, dashboard.js swaps the figures in place more often.
NOSCRIPT_REFRESH_SECONDS = 30
SCRIPT_REFRESH_SECONDS = 15
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# Dates outside these years are typing mistakes, not ranges (and 9999-12-31 has no next day).
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


class RangeError(ValueError):
    """The asked range cannot be shown; the message says why, in the page's language."""


def _parse_day(text: str) -> dt.date:
    if not ISO_DATE.match(text):
        raise ValueError(text)
    day = dt.date.fromisoformat(text)
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise ValueError(text)
    return day


def asked_range(args: Mapping[str, str], now: dt.datetime) -> tuple[dt.date, dt.date]:
    """Return the range ?from= ?to= ask for: a missing end is today, a missing start 30 days before the end.

    Raises RangeError with a kind message when the range cannot be shown.
    """
    raw_start, raw_end = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    if not raw_start and not raw_end:
        return default_range(now)
    try:
        end = _parse_day(raw_end) if raw_end else today_in_india(now)
        start = _parse_day(raw_start) if raw_start else end - dt.timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise RangeError(t("Those dates could not be read (use the date boxes, or YYYY-MM-DD), so the last 30 days are shown.")) from None
    if start > end:
        raise RangeError(t("The start date was after the end date, so the last 30 days are shown."))
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise RangeError(t("A range can be at most {days} days long, so the last 30 days are shown.", days=MAX_RANGE_DAYS))
    return start, end


def status_word(status: DoctorStatus) -> str:
    """Return a doctor's status as the page says it."""
    words = {
        DoctorStatus.BUSY: t("In a consultation"),
        DoctorStatus.FREE: t("On duty, free"),
        DoctorStatus.PAUSED: t("On a break"),
        DoctorStatus.OFFLINE: t("Off duty"),
    }
    return words[status]


def since_text(doctor: DoctorRow, now: dt.datetime, lang: str) -> str:
    """Return when a doctor's status was set: a time today, a date and time before."""
    locale = BABEL_LOCALE.get(lang, "en_IN")
    local = doctor.since.astimezone(IST)
    if local.date() == today_in_india(now):
        return local.strftime("%H:%M")
    return format_datetime(local, "d MMM y, HH:mm", tzinfo=IST, locale=locale)


def percent(value: float | None, lang: str) -> str:
    """Return a rate as a percentage with at most one decimal (17.4%), a dash for none."""
    if value is None:
        return number(None)
    return format_percent(value, "#,##,##0.#%", locale=BABEL_LOCALE.get(lang, "en_IN"))


def minutes(value: float | None) -> str:
    """Return a wait in minutes, one decimal at most; a dash before the first call."""
    return number(None) if value is None else t("{minutes} min", minutes=round(value, 1))


def _state_label(code: str | None, lang: str) -> str:
    name = state_name(code, lang)
    return name if isinstance(name, str) else t(name)


def range_charts(figures: RangeFigures, lang: str) -> dict[str, Markup]:
    """Return the range's three charts as inline SVG, with their words in the page's language."""
    locale = BABEL_LOCALE.get(lang, "en_IN")
    between = {"start": figures.start, "end": figures.end}
    none = t("No consultations between {start} and {end}.", **between)
    per_day = charts.column_chart(
        [
            charts.Bar(format_date(day.day, "d MMM", locale=locale), day.consultations, title=format_date(day.day, "long", locale=locale))
            for day in figures.per_day
        ],
        chart_id="chart-days", title=t("Consultations per day"),
        desc=t("Consultations on each day from {start} to {end}, India time.", **between), empty_text=none, number=number,
    )
    states = charts.bar_chart(
        [charts.Bar(_state_label(item.code, lang), item.consultations) for item in figures.states],
        chart_id="chart-states", title=t("Consultations by state (top 10)"),
        desc=t("The states and union territories with most consultations from {start} to {end}, highest first.", **between),
        empty_text=none, number=number,
    )
    opds = charts.bar_chart(
        [charts.Bar(item.name(lang), item.consultations) for item in figures.opds],
        chart_id="chart-opds", title=t("Consultations by OPD"),
        desc=t("Consultations in each OPD from {start} to {end}, highest first.", **between), empty_text=none, number=number,
    )
    # The chart functions escape every label themselves.
    return {"per_day": Markup(per_day), "states": Markup(states), "opds": Markup(opds)}


@blueprint.get("/dashboard")
def dashboard_page() -> str:
    """Show the dashboard in the page's language."""
    services = current_app.extensions["teleopd"]
    now = utcnow()
    lang = page_language()
    notice = None
    try:
        start, end = asked_range(request.args, now)
    except RangeError as problem:
        notice = str(problem)
        start, end = default_range(now)
    with services.db.read() as session:
        live: Live = build_live(session, now)
        figures = build_range(session, start, end)
        callbacks = open_callbacks(session)
        # The coordinators have no chat: a danger-sign token nobody called in time is shown here.
        danger = unserved_danger(session, now)
    return render_template(
        "dashboard.html",
        operator=g.get("operator"),
        live=live,
        queues=by_name(live.queues, lang),
        figures=figures,
        charts=range_charts(figures, lang),
        notice=notice,
        updated=t("Updated at {time} IST", time=now.astimezone(IST).strftime("%H:%M")),
        status_word=status_word,
        since=lambda doctor: since_text(doctor, now, lang),
        percent=lambda value: percent(value, lang),
        minutes=minutes,
        lang=lang,
        noscript_refresh=NOSCRIPT_REFRESH_SECONDS,
        script_refresh=SCRIPT_REFRESH_SECONDS,
        callbacks=callbacks,
        danger=danger,
        asked_at=lambda row: asked_at(row, lang),
    )


def asked_at(row: CallbackRow, lang: str) -> str:
    """Return when a call back was asked for, in India's time, on the 24-hour clock as the doctors' times ("7 Dec, 09:05")."""
    return format_datetime(row.requested_at.astimezone(IST), "d MMM, HH:mm", tzinfo=IST, locale=BABEL_LOCALE.get(lang, "en_IN"))


@blueprint.post("/dashboard/callbacks/done")
def callback_done():  # type: ignore[no-untyped-def]
    """Close a call-back request once the patient has been phoned (the login guard checked the form's csrf)."""
    services = current_app.extensions["teleopd"]
    request_id = request.form.get("request", "")
    if request_id.isascii() and request_id.isdigit() and len(request_id) <= 18:
        with services.db.write() as session:
            mark_done(session, int(request_id), utcnow())
    return redirect(url_for("dashboard.dashboard_page", lang=page_language()) + "#callbacks")
