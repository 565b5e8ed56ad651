"""The `teleopd` command as an operator runs it: the installed console script in a subprocess.

Here is what needs a process of its own (serve, worker, signals, a terminal, the console
script and `python -m bot.cli` themselves); the error cases (wrong settings, an unreachable
database, bad arguments, help) call bot.cli.main.main in-process in tests/test_cli_errors.py.

Each test gets its own working directory and database; every wait has a deadline, and every
process started here is killed in a finally block.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.cli.main import build_parser, main
from bot.outbox.heartbeat import worker_health
from bot.platform.config import Settings
from bot.runtime import build_services
from bot.store.db import Database
from bot.store.migrate import head_revision
from bot.store.models import Base
from tests.conftest import fresh_pg_schema

PG_RAW_URL = os.environ.get("TELEOPD_TEST_DATABASE_URL", "")
PG_URL = PG_RAW_URL.replace("postgresql://", "postgresql+psycopg://", 1)
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
RUN_TIMEOUT_S = 30  # a command that should end on its own
START_DEADLINE_S = 20  # serve / worker ready
STOP_DEADLINE_S = 10  # exit after a signal
APP_TABLES = {table.name for table in Base.metadata.sorted_tables}


def teleopd_script() -> str:
    """Return the installed `teleopd` console script of this virtualenv."""
    beside_python = Path(sys.executable).parent / "teleopd"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("teleopd")
    assert found, "the teleopd console script is not installed (pip install -e .)"
    return found


def command_env(**settings: str) -> dict[str, str]:
    """Return the current environment with teleopd configured by these settings only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEOPD_", "TWILIO_"))}
    env.update(settings)
    return env


