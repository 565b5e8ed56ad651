"""The symptom tests' shared pieces: the codes find_symptoms reports for a text, a lexicon entry by code."""

from __future__ import annotations

from flows.understanding.symptoms import (
    Symptom,
    find_symptoms,
    lexicon,
)


def codes(text: str) -> tuple[str, ...]:
    """Return the canonical codes find_symptoms reports for text, in order."""
    return tuple(symptom.code for symptom in find_symptoms(text).symptoms)


def by_code(code: str) -> Symptom:
    """Return the lexicon entry with this code."""
    return next(symptom for symptom in lexicon() if symptom.code == code)
