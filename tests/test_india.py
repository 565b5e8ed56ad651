"""Tests for flows.understanding.india: the state/UT list, its menu and matching what people type."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from flows.understanding.india import (
    StateUT,
    match_state,
    state_by_code,
    state_menu_lines,
    states,
)
from flows.understanding.text import fold, is_devanagari
from tests.testdata import TESTDATA, data_cases

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SHARED_CSV = "india/iso3166_2_IN_states_uts.csv"
OUR_CSV = Path(__file__).resolve().parents[1] / "flows" / "understanding" / "data" / "states.csv"
LICENSE = OUR_CSV.with_name("STATES_LICENSE.txt")

DEVANAGARI_DIGITS = str.maketrans("0123456789", "०१२३४५६७८९")


def shared_rows() -> list[dict[str, str]]:
    """Read the current (non-deprecated) rows of the shared ISO 3166-2:IN file."""
    with (TESTDATA / SHARED_CSV).open(encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["status"] == "current"]



def code(state: StateUT | None) -> str | None:
    """Return the ISO code of a match result (None stays None), for readable assertions."""
    return None if state is None else state.code


# --- the list ------------------------------------------------------------------------

def test_thirty_six_places_in_english_alphabetical_order() -> None:
    listed = states()
    assert len(listed) == 36
    assert len({s.code for s in listed}) == 36
    names = [s.name_en for s in listed]
    assert names == sorted(names, key=str.casefold)
    assert listed[0].name_en == "Andaman and Nicobar Islands"
    assert listed[-1].name_en == "West Bengal"
    assert states() is listed, "states() is cached"


def test_twenty_eight_states_and_eight_union_territories() -> None:
    kinds = [s.kind for s in states()]
    assert kinds.count("state") == 28
    assert kinds.count("union territory") == 8


def test_same_codes_and_english_names_as_the_shared_iso_file() -> None:
    expected = {r["code"]: r["name_en"] for r in shared_rows()}
    assert {s.code: s.name_en for s in states()} == expected
    for s in states():
        shared_kind = next(r["type"] for r in shared_rows() if r["code"] == s.code)
        assert s.kind == shared_kind.lower()


@pytest.mark.parametrize("state", states(), ids=lambda s: s.code)
def test_hindi_names_are_clean_devanagari(state: StateUT) -> None:
    assert is_devanagari(state.name_hi)
    assert unicodedata.is_normalized("NFC", state.name_hi)
    assert state.name_hi == state.name_hi.strip() and "  " not in state.name_hi
    assert not any("a" <= ch.lower() <= "z" for ch in state.name_hi)


@pytest.mark.parametrize(
    ("iso", "spelling"),
    [
        pytest.param("IN-AP", "आंध्र प्रदेश", id="andhra"),
        pytest.param("IN-KA", "कर्नाटक", id="karnataka"),
        pytest.param("IN-TN", "तमिलनाडु", id="tamil-nadu"),
        pytest.param("IN-UP", "उत्तर प्रदेश", id="uttar-pradesh"),
        pytest.param("IN-GJ", "गुजरात", id="gujarat"),
        pytest.param("IN-MP", "मध्य प्रदेश", id="madhya-pradesh"),
        pytest.param("IN-BR", "बिहार", id="bihar"),
        pytest.param("IN-MH", "महाराष्ट्र", id="maharashtra"),
        pytest.param("IN-WB", "पश्चिम बंगाल", id="west-bengal"),
        pytest.param("IN-UK", "उत्तराखंड", id="uttarakhand"),
    ],
)
def test_hindi_names_follow_the_seed_text(iso: str, spelling: str) -> None:
    seeds = "".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    seed_text = unicodedata.normalize("NFC", seeds)
    assert spelling in seed_text, "the spelling comes from the seed"
    state = state_by_code(iso)
    assert state is not None and state.name_hi == spelling


@pytest.mark.parametrize(
    ("iso", "spelling"),
    [
        pytest.param("IN-AN", "अंडमान और निकोबार द्वीपसमूह", id="andaman"),
        pytest.param("IN-DL", "दिल्ली", id="delhi"),
        pytest.param("IN-JK", "जम्मू और कश्मीर", id="jammu-kashmir"),
        pytest.param("IN-DH", "दादरा और नगर हवेली और दमन और दीव", id="dnhdd"),
        pytest.param("IN-LA", "लद्दाख", id="ladakh"),
        pytest.param("IN-PY", "पुडुचेरी", id="puducherry"),
        pytest.param("IN-CG", "छत्तीसगढ़", id="chhattisgarh"),
        pytest.param("IN-OD", "ओडिशा", id="odisha"),
    ],
)
def test_hindi_names_use_the_modern_common_spelling(iso: str, spelling: str) -> None:
    state = state_by_code(iso)
    assert state is not None and state.name_hi == unicodedata.normalize("NFC", spelling)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        pytest.param("en", "Uttar Pradesh", id="en"),
        pytest.param("hi", "उत्तर प्रदेश", id="hi"),
        pytest.param("hi-IN", "उत्तर प्रदेश", id="hi-IN"),
        pytest.param("HI", "उत्तर प्रदेश", id="upper-HI"),
        pytest.param("fr", "Uttar Pradesh", id="other-falls-back-to-en"),
        pytest.param("", "Uttar Pradesh", id="empty-falls-back-to-en"),
    ],
)
def test_name_in_a_language(lang: str, expected: str) -> None:
    state = state_by_code("IN-UP")
    assert state is not None and state.name(lang) == expected


@pytest.mark.parametrize(
    ("lang", "first", "last"),
    [
        pytest.param("en", "1. Andaman and Nicobar Islands", "36. West Bengal", id="en"),
        pytest.param("hi", "1. अंडमान और निकोबार द्वीपसमूह", "36. हिमाचल प्रदेश", id="hi"),
    ],
)
def test_menu_lines(lang: str, first: str, last: str) -> None:
    lines = state_menu_lines(lang)
    assert len(lines) == 36
    assert lines[0] == first and lines[-1] == last
    for number, (line, state) in enumerate(zip(lines, states(lang), strict=True), start=1):
        assert line == f"{number}. {state.name(lang)}"
        assert line.split(".")[0].isascii()


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_number_picks_from_the_list_in_its_language(lang: str) -> None:
    """The Hindi list is in Devanagari order, so its numbers are not the English list's."""
    for number, state in enumerate(states(lang), start=1):
        assert code(match_state(str(number), lang)) == state.code
        assert code(match_state(str(number).translate(DEVANAGARI_DIGITS), lang)) == state.code
    assert states("hi") != states("en") and set(states("hi")) == set(states("en"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("IN-UP", "IN-UP", id="full-code"),
        pytest.param(" in-up ", "IN-UP", id="lowercase-padded"),
        pytest.param("UP", "IN-UP", id="bare-code"),
        pytest.param("IN-OR", "IN-OD", id="replaced-orissa-code"),
        pytest.param("IN-CT", "IN-CG", id="replaced-chhattisgarh-code"),
        pytest.param("IN-TG", "IN-TS", id="replaced-telangana-code"),
        pytest.param("IN-UT", "IN-UK", id="replaced-uttarakhand-code"),
        pytest.param("IN-DD", "IN-DH", id="merged-daman-diu-code"),
        pytest.param("IN-DN", "IN-DH", id="merged-dadra-code"),
        pytest.param("IN-XX", None, id="unknown"),
        pytest.param("US-CA", None, id="other-country"),
        pytest.param("", None, id="empty"),
    ],
)
def test_state_by_code(raw: str, expected: str | None) -> None:
    assert code(state_by_code(raw)) == expected


