"""The symptom tests' shared pieces: the shared test data (../shared/testdata) and the cases built
from it (failing, not skipping, when it is missing: the autouse fixture `fail_without_testdata`,
import it with the rest), and the codes find_symptoms reports for a text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.understanding.symptoms import (
    Symptom,
    find_symptoms,
    lexicon,
)

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"


MISSING_ID = "shared-testdata-missing"


@pytest.fixture(autouse=True)
def fail_without_testdata(request: pytest.FixtureRequest) -> None:
    """Fail (not skip) the stand-in case that data_cases makes when the shared test data is missing."""
    if MISSING_ID in request.node.name:
        pytest.fail(f"shared test data not found under {TESTDATA}")


def codes(text: str) -> tuple[str, ...]:
    """Return the canonical codes find_symptoms reports for text, in order."""
    return tuple(symptom.code for symptom in find_symptoms(text).symptoms)


def by_code(code: str) -> Symptom:
    """Return the lexicon entry with this code."""
    return next(symptom for symptom in lexicon() if symptom.code == code)
