"""Tests for flows.understanding.text: normalising, folding, digits, script checks, age parsing and safe truncation."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flows.understanding.text import (
    fold,
    has_letters,
    is_devanagari,
    normalize,
    parse_age,
    spelling_key,
    to_ascii_digits,
    truncate,
)

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
EDGE_CASES = "robustness/generated/devanagari_edge_cases.json"
GRAPHEME_TESTS = "robustness/devanagari_grapheme_break_tests_unicode15_1.json"
BLNS = "robustness/blns.json"

ZWJ, ZWNJ = "\u200d", "\u200c"


def load(relative: str) -> Any:
    """Read a JSON file from the shared test data (FileNotFoundError when it is missing)."""
    return json.loads((TESTDATA / relative).read_text(encoding="utf-8"))


MISSING_ID = "shared-testdata-missing"


def data_cases(build: Callable[[], list[Any]], arity: int) -> list[Any]:
    """Build parametrize cases from shared test data, or one case that fails when the data is missing."""
    try:
        return build()
    except FileNotFoundError:
        return [pytest.param(*([None] * arity), id=MISSING_ID)]


@pytest.fixture(autouse=True)
def fail_without_testdata(request: pytest.FixtureRequest) -> None:
    """Fail (not skip) the stand-in case that data_cases makes when the shared test data is missing."""
    if MISSING_ID in request.node.name:
        pytest.fail(f"shared test data not found under {TESTDATA}")


def codepoints(spec: str) -> str:
    """Turn "U+0915 U+093C" into the string it names."""
    return "".join(chr(int(cp[2:], 16)) for cp in spec.split())


# --- normalize -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("hello", "hello", id="plain-ascii"),
        pytest.param("", "", id="empty"),
        pytest.param(" \t\n ", "", id="whitespace-only"),
        pytest.param("  34  ", "34", id="strip"),
        pytest.param("fe\x00ver", "fever", id="nul-removed"),
        pytest.param("\x00\x00", "", id="only-nul"),
        pytest.param("a\x07b\x1bc\x7fd", "abcd", id="c0-and-del-removed"),
        pytest.param("a\x80b\x9fc", "abc", id="c1-removed"),
        pytest.param("line1\nline2\tx", "line1 line2 x", id="newline-tab-to-space"),
        pytest.param("a\r\n\r\nb", "a b", id="crlf-collapsed"),
        pytest.param("a\x85b\x1cc", "a b c", id="nel-and-separator-controls-are-spaces"),
        pytest.param("\ufeffहाँ", "हाँ", id="bom-prefix"),
        pytest.param("पेट\u200bदर्द", "पेटदर्द", id="zero-width-space"),
        pytest.param("fe\u00adver", "fever", id="soft-hyphen"),
        pytest.param("पेट\u00a0दर्द", "पेट दर्द", id="nbsp"),
        pytest.param("a\u202fb\u2009c\u3000d", "a b c d", id="narrow-thin-ideographic-spaces"),
        pytest.param("a\u2028b\u2029c", "a b c", id="line-paragraph-separators"),
        pytest.param("\u200eBihar\u202e\u2066", "Bihar", id="bidi-controls"),
        pytest.param("a\u2060b", "ab", id="word-joiner"),
        pytest.param("a\ud800b", "ab", id="lone-surrogate"),
        pytest.param("क्\u200dष", "क्\u200dष", id="zwj-kept"),
        pytest.param("क्\u200cष", "क्\u200cष", id="zwnj-kept"),
        pytest.param("Bihar UP", "Bihar UP", id="case-kept"),
        pytest.param("\u095b", "\u091c\u093c", id="precomposed-nukta-to-base-plus-nukta"),
        pytest.param("\u0915\u094d\u093c", "\u0915\u093c\u094d", id="nukta-reordered-before-virama"),
        pytest.param("cafe\u0301", "caf\u00e9", id="latin-composed"),
        pytest.param("a  \u00a0\t b", "a b", id="mixed-whitespace-run"),
        pytest.param("🙂 ok", "🙂 ok", id="emoji-kept"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
    assert normalize(expected) == expected, "normalize must be idempotent"


# --- to_ascii_digits -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("0123456789", "0123456789", id="ascii-unchanged"),
        pytest.param("०१२३४५६७८९", "0123456789", id="devanagari"),
        pytest.param("98७6५43210", "9876543210", id="mixed-scripts"),
        pytest.param("+९१ 98765 43210", "+91 98765 43210", id="phone-with-spaces"),
        pytest.param("१२३４", "1234", id="fullwidth"),
        pytest.param("৩৪", "34", id="bengali"),
        pytest.param("٣٤", "34", id="arabic-indic"),
        pytest.param("उम्र ३४ साल", "उम्र 34 साल", id="digits-in-hindi-text"),
        pytest.param("x²", "x²", id="superscript-is-not-decimal"),
        pytest.param("अ", "अ", id="letters-untouched"),
        pytest.param("", "", id="empty"),
    ],
)
def test_to_ascii_digits(raw: str, expected: str) -> None:
    assert to_ascii_digits(raw) == expected


# --- fold ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("  BIHAR  ", "bihar", id="casefold-and-strip"),
        pytest.param("Straße", "strasse", id="casefold-sharp-s"),
        pytest.param("३४ साल", "34 साल", id="devanagari-digits"),
        pytest.param("ＵＰ", "up", id="fullwidth-letters"),
        pytest.param("क्\u200dष", "क्ष", id="zwj-dropped"),
        pytest.param("क्\u200cष", "क्ष", id="zwnj-dropped"),
        pytest.param("साँस", "सांस", id="chandrabindu-to-anusvara"),
        pytest.param("आन्ध्र प्रदेश", "आंध्र प्रदेश", id="half-na-to-anusvara"),
        pytest.param("झारखण्ड", "झारखंड", id="half-nna-to-anusvara"),
        pytest.param("पञ्जाब", "पंजाब", id="half-nya-to-anusvara"),
        pytest.param("गङ्गा", "गंगा", id="half-nga-to-anusvara"),
        pytest.param("चम्पा", "चंपा", id="half-ma-to-anusvara"),
        pytest.param("राजन्", "राजन्", id="final-halant-kept"),
        pytest.param("\u095bुकाम", "जुकाम", id="precomposed-za-nukta-dropped"),
        pytest.param("\u091c\u093cुकाम", "जुकाम", id="decomposed-za-nukta-dropped"),
        pytest.param("\u095e\u0932", "फल", id="fa-nukta-dropped"),
        pytest.param("छत्तीसग\u095c", "छत्तीसगड", id="dda-nukta-dropped"),
        pytest.param("\u0929", "न", id="nnna-composed-by-nfc-still-folded"),
        pytest.param("बुखार है।", "बुखार है", id="danda"),
        pytest.param("॥ दर्द ॥", "दर्द", id="double-danda"),
        pytest.param("J&K!!", "j k", id="ascii-punctuation"),
        pytest.param("no. 5", "no 5", id="dot-then-number"),
        pytest.param("“Bihar”…", "bihar", id="unicode-punctuation"),
        pytest.param("Crème Brûlée", "creme brulee", id="latin-diacritics"),
        pytest.param("कि की कु कू", "कि की कु कू", id="devanagari-vowel-signs-kept"),
        pytest.param("दुःख", "दुःख", id="visarga-kept"),
        pytest.param("z\u0351\u0310a\u0364\u0301", "za", id="zalgo-marks-on-latin-dropped"),
        pytest.param("\u2003\u00a0", "", id="only-spaces"),
    ],
)
def test_fold(raw: str, expected: str) -> None:
    assert fold(raw) == expected
    assert fold(expected) == expected, "fold must be idempotent"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("आन्ध्र प्रदेश", "आंध्र प्रदेश", id="cldr-vs-common-andhra"),
        pytest.param("उत्तराखण्ड", "उत्तराखंड", id="cldr-vs-common-uttarakhand"),
        pytest.param("चण्डीगढ़", "चंडीगढ़", id="cldr-vs-common-chandigarh"),
        pytest.param("हिन्दी", "हिंदी", id="hindi-spellings"),
        pytest.param("साँस", "सांस", id="breath"),
        pytest.param("हूँ", "हूं", id="am"),
        pytest.param("लद्दाख़", "लद्दाख", id="nukta-optional"),
        pytest.param("ज़ुकाम", "जुकाम", id="cold-nukta-optional"),
        pytest.param("Delhi", "DELHI", id="case"),
        pytest.param("Tamil Nadu.", "tamil   nadu", id="punctuation-and-spacing"),
    ],
)
def test_fold_makes_variants_equal(a: str, b: str) -> None:
    assert fold(a) == fold(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("कि", "क", id="vowel-sign-i"),
        pytest.param("बिहार", "बहार", id="bihar-vs-bahar"),
        pytest.param("सिर", "सर", id="head-vs-sir"),
        pytest.param("दिन", "दीन", id="short-vs-long-i"),
        pytest.param("कम", "कर्म", id="virama-cluster"),
        pytest.param("resume", "34", id="letters-vs-digits"),
    ],
)
def test_fold_keeps_different_words_apart(a: str, b: str) -> None:
    assert fold(a) != fold(b)


# --- spelling_key ------------------------------------------------------------------


def keys(*words: str) -> set[str]:
    """Return the spelling keys of some words, each folded first as the detector does."""
    return {spelling_key(fold(word)) for word in words}


@pytest.mark.parametrize(
    "spellings",
    [
        pytest.param(("मन", "mann", "man"), id="inherent-a-dropped-at-the-end"),
        pytest.param(("जीने", "jeene", "jine"), id="vowel-length"),
        pytest.param(("सीने", "सिने", "seene", "sine", "seenay", "seeney"), id="seene-as-typed"),
        pytest.param(("सांस", "साँस", "saans", "sans"), id="nasal-and-chandrabindu"),
        pytest.param(("दर्द", "dard"), id="cluster"),
        pytest.param(("कमजोरी", "कमज़ोरी", "kamzori", "kamjori", "kamzory"), id="medial-a-dropped-nukta-z"),
        pytest.param(("धड़कन", "dhadkan"), id="nukta-and-medial-a"),
        pytest.param(("दिक्कत", "dikkat", "dikat"), id="doubled-letters"),
        pytest.param(("खून", "ख़ून", "khoon", "khun"), id="khoon"),
        pytest.param(("फट", "फ़ट", "phat", "fat"), id="ph-f"),
        pytest.param(("अस्पताल", "aspataal"), id="a-after-a-cluster-kept"),
        pytest.param(("हलचल", "halchal"), id="two-medial-vowels"),
        pytest.param(("नहीं", "nahin"), id="final-anusvara"),
        pytest.param(("awaaz", "awaz", "avaj"), id="w-v-z-j"),
    ],
)
def test_spellings_of_one_word_share_a_key(spellings: tuple[str, ...]) -> None:
    assert len(keys(*spellings)) == 1, keys(*spellings)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("सास", "सांस", id="mother-in-law-vs-breath"),
        pytest.param("saas", "saans", id="romanised-mother-in-law-vs-breath"),
        pytest.param("खा", "का", id="aspirate-kept"),
        pytest.param("bhosh", "boss", id="bh-kept"),
        pytest.param("my", "mi", id="short-words-keep-their-y"),
        pytest.param("may", "me", id="short-words-keep-their-ay"),
        pytest.param("सिर", "सर", id="head-vs-sir"),
    ],
)
def test_spelling_keys_keep_different_words_apart(a: str, b: str) -> None:
    assert keys(a) != keys(b)


# --- shared Devanagari edge cases ----------------------------------------------------

def _nfc_pairs() -> list[Any]:
    """Return the precomposed/decomposed pairs from the edge-case file."""
    cases = load(EDGE_CASES)["cases"]
    pairs = [
        pytest.param(
            c["precomposed"]["text"],
            c["decomposed"]["text"],
            id=f"{c['group']}-{c['precomposed']['codepoints']}",
        )
        for c in cases
        if "precomposed" in c
    ]
    assert pairs, "edge-case file has no NFC pairs"
    return pairs


@pytest.mark.parametrize(("precomposed", "decomposed"), data_cases(_nfc_pairs, 2))
def test_edge_case_nfc_pairs_normalize_and_fold_equal(precomposed: str, decomposed: str) -> None:
    assert precomposed != decomposed
    assert normalize(precomposed) == normalize(decomposed)
    assert fold(precomposed) == fold(decomposed)
    assert "\u093c" not in fold(precomposed)


def _single_texts() -> list[Any]:
    """Return every single-text edge case with its expected NFC code points."""
    return [
        pytest.param(c["text"], c["NFC"], c["group"], id=f"{c['group']}-{c['label']}")
        for c in load(EDGE_CASES)["cases"]
        if "text" in c
    ]


@pytest.mark.parametrize(("text", "nfc", "group"), data_cases(_single_texts, 3))
def test_edge_case_texts(text: str, nfc: str, group: str) -> None:
    expected = " ".join(codepoints(nfc).split())
    if group == "punctuation_invisibles":
        # The invisibles (BOM, ZWSP) are exactly what normalize removes, and NBSP becomes a space.
        expected = expected.replace("\ufeff", "").replace("\u200b", "").replace("\u00a0", " ")
    assert normalize(text) == expected
    folded = fold(text)
    assert ZWJ not in folded and ZWNJ not in folded and "\u093c" not in folded
    assert fold(text.replace(ZWJ, "").replace(ZWNJ, "")) == folded


def _digit_items() -> list[Any]:
    """Return the Devanagari digit items with their per-character digit values."""
    groups = [c for c in load(EDGE_CASES)["cases"] if c["group"] == "devanagari_digits"]
    return [
        pytest.param(item["text"], item["digit_values"], id=item["codepoints"])
        for g in groups
        for item in g["items"]
    ]


@pytest.mark.parametrize(("text", "values"), data_cases(_digit_items, 2))
def test_edge_case_digits(text: str, values: list[int | None]) -> None:
    converted = to_ascii_digits(text)
    assert len(converted) == len(text)
    for ch, value in zip(converted, values, strict=True):
        assert ch == (str(value) if value is not None else ch)
        if value is not None:
            assert ch.isascii()


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
