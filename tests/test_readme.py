"""The README's front door: its first commands are the ones CI runs, and they need nothing else."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def test_the_first_two_commands_install_and_run_then_install_and_test() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    run, test = (block.strip() for block in _shell_blocks(readme)[:2])
    assert "pip install -e ." in run and "teleopd demo" in run and "teleopd serve" in run, run
    assert "pytest" in test and "\n" not in test, test  # one command, nothing to do beforehand
    # CI runs the README's test command itself (its last line), after making sure the services are up.
    ci_lines = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert ci_lines[-1].strip() == test
    # Nothing before it asks for sudo (root has none; issue 13, item 18).
    assert "sudo" not in readme[: readme.index(test)]


def test_the_python_the_readme_names_is_the_one_the_package_needs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    needs = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    version = re.fullmatch(r">=\s*(\d+\.\d+)", needs)
    assert version, needs
    assert f"Python {version.group(1)} or newer" in readme[:600]


@pytest.mark.slow
def test_without_chromium_the_browser_tests_are_skipped_saying_how_to_get_it(tmp_path: Path) -> None:
    """A machine without Chromium runs the rest of the suite; the summary says what was skipped and why.

    (A subprocess of pytest, about a second: what is tested is the test command's own behaviour.)
    """
    env = {k: v for k, v in os.environ.items() if k not in ("TELEOPD_TEST_CHROMIUM", "TELEOPD_TEST_REQUIRE_CHROMIUM")}
    env["PATH"] = str(Path(sys.executable).parent)  # no chromium on this PATH
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", "-rs",
         "tests/test_screen_checks.py", "-k", "latin_letters"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "skipped" in done.stdout and "apt-get install -y chromium" in done.stdout, done.stdout[-2000:]
    # Where CI asks for the browser tests, a missing Chromium is a failure, not a skip.
    env["TELEOPD_TEST_REQUIRE_CHROMIUM"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", "tests/test_screen_checks.py", "-k", "latin_letters"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0 and "TELEOPD_TEST_REQUIRE_CHROMIUM" in done.stdout, done.stdout[-2000:]
