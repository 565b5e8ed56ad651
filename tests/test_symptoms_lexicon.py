"""Tests for the symptom lexicon (flows.understanding.symptoms): entries well formed, every
specialty has a symptom, variants lowercase, plentiful and claimed by one code, no red-flag
phrasing, variants and display names map back, names follow the language; importing does no
work and needs no web stack.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from flows.understanding.symptoms import (
    SPECIALTIES,
    find_symptoms,
    lexicon,
    variant_key,
)
from flows.understanding.text import fold, is_devanagari
from tests.symptoms_helpers import (
    by_code,
    codes,
)

LEXICON_JSON = Path(__file__).resolve().parents[1] / "flows" / "understanding" / "data" / "symptoms.json"


# --- the lexicon itself ------------------------------------------------------------------


def test_lexicon_entries_are_well_formed() -> None:
    """Codes are unique; English and Devanagari Hindi names are present; specialties are known."""
    entries = lexicon()
    assert len(entries) >= 45
    assert len({s.code for s in entries}) == len(entries)
    for symptom in entries:
        assert symptom.en.strip() and symptom.hi.strip(), symptom.code
        assert is_devanagari(symptom.hi), symptom.code
        assert symptom.specialty in SPECIALTIES, symptom.code
    assert lexicon() is lexicon(), "lexicon() is cached"


def test_every_specialty_has_a_symptom() -> None:
    """Each OPD the bot can suggest from symptoms is reachable from some symptom."""
    assert {s.specialty for s in lexicon()} == set(SPECIALTIES)


def raw_entries() -> list[dict[str, Any]]:
    """Read symptoms.json as stored."""
    return json.loads(LEXICON_JSON.read_text(encoding="utf-8"))


def test_variants_are_lowercase_and_plentiful() -> None:
    """Every symptom has at least five variants, stored lowercase, Latin and Devanagari alike."""
    for entry in raw_entries():
        variants = entry["variants"]
        assert len(variants) >= 5, entry["code"]
        assert all(v == v.lower() and v.strip() for v in variants), entry["code"]
        assert any(is_devanagari(v) for v in variants), f"{entry['code']} has no Devanagari variant"
        assert any(v.isascii() for v in variants), f"{entry['code']} has no Latin variant"


def test_no_variant_is_claimed_by_two_codes() -> None:
    """After folding (and after the matcher's own keying) no variant belongs to two symptoms."""
    for keyer in (fold, variant_key):
        owner: dict[str, str] = {}
        for entry in raw_entries():
            for variant in entry["variants"]:
                key = keyer(variant)
                assert owner.setdefault(key, entry["code"]) == entry["code"], (
                    f"{variant!r} is claimed by {owner[key]} and {entry['code']}"
                )


RED_FLAG_PHRASES = (
    "chest pain", "seene mein dard", "सीने में दर्द", "छाती में दर्द", "chhati mein dard", "unconscious",
    "behosh", "बेहोश", "seizure", "fits", "daura", "mirgi", "दौरा", "suicide", "khudkushi", "आत्महत्या",
    "heavy bleeding", "bahut khoon", "vomiting blood", "khoon ki ulti", "can't breathe", "saans nahi aa rahi",
    "snake bite", "saanp ne kaata", "poison", "zehar", "lethargic", "fainting",
)


def test_lexicon_holds_no_red_flag_phrasing() -> None:
    """Red flags (chest pain, unconsciousness, seizures, suicide, ...) are left to the red-flag detector."""
    keys = {variant_key(v) for entry in raw_entries() for v in entry["variants"]}
    for phrase in RED_FLAG_PHRASES:
        assert variant_key(phrase) not in keys, phrase


def test_every_variant_maps_back_to_its_own_symptom() -> None:
    """Each variant on its own yields exactly its symptom and no unknown words (no variant shadows another)."""
    for entry in raw_entries():
        for variant in entry["variants"]:
            finding = find_symptoms(variant)
            assert codes(variant) == (entry["code"],), variant
            assert finding.unknown == (), variant


def test_display_names_map_back_to_their_symptom() -> None:
    """The English and Hindi names shown to patients are themselves understood as that symptom."""
    for symptom in lexicon():
        assert codes(symptom.en) == (symptom.code,), symptom.en
        assert codes(symptom.hi) == (symptom.code,), symptom.hi


def test_name_follows_language() -> None:
    """name() gives Hindi for hi and hi-IN, English otherwise."""
    fever = by_code("fever")
    assert fever.name("hi") == fever.name("hi-IN") == fever.name("hi_IN") == "बुखार"
    assert fever.name("en") == fever.name("en-IN") == fever.name("fr") == "Fever"


def test_import_does_no_work_and_needs_no_web_stack() -> None:
    """Importing flows.understanding.symptoms reads no file and pulls in no Flask, SQLAlchemy or Babel."""
    code = (
        "import sys, flows.understanding.symptoms as s, flows.understanding.duration, flows.understanding.specialty\n"
        "assert s._raw_lexicon.cache_info().currsize == 0, 'lexicon loaded at import'\n"
        "assert s._index.cache_info().currsize == 0, 'index built at import'\n"
        "bad = [m for m in ('flask', 'sqlalchemy', 'babel') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