def run(workdir: Path, *args: str, timeout: float = RUN_TIMEOUT_S, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run `teleopd ARGS` to its end, stdin empty; fail if it outlives the timeout."""
    process = subprocess.Popen(
        [teleopd_script(), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=workdir,
        env=command_env(**settings),
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate(timeout=STOP_DEADLINE_S)
        pytest.fail(f"`teleopd {' '.join(args)}` still running after {timeout} s; stderr:\n{stderr[-2000:]}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_DEADLINE_S)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)



def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Started:
    """A long-running teleopd command with its output going to files, killed at the end."""

    def __init__(self, workdir: Path, *args: str, **settings: str):
        self.args = args
        self.stdout_path = workdir / f"{args[0]}-{uuid.uuid4().hex[:6]}.out"
        self.stderr_path = workdir / f"{args[0]}-{uuid.uuid4().hex[:6]}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [teleopd_script(), *args], stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=workdir, env=command_env(**settings)
            )

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", errors="replace")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"`teleopd {' '.join(self.args)}` exited with {self.process.returncode}:\n{self.stderr[-3000:]}")

    def wait_for_log(self, piece: str, deadline_s: float = START_DEADLINE_S) -> None:
        deadline = time.monotonic() + deadline_s
        while piece not in self.stderr:
            self.check_alive()
            if time.monotonic() > deadline:
                pytest.fail(f"{piece!r} not logged within {deadline_s} s:\n{self.stderr[-3000:]}")
            time.sleep(0.05)

    def stop(self, sig: int) -> int:
        """Send a signal and return the exit status; fail if it does not exit in time."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`teleopd {' '.join(self.args)}` did not exit within {STOP_DEADLINE_S} s of signal {sig}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_DEADLINE_S)


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """Return the URL of an empty schema of its own in the PostgreSQL test database, dropped afterwards."""
    with fresh_pg_schema("teleopd_cli") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty database: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("fresh_pg_url")


# ---------------------------------------------------------------------------------------
# teleopd db upgrade


def test_db_upgrade_creates_the_tables_and_can_run_twice(tmp_path: Path, fresh_url: str) -> None:
    head = head_revision()
    assert head
    for attempt in (1, 2):
        done = run(tmp_path, "db", "upgrade", TELEOPD_DATABASE_URL=fresh_url)
        assert done.returncode == 0, f"attempt {attempt}:\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr
        assert head in done.stdout, f"attempt {attempt} did not print the revision: {done.stdout!r}"
    db = Database(Settings.from_env({"TELEOPD_DATABASE_URL": fresh_url}).database_url)
    try:
        tables = set(inspect(db.engine).get_table_names())
        with db.engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    finally:
        db.dispose()
    assert APP_TABLES <= tables, f"missing tables: {APP_TABLES - tables}"
    assert versions == [head]


def test_postgresql_is_not_used_before_db_upgrade(tmp_path: Path, fresh_pg_url: str) -> None:
    """SQLite migrates itself; the shared PostgreSQL is migrated only by `teleopd db upgrade`."""
    refused = run(tmp_path, "chat", TELEOPD_DATABASE_URL=fresh_pg_url)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr[-3000:]
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("teleopd: ") and "teleopd db upgrade" in last, last
    assert run(tmp_path, "db", "upgrade", TELEOPD_DATABASE_URL=fresh_pg_url).returncode == 0
    script = tmp_path / "hello.txt"
    script.write_text("hello\n", "utf-8")
    with script.open("rb") as stdin:
        chat = subprocess.run(
            [teleopd_script(), "chat", "--user", "pg-after-upgrade"], stdin=stdin, capture_output=True,
            cwd=tmp_path, env=command_env(TELEOPD_DATABASE_URL=fresh_pg_url), timeout=RUN_TIMEOUT_S,
        )
    assert chat.returncode == 0, chat.stderr.decode()[-3000:]
    assert "Which language would you like to use?" in chat.stdout.decode()


if not PG_URL:  # PostgreSQL only: defined when TELEOPD_TEST_DATABASE_URL is set
    del test_postgresql_is_not_used_before_db_upgrade


# ---------------------------------------------------------------------------------------
# teleopd serve


def http_json(method: str, url: str, body: dict[str, object] | None = None, timeout: float = 5) -> tuple[int, dict]:
    """Make a request with urllib and return the status and the JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_healthy(server: Started, base: str) -> dict:
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        server.check_alive()
        try:
            status, body = http_json("GET", f"{base}/healthz", timeout=1)
            if status == 200:
                return body
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"/healthz did not answer 200 within {START_DEADLINE_S} s:\n{server.stderr[-3000:]}")
        time.sleep(0.1)


def wait_messages(server: Started, base: str, user: str, cursor: str, piece: str, deadline_s: float = 10) -> tuple[list[dict], str]:
    """Poll the web chat API until a message holding `piece` is shown; return the new messages."""
    deadline = time.monotonic() + deadline_s
    seen: list[dict] = []
    while True:
        server.check_alive()
        status, body = http_json("GET", f"{base}/api/chat/{user}/messages?after={cursor}")
        assert status == 200, body
        seen += body["messages"]
        cursor = body["cursor"]
        if any(piece in m["text"] for m in seen):
            return seen, cursor
        if time.monotonic() > deadline:
            pytest.fail(f"no message with {piece!r} within {deadline_s} s; got {seen!r}\n{server.stderr[-3000:]}")
        time.sleep(0.1)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_runs_web_and_worker_with_no_configuration(tmp_path: Path, stop_signal: int) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Started(tmp_path, "serve", "--port", str(port), TELEOPD_DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}")
    try:
        assert wait_healthy(server, base).get("status") == "ok"
        status, body = http_json("POST", f"{base}/api/chat/web-user/messages", {"text": "hello"})
        assert status == 202, body
        # The reply appears only once a worker has sent it: the in-process worker did.
        messages, cursor = wait_messages(server, base, "web-user", "", "Which language would you like to use?")
        assert [c["key"] for c in messages[-1]["choices"]] == ["en", "hi", "hi-Latn"]
        status, body = http_json("POST", f"{base}/api/chat/web-user/messages", {"choice": "hi"})
        assert status == 202, body
        _, cursor = wait_messages(server, base, "web-user", cursor, "क्या आप सहमत हैं?")
        with urllib.request.urlopen(f"{base}/", timeout=5) as page:
            assert page.status == 200 and "text/html" in page.headers["Content-Type"]
        # A web chat waiting for its next message (a long poll of up to 20 s) is answered at
        # once when the server stops, and does not hold the stop for waitress's 5 s.
        polls: list[int] = []
        poll = threading.Thread(target=lambda: polls.append(
            http_json("GET", f"{base}/api/chat/web-user/messages?wait=20&after={cursor}", timeout=25)[0]))
        poll.start()
        time.sleep(0.5)
        stopping = time.monotonic()
        returncode = server.stop(stop_signal)
        poll.join(timeout=10)
        assert time.monotonic() - stopping < 3 and polls == [200], (time.monotonic() - stopping, polls)
        assert "Traceback" not in server.stderr, server.stderr[-3000:]
        assert returncode in (0, -stop_signal, 128 + stop_signal), returncode
    finally:
        server.kill()
    with pytest.raises(OSError):  # the port is closed again
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


# (label, --port value) — none of these can be listened on; each must be refused, not served
# on some other port or answered with a traceback.
BAD_PORTS = [("too-big", "99999"), ("65536", "65536"), ("negative", "-1")]


@pytest.mark.parametrize("port", [pytest.param(case[1], id=case[0]) for case in BAD_PORTS])
def test_serve_refuses_an_impossible_port(tmp_path: Path, port: str) -> None:
    server = Started(tmp_path, "serve", f"--port={port}", TELEOPD_DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}")
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while server.process.poll() is None:
            if "web chat at" in server.stderr:
                pytest.fail(f"`teleopd serve --port={port}` is serving instead of refusing:\n{server.stderr[-1000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"`teleopd serve --port={port}` neither refused nor served within {START_DEADLINE_S} s")
            time.sleep(0.05)
    finally:
        server.kill()
    stderr = server.stderr
    assert "Traceback" not in stderr, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("teleopd: ") and port in last, last
    assert server.process.returncode == 2


def test_serve_on_a_port_in_use_stops_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = run(tmp_path, "serve", "--port", port, TELEOPD_DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}")
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("teleopd: ") and port in last, last
    assert done.returncode == 2


# ---------------------------------------------------------------------------------------
# teleopd worker, help


def test_worker_sends_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    worker = Started(tmp_path, "worker", TELEOPD_DATABASE_URL=url)
    try:
        worker.wait_for_log("worker started")
        # A message queued by another process is sent by this worker.
        services = build_services(Settings(database_url=url))
        try:
            services.dispatcher.dispatch(InboundMessage(channel=local.NAME, address="w1", provider_id="w1:1", text="hello"))
            deadline = time.monotonic() + 15
            while not local.messages_after(services.db, "w1", 0)[0]:
                worker.check_alive()
                if time.monotonic() > deadline:
                    pytest.fail(f"the worker sent nothing within 15 s:\n{worker.stderr[-3000:]}")
                time.sleep(0.1)
            # It says it is alive where every web process's /healthz looks: the database.
            assert worker_health(services.db).status == "ok"
        finally:
            services.db.dispose()
        assert worker.stop(signal.SIGTERM) == 0, worker.stderr[-3000:]
        assert "worker stopped" in worker.stderr
        assert "Traceback" not in worker.stderr, worker.stderr[-3000:]
    finally:
        worker.kill()


def test_serve_on_a_terminal_logs_lines_for_people_with_both_addresses_and_says_no_opd_is_loaded(tmp_path: Path) -> None:
    """A first run: the operator reads the log on their terminal, and needs to know where to go next."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [teleopd_script(), "serve", "--port", "0"], stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, cwd=tmp_path,
        env=command_env(TELEOPD_DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}"),
    )
    os.close(terminal)
    seen = b""
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while b"no OPD loaded" not in seen or b"dashboard at" not in seen:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"serve did not say where to go within {START_DEADLINE_S} s:\n{seen.decode(errors='replace')[-3000:]}")
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(controller, 65536)
                except OSError:  # the terminal closed: serve exited
                    continue
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_DEADLINE_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=STOP_DEADLINE_S)
            os.close(controller)
    lines = seen.decode("utf-8", errors="replace").replace("\r\n", "\n").splitlines()
    assert lines and not any(line.lstrip().startswith("{") for line in lines), lines  # no JSON on a terminal
    chat = next(line for line in lines if "web chat at http://127.0.0.1:" in line)
    port = re.search(r"127\.0\.0\.1:(\d+)/", chat).group(1)  # type: ignore[union-attr]
    assert any(f"dashboard at http://127.0.0.1:{port}/dashboard" in line for line in lines), lines
    assert any("WARNING" in line and "no OPD loaded: run `teleopd demo` or `teleopd opd add`" in line for line in lines), lines


