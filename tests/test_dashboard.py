"""The operators' dashboard: figures built from real bookings, calls and outcomes; the page in English and Hindi."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.runtime import Services
from bot.services.booking import BookingRecords
from bot.services.dashboard import (
    DayCount,
    OpdCount,
    RangeFigures,
    build_live,
    build_range,
    default_range,
)
from bot.services.doctors import DeskRecords
from bot.services.enrolment import add_doctor, enrol
from bot.services.identities import ensure_identity
from bot.services.opds import find_opd, load_demo
from bot.services.patients import PatientRecords
from bot.services.reports import IST, StateCount, build_report
from bot.store.db import Database
from bot.store.models import DoctorStatus, Opd, utcnow
from flows.ports import BookingOutcome, DoctorState, Intake, Profile, VisitOutcome
from tests.operators import signed_in
from webhooks import create_app
from webhooks.operators.dashboard import range_charts

SVG = "{http://www.w3.org/2000/svg}"
VIDEO = "https://meet.example/"
LANGS = ["en", "hi"]
# A Wednesday; the clinic's events of the day below are at these times (IST).
DAY = dt.date(2026, 11, 25)


def at(day: dt.date, hhmm: str) -> dt.datetime:
    """Return an aware UTC datetime for a time of day in India."""
    hours, minutes = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes), IST).astimezone(dt.UTC)


# --- the clinic, driven through the real services -------------------------------------------


@dataclass
class Clinic:
    """Books, calls and ends consultations through bot/services/booking.py and bot/services/doctors.py at given times."""

    db: Database

    def opd(self, code: str) -> Opd:
        with self.db.read() as session:
            found = find_opd(session, code)
            assert found is not None
            return found

    def doctor(self, address: str, name: str, opds: tuple[str, ...], now: dt.datetime) -> None:
        """Add a doctor (as the CLI does) and enrol their chat with the code."""
        with self.db.write() as session:
            _, code = add_doctor(session, name, [find_opd(session, opd) for opd in opds], now=now)
            identity = ensure_identity(session, "local", address)
            assert enrol(session, identity, code, now).role == "doctor"

    def patient(self, address: str, state: str, now: dt.datetime) -> None:
        """Register a patient from a state."""
        with self.db.write() as session:
            identity = ensure_identity(session, "local", address)
            PatientRecords(session, identity, now).save_profile(
                Profile(name=f"Patient {address}", age=40, sex="f", state_code=state, district="X", phone=None, consent_at=now)
            )

    def book(self, address: str, opd: str, now: dt.datetime) -> None:
        opd_id = self.opd(opd).id
        with self.db.write() as session:
            identity = ensure_identity(session, "local", address)
            result = BookingRecords(session, identity, now).book(opd_id, None, Intake(text="fever"), priority=False)
            assert result.outcome is BookingOutcome.BOOKED, result

    def desk(self, session, address: str, now: dt.datetime) -> DeskRecords:  # type: ignore[no-untyped-def]
        return DeskRecords(session, ensure_identity(session, "local", address), now, VIDEO)

    def status(self, address: str, state: DoctorState, now: dt.datetime) -> None:
        with self.db.write() as session:
            self.desk(session, address, now).set_status(state)

    def call(self, address: str, now: dt.datetime) -> None:
        with self.db.write() as session:
            assert self.desk(session, address, now).call_next() is not None

    def finish(self, address: str, outcome: VisitOutcome, now: dt.datetime) -> None:
        with self.db.write() as session:
            assert self.desk(session, address, now).finish(outcome) is not None


def clinic_day(db: Database, day: dt.date, clock=at) -> Clinic:  # type: ignore[no-untyped-def]
    """One morning at GEN24 (round the clock): five patients, two doctors on duty, one off duty.

    Waits (minutes, from booking to call): 40 (done), 45 (no-show), 50 (referred), 55 (in
    consultation now); the fifth patient is still waiting.
    """
    clinic = Clinic(db)
    with db.write() as session:
        load_demo(session)
    clinic.doctor("asha", "Dr. Asha Rao", ("GEN24",), clock(day, "08:00"))
    clinic.doctor("vikram", "Dr. Vikram Singh", ("GEN24", "GEN"), clock(day, "08:00"))
    clinic.doctor("meena", "Dr. Meena Iyer", ("PAED",), clock(day, "08:00"))
    for index, (address, state) in enumerate((("p1", "IN-UP"), ("p2", "IN-DL"), ("p3", "IN-BR"), ("p4", "IN-AP"), ("p5", "IN-KA"))):
        clinic.patient(address, state, clock(day, "08:30"))
        clinic.book(address, "GEN24", clock(day, f"09:{index * 5:02d}"))
    clinic.status("meena", DoctorState.OFFLINE, clock(day, "08:00"))
    clinic.status("asha", DoctorState.FREE, clock(day, "09:30"))
    clinic.status("vikram", DoctorState.PAUSED, clock(day, "09:45"))
    clinic.call("asha", clock(day, "09:40"))
    clinic.finish("asha", VisitOutcome.DONE, clock(day, "09:50"))
    clinic.call("asha", clock(day, "09:50"))
    clinic.finish("asha", VisitOutcome.NO_SHOW, clock(day, "09:55"))
    clinic.call("asha", clock(day, "10:00"))
    clinic.finish("asha", VisitOutcome.REFERRED, clock(day, "10:10"))
    clinic.call("asha", clock(day, "10:10"))
    return clinic


@pytest.fixture
def clinic(db: Database) -> Clinic:
    return clinic_day(db, DAY)


# --- figures -----------------------------------------------------------------------------------


@pytest.mark.both_databases
def test_live_queues_doctors_and_today(clinic: Clinic) -> None:
    with clinic.db.read() as session:
        live = build_live(session, at(DAY, "10:15"))
    queues = {queue.code: queue for queue in live.queues}
    gen24 = queues["GEN24"]
    assert (gen24.waiting, gen24.called, gen24.doctors_on_duty) == (1, 1, 2)
    assert gen24.median_wait == 47.5  # of 40, 45, 50, 55
    assert (gen24.name_en, gen24.name_hi) == ("General Medicine (24 hours)", "सामान्य चिकित्सा (24 घंटे)")
    # Every active OPD has its row, with nothing going on.
    assert (queues["PAED"].waiting, queues["PAED"].called, queues["PAED"].median_wait, queues["PAED"].doctors_on_duty) == (0, 0, None, 0)
    assert queues["GEN"].doctors_on_duty == 1  # Dr. Singh, on a break, sees GEN patients too
    assert live.waiting == 1 and live.doctors_on_duty == 2
    # Busy first, then free, on a break, off duty.
    assert [(d.name, d.status, d.since) for d in live.doctors] == [
        ("Dr. Asha Rao", DoctorStatus.BUSY, at(DAY, "10:10")),
        ("Dr. Vikram Singh", DoctorStatus.PAUSED, at(DAY, "09:45")),
        ("Dr. Meena Iyer", DoctorStatus.OFFLINE, at(DAY, "08:00")),
    ]
    assert [o.en for o in live.doctors[1].opds] == ["General Medicine", "General Medicine (24 hours)"]
    assert (live.today.day, live.today.consultations, live.today.no_shows) == (DAY, 2, 1)
    assert live.today.no_show_rate == pytest.approx(1 / 3)


@pytest.mark.both_databases
def test_today_agrees_with_the_report(clinic: Clinic) -> None:
    with clinic.db.read() as session:
        live = build_live(session, at(DAY, "10:15"))
        report = build_report(session, DAY, DAY)
    gen24 = next(q for q in live.queues if q.code == "GEN24")
    assert live.today.consultations == report.total.consultations
    assert live.today.no_show_rate == report.total.no_show_rate
    assert gen24.median_wait == next(o for o in report.opds if o.code == "GEN24").figures.median_wait


@pytest.mark.both_databases
def test_a_new_day_starts_with_no_calls_but_the_round_the_clock_queue_carries_on(clinic: Clinic) -> None:
    with clinic.db.read() as session:
        live = build_live(session, at(DAY + dt.timedelta(days=1), "00:30"))
    gen24 = next(q for q in live.queues if q.code == "GEN24")
    # Yesterday's waiting patient is still called at GEN24 (booking.calling_days).
    assert (gen24.waiting, gen24.called, gen24.median_wait) == (1, 1, None)
    assert (live.today.consultations, live.today.no_shows, live.today.no_show_rate) == (0, 0, None)


@pytest.mark.both_databases
def test_a_range_counts_every_india_day_zeros_included(clinic: Clinic) -> None:
    # A consultation at 00:10 IST on the 23rd: 18:40 UTC on the 22nd, counted on the 23rd.
    early = DAY - dt.timedelta(days=2)
    clinic.patient("p6", "IN-UP", at(early, "00:00"))
    clinic.book("p6", "GEN24", at(early, "00:01"))
    clinic.status("vikram", DoctorState.FREE, at(early, "00:10"))
    clinic.call("vikram", at(early, "00:10"))
    clinic.finish("vikram", VisitOutcome.DONE, at(early, "00:20"))
    with clinic.db.read() as session:
        figures = build_range(session, DAY - dt.timedelta(days=4), DAY + dt.timedelta(days=1))
    assert figures.per_day == tuple(
        DayCount(DAY + dt.timedelta(days=offset), count) for offset, count in zip(range(-4, 2), (0, 0, 1, 0, 2, 0), strict=True)
    )
    assert figures.consultations == 3 and figures.no_shows == 1 and not figures.empty
    # Highest first, ties by code, as the report ranks them.
    assert figures.states == (StateCount("IN-UP", 2), StateCount("IN-BR", 1))
    assert [(o.code, o.consultations) for o in figures.opds] == [("GEN24", 3)]


@pytest.mark.both_databases
def test_a_range_with_no_data_is_zeros(clinic: Clinic) -> None:
    with clinic.db.read() as session:
        figures = build_range(session, dt.date(2020, 1, 1), dt.date(2020, 1, 31))
    assert len(figures.per_day) == 31 and all(day.consultations == 0 for day in figures.per_day)
    assert figures.empty and figures.states == () and figures.opds == () and figures.no_shows == 0


@pytest.mark.both_databases
def test_only_the_ten_highest_states_are_charted(db: Database) -> None:
    clinic = Clinic(db)
    with db.write() as session:
        load_demo(session)
    clinic.doctor("asha", "Dr. Asha Rao", ("GEN24",), at(DAY, "08:00"))
    clinic.status("asha", DoctorState.FREE, at(DAY, "08:00"))
    # Eleven states; IN-AP has three consultations, IN-KA two, the others one each.
    states = ["IN-AP"] * 3 + ["IN-KA"] * 2 + ["IN-BR", "IN-DL", "IN-GJ", "IN-MH", "IN-MP", "IN-TN", "IN-UK", "IN-UP", "IN-WB"]
    for index, state in enumerate(states):
        clinic.patient(f"s{index}", state, at(DAY, "08:00"))
        clinic.book(f"s{index}", "GEN24", at(DAY, "08:10"))
        clinic.call("asha", at(DAY, f"09:{index:02d}"))
        clinic.finish("asha", VisitOutcome.DONE, at(DAY, f"09:{index:02d}"))
    with db.read() as session:
        figures = build_range(session, DAY, DAY)
    assert [(s.code, s.consultations) for s in figures.states] == [
        ("IN-AP", 3), ("IN-KA", 2), ("IN-BR", 1), ("IN-DL", 1), ("IN-GJ", 1), ("IN-MH", 1), ("IN-MP", 1), ("IN-TN", 1),
        ("IN-UK", 1), ("IN-UP", 1),
    ]


def test_a_range_that_ends_before_it_starts_is_refused(db: Database) -> None:
    with db.read() as session, pytest.raises(ValueError):
        build_range(session, DAY, DAY - dt.timedelta(days=1))


def test_the_default_range_is_the_last_30_india_days() -> None:
    # 20:00 UTC on the 25th is already the 26th in India.
    assert default_range(dt.datetime(2026, 11, 25, 20, 0, tzinfo=dt.UTC)) == (dt.date(2026, 10, 28), dt.date(2026, 11, 26))


# --- the page ------------------------------------------------------------------------------------


def today_clock(day: dt.date, hhmm: str) -> dt.datetime:
    """Move a clinic's morning (08:00-10:10) to today: it ends before now, or starts at midnight IST.

    The page reads the real clock, so the morning must fall on today's India date whenever
    the test runs; its waits and order stay as they were.
    """
    hours, minutes = map(int, hhmm.split(":"))
    now = utcnow()
    midnight = dt.datetime.combine(now.astimezone(IST).date(), dt.time(0), IST).astimezone(dt.UTC)
    base = max(midnight, now - dt.timedelta(hours=3))
    return base + dt.timedelta(minutes=(hours - 8) * 60 + minutes)


@pytest.fixture
def app(services: Services) -> Flask:
    return create_app(services)


@pytest.fixture
def client(app: Flask, services: Services) -> FlaskClient:
    client = app.test_client()
    signed_in(client, services)
    return client


@pytest.fixture
def busy_today(services: Services) -> Clinic:
    return clinic_day(services.db, utcnow().astimezone(IST).date(), today_clock)


def page(client: FlaskClient, lang: str, **query: str) -> str:
    response = client.get("/dashboard", query_string={"lang": lang, **query})
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def svgs(html: str) -> list[ET.Element]:
    """Return the page's inline charts, parsed as XML."""
    return [ET.fromstring(found) for found in re.findall(r"<svg\b.*?</svg>", html, flags=re.S)]