# --- matching every place by every name ----------------------------------------------

def _every_form() -> list[Any]:
    """Return (text, code) cases: each place by English, Hindi, CLDR Hindi, code, number and in a sentence."""
    cldr = {r["code"]: r["name_hi"] for r in shared_rows()}
    cases = []
    for number, s in enumerate(states(), start=1):
        forms = {
            "en": s.name_en,
            "en-lower": s.name_en.lower(),
            "en-upper": s.name_en.upper(),
            "hi": s.name_hi,
            "cldr-hi": cldr[s.code],
            "iso": s.code,
            "bare-code": s.code[3:],
            "number": str(number),
            "devanagari-number": str(number).translate(DEVANAGARI_DIGITS),
            "en-sentence": f"I live in {s.name_en}",
            "hi-sentence": f"मैं {s.name_hi} में रहता हूँ",
        }
        cases += [pytest.param(text, s.code, id=f"{s.code}-{form}") for form, text in forms.items()]
    return cases


@pytest.mark.parametrize(("text", "expected"), data_cases(_every_form, 2))
def test_every_place_matches_by_every_name(text: str, expected: str) -> None:
    assert code(match_state(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Utar Pradesh", "IN-UP", id="utar-pradesh"),
        pytest.param("maharastra", "IN-MH", id="maharastra"),
        pytest.param("tamil nadu", "IN-TN", id="tamil-nadu-lower"),
        pytest.param("tamilnadu", "IN-TN", id="tamilnadu"),
        pytest.param("karnatka", "IN-KA", id="karnatka"),
        pytest.param("west bengal", "IN-WB", id="west-bengal-lower"),
        pytest.param("paschim bangal", "IN-WB", id="paschim-bangal"),
        pytest.param("orissa", "IN-OD", id="orissa"),
        pytest.param("pondicherry", "IN-PY", id="pondicherry"),
        pytest.param("dilli", "IN-DL", id="dilli"),
        pytest.param("New Delhi", "IN-DL", id="new-delhi"),
        pytest.param("jammu kashmir", "IN-JK", id="jammu-kashmir"),
        pytest.param("J&K", "IN-JK", id="j-and-k"),
        pytest.param("uttaranchal", "IN-UK", id="uttaranchal"),
        pytest.param("chattisgarh", "IN-CG", id="chattisgarh"),
        pytest.param("chhatisgarh", "IN-CG", id="chhatisgarh"),
        pytest.param("jharkhnd", "IN-JH", id="jharkhnd"),
        pytest.param("Kerla", "IN-KL", id="kerla"),
        pytest.param("Hariyana", "IN-HR", id="hariyana"),
        pytest.param("Andra Pradesh", "IN-AP", id="andra-pradesh"),
        pytest.param("Telengana", "IN-TS", id="telengana"),
        pytest.param("Meghalya", "IN-ML", id="meghalya"),
        pytest.param("bihar se", "IN-BR", id="bihar-se"),
        pytest.param("I live in Bihar", "IN-BR", id="english-sentence"),
        pytest.param("mai bihar se hu", "IN-BR", id="hinglish-sentence"),
        pytest.param("मैं बिहार से हूँ", "IN-BR", id="hindi-sentence"),
        pytest.param("Utar Pradesh se hu", "IN-UP", id="misspelt-in-sentence"),
        pytest.param("mai UP se hu", "IN-UP", id="abbreviation-in-sentence"),
        pytest.param("mai up se hu", "IN-UP", id="lowercase-abbreviation-with-postposition"),
        pytest.param("I am from U.P.", "IN-UP", id="dotted-abbreviation"),
        pytest.param("AP", "IN-AP", id="ap-is-andhra-not-arunachal"),
        pytest.param("Arunachal", "IN-AR", id="arunachal"),
        pytest.param("mp", "IN-MP", id="mp"),
        pytest.param("यूपी", "IN-UP", id="up-in-devanagari"),
        pytest.param("एमपी से हूँ", "IN-MP", id="mp-in-devanagari-sentence"),
        pytest.param("उ.प्र.", "IN-UP", id="hindi-press-abbreviation"),
        pytest.param("आंध्रप्रदेश", "IN-AP", id="andhra-no-space"),
        pytest.param("उत्तरप्रदेश", "IN-UP", id="uttar-pradesh-no-space"),
        pytest.param("आन्ध्र प्रदेश", "IN-AP", id="andhra-cldr-spelling"),
        pytest.param("छत्तीसग\u095c", "IN-CG", id="precomposed-nukta-dddha"),
        pytest.param("छत्तीसगड", "IN-CG", id="nukta-left-out"),
        pytest.param("उत्तर\u200d प्रदेश", "IN-UP", id="with-zwj"),
        pytest.param("उत्त\u200cर प्रदेश", "IN-UP", id="with-zwnj"),
        pytest.param("\ufeffBihar\u00a0", "IN-BR", id="bom-and-nbsp"),
        pytest.param("बिहर", "IN-BR", id="hindi-misspelt"),
        pytest.param("उड़ीसा", "IN-OD", id="orissa-in-hindi"),
        pytest.param("गोआ", "IN-GA", id="goa-cldr-hindi"),
        pytest.param("५", "IN-BR", id="devanagari-digit"),
        pytest.param("no. 5", "IN-BR", id="no-dot-number"),
        pytest.param("5.", "IN-BR", id="number-with-dot"),
        pytest.param("#36", "IN-WB", id="hash-number"),
        pytest.param("नंबर ३६", "IN-WB", id="hindi-number-word"),
        pytest.param("Delhi NCR", "IN-DL", id="delhi-ncr"),
        pytest.param("Daman and Diu", "IN-DH", id="old-ut-name"),
        pytest.param("I live in UP", "IN-UP", id="english-sentence-abbreviation"),
        pytest.param("Uttar Pradesh, India", "IN-UP", id="with-country"),
    ],
)
def test_misspellings_and_colloquial_forms(text: str, expected: str) -> None:
    assert code(match_state(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("xyz", id="gibberish"),
        pytest.param("Pakistan", id="pakistan"),
        pytest.param("Nepal", id="nepal"),
        pytest.param("Mumbai", id="city-mumbai"),
        pytest.param("Bengaluru", id="city-starting-like-bengal"),
        pytest.param("Jaipur", id="city-close-to-manipur"),
        pytest.param("0", id="zero"),
        pytest.param("37", id="past-the-end"),
        pytest.param("-1", id="negative"),
        pytest.param("3.5", id="decimal"),
        pytest.param("१००", id="devanagari-100"),
        pytest.param("Pradesh", id="pradesh-alone"),
        pytest.param("Uttar", id="uttar-alone"),
        pytest.param("Bihar and UP", id="two-states"),
        pytest.param("Andhra Pradesh ya Telangana", id="two-states-hinglish"),
        pytest.param("I love India", id="country"),
        pytest.param("wake up", id="lowercase-up-is-a-word"),
        pytest.param("I live in UK", id="uk-in-a-sentence"),
        pytest.param("🙂", id="emoji"),
        pytest.param("Bihar " * 50, id="too-long"),
    ],
)
def test_no_match(text: str) -> None:
    assert match_state(text) is None