def test_serve_says_nothing_about_opds_once_one_is_loaded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    assert run(tmp_path, "opd", "add", "--code", "GEN", "--name", "General", "--name-hi", "सामान्य", "--specialty", "general_medicine",
               TELEOPD_DATABASE_URL=url).returncode == 0
    server = Started(tmp_path, "serve", "--port", "0", TELEOPD_DATABASE_URL=url)
    try:
        server.wait_for_log("dashboard at")
        assert "no OPD loaded" not in server.stderr
        assert json.loads(server.stderr.strip().splitlines()[-1])["message"].startswith("dashboard at")  # JSON off a terminal
    finally:
        server.kill()


def subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Yield every subcommand's words and parser, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield (*path, name), subparser
                yield from subcommands(subparser, (*path, name))


def test_every_subcommand_s_help_describes_it_and_each_of_its_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    found = list(subcommands(build_parser()))
    assert {"serve", "worker", "chat", "demo", "report"} <= {path[0] for path, _ in found}
    for path, parser in found:
        with pytest.raises(SystemExit) as done:
            main([*path, "--help"])
        assert done.value.code == 0, path
        page = capsys.readouterr().out
        assert page.startswith(f"usage: teleopd {' '.join(path)}"), page
        description = page.split("\n\n")[1].strip()
        assert description and not description.startswith(("options:", "positional arguments:")), (path, page)
        for action in parser._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
                continue  # hidden test options; a command group's commands are walked themselves
            assert action.help and action.help.strip(), (path, action.dest)


def test_no_arguments_prints_help_and_exits_2(tmp_path: Path) -> None:
    done = run(tmp_path)
    assert done.returncode == 2
    help_text = done.stdout + done.stderr
    for command in ("serve", "worker", "chat", "db"):
        assert command in help_text, help_text
    assert "Traceback" not in done.stderr


def test_python_m_bot_cli_is_the_same_command(tmp_path: Path) -> None:
    """The other way in than the console script: `python -m bot.cli` (tests/serving.py falls back to it)."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "frobnicate"], stdin=subprocess.DEVNULL, capture_output=True, cwd=tmp_path,
        env=command_env(), text=True, encoding="utf-8", errors="replace", timeout=RUN_TIMEOUT_S, check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("usage: teleopd") and "frobnicate" in done.stderr.strip().splitlines()[-1], done.stderr
