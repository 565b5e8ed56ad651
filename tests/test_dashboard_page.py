"""The operators' dashboard page in English and Hindi, over a clinic's day (tests/test_dashboard.py builds it)."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.runtime import Services
from bot.services.dashboard import DayCount, OpdCount, RangeFigures, default_range
from bot.services.reports import IST, StateCount
from bot.store.models import utcnow
from tests.operators import signed_in
from tests.test_dashboard import DAY, LANGS, SVG, Clinic, clinic_day
from webhooks import create_app
from webhooks.operators.dashboard import range_charts


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