def row_of(html: str, header: str) -> list[str]:
    """Return the cells of the table row whose header cell is `header`."""
    row = re.search(r'<tr[^>]*>\s*<th scope="row">' + re.escape(header) + r"</th>(.*?)</tr>", html, flags=re.S)
    assert row, f"no row {header!r}"
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), flags=re.S)]


def figure(html: str, label: str) -> str:
    found = re.search(r"<dt>" + re.escape(label) + r"</dt><dd[^>]*>(.*?)</dd>", html)
    assert found, f"no figure {label!r}"
    return found.group(1)


WORDS = {
    "en": {
        "title": "Dashboard", "waiting": "Patients waiting", "today": "Consultations today", "rate": "No-show rate today",
        "gen24": "General Medicine (24 hours)", "busy": "In a consultation", "paused": "On a break", "offline": "Off duty",
        "median": "47.5 min", "per_day": "Consultations per day", "updated": "Updated at",
    },
    "hi": {
        "title": "डैशबोर्ड", "waiting": "इंतज़ार में मरीज़", "today": "आज के परामर्श", "rate": "आज न आने की दर",
        "gen24": "सामान्य चिकित्सा (24 घंटे)", "busy": "परामर्श में", "paused": "ब्रेक पर", "offline": "ड्यूटी से बाहर",
        "median": "47.5 मिनट", "per_day": "प्रतिदिन परामर्श", "updated": "अपडेट हुआ",
    },
}


