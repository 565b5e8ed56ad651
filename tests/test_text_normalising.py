"""Tests for flows.understanding.text: normalising, ASCII digits, folding, spelling keys, and the
shared edge cases (NFC pairs, single texts, digits) normalised and folded.
"""

from __future__ import annotations

from typing import Any

import pytest

from flows.understanding.text import (
    fold,
    normalize,
    spelling_key,
    to_ascii_digits,
)
from tests.testdata import (
    data_cases,
    load,
)

EDGE_CASES = "robustness/generated/devanagari_edge_cases.json"


ZWJ, ZWNJ = "\u200d", "\u200c"


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
