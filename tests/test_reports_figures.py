"""The consultation report: every figure of a hand-built day (totals, per OPD, per doctor, per
state, India days, an empty range, nearest rank), its English and Hindi text, the seed's
per-state table, and CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from bot.platform.i18n import Catalogs
from bot.services.reports import (
    Figures,
    Report,
    StateCount,
    build_report,
    nearest_rank,
    render_csv,
    render_text,
    state_lines,
)
from bot.store.db import Database
from flows.messages import t
from tests.reports_helpers import AFTER, BEFORE, DAY, build_day

# The database is what is tested here: the report's aggregates and India's days (dates and time zones in SQL).
pytestmark = pytest.mark.both_databases


@pytest.fixture
def day_db(db: Database) -> tuple[Database, dict[str, int]]:
    with db.write() as session:
        doctors = build_day(session)
    return db, doctors


def report_of(db: Database, start: dt.date, end: dt.date) -> Report:
    with db.read() as session:
        return build_report(session, start, end)


# --- figures -------------------------------------------------------------------------------


def test_totals_of_the_day(day_db: tuple[Database, dict[str, int]]) -> None:
    db, _ = day_db
    total = report_of(db, DAY, DAY).total
    assert total == Figures(
        consultations=19, done=16, referred=3, no_shows=4, cancelled=1, abandoned=1, open=1,
        patients=18,  # 19 consultations, one patient seen in both OPDs
        tokens=29,  # 18 GEN + 11 PAED, whatever their status
        waits=26,  # every call of the day
        median_wait=30.0,  # 13th and 14th of 26 sorted waits are both 30
        p90_wait=60.0,  # ceil(0.9 · 26) = 24th smallest
        no_show_rate=4 / 23,  # 4 no-shows among 19 + 4 calls that ended
        ratings=16, average_rating=66 / 16,
    )
    assert total.calls == 26 and total.other_calls == 3


def test_per_opd(day_db: tuple[Database, dict[str, int]]) -> None:
    db, _ = day_db
    report = report_of(db, DAY, DAY)
    assert [(o.code, o.name_en, o.name_hi) for o in report.opds] == [
        ("GEN", "General Medicine", "सामान्य चिकित्सा"), ("PAED", "Paediatrics", "बाल रोग"),
    ]
    gen, paed = (o.figures for o in report.opds)
    assert gen == Figures(
        consultations=12, done=10, referred=2, no_shows=2, cancelled=1, abandoned=0, open=1, patients=12, tokens=18,
        waits=16, median_wait=30.0, p90_wait=50.0, no_show_rate=2 / 14, ratings=10, average_rating=4.1,
    )
    assert paed == Figures(
        consultations=7, done=6, referred=1, no_shows=2, cancelled=0, abandoned=1, open=0, patients=7, tokens=11,
        waits=10, median_wait=40.0, p90_wait=70.0, no_show_rate=2 / 9, ratings=6, average_rating=25 / 6,
    )


def test_per_doctor(day_db: tuple[Database, dict[str, int]]) -> None:
    db, ids = day_db
    report = report_of(db, DAY, DAY)
    # Highest first (Meena 7, then Asha and Vikram with 6 each, by name).
    assert [(d.doctor_id, d.name) for d in report.doctors] == [
        (ids["meena"], "Dr. Meena Iyer"), (ids["asha"], "Dr. Asha Rao"), (ids["vikram"], "Dr. Vikram Singh"),
    ]
    meena, asha, vikram = (d.figures for d in report.doctors)
    assert asha == Figures(
        consultations=6, done=5, referred=1, no_shows=1, cancelled=1, open=1, patients=6, tokens=None,
        waits=9, median_wait=30.0, p90_wait=50.0, no_show_rate=1 / 7, ratings=6, average_rating=4.5,
    )
    assert vikram == Figures(
        consultations=6, done=5, referred=1, no_shows=1, patients=6, tokens=None,
        waits=7, median_wait=30.0, p90_wait=60.0, no_show_rate=1 / 7, ratings=4, average_rating=3.5,
    )
    assert meena == Figures(
        consultations=7, done=6, referred=1, no_shows=2, abandoned=1, patients=7, tokens=None,
        waits=10, median_wait=40.0, p90_wait=70.0, no_show_rate=2 / 9, ratings=6, average_rating=25 / 6,
    )


def test_per_state_highest_first(day_db: tuple[Database, dict[str, int]]) -> None:
    db, _ = day_db
    report = report_of(db, DAY, DAY)
    # Consultations only (no-shows from Delhi and Gujarat do not count); ties by code; the
    # consultation with no recorded state last.
    assert report.states == (
        StateCount("IN-AP", 7), StateCount("IN-KA", 3), StateCount("IN-UP", 3), StateCount("IN-BR", 2),
        StateCount("IN-MH", 2), StateCount("IN-TN", 1), StateCount(None, 1),
    )
    assert sum(s.consultations for s in report.states) == report.total.consultations


def test_days_are_india_days(day_db: tuple[Database, dict[str, int]]) -> None:
    db, _ = day_db
    before = report_of(db, BEFORE, BEFORE)
    assert (before.total.consultations, before.total.tokens, before.total.median_wait) == (1, 1, 470.0)
    # Called at 00:05 IST on the 26th (18:35 UTC on the 25th): the 26th's, not the 25th's.
    after = report_of(db, AFTER, AFTER)
    assert (after.total.consultations, after.total.tokens, after.total.median_wait) == (1, 1, 4.0)
    three = report_of(db, BEFORE, AFTER)
    assert (three.total.consultations, three.total.tokens, three.total.no_shows) == (21, 31, 4)
    assert three.states[0] == StateCount("IN-AP", 9)
    with pytest.raises(ValueError):
        report_of(db, AFTER, BEFORE)


def test_an_empty_range_is_a_report(day_db: tuple[Database, dict[str, int]]) -> None:
    db, _ = day_db
    empty_day = DAY + dt.timedelta(days=5)
    report = report_of(db, empty_day, empty_day)
    assert report.empty and report.total == Figures(tokens=0)
    assert report.opds == () and report.doctors == () and report.states == ()
    text = render_text(report, "en")
    assert text.splitlines()[:3] == ["Consultation report for 30 November 2026", "", "No consultations in this period."]
    assert "Waiting" not in text and "By OPD" not in text
    rows = list(csv.reader(io.StringIO(render_csv(report))))
    assert ["total", "", "consultations", "0"] in rows and ["total", "", "median_wait_minutes", ""] in rows


def test_nearest_rank() -> None:
    assert nearest_rank([], 0.9) is None
    assert nearest_rank([7.0], 0.9) == 7.0
    assert nearest_rank(list(range(1, 11)), 0.9) == 9
    assert nearest_rank(list(range(1, 12)), 0.9) == 10  # ceil(9.9) = 10
    assert nearest_rank([3, 1, 2], 0.5) == 2


# --- text ----------------------------------------------------------------------------------


def test_english_text(day_db: tuple[Database, dict[str, int]]) -> None:
    db, _ = day_db
    lines = render_text(report_of(db, DAY, DAY), "en").splitlines()
    assert lines[0] == "Consultation report for 25 November 2026"
    assert lines[2:9] == [
        "Consultations: 19 (done 16, referred 3)",
        "Patients: 18",
        "Tokens issued: 29",
        "No-shows: 4 (no-show rate 17.4%)",
        "Other calls: 3 (cancelled 1, abandoned 1, still open 1)",
        "Waiting time in minutes: median 30, 90th percentile 60",
        "Average rating: 4.1 (ratings given: 16)",
    ]
    gen = lines.index("General Medicine")
    assert lines[gen + 1:gen + 4] == ["  Consultations: 12 (done 10, referred 2)", "  Patients: 12", "  Tokens issued: 18"]
    assert "  No-shows: 2 (no-show rate 14.3%)" in lines[gen:]
    asha = lines.index("Dr. Asha Rao")
    assert lines[asha + 1:asha + 3] == ["  Consultations: 6 (done 5, referred 1)", "  Patients: 6"]
    assert "Tokens" not in lines[asha + 3]  # tokens belong to OPDs, not to doctors
    table = lines[lines.index("Consultations by state") + 1:]
    assert table == [
        "Andhra Pradesh 7", "Karnataka 3", "Uttar Pradesh 3", "Bihar 2", "Maharashtra 2", "Tamil Nadu 1", "State not recorded 1",
    ]
    assert lines.index("By OPD") < lines.index("By doctor") < lines.index("Consultations by state")


def test_hindi_text_uses_hindi_names_dates_and_indian_grouping(day_db: tuple[Database, dict[str, int]]) -> None:
    db, _ = day_db
    text = render_text(report_of(db, BEFORE, AFTER), "hi")
    assert "24 नवंबर 2026" in text and "26 नवंबर 2026" in text
    for line in ("सामान्य चिकित्सा", "बाल रोग", "आंध्र प्रदेश 9", "कर्नाटक 3", "उत्तर प्रदेश 3", "तमिलनाडु 1"):
        assert line in text.splitlines(), line


def test_hindi_labels_come_from_the_catalog(day_db: tuple[Database, dict[str, int]]) -> None:
    catalogs = Catalogs()
    assert catalogs.translate(t("Patients: {count}", count=1), "hi") == "मरीज़: 1"
    db, _ = day_db
    report = report_of(db, DAY, DAY)
    lines = render_text(report, "hi").splitlines()
    doctors = {d.name for d in report.doctors}
    for line in lines:
        assert line in doctors or not re.search("[A-Za-z]", line), line
    assert any("17.4%" in line for line in lines[:8]) and any("4.1" in line for line in lines[:9])


SEED_STATES = (  # seeds/000_e77c57de71988ba9.txt: the ten states with the most consultations
    ("IN-AP", 4223054), ("IN-KA", 2415774), ("IN-TN", 1599283), ("IN-UP", 1371799), ("IN-GJ", 485735),
    ("IN-MP", 447878), ("IN-BR", 436383), ("IN-MH", 403376), ("IN-WB", 369441), ("IN-UK", 271513),
)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        pytest.param("hi", [
            "आंध्र प्रदेश 42,23,054", "कर्नाटक 24,15,774", "तमिलनाडु 15,99,283", "उत्तर प्रदेश 13,71,799", "गुजरात 4,85,735",
            "मध्य प्रदेश 4,47,878", "बिहार 4,36,383", "महाराष्ट्र 4,03,376", "पश्चिम बंगाल 3,69,441", "उत्तराखंड 2,71,513",
        ], id="hi"),
        pytest.param("en", [
            "Andhra Pradesh 42,23,054", "Karnataka 24,15,774", "Tamil Nadu 15,99,283", "Uttar Pradesh 13,71,799", "Gujarat 4,85,735",
            "Madhya Pradesh 4,47,878", "Bihar 4,36,383", "Maharashtra 4,03,376", "West Bengal 3,69,441", "Uttarakhand 2,71,513",
        ], id="en"),
    ],
)
def test_the_seeds_state_table(lang: str, expected: list[str]) -> None:
    total = sum(count for _, count in SEED_STATES)
    report = Report(
        start=dt.date(2019, 11, 1), end=dt.date(2021, 2, 22),
        total=Figures(consultations=total, done=total),
        states=tuple(StateCount(code, count) for code, count in SEED_STATES),
    )
    assert state_lines(report, lang) == expected
    lines = render_text(report, lang).splitlines()
    heading = lines.index(Catalogs().translate(t("Consultations by state"), lang))
    assert lines[heading + 1:] == expected
    assert "1,20,24,236" in lines[2]  # the total, grouped the Indian way too


# --- CSV -----------------------------------------------------------------------------------


def test_csv_rows_match_the_report(day_db: tuple[Database, dict[str, int]]) -> None:
    db, ids = day_db
    report = report_of(db, DAY, DAY)
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert set(rows[0]) == {"section", "key", "metric", "value"}
    value = {(r["section"], r["key"], r["metric"]): r["value"] for r in rows}
    assert len(value) == len(rows)  # one row per (section, key, metric)
    assert value["period", "", "start"] == value["period", "", "end"] == "2026-11-25"
    assert int(value["total", "", "consultations"]) == report.total.consultations == 19
    assert int(value["total", "", "tokens"]) == 29 and int(value["total", "", "patients"]) == 18
    assert float(value["total", "", "median_wait_minutes"]) == 30 and float(value["total", "", "p90_wait_minutes"]) == 60
    assert float(value["total", "", "no_show_rate"]) == round(4 / 23, 4)
    assert float(value["total", "", "average_rating"]) == 4.125
    assert value["opd", "GEN", "name_hi"] == "सामान्य चिकित्सा" and int(value["opd", "PAED", "tokens"]) == 11
    assert value["doctor", str(ids["asha"]), "name"] == "Dr. Asha Rao"
    assert ("doctor", str(ids["asha"]), "tokens") not in value
    # The slices add up to the totals.
    for metric in ("consultations", "no_shows", "tokens"):
        assert sum(int(value["opd", o.code, metric]) for o in report.opds) == int(value["total", "", metric])
    for metric in ("consultations", "no_shows", "cancelled", "abandoned", "open"):
        assert sum(int(value["doctor", str(d.doctor_id), metric]) for d in report.doctors) == int(value["total", "", metric])
    states = [(r["key"], int(r["value"])) for r in rows if r["section"] == "state"]
    assert states[0] == ("IN-AP", 7) and states[-1] == ("", 1)
    assert sum(count for _, count in states) == 19


def test_csv_numbers_are_not_grouped() -> None:
    report = Report(start=DAY, end=DAY, states=(StateCount("IN-AP", 4223054),))
    assert "state,IN-AP,consultations,4223054" in render_csv(report).splitlines()
