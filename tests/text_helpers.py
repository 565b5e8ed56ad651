"""The text tests' shared pieces: the shared test data (../shared/testdata) and the parametrize
cases built from it, failing (not skipping) when it is missing: the autouse fixture
`fail_without_testdata` (import it with the rest).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"


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
