"""The safety table: danger signs as people type them, and the near misses, against the red-flag detector.

tests/fixtures/safety_phrases.csv holds one row a phrasing: text, script (en English, hi Devanagari,
rom romanised Hindi, mix mixed scripts or Hinglish), expect (trigger / none), the red-flag class
and helpline a must-trigger row needs (108 ambulance, 14416 Tele-MANAS), and a note. Every
must-trigger row must find its class and get its helpline first at the menu; at most 5% of the
must-not rows (negations, past history, other senses, ordinary complaints) may raise an alarm.
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import pytest

from bot.platform.i18n import Catalogs
from flows.conversation import handle
from flows.engine import Inbound
from flows.ports import Ports
from flows.understanding.redflags import detect, known_flags
from flows.understanding.text import is_devanagari
from tests.test_robustness import _chat_at

TABLE = Path(__file__).resolve().parent / "fixtures" / "safety_phrases.csv"
COLUMNS = ["text", "script", "expect", "class", "helpline", "note"]
HELPLINE = {"ambulance": "108", "mental_health": "14416"}
MAX_FALSE_ALARMS = 0.05
# The language the reply is read in: Hindi for anything written in or around Hindi.
UI = {"en": "en", "hi": "hi", "rom": "hi", "mix": "hi"}


def table() -> list[dict[str, str]]:
    """Return the rows of the safety table."""
    with TABLE.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS, reader.fieldnames
        return list(reader)


def test_the_table_is_well_formed_and_covers_every_class_in_every_script() -> None:
    rows = table()
    actions = {flag.code: flag.action for flag in known_flags()}
    texts = [row["text"] for row in rows]
    assert len(texts) == len(set(texts)), "a phrasing is in the table twice"
    for row in rows:
        assert row["text"].strip() and row["script"] in UI and row["expect"] in ("trigger", "none"), row
        if row["expect"] == "trigger":
            assert row["helpline"] == HELPLINE[actions[row["class"]]], row
        else:
            assert (row["class"], row["helpline"]) == ("-", "-"), row
        if row["script"] in ("en", "rom"):
            assert not is_devanagari(row["text"]), row
        elif row["script"] == "hi":
            assert not any(ch.isascii() and ch.isalpha() for ch in row["text"]), row
    trigger = [row for row in rows if row["expect"] == "trigger"]
    assert len(trigger) >= 300 and len(rows) - len(trigger) >= 150
    for code in actions:
        for script in ("en", "hi", "rom"):
            count = sum(1 for row in trigger if (row["class"], row["script"]) == (code, script))
            assert count >= 3, f"{code} has {count} {script} rows"


def test_recall_is_complete_and_false_alarms_are_rare(capsys: pytest.CaptureFixture[str]) -> None:
    rows = table()
    missed, alarms = [], []
    for row in rows:
        found = {flag.code: flag.action for flag in detect(row["text"])}
        if row["expect"] == "trigger" and HELPLINE.get(found.get(row["class"], "")) != row["helpline"]:
            missed.append((row["text"], row["class"], sorted(found)))
        elif row["expect"] == "none" and found:
            alarms.append((row["text"], sorted(found)))
    must = sum(1 for row in rows if row["expect"] == "trigger")
    recall, false_alarms = 1 - len(missed) / must, len(alarms) / (len(rows) - must)
    with capsys.disabled():
        print(
            f"\nsafety table: recall {recall:.1%} ({must - len(missed)}/{must} must-trigger rows), "
            f"false alarms {false_alarms:.1%} ({len(alarms)}/{len(rows) - must} must-not rows)"
        )
    assert not missed, f"recall {recall:.1%}: {missed}"
    assert false_alarms <= MAX_FALSE_ALARMS, f"false alarms {false_alarms:.1%}: {alarms}"


def test_every_must_trigger_row_gets_its_helpline_first_at_the_menu(catalogs: Catalogs) -> None:
    """The whole turn, not only the detector: the first reply a registered patient gets names the number."""
    at_menu = {lang: _chat_at(catalogs, lang, "menu") for lang in ("en", "hi")}
    wrong = []
    for row in table():
        if row["expect"] != "trigger":
            continue
        chat = at_menu[UI[row["script"]]]
        ports = Ports(patients=copy.deepcopy(chat.patients), labels=catalogs)
        outcome = handle(copy.deepcopy(chat.state), Inbound(text=row["text"]), ports)
        first = catalogs.translate(outcome.replies[0].text, UI[row["script"]])
        if row["helpline"] not in first:
            wrong.append((row["text"], first))
    assert not wrong, wrong
