"""Tests for flows.understanding.redflags: red flags in English, Hindi and romanised Hindi; negation; mild complaints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flows.understanding.redflags import RedFlag, detect, known_flags, priority
from tests.testdata import TESTDATA

ROOT = Path(__file__).resolve().parents[1]
WHO_DANGER_SIGNS = "triage/who_smart_emcare/questionnaire-Ccc.b7.lti-dangersigns.json"
EDGE_CASES = "robustness/generated/devanagari_edge_cases.json"
BLNS = "robustness/blns.json"

CODES = (
    "chest_pain",
    "severe_breathlessness",
    "unconscious",
    "seizure",
    "heavy_bleeding",
    "stroke",
    "vomiting_blood",
    "pregnancy_danger",
    "child_danger",
    "poisoning",
    "snake_bite",
    "burns",
    "self_harm",
)

# ज़ precomposed (U+095B) and decomposed (ज + nukta U+093C), as in the shared edge cases.
ZA_PRECOMPOSED, ZA_DECOMPOSED = "\u095b", "\u091c\u093c"

# The phrasings themselves (what must trigger, what must not) are one table,
# tests/fixtures/safety_phrases.csv, checked by tests/test_safety_phrases.py. Here: the cases that
# are about code points rather than wording, which a CSV would hide.
CODE_POINT_CASES: list[tuple[str, list[str]]] = [
    (f"{ZA_PRECOMPOSED}हर खा लिया", ["poisoning"]),
    (f"{ZA_DECOMPOSED}हर खा लिया", ["poisoning"]),
    ("सीने\u200bमें दर्द", ["chest_pain"]),  # zero-width space instead of a space
    ("सीने\u00a0में दर्द\u200d", ["chest_pain"]),  # no-break space, trailing joiner
    (f"{ZA_PRECOMPOSED}ुकाम", []),
    (f"{ZA_DECOMPOSED}ुकाम", []),
    ("", []),
    ("   ", []),
    ("🙂🙂", []),
    ("https://example.com/chest", []),
]


def load(relative: str) -> Any:
    """Read a JSON file from the shared test data; a missing file fails the test (never skips)."""
    path = TESTDATA / relative
    assert path.is_file(), f"shared test data not found: {path}"
    return json.loads(path.read_text(encoding="utf-8"))


def codes(text: str) -> list[str]:
    """Return the class codes detect() finds in text."""
    return [flag.code for flag in detect(text)]


@pytest.mark.parametrize(("text", "expected"), CODE_POINT_CASES, ids=[ascii(t)[:40] for t, _ in CODE_POINT_CASES])
def test_nukta_invisible_characters_and_odd_input(text: str, expected: list[str]) -> None:
    assert codes(text) == expected


def test_known_flags_are_the_designed_classes_with_their_actions() -> None:
    flags = known_flags()
    assert tuple(f.code for f in flags) == CODES
    assert all(f.action == ("mental_health" if f.code == "self_harm" else "ambulance") for f in flags)


def test_detect_returns_each_class_once_in_data_order() -> None:
    found = detect("seene mein dard, saans nahi aa rahi, aur main jeena nahi chahta. chest pain again")
    assert found == (
        RedFlag("chest_pain", "ambulance"),
        RedFlag("severe_breathlessness", "ambulance"),
        RedFlag("self_harm", "mental_health"),
    )


def test_heart_and_asthma_attacks_are_not_seizures() -> None:
    assert codes("दिल का दौरा पड़ा") == ["chest_pain"]
    assert codes("dama ka daura pada") == ["severe_breathlessness"]
    assert codes("usko daura pada") == ["seizure"]


def test_pregnancy_signs_need_the_pregnancy_context() -> None:
    assert "pregnancy_danger" not in codes("bleeding from a small cut")
    assert "pregnancy_danger" not in codes("severe headache and blurred vision")
    assert "pregnancy_danger" in codes("I am pregnant. Since last night there is some bleeding")
    assert codes("I am not pregnant, bleeding from nose") == []


def test_child_signs_need_a_child_or_an_age() -> None:
    assert codes("vomiting everything since morning") == []
    assert codes("beti doodh nahi pee rahi") == []  # beta/beti need an age: they are also grown children
    assert codes("beti 2 saal ki hai, doodh nahi pee rahi") == ["child_danger"]


def who_danger_signs() -> list[str]:
    """Return the WHO EmCare danger-sign questions (the boolean items of the questionnaire)."""
    items: list[str] = []

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            if node.get("type") == "boolean" and node.get("text") and node["linkId"] != "DS":
                items.append(node["text"])
            walk(node.get("item", []))

    walk(load(WHO_DANGER_SIGNS)["item"])
    return items


def test_who_imci_danger_sign_wording_triggers_for_a_child() -> None:
    signs = who_danger_signs()
    # Convulsing now, convulsions in this illness, unconscious or lethargic, unconscious, lethargic,
    # not able to drink or breastfeed, vomiting everything, unable to drink or vomits everything.
    assert len(signs) >= 8, signs
    for sign in signs:
        if sign.startswith("Has the Child"):
            continue  # "had anything to drink today?" is a question, not a sign
        assert "child_danger" in codes(f"My child: {sign}"), sign
        assert "child_danger" in codes(f"मेरा बच्चा - {sign}"), sign


@pytest.mark.parametrize(
    "text",
    [
        # Caregiver-facing phrasings from the WHO help texts of the same questionnaire.
        "the child seems unusually sleepy",
        "I cannot wake the child",
        "my child is not able to suck or swallow",
        "the child vomits everything",
        "my child is lethargic and drowsy",
        "the child's arms and legs stiffen, he is having fits",
    ],
)
def test_who_help_text_phrasings(text: str) -> None:
    assert "child_danger" in codes(text)


def test_nukta_and_nasal_forms_from_the_shared_edge_cases_match_alike() -> None:
    cases = load(EDGE_CASES)["cases"]
    variants = [c for c in cases if c.get("group") == "health_words_variants"]
    saans = [c["text"] for c in variants if "saans" in c.get("label", "")]
    assert len(saans) == 2 and saans[0] != saans[1]
    for form in saans:
        assert codes(f"{form} नहीं आ रही") == ["severe_breathlessness"]
    nukta = [c for c in cases if c.get("group") == "nukta_precomposed_vs_decomposed"]
    za = next(c for c in nukta if c["precomposed"]["text"] == ZA_PRECOMPOSED)
    for form in (za["precomposed"]["text"], za["decomposed"]["text"]):
        assert codes(f"{form}हर पी लिया") == ["poisoning"]
    assert codes(next(c["text"] for c in variants if c["text"].startswith("छाती"))) == ["chest_pain"]


def test_devanagari_digits_do_not_get_in_the_way() -> None:
    assert codes("मेरा २ साल का बेटा सब कुछ उल्टी कर देता है") == ["child_danger"]
    assert codes("१० मिनट से झटके आ रहे हैं") == ["seizure"]


def test_every_naughty_string_runs_and_none_is_a_red_flag() -> None:
    strings = load(BLNS)
    assert isinstance(strings, list) and len(strings) > 400
    flagged = {s: codes(s) for s in strings if detect(s)}
    # None of the 500+ strings is a health message; a flag here is a false positive to look at.
    assert flagged == {}


def test_long_and_odd_input_is_handled() -> None:
    assert codes("bukhar " * 5000 + "seene mein dard") == ["chest_pain"]
    assert detect("\x00\ud800\ufeff") == ()


def test_priority_is_any_flag() -> None:
    assert priority(detect("chest pain")) is True
    assert priority(detect("mild cold")) is False
    assert priority(()) is False
    assert priority([RedFlag("self_harm", "mental_health")]) is True


def test_importing_does_no_work() -> None:
    script = "import flows.understanding.redflags as r; print(r._rules.cache_info().currsize)"
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "0"