@pytest.mark.parametrize("lang", LANGS)
def test_the_page_shows_the_live_figures_in_its_language(client: FlaskClient, busy_today: Clinic, lang: str) -> None:
    words = WORDS[lang]
    html = page(client, lang)
    assert f"<h1>{words['title']}</h1>" in html and words["updated"] in html
    assert figure(html, words["waiting"]) == "1"
    assert figure(html, words["today"]) == "2"
    assert figure(html, words["rate"]) == "33.3%"
    assert row_of(html, words["gen24"]) == ["1", "1", words["median"], "2"]
    assert row_of(html, "Dr. Asha Rao")[0] == words["busy"]
    assert row_of(html, "Dr. Vikram Singh")[0] == words["paused"]
    assert row_of(html, "Dr. Meena Iyer")[0] == words["offline"]
    assert '<th scope="col">' in html
    if lang == "hi":
        assert 'lang="hi"' in html and "ओपीडी के अनुसार कतारें" in html


@pytest.mark.parametrize("lang", LANGS)
def test_the_charts_are_inline_svg_that_need_no_javascript(client: FlaskClient, busy_today: Clinic, lang: str) -> None:
    html = page(client, lang)
    charts = svgs(html)
    assert [c.find(f"{SVG}title").text for c in charts][0] == WORDS[lang]["per_day"]
    assert len(charts) == 3 and all(c.get("role") == "img" for c in charts)
    per_day, states, opds = charts
    # 30 days, today's two consultations on the last column.
    columns = per_day.findall(f".//{SVG}g[@class='bar']")
    assert len(columns) == 30
    assert columns[-1].find(f"{SVG}rect").get("data-value") == "2"
    state_labels = [t.text for t in states.iter(f"{SVG}text") if t.get("class") == "label"]
    assert state_labels == (["Bihar", "Uttar Pradesh"] if lang == "en" else ["बिहार", "उत्तर प्रदेश"])
    assert [t.text for t in opds.iter(f"{SVG}text") if t.get("class") == "label"] == [WORDS[lang]["gen24"]]
    # Nothing needs a script: it is an external, deferred file; without it the page reloads itself.
    assert '<noscript><meta http-equiv="refresh" content="30"></noscript>' in html
    assert "<script>" not in html and "dashboard.js" in html


