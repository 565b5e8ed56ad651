"""`teleopd ARGS` run in this process: the same main() the console script calls, without its start-up.

A `teleopd` process costs about 1.5 s of CPU before it does anything (imports, the schema
check), so the tests of what a command says and does run main() here with the environment,
working directory, stdin and output a process would have; the tests of the console script
itself (its exit status, signals, a fresh database it migrates) start it as a process.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from bot.cli.main import main


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Give this process the environment a fresh `teleopd` process gets: no TELEOPD_ or TWILIO_ settings but these."""
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.startswith(("TELEOPD_", "TWILIO_"))]:
            del os.environ[name]
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def teleopd_here(workdir: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run `teleopd ARGS` in workdir against workdir/t.db (unless env says otherwise); return its status and output."""
    values = {"TELEOPD_DATABASE_URL": f"sqlite:///{workdir / 't.db'}", **(env or {})}
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level  # main() logs to this stderr: put back what pytest had
    with _environment(values), contextlib.chdir(workdir), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        saved_stdin = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse refuses bad arguments with SystemExit(2)
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            sys.stdin = saved_stdin
            root.handlers[:] = handlers
            root.setLevel(level)
    return subprocess.CompletedProcess(["teleopd", *args], code, out.getvalue(), err.getvalue())
