"""The consultation report through the CLI (teleopd report) on a hand-built day: one day, a range
in Hindi, CSV, today in India by default, and bad dates in one line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.platform.i18n import Catalogs
from bot.store.db import Database
from flows.messages import t
from tests.cli_helpers import teleopd_here
from tests.reports_helpers import IST, build_day

# The database is what is tested here: the report's aggregates and India's days (dates and time zones in SQL).
pytestmark = pytest.mark.both_databases


RUN_TIMEOUT_S = 30


# --- the command ---------------------------------------------------------------------------

def _env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEOPD_", "TWILIO_"))}
    env["TELEOPD_DATABASE_URL"] = f"sqlite:///{workdir / 't.db'}"
    return env


@pytest.fixture(scope="module")
def command() -> list[str]:
    script = Path(sys.executable).parent / "teleopd"
    assert script.exists(), f"the teleopd console script is not installed beside {sys.executable}"
    return [str(script)]


def teleopd(command: list[str], workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `teleopd ARGS` in workdir: main() in this process (tests/cli_helpers.py says why)."""
    return teleopd_here(workdir, *args)


def teleopd_script(command: list[str], workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script in workdir."""
    return subprocess.run(
        [*command, *args], cwd=workdir, env=_env(workdir), stdin=subprocess.DEVNULL, capture_output=True,
        text=True, encoding="utf-8", errors="replace", timeout=RUN_TIMEOUT_S, check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def workdir(tmp_path: Path, sqlite_template: Path) -> Path:
    """A working directory whose t.db holds the day of ROWS."""
    shutil.copy(sqlite_template, tmp_path / "t.db")
    database = Database(f"sqlite:///{tmp_path / 't.db'}")
    with database.write() as session:
        build_day(session)
    database.dispose()
    return tmp_path


def test_cli_one_day(command: list[str], workdir: Path) -> None:
    out = ok(teleopd_script(command, workdir, "report", "--date", "2026-11-25")).splitlines()
    assert out[0] == "Consultation report for 25 November 2026"
    assert "Consultations: 19 (done 16, referred 3)" in out and "Andhra Pradesh 7" in out


def test_cli_range_in_hindi(command: list[str], workdir: Path) -> None:
    out = ok(teleopd(command, workdir, "report", "--from", "2026-11-24", "--to", "2026-11-26", "--lang", "hi"))
    lines = out.splitlines()
    assert "24 नवंबर 2026" in lines[0] and "26 नवंबर 2026" in lines[0]
    assert "आंध्र प्रदेश 9" in lines and "सामान्य चिकित्सा" in lines


def test_cli_csv(command: list[str], workdir: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(ok(teleopd(command, workdir, "report", "--from", "2026-11-24", "--to", "2026-11-26", "--csv")))))
    value = {(r["section"], r["key"], r["metric"]): r["value"] for r in rows}
    assert value["total", "", "consultations"] == "21" and value["total", "", "tokens"] == "31"
    assert value["state", "IN-AP", "consultations"] == "9"


def test_cli_defaults_to_today_in_india(command: list[str], tmp_path: Path) -> None:
    before = dt.datetime.now(IST).date()
    out = ok(teleopd(command, tmp_path, "report")).splitlines()  # a fresh database: migrated, empty
    days = {Catalogs().translate(t("Consultation report for {day}", day=d), "en") for d in (before, dt.datetime.now(IST).date())}
    assert out[0] in days and out[2] == "No consultations in this period."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "teleopd: --date takes a date as YYYY-MM-DD, not '2026-13-01'"),
        (["--date", "25/11/2026"], "teleopd: --date takes a date as YYYY-MM-DD, not '25/11/2026'"),
        (["--date", "20261125"], "teleopd: --date takes a date as YYYY-MM-DD, not '20261125'"),
        (["--from", "2026-11-26", "--to", "2026-11-25"], "teleopd: --from 2026-11-26 is after --to 2026-11-25"),
        (["--from", "2026-11-2x", "--to", "2026-11-25"], "teleopd: --from takes a date as YYYY-MM-DD, not '2026-11-2x'"),
        (["--from", "2026-11-25"], "teleopd: --from and --to go together (for one day, use --date)"),
        (["--date", "2026-11-25", "--to", "2026-11-26"], "teleopd: give either --date or --from and --to, not both"),
    ],
)
def test_cli_bad_dates_are_one_line(command: list[str], tmp_path: Path, args: list[str], message: str) -> None:
    done = teleopd(command, tmp_path, "report", *args)
    assert done.returncode == 2, done
    assert done.stderr.splitlines() == [message] and done.stdout == ""
    assert not (tmp_path / "t.db").exists()  # refused before touching the database