# --- data hygiene --------------------------------------------------------------------

def test_no_name_alias_or_code_belongs_to_two_places() -> None:
    owners: dict[str, set[str]] = {}
    with OUR_CSV.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            bare_code = row["code"][3:]
            names = [row["code"], bare_code, row["name_en"], row["name_hi"], *row["aliases"].split("|")]
            for name in filter(None, names):
                owners.setdefault(fold(name).replace(" ", ""), set()).add(row["code"])
    shared = {key: codes for key, codes in owners.items() if len(codes) > 1}
    assert not shared


def test_license_file_carries_the_unicode_licence() -> None:
    ours = LICENSE.read_text(encoding="utf-8")
    theirs = (TESTDATA / "licenses" / "UNICODE.LICENSE").read_text(encoding="utf-8")
    assert theirs.strip() in ours
    assert "CLDR" in ours


def test_flows_modules_stay_pure_python() -> None:
    code_to_run = (
        "import sys, flows.understanding.text, flows.understanding.india; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'babel')]; "
        "print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code_to_run],
        capture_output=True,
        text=True,
        check=True,
        cwd=OUR_CSV.parents[2],
    )
    assert result.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def blns() -> list[str]:
    """Return the Big List of Naughty Strings (fails when the shared file is missing)."""
    return json.loads((TESTDATA / "robustness" / "blns.json").read_text(encoding="utf-8"))


def test_blns_never_raises_and_never_matches_garbage(blns: list[str]) -> None:
    results = {s: match_state(s) for s in blns}
    assert all(r is None or isinstance(r, StateUT) for r in results.values())
    # The only naughty strings that name a place are the short numbers, which are menu picks.
    matched = {s for s, r in results.items() if r is not None}
    assert all(fold(s).isdigit() for s in matched), sorted(matched)
