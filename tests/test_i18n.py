"""Rendering: catalogs by language, Indian digit grouping, dates in the user's language."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.platform.i18n import Catalogs, format_number, locales_dir
from flows.messages import ByLanguage, TimeOfDay, t, text_from_json, text_to_json


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        pytest.param(8033029, "en", "80,33,029", id="seed-d2d-en"),
        pytest.param(8033029, "hi", "80,33,029", id="seed-d2d-hi"),
        pytest.param(4223054, "hi", "42,23,054", id="andhra"),
        pytest.param(13000000, "en", "1,30,00,000", id="crore"),
        pytest.param(999, "en", "999", id="small"),
        pytest.param(90000, "hi", "90,000", id="per-day"),
    ],
)
def test_numbers_use_indian_grouping(value: int, lang: str, expected: str) -> None:
    assert format_number(value, lang) == expected
    assert Catalogs().format_value(value, lang) == expected


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        pytest.param(dt.date(2026, 3, 15), "en", "15 March 2026", id="date-en"),
        pytest.param(dt.date(2026, 3, 15), "hi", "15 मार्च 2026", id="date-hi"),
        # 08:30 UTC is 2:00 pm in India; aware datetimes are shown in IST.
        pytest.param(dt.datetime(2026, 11, 25, 8, 30, tzinfo=dt.UTC), "en", "25 November 2026, 2:00 pm", id="datetime-en"),
        pytest.param(dt.datetime(2026, 11, 25, 8, 30, tzinfo=dt.UTC), "hi", "25 नवंबर 2026, दोपहर 2:00", id="datetime-hi"),
        # Times of day as people say them: the day period first in Hindi.
        pytest.param(TimeOfDay(dt.datetime(2026, 11, 25, 3, 30, tzinfo=dt.UTC)), "en", "9:00 am", id="time-en"),
        pytest.param(TimeOfDay(dt.datetime(2026, 11, 25, 3, 30, tzinfo=dt.UTC)), "hi", "सुबह 9:00", id="time-hi-morning"),
        pytest.param(TimeOfDay(dt.datetime(2026, 11, 25, 14, 30, tzinfo=dt.UTC)), "hi", "रात 8:00", id="time-hi-night"),
    ],
)
def test_dates_in_the_users_language(value: dt.date, lang: str, expected: str) -> None:
    assert Catalogs().format_value(value, lang) == expected


def test_nested_messages_and_language_values_render_in_one_language(catalogs: Catalogs) -> None:
    text = t(
        "Name: {name}\nAge: {age}\nSex: {sex}\nState: {state}\nDistrict: {district}\nMobile: {phone}",
        name="Asha", age=1234567, sex=t("Female"), state=ByLanguage(en="Bihar", hi="बिहार"), district="Gaya", phone=t("Not given"),
    )
    assert catalogs.translate(text, "en") == "Name: Asha\nAge: 12,34,567\nSex: Female\nState: Bihar\nDistrict: Gaya\nMobile: Not given"
    assert catalogs.translate(text, "hi") == "नाम: Asha\nउम्र: 12,34,567\nलिंग: महिला\nराज्य: बिहार\nज़िला: Gaya\nमोबाइल: नहीं दिया"
    # The outbox stores messages as JSON; the round trip keeps everything.
    assert catalogs.translate(text_from_json(text_to_json(text)), "hi") == catalogs.translate(text, "hi")


def test_unknown_language_falls_back_to_english(catalogs: Catalogs) -> None:
    assert catalogs.translate(t("Welcome back!"), "ta") == "Welcome back!"


def test_fresh_clone_needs_no_compile_step_and_a_newer_mo_wins(tmp_path: Path) -> None:
    folder = tmp_path / "locales"
    shutil.copytree(locales_dir(), folder, ignore=shutil.ignore_patterns("*.mo", "__pycache__"))
    # No .mo at all: the .po is compiled in memory.
    assert Catalogs(folder).translate(t("Welcome back!"), "hi") == "फिर से आपका स्वागत है!"
    # `pybabel compile` output newer than the .po is used as it is.
    po = folder / "hi" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="hi")
    catalog.get("Welcome back!").string = "स्वागत (compiled)"
    with (po.parent / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    later = time.time() + 5
    os.utime(po.parent / "messages.mo", (later, later))
    assert Catalogs(folder).translate(t("Welcome back!"), "hi") == "स्वागत (compiled)"
