"""Tests for flows.understanding.symptoms on the shared edge cases (../shared/testdata): nukta
precomposed and decomposed, shared health words, chandrabindu and anusvara, danda, pipe and
invisible spaces, ZWJ and ZWNJ inside words, naughty strings; and long messages stay fast.
"""

from __future__ import annotations

from typing import Any

import pytest

from flows.understanding.duration import parse_duration
from flows.understanding.symptoms import find_symptoms
from flows.understanding.text import normalize
from tests.symptoms_helpers import codes
from tests.testdata import data_cases, load

EDGE_CASES = "robustness/generated/devanagari_edge_cases.json"
BLNS = "robustness/blns.json"


ZWJ, ZWNJ = "\u200d", "\u200c"



# --- Unicode edge cases from the shared test data ---------------------------------------


def nukta_pairs() -> list[Any]:
    """Return (precomposed, decomposed) nukta letters from the shared edge cases."""
    cases = load(EDGE_CASES)["cases"]
    pairs = [
        pytest.param(c["precomposed"]["text"], c["decomposed"]["text"], id=c["precomposed"]["codepoints"])
        for c in cases
        if c["group"] == "nukta_precomposed_vs_decomposed"
    ]
    assert pairs, "no nukta cases in the shared edge-case file"
    return pairs


@pytest.mark.parametrize(("precomposed", "decomposed"), data_cases(nukta_pairs, 2))
def test_precomposed_and_decomposed_nukta_give_the_same_finding(precomposed: str, decomposed: str) -> None:
    """A nukta letter typed as one code point or as letter + nukta gives one and the same finding."""
    assert precomposed != decomposed
    for template in ("{} बुखार", "बुखार और {}ुकाम", "{}ोर से खांसी"):
        assert find_symptoms(template.format(precomposed)) == find_symptoms(template.format(decomposed))


# Expected codes for the shared health-word samples, by label.
HEALTH_WORDS = {
    "zukaam (cold) with precomposed ZA U+095B": ("cold",),
    "zukaam (cold) with JA+NUKTA": ("cold",),
    "pet dard (stomach ache)": ("stomach_pain",),
    "bukhaar (fever)": ("fever",),
    "saans (breath) with chandrabindu": (),
    "saans (breath) with anusvara": (),
    # Chest pain is a red flag handled by another module; this lexicon must not claim it.
    "chhati mein dard (chest pain)": (),
}


def health_words() -> list[Any]:
    """Return the shared health-word samples with their expected codes."""
    cases = [c for c in load(EDGE_CASES)["cases"] if c["group"] == "health_words_variants"]
    assert {c["label"] for c in cases} == set(HEALTH_WORDS), "the shared health-word samples changed"
    return [pytest.param(c["text"], HEALTH_WORDS[c["label"]], id=c["label"]) for c in cases]


@pytest.mark.parametrize(("text", "expected"), data_cases(health_words, 2))
def test_shared_health_words(text: str, expected: tuple[str, ...]) -> None:
    """The shared Devanagari health-word samples map as a nurse would read them."""
    assert codes(text) == expected


def saans_forms() -> list[Any]:
    """Return the chandrabindu and anusvara spellings of साँस from the shared edge cases."""
    return [
        pytest.param(c["text"], id=c["label"])
        for c in load(EDGE_CASES)["cases"]
        if c["group"] == "health_words_variants" and c["label"].startswith("saans")
    ]


@pytest.mark.parametrize("saans", data_cases(saans_forms, 1))
def test_chandrabindu_and_anusvara_saans_match_alike(saans: str) -> None:
    """साँस and सांस both read as breath in "… फूलना" and "… लेने में दिक्कत"."""
    assert codes(f"{saans} फूलना") == ("breathlessness",)
    assert codes(f"{saans} लेने में दिक्कत है") == ("breathlessness",)


def invisible_cases() -> list[Any]:
    """Return the shared danda/pipe/NBSP/ZWSP samples that contain a symptom."""
    wanted = {
        "danda U+0964": ("fever",),
        "pipe typed instead of danda": ("fever",),
        "NBSP between words": ("stomach_pain",),
        "ZWSP between words": ("stomach_pain",),
    }
    cases = [c for c in load(EDGE_CASES)["cases"] if c.get("label") in wanted]
    assert len(cases) == len(wanted), "the shared punctuation samples changed"
    return [pytest.param(c["text"], wanted[c["label"]], id=c["label"]) for c in cases]


@pytest.mark.parametrize(("text", "expected"), data_cases(invisible_cases, 2))
def test_danda_pipe_and_invisible_spaces(text: str, expected: tuple[str, ...]) -> None:
    """Danda, a pipe typed for it, NBSP and zero-width space do not hide a symptom."""
    finding = find_symptoms(text)
    assert codes(text) == expected
    assert finding.unknown == ()


ZW_INSIDE = [
    ("zwnj-latin-shared", "fe\u200cver", ("fever",)),
    ("zwj-in-khansi", f"खां{ZWJ}सी", ("cough",)),
    ("zwnj-in-khansi", f"खां{ZWNJ}सी", ("cough",)),
    ("zwj-half-form-dard", f"सिर दर्{ZWJ}द", ("headache",)),
    ("zwnj-explicit-virama-dard", f"सिर दर्{ZWNJ}द", ("headache",)),
    ("trailing-zwj", f"बुखार{ZWJ}", ("fever",)),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in ZW_INSIDE])
def test_zwj_and_zwnj_inside_words(text: str, expected: tuple[str, ...]) -> None:
    """ZWJ/ZWNJ typed inside or after a word (half forms, copy-paste artefacts) do not break matching."""
    assert codes(text) == expected


def blns_strings() -> list[Any]:
    """Return the Big List of Naughty Strings as one case (a list)."""
    strings = load(BLNS)
    assert len(strings) > 400
    return [pytest.param(strings, id="blns")]


@pytest.mark.parametrize("strings", data_cases(blns_strings, 1))
def test_naughty_strings_never_raise(strings: list[str]) -> None:
    """Every naughty string goes through find_symptoms and parse_duration without an exception."""
    for text in strings:
        finding = find_symptoms(text)
        assert isinstance(finding.text, str) and finding.text == normalize(text)
        assert all(isinstance(chunk, str) and chunk for chunk in finding.unknown)
        duration = parse_duration(text)
        assert duration is None or (isinstance(duration.days, int) and duration.days >= 0)


def test_long_messages_stay_fast() -> None:
    """A long junk message is handled in well under a second per 10,000 characters (no backtracking blow-up)."""
    import time

    for junk in ("a" * 20_000, "a@" * 10_000, "a-" * 10_000, "www." * 5_000, "bukhar " * 3_000):
        started = time.perf_counter()
        find_symptoms(junk)
        parse_duration(junk)
        assert time.perf_counter() - started < 2.0


def test_the_per_word_cache_of_misspellings_is_bounded() -> None:
    """Every distinct Latin word a user types is looked up once and kept; a web process lives for months."""
    from flows.understanding import symptoms

    info = symptoms._fuzzy_cached.cache_info()
    assert info.maxsize is not None and info.maxsize <= 1 << 16
