"""The shared test data (../shared/testdata, written by others: SOURCES.md there says where from).

Tests read it through here: `load` for a JSON file, `data_cases` for parametrize cases built from
it. When the folder is missing, a test never skips: `data_cases` gives one stand-in case that
the autouse fixture in tests/conftest.py fails, and `load` raises.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
# The id of the stand-in case data_cases makes when the data is missing (tests/conftest.py fails it).
MISSING_ID = "shared-testdata-missing"


def load(relative: str) -> Any:
    """Read a JSON file from the shared test data (FileNotFoundError when it is missing)."""
    return json.loads((TESTDATA / relative).read_text(encoding="utf-8"))


def data_cases(build: Callable[[], list[Any]], arity: int) -> list[Any]:
    """Build parametrize cases from shared test data, or one case that fails when the data is missing."""
    try:
        return build()
    except FileNotFoundError:
        return [pytest.param(*([None] * arity), id=MISSING_ID)]
