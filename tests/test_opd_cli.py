"""`teleopd demo` and `teleopd opd add/list` as an operator runs them.

The first test runs the installed script in a subprocess, on a fresh SQLite file it migrates;
the rest run its main() in this process (tests/cli_helpers.py says why).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.services.opds import DEMO_OPDS
from tests.cli_helpers import teleopd_here

RUN_TIMEOUT_S = 30


def teleopd(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `teleopd ARGS` against a SQLite file in workdir (in this process)."""
    return teleopd_here(workdir, *args)


def teleopd_script(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `teleopd` console script against a SQLite file in workdir."""
    script = Path(sys.executable).parent / "teleopd"
    assert script.exists(), f"the teleopd console script is not installed beside {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEOPD_", "TWILIO_"))}
    env["TELEOPD_DATABASE_URL"] = f"sqlite:///{workdir / 't.db'}"
    return subprocess.run(
        [str(script), *args], cwd=workdir, env=env, stdin=subprocess.DEVNULL, capture_output=True,
        text=True, encoding="utf-8", errors="replace", timeout=RUN_TIMEOUT_S, check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stdout


def listed(workdir: Path) -> dict[str, str]:
    """Run `teleopd opd list`; return each OPD's line by its code (the first column)."""
    lines = ok(teleopd(workdir, "opd", "list")).splitlines()
    assert lines and lines[0].split()[:2] == ["code", "name"], lines[:1]
    return {line.split()[0]: line for line in lines[1:]}


def test_demo_loads_the_catalogue_once(tmp_path: Path) -> None:
    # The console script, on a fresh file it migrates itself.
    assert "no OPDs yet" in ok(teleopd_script(tmp_path, "opd", "list"))
    first = ok(teleopd_script(tmp_path, "demo"))
    assert f"loaded {len(DEMO_OPDS)} demo OPDs" in first
    second = ok(teleopd(tmp_path, "demo"))
    assert f"loaded {len(DEMO_OPDS)} demo OPDs" in second
    rows = listed(tmp_path)
    assert sorted(rows) == sorted(spec.code for spec in DEMO_OPDS)  # twice loaded, listed once each
    for spec in DEMO_OPDS:
        line = rows[spec.code]
        assert spec.name_en in line and spec.name_hi in line, line
        assert str(spec.capacity) in line.split(), line
    assert "24h" in rows["GEN24"] and "every day" in rows["GEN24"]
    assert "सामान्य चिकित्सा (24 घंटे)" in rows["GEN24"]
    assert "09:00-17:00" in rows["GEN"]


def test_opd_add_then_list_shows_it(tmp_path: Path) -> None:
    added = ok(teleopd(
        tmp_path, "opd", "add", "--code", "skin2", "--name", "Skin Clinic", "--name-hi", "त्वचा क्लिनिक",
        "--specialty", "dermatology", "--hours", "10:00-16:00", "--days", "mon-fri", "--capacity", "50",
    ))
    assert "SKIN2" in added and "त्वचा क्लिनिक" in added
    row = listed(tmp_path)["SKIN2"]
    for piece in ("Skin Clinic / त्वचा क्लिनिक", "dermatology", "10:00-16:00", "Mon,Tue,Wed,Thu,Fri", " 50 "):
        assert piece in row, (piece, row)
    # The same code again updates the OPD rather than adding a second one.
    ok(teleopd(
        tmp_path, "opd", "add", "--code", "SKIN2", "--name", "Skin Clinic", "--name-hi", "त्वचा क्लिनिक",
        "--specialty", "dermatology", "--hours", "24h", "--days", "all", "--capacity", "75",
    ))
    rows = listed(tmp_path)
    assert list(rows) == ["SKIN2"]
    assert "24h" in rows["SKIN2"] and "every day" in rows["SKIN2"] and " 75 " in rows["SKIN2"]


GOOD = {
    "--code": "X1", "--name": "Skin", "--name-hi": "त्वचा", "--specialty": "dermatology",
    "--hours": "10:00-16:00", "--days": "mon-fri", "--capacity": "50",
}


BAD_OPTIONS = pytest.mark.parametrize(
    ("option", "value", "mention"),
    [
        pytest.param("--hours", "25:00-26:00", "--hours", id="hours-impossible"),
        pytest.param("--hours", "17:00-09:00", "--hours", id="hours-backwards"),
        pytest.param("--hours", "nine to five", "--hours", id="hours-words"),
        pytest.param("--days", "funday", "--days", id="days-unknown"),
        pytest.param("--days", "sat-mon", "--days", id="days-backwards-range"),
        pytest.param("--specialty", "astrology", "--specialty", id="specialty-unknown"),
        pytest.param("--capacity", "abc", "--capacity", id="capacity-words"),
        pytest.param("--capacity", "0", "--capacity", id="capacity-zero"),
        pytest.param("--capacity", "-5", "--capacity", id="capacity-negative"),
        pytest.param("--code", "a b", "--code", id="code-space"),
        pytest.param("--name-hi", "  ", "--name-hi", id="hindi-name-blank"),
    ],
)
def opd_add(workdir: Path, option: str, value: str) -> subprocess.CompletedProcess[str]:
    args = dict(GOOD, **{option: value})
    return teleopd(workdir, "opd", "add", *[part for pair in args.items() for part in pair])


def error_line(done: subprocess.CompletedProcess[str], mention: str) -> str:
    """Check the command was refused (status 2, no traceback, nothing printed); return its last stderr line."""
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("teleopd: "), done.stderr[-3000:]
    assert mention in lines[-1], lines[-1]
    return lines[-1]


def assert_one_line_error(done: subprocess.CompletedProcess[str], mention: str) -> None:
    """The CLI contract: a refused command says why in one line on stderr, and nothing else."""
    line = error_line(done, mention)
    assert done.stderr.strip() == line, f"expected only {line!r} on stderr, got:\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database the console script has already created and migrated (copied for each test)."""
    workdir = tmp_path_factory.mktemp("migrated")
    assert "no OPDs yet" in ok(teleopd(workdir, "opd", "list"))
    return workdir / "t.db"


def use_migrated(migrated_db: Path, workdir: Path) -> None:
    # The backup API, not a file copy: the script leaves its last writes in the WAL file.
    with sqlite3.connect(migrated_db) as source, sqlite3.connect(workdir / "t.db") as target:
        source.backup(target)


def opd_count(workdir: Path) -> int:
    with sqlite3.connect(workdir / "t.db") as connection:
        return int(connection.execute("SELECT count(*) FROM opds").fetchone()[0])


@BAD_OPTIONS
def test_opd_add_refuses_bad_input(tmp_path: Path, migrated_db: Path, option: str, value: str, mention: str) -> None:
    use_migrated(migrated_db, tmp_path)
    error_line(opd_add(tmp_path, option, value), mention)
    assert opd_count(tmp_path) == 0  # nothing half-added


def test_a_refused_opd_add_is_one_line_on_a_migrated_database(tmp_path: Path, migrated_db: Path) -> None:
    use_migrated(migrated_db, tmp_path)
    assert_one_line_error(opd_add(tmp_path, "--days", "funday"), "--days")


def test_a_refused_opd_add_is_one_line_on_a_fresh_database(tmp_path: Path) -> None:
    """The operator's very first command, with a typo: one line, not the migration log first."""
    assert_one_line_error(opd_add(tmp_path, "--hours", "25:00-26:00"), "--hours")