@pytest.mark.parametrize("lang", LANGS)
def test_a_range_with_no_data_shows_zeros_and_says_so_on_each_chart(client: FlaskClient, busy_today: Clinic, lang: str) -> None:
    html = page(client, lang, **{"from": "2020-01-01", "to": "2020-01-31"})
    empty = {
        "en": "No consultations between 1 January 2020 and 31 January 2020.",
        "hi": "1 जनवरी 2020 और 31 जनवरी 2020 के बीच कोई परामर्श नहीं हुआ।",
    }[lang]
    charts = svgs(html)
    assert [[t.text for t in c.iter(f"{SVG}text")] for c in charts] == [[empty]] * 3
    assert figure(html, "Consultations" if lang == "en" else "परामर्श") == "0"
    assert 'value="2020-01-01"' in html and 'value="2020-01-31"' in html
    # The live figures are still today's.
    assert figure(html, WORDS[lang]["today"]) == "2"


NOTICES = {
    "unreadable": {"en": "Those dates could not be read", "hi": "ये तारीख़ें समझ नहीं आईं"},
    "backwards": {"en": "The start date was after the end date", "hi": "शुरू की तारीख़ आख़िरी तारीख़ के बाद की थी"},
    "too long": {"en": "A range can be at most 366 days long", "hi": "अवधि ज़्यादा से ज़्यादा 366 दिन की हो सकती है"},
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ({"from": "yesterday"}, "unreadable"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, "unreadable"),
        ({"to": "25/11/2026"}, "unreadable"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "unreadable"),
        ({"from": "<script>alert(1)</script>"}, "unreadable"),
        ({"from": "2026-11-20\x00"}, "unreadable"),
        ({"from": "२०२६-११-२०"}, "unreadable"),
        ({"from": "2026-11-20", "to": "2026-11-10"}, "backwards"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "too long"),
    ],
)
def test_bad_dates_show_the_last_30_days_with_a_kind_notice(client: FlaskClient, app: Flask, lang: str, query: dict[str, str], kind: str) -> None:
    html = page(client, lang, **query)
    assert f'<p class="notice" role="status">{NOTICES[kind][lang]}' in html
    start, end = default_range(utcnow())
    assert f'value="{start.isoformat()}"' in html and f'value="{end.isoformat()}"' in html
    assert "<script>alert" not in html
    assert len(svgs(html)) == 3


