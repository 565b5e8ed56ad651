"""What the benchmarks share: where they run, how they report."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.store.db import Database

ROOT = Path(__file__).resolve().parents[1]


def database_url(given: str | None) -> tuple[str, Path | None]:
    """Return the URL to use and, for a temporary SQLite file, its folder (removed at the end)."""
    url = given or os.environ.get("TELEOPD_TEST_DATABASE_URL", "")
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url, None
    folder = Path(tempfile.mkdtemp(prefix="teleopd-bench-"))
    return f"sqlite:///{folder / 'bench.db'}", folder


def redacted(url: str) -> str:
    """Return the URL with its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def percentile(sorted_values: list[float], q: float) -> float:
    """Return the q-th percentile (nearest rank) of sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def server_version(db: Database) -> str:
    if db.is_sqlite:
        return f"SQLite {sqlite3.sqlite_version}"
    with db.engine.connect() as connection:
        return str(connection.execute(text("SHOW server_version")).scalar())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def hard_stop(seconds: float, what: str) -> threading.Timer:
    """Start a timer that ends the process after `seconds`, whatever it is doing (benches are bounded)."""

    def give_up() -> None:
        print(f"stopped: over the {seconds:.0f} s limit; rows of {what} may remain", file=sys.stderr)
        os._exit(3)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    return timer


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the bench dies (its hard stop is os._exit), Linux only."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def teleopd_command(*args: str) -> list[str]:
    """Return the command line of `teleopd ARGS` in this venv."""
    teleopd = Path(sys.executable).with_name("teleopd")
    return [str(teleopd), *args] if teleopd.exists() else [sys.executable, "-m", "bot.cli", *args]


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a `teleopd worker` process as the Procfile does (glibc's per-thread cache off), its errors appended to log_path."""
    env = {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=0", **env}
    return subprocess.Popen(
        teleopd_command("worker"), env=env, stdout=subprocess.DEVNULL, stderr=log_path.open("ab"), cwd=ROOT,
        preexec_fn=die_with_parent,
    )


class Fake:
    """A fake provider, steered and read over its HTTP controls, in a process of its own or in this one."""

    def __init__(self, url: str, control: str, process: subprocess.Popen[str] | None = None, local: Any = None):
        self.url = url  # what the workers are pointed at
        self.control = control  # http://127.0.0.1:port/_fake
        self.process = process
        self.local = local

    @classmethod
    def spawn(cls, module: str, *args: str) -> Fake:
        """Start `python -m module --port 0 --no-gc ...` and read the URL it prints."""
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--port", "0", "--no-gc", *args],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, preexec_fn=die_with_parent,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)\S*", line)
        if found is None:
            process.kill()
            raise RuntimeError(f"{module} did not start: {line!r}")
        return cls(found.group(0), f"http://127.0.0.1:{found.group(1)}/_fake", process=process)

    def get(self, action: str) -> Any:
        with urllib.request.urlopen(f"{self.control}/{action}", timeout=60) as answer:  # noqa: S310 - loopback
            body = json.loads(answer.read())
        return body["result"] if isinstance(body, dict) and "result" in body else body

    def post(self, action: str, **order: object) -> None:
        request = urllib.request.Request(
            f"{self.control}/{action}", data=json.dumps(order).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30):  # noqa: S310 - loopback
            pass

    def stop(self) -> None:
        if self.local is not None:
            self.local.stop()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_fakes(in_process: bool, account_sid: str, auth_token: str) -> tuple[Fake, Fake]:
    """Start the fake Telegram and the fake Twilio (each in a process of its own unless in_process)."""
    if in_process:
        from tests.fakes.telegram_api import FakeTelegram
        from tests.fakes.twilio_api import FakeTwilio

        telegram, twilio = FakeTelegram().start(), FakeTwilio(account_sid, auth_token).start()
        return (Fake(telegram.base_url, f"http://127.0.0.1:{telegram.port}/_fake", local=telegram),
                Fake(twilio.url, f"{twilio.url}/_fake", local=twilio))
    telegram = Fake.spawn("tests.fakes.telegram_api")
    try:
        twilio = Fake.spawn("tests.fakes.twilio_api", "--account-sid", account_sid, "--auth-token", auth_token)
    except Exception:
        telegram.stop()
        raise
    return telegram, twilio


def rss_kib(pid: int) -> int | None:
    """Return a process's resident set (VmRSS in /proc/<pid>/status) in KiB, or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def load_averages() -> str:
    """Return the 1, 5 and 15 minute load averages (as `uptime` prints them): how busy the machine was."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


class ThrowawayPostgres:
    """A PostgreSQL cluster of the bench's own (initdb in a temporary folder), to restart and stop at will.

    The shared server at 127.0.0.1:5432 carries everyone's tests: a fault bench never touches it.
    The cluster runs as the postgres user (initdb refuses root), trusts local connections, and
    listens on 127.0.0.1:port with its socket in its own folder; remove() stops it and deletes it.
    """

    BIN = Path("/usr/lib/postgresql/15/bin")

    def __init__(self, port: int = 5544, user: str = "postgres"):
        self.port, self.user = port, user
        self.folder = Path(tempfile.mkdtemp(prefix="teleopd-faults-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        shutil.chown(self.folder, user, user)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, *command: str, timeout: float = 60) -> None:
        subprocess.run(["runuser", "-u", self.user, "--", *command], check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.folder)

    def _pg_ctl(self, *args: str) -> None:
        self._as_owner(str(self.BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", *args)

    def create(self) -> ThrowawayPostgres:
        """initdb (trust auth), then start it."""
        self._as_owner(str(self.BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user, "--no-sync",
                       "-E", "UTF8", "--locale", "C.UTF-8", timeout=120)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.folder}'\n"
                       "max_connections = 200\n")
        self.start()
        return self

    def start(self) -> None:
        self._pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "immediate") -> None:
        self._pg_ctl("restart", "-m", mode)

    def create_database(self, name: str) -> str:
        """Create a database in the cluster; return its URL."""
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def remove(self) -> None:
        """Stop the cluster whatever state it is in, and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except (subprocess.SubprocessError, OSError):
                pass
        shutil.rmtree(self.folder, ignore_errors=True)
