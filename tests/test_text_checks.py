"""Tests for flows.understanding.text: script checks, age parsing, safe truncation (at grapheme
cluster boundaries), and long, NUL-laden and naughty texts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import pytest

from flows.understanding.text import (
    fold,
    has_letters,
    is_devanagari,
    normalize,
    parse_age,
    to_ascii_digits,
    truncate,
)
from tests.testdata import (
    data_cases,
    load,
)

GRAPHEME_TESTS = "robustness/devanagari_grapheme_break_tests_unicode15_1.json"
BLNS = "robustness/blns.json"


# --- script checks -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "devanagari", "letters"),
    [
        pytest.param("राम", True, True, id="hindi-name"),
        pytest.param("Ram", False, True, id="latin-name"),
        pytest.param("Ram राम", True, True, id="mixed"),
        pytest.param("🙂🙂", False, False, id="emoji-only"),
        pytest.param("👨‍👩‍👧", False, False, id="emoji-zwj-family"),
        pytest.param("१२३", False, False, id="devanagari-digits-only"),
        pytest.param("123", False, False, id="ascii-digits-only"),
        pytest.param("।॥", False, False, id="dandas-only"),
        pytest.param("\u093f", False, False, id="lone-vowel-sign"),
        pytest.param("ॐ", True, True, id="om-is-a-letter"),
        pytest.param("Müller", False, True, id="latin-accented"),
        pytest.param("Иван", False, True, id="cyrillic"),
        pytest.param("", False, False, id="empty"),
        pytest.param("   ", False, False, id="spaces"),
    ],
)
def test_script_checks(text: str, devanagari: bool, letters: bool) -> None:
    assert is_devanagari(text) is devanagari
    assert has_letters(text) is letters


# --- parse_age -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "age"),
    [
        pytest.param("34", 34, id="bare"),
        pytest.param(" 34 ", 34, id="padded"),
        pytest.param("३४", 34, id="devanagari-digits"),
        pytest.param("34 saal", 34, id="saal"),
        pytest.param("34 sal", 34, id="sal"),
        pytest.param("34 years", 34, id="years"),
        pytest.param("34 yrs", 34, id="yrs"),
        pytest.param("34yrs", 34, id="yrs-attached"),
        pytest.param("34 वर्ष", 34, id="varsh"),
        pytest.param("34 साल", 34, id="saal-devanagari"),
        pytest.param("३४ साल", 34, id="all-devanagari"),
        pytest.param("age 34", 34, id="age-prefix"),
        pytest.param("Age: 34", 34, id="age-colon"),
        pytest.param("मेरी उम्र 34 साल है", 34, id="hindi-sentence"),
        pytest.param("मेरी उम्र ३४ साल है।", 34, id="hindi-sentence-danda"),
        pytest.param("I am 34", 34, id="i-am"),
        pytest.param("I'm 34", 34, id="i-m"),
        pytest.param("34 years old", 34, id="years-old"),
        pytest.param("mai 34 saal ka hu", 34, id="hinglish-sentence"),
        pytest.param("6 months", 0, id="months"),
        pytest.param("6 mahine", 0, id="mahine"),
        pytest.param("6 महीने", 0, id="mahine-devanagari"),
        pytest.param("18 months", 1, id="months-to-completed-years"),
        pytest.param("3 weeks", 0, id="weeks"),
        pytest.param("10 din", 0, id="days"),
        pytest.param("0", 0, id="zero"),
        pytest.param("120", 120, id="upper-bound"),
        pytest.param("0034", 34, id="leading-zeros"),
        pytest.param("", None, id="empty"),
        pytest.param("abc", None, id="letters"),
        pytest.param("-5", None, id="negative"),
        pytest.param("age -5", None, id="negative-after-word"),
        pytest.param("121", None, id="too-old"),
        pytest.param("34.5", None, id="decimal"),
        pytest.param("34,5", None, id="decimal-comma"),
        pytest.param("3 4", None, id="split-digits"),
        pytest.param("34 and 35", None, id="two-numbers"),
        pytest.param("34 years 6 months", None, id="two-numbers-with-units"),
        pytest.param("1e3", None, id="exponent"),
        pytest.param("999999999999999999999", None, id="huge"),
        pytest.param("34 " + "x" * 40, None, id="over-40-chars"),
        pytest.param("room 12", None, id="unknown-word"),
        pytest.param("34 m", None, id="bare-m-ambiguous"),
        pytest.param("34 years months", None, id="two-units"),
        pytest.param("🙂", None, id="emoji"),
    ],
)
def test_parse_age(text: str, age: int | None) -> None:
    assert parse_age(text) == age


# --- truncate ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        pytest.param("hello", 10, "hello", id="shorter-than-limit"),
        pytest.param("hello", 5, "hello", id="exact-limit"),
        pytest.param("hello", 3, "hel", id="ascii-cut"),
        pytest.param("hello", 0, "", id="zero"),
        pytest.param("", 3, "", id="empty"),
        pytest.param("क्षमा", 2, "", id="conjunct-not-split"),
        pytest.param("क्षमा", 3, "क्ष", id="after-conjunct"),
        pytest.param("किताब", 1, "", id="vowel-sign-kept-with-consonant"),
        pytest.param("किताब", 3, "कि", id="vowel-sign-aa-kept-with-consonant"),
        pytest.param("किताब", 4, "किता", id="clean-cut-inside-word"),
        pytest.param("क्\u200dष ok", 3, "", id="zwj-conjunct"),
        pytest.param("दर्द है", 3, "द", id="reph-cluster"),
        pytest.param("साँस", 2, "", id="chandrabindu-not-split"),
        pytest.param("साँस", 3, "साँ", id="chandrabindu-kept"),
        pytest.param("cafe\u0301!", 4, "caf", id="latin-combining-mark"),
        pytest.param("👨\u200d👩\u200d👧 hi", 3, "", id="emoji-zwj-sequence"),
        pytest.param("🇮🇳🇮🇳", 3, "🇮🇳", id="flag-pair"),
        pytest.param("👍🏽!", 1, "", id="skin-tone-modifier"),
        pytest.param("a\r\nb", 2, "a", id="crlf"),
        pytest.param("a\nb", 2, "a\n", id="lf-alone"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


def test_truncate_rejects_a_negative_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        truncate("abc", -1)


def _grapheme_rows() -> list[Any]:
    """Return the Unicode grapheme-break rows that involve Devanagari."""
    rows = load(GRAPHEME_TESTS)["rows"]
    return [pytest.param(r["text"], r["expected_graphemes"], id=r["raw"]) for r in rows]


@pytest.mark.parametrize(("text", "graphemes"), data_cases(_grapheme_rows, 2))
def test_truncate_cuts_at_the_last_cluster_boundary(text: str, graphemes: list[str]) -> None:
    assert "".join(graphemes) == text
    boundaries = [0]
    for cluster in graphemes:
        boundaries.append(boundaries[-1] + len(cluster))
    for limit in range(len(text) + 1):
        expected = max(b for b in boundaries if b <= limit)
        assert truncate(text, limit) == text[:expected], f"limit {limit}"


# --- long and hostile input ----------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a" * 10_000, id="ascii"),
        pytest.param(("बिहार " * 2_000)[:10_000], id="hindi-words"),
        pytest.param("\u0301" * 10_000, id="combining-marks"),
        pytest.param("क्" * 5_000, id="viramas"),
        pytest.param("\x00" * 10_000, id="nul"),
        pytest.param("\u00a0" * 10_000, id="nbsp"),
        pytest.param("🙂" * 10_000, id="emoji"),
        pytest.param("9" * 10_000, id="digits"),
    ],
)
def test_ten_thousand_characters(text: str) -> None:
    assert len(text) == 10_000
    normalized = normalize(text)
    assert len(normalized) <= len(text)
    assert normalize(normalized) == normalized
    assert fold(fold(text)) == fold(text)
    assert parse_age(text) is None
    cut = truncate(text, 70)
    assert len(cut) <= 70 and text.startswith(cut)


def test_nul_bytes_in_the_middle_of_a_message() -> None:
    assert normalize("mujhe\x00 bukhar\x00\x00 hai") == "mujhe bukhar hai"
    assert parse_age("3\x004") == 34
    assert fold("BIHAR\x00") == "bihar"


@pytest.fixture(scope="module")
def blns() -> list[str]:
    """Return the Big List of Naughty Strings (fails when the shared file is missing)."""
    strings = load(BLNS)
    assert len(strings) > 400
    return strings


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(lambda s: normalize(normalize(s)) == normalize(s), id="normalize-idempotent"),
        pytest.param(lambda s: unicodedata.is_normalized("NFC", normalize(s)), id="normalize-is-nfc"),
        pytest.param(lambda s: fold(fold(s)) == fold(s), id="fold-idempotent"),
        pytest.param(lambda s: len(to_ascii_digits(s)) == len(s), id="digits-keep-length"),
        pytest.param(lambda s: parse_age(s) is None or 0 <= parse_age(s) <= 120, id="age-in-range"),
        pytest.param(lambda s: s.startswith(truncate(s, 7)) and len(truncate(s, 7)) <= 7, id="truncate"),
        pytest.param(lambda s: has_letters(s) in (True, False), id="has-letters"),
        pytest.param(lambda s: is_devanagari(s) is False, id="blns-has-no-devanagari"),
    ],
)
def test_blns(blns: list[str], check: Callable[[str], bool]) -> None:
    failures = [s for s in blns if not check(s)]
    assert not failures, f"failed for {failures[:5]!r}"