@pytest.mark.parametrize("lang", LANGS)
def test_a_range_of_366_days_or_one_day_is_shown(client: FlaskClient, lang: str) -> None:
    for start, end in (("2024-01-01", "2024-12-31"), ("2026-11-25", "2026-11-25")):
        html = page(client, lang, **{"from": start, "to": end})
        assert 'class="notice"' not in html
        columns = svgs(html)[0].findall(f".//{SVG}g[@class='bar']")
        assert columns == []  # no data: the chart says so instead of drawing empty columns


# The demo OPDs in the order of their names; their codes (AYUSH, DENT, DERM, ENT, EYE, GEN,
# GEN24, OBG, ORTHO, PAED, PSY) would give another order in both languages.
OPDS_BY_NAME = {
    "en": [
        "AYUSH", "Dentistry", "Dermatology", "ENT (Ear, Nose, Throat)", "General Medicine", "General Medicine (24 hours)",
        "Obstetrics &amp; Gynaecology", "Ophthalmology (Eyes)", "Orthopaedics (Bones and Joints)", "Paediatrics",
        "Psychiatry (Mental Health)",
    ],
    "hi": [
        "आयुष", "त्वचा रोग", "दंत रोग", "नाक, कान, गला (ईएनटी)", "नेत्र रोग", "बाल रोग", "मनोरोग (मानसिक स्वास्थ्य)",
        "सामान्य चिकित्सा", "सामान्य चिकित्सा (24 घंटे)", "स्त्री एवं प्रसूति रोग", "हड्डी रोग",
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_the_queues_are_listed_by_the_opds_names_in_the_pages_language(client: FlaskClient, busy_today: Clinic, lang: str) -> None:
    caption = {"en": "Queues by OPD", "hi": "ओपीडी के अनुसार कतारें"}[lang]
    table = re.search(r"<caption>" + caption + r"</caption>(.*?)</table>", page(client, lang), flags=re.S)
    assert table, "no queue table"
    assert re.findall(r'<th scope="row">([^<]*)</th>', table.group(1)) == OPDS_BY_NAME[lang]


def test_the_dashboard_asks_for_a_sign_in(app: Flask) -> None:
    response = app.test_client().get("/dashboard")
    assert response.status_code == 302 and "/dashboard/login" in response.headers["Location"]


@pytest.mark.parametrize(("lang", "grouped"), [("en", "1,23,456"), ("hi", "1,23,456")])
def test_large_figures_are_grouped_the_indian_way(app: Flask, lang: str, grouped: str) -> None:
    figures = RangeFigures(
        start=DAY, end=DAY + dt.timedelta(days=1),
        per_day=(DayCount(DAY, 123456), DayCount(DAY + dt.timedelta(days=1), 4223054)),
        states=(StateCount("IN-AP", 4223054), StateCount("IN-KA", 123456)),
        opds=(OpdCount(1, "GEN24", "General Medicine (24 hours)", "सामान्य चिकित्सा (24 घंटे)", 123456),),
        no_shows=0,
    )
    with app.test_request_context(f"/dashboard?lang={lang}"):
        charts = range_charts(figures, lang)
    for name in ("per_day", "states", "opds"):
        values = [t.text for t in ET.fromstring(str(charts[name])).iter(f"{SVG}text") if t.get("class") == "value"]
        assert grouped in values, (name, values)
    states = ET.fromstring(str(charts["states"]))
    assert [t.text for t in states.iter(f"{SVG}text") if t.get("class") == "label"] == (
        ["Andhra Pradesh", "Karnataka"] if lang == "en" else ["आंध्र प्रदेश", "कर्नाटक"]
    )
    assert "42,23,054" in [t.text for t in states.iter(f"{SVG}text")]
