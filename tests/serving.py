"""`teleopd serve` (or gunicorn, as in the Procfile) in a subprocess, for tests that need the real server: end-to-end, browser."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from bot.store.db import Database

ROOT = Path(__file__).resolve().parents[1]


def gunicorn_command(port: int, threads: int) -> list[str]:
    """Return the Procfile's web process on a loopback port: gunicorn, one worker of `threads` threads."""
    gunicorn_bin = Path(sys.executable).with_name("gunicorn")
    return [str(gunicorn_bin), "-c", str(ROOT / "gunicorn.conf.py"), "--workers", "1", "--threads", str(threads),
            "--bind", f"127.0.0.1:{port}", "webhooks:create_app()"]


def free_port() -> int:
    """Return a loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def teleopd_command() -> list[str]:
    """Return how to run the installed `teleopd` of this venv (or the module, uninstalled)."""
    teleopd_bin = Path(sys.executable).with_name("teleopd")
    return [str(teleopd_bin)] if teleopd_bin.exists() else [sys.executable, "-m", "bot.cli"]


class ServeProcess:
    """`teleopd serve --port PORT [ARGS]` (or another server's command) with an environment,
    started and waited for until /healthz answers on the port."""

    def __init__(self, env: dict[str, str], port: int, log: Path, timeout: float = 30.0, args: Sequence[str] = (),
                 command: Sequence[str] | None = None):
        self.env, self.port, self.log = env, port, log
        self.base = f"http://127.0.0.1:{port}"
        command = [*teleopd_command(), "serve", "--port", str(port), *args] if command is None else list(command)
        self.process = subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"teleopd serve did not start:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Stop it the way a process manager does (SIGTERM), then for good."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@contextlib.contextmanager
def served_copy(folder: Path, sqlite_template: Path, **settings: str) -> Iterator[tuple[Database, ServeProcess]]:
    """Run `teleopd serve` on loopback on a copy of the migrated SQLite template in folder, with these TELEOPD_ settings; stop it after."""
    shutil.copy(sqlite_template, folder / "teleopd.db")
    db = Database(f"sqlite:///{folder / 'teleopd.db'}")
    server = ServeProcess({**os.environ, "TELEOPD_DATABASE_URL": db.url, **settings}, free_port(), folder / "serve.log")
    try:
        yield db, server
    finally:
        server.stop()
        db.dispose()
