"""The `teleopd` command as an operator runs it.

What needs a process of its own (serve, worker, signals, a terminal, the console script and
`python -m bot.cli` themselves) runs the installed console script in a subprocess; the error
cases (wrong settings, an unreachable database, bad arguments, help) call bot.cli.main.main
in this process, with the same environment, and read its exit status and stderr.

Each test gets its own working directory and database; every wait has a deadline, and every
process started here is killed in a finally block.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
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


@pytest.fixture
def teleopd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """Return a runner of `teleopd ARGS` in this process: main(argv) in tmp_path, configured by the given settings only.

    It answers as run() does (exit status, stdout, stderr), so the same checks apply; an
    argparse refusal (SystemExit) is its exit status. The root logger is put back afterwards,
    since main() configures logging for the process.
    """
    for name in [n for n in os.environ if n.startswith(("TELEOPD_", "TWILIO_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    capsys.readouterr()

    def run_in_process(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        try:
            status = main(list(args))
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 2
        finally:
            for name in settings:
                monkeypatch.delenv(name)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["teleopd", *args], status, out, err)

    yield run_in_process
    root.handlers[:] = handlers
    root.setLevel(level)


def assert_one_line_error(done: subprocess.CompletedProcess[str], *mentions: str) -> str:
    """Check the command stopped with status 2 and one 'teleopd: ...' line; return the line."""
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{done.stderr[-3000:]}"
    line = lines[0]
    assert line.startswith("teleopd: "), line
    for mention in mentions:
        assert mention in line, f"{mention!r} not in {line!r}"
    assert done.returncode == 2, (done.returncode, line)
    return line


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
# Wrong settings: one line naming the variable, status 2, no traceback.

A_TELEGRAM_TOKEN = "123456:" + "A" * 35
A_SID = "AC" + "0" * 32
A_TWILIO_TOKEN = "f" * 32
# (label, settings, the variable the line must name, a secret that must not appear)
WRONG_SETTINGS = [
    ("public-url-ftp", {"TELEOPD_PUBLIC_URL": "ftp://x"}, "TELEOPD_PUBLIC_URL", None),
    ("public-url-no-scheme", {"TELEOPD_PUBLIC_URL": "teleopd.example.org"}, "TELEOPD_PUBLIC_URL", None),
    ("database-mysql", {"TELEOPD_DATABASE_URL": "mysql://x"}, "TELEOPD_DATABASE_URL", None),
    ("database-in-memory", {"TELEOPD_DATABASE_URL": "sqlite://"}, "TELEOPD_DATABASE_URL", None),
    ("database-not-a-url", {"TELEOPD_DATABASE_URL": "::::"}, "TELEOPD_DATABASE_URL", None),
    ("database-password-hidden", {"TELEOPD_DATABASE_URL": "mysql://u:hunter2hunter2@db/x"}, "TELEOPD_DATABASE_URL", "hunter2hunter2"),
    ("telegram-token-bad", {"TELEOPD_TELEGRAM_TOKEN": "bad"}, "TELEOPD_TELEGRAM_TOKEN", None),
    ("telegram-token-hidden", {"TELEOPD_TELEGRAM_TOKEN": "s3cr3t-not-a-token"}, "TELEOPD_TELEGRAM_TOKEN", "s3cr3t-not-a-token"),
    ("telegram-secret-short", {"TELEOPD_TELEGRAM_SECRET": "s3cretpass"}, "TELEOPD_TELEGRAM_SECRET", "s3cretpass"),
    ("telegram-secret-bad", {"TELEOPD_TELEGRAM_SECRET": "has spaces in it"}, "TELEOPD_TELEGRAM_SECRET", "has spaces in it"),
    ("telegram-api-url", {"TELEOPD_TELEGRAM_API_URL": "api.telegram.org"}, "TELEOPD_TELEGRAM_API_URL", None),
    ("twilio-sid", {"TWILIO_ACCOUNT_SID": "SK" + "0" * 32}, "TWILIO_ACCOUNT_SID", None),
    ("twilio-token", {"TWILIO_AUTH_TOKEN": "zz-secret-zz"}, "TWILIO_AUTH_TOKEN", "zz-secret-zz"),
    ("twilio-sid-alone", {"TWILIO_ACCOUNT_SID": A_SID}, "TWILIO_AUTH_TOKEN", None),
    ("twilio-no-sender", {"TWILIO_ACCOUNT_SID": A_SID, "TWILIO_AUTH_TOKEN": A_TWILIO_TOKEN}, "TELEOPD_TWILIO_", A_TWILIO_TOKEN),
    ("twilio-no-public-url", {"TWILIO_ACCOUNT_SID": A_SID, "TWILIO_AUTH_TOKEN": A_TWILIO_TOKEN, "TELEOPD_TWILIO_SMS_FROM": "+14155238886"}, "TELEOPD_PUBLIC_URL", A_TWILIO_TOKEN),
    ("whatsapp-from", {"TELEOPD_TWILIO_WHATSAPP_FROM": "whatsapp:12345"}, "TELEOPD_TWILIO_WHATSAPP_FROM", None),
    ("sms-from", {"TELEOPD_TWILIO_SMS_FROM": "+1"}, "TELEOPD_TWILIO_SMS_FROM", None),
    ("twilio-api-url", {"TELEOPD_TWILIO_API_URL": "ftp://api.twilio.com"}, "TELEOPD_TWILIO_API_URL", None),
    ("redis-url", {"TELEOPD_REDIS_URL": "http://localhost:6379"}, "TELEOPD_REDIS_URL", None),
    ("video-url", {"TELEOPD_VIDEO_BASE_URL": "javascript:alert(1)"}, "TELEOPD_VIDEO_BASE_URL", None),
    ("web-token-retired", {"TELEOPD_WEB_TOKEN": "short-secret"}, "TELEOPD_WEB_TOKEN", "short-secret"),
    ("default-language", {"TELEOPD_DEFAULT_LANGUAGE": "fr"}, "TELEOPD_DEFAULT_LANGUAGE", None),
    ("log-level", {"TELEOPD_LOG_LEVEL": "loud"}, "TELEOPD_LOG_LEVEL", None),
]


COMMANDS = [["db", "upgrade"], ["worker"], ["chat"], ["serve", "--port", "0"]]


@pytest.mark.parametrize(("settings", "variable", "secret"), [pytest.param(*case[1:], id=case[0]) for case in WRONG_SETTINGS])
def test_a_wrong_setting_stops_with_one_line(teleopd, tmp_path: Path, settings: dict[str, str], variable: str, secret: str | None) -> None:  # type: ignore[no-untyped-def]
    settings = {"TELEOPD_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}", **settings}
    done = teleopd("db", "upgrade", **settings)
    line = assert_one_line_error(done, variable)
    if secret is not None:
        assert secret not in done.stderr and secret not in done.stdout, line
    assert not (tmp_path / "t.db").exists(), "a database was created despite the wrong setting"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_checks_the_settings_first(teleopd, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    done = teleopd(*command, TELEOPD_DATABASE_URL="mysql://x", TELEOPD_PUBLIC_URL="https://ok.example.org")
    assert_one_line_error(done, "TELEOPD_DATABASE_URL")


# A database the command cannot open is a wrong TELEOPD_DATABASE_URL too.
# (label, URL, a secret that must not appear)
UNREACHABLE = [
    ("sqlite-missing-directory", "sqlite:////nonexistent-teleopd-dir/sub/t.db", None),
    ("postgresql-refused", "postgresql://teleopd:hunter2hunter2@127.0.0.1:1/teleopd", "hunter2hunter2"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(("url", "secret"), [pytest.param(*case[1:], id=case[0]) for case in UNREACHABLE])
def test_an_unreachable_database_stops_with_one_line(teleopd, command: list[str], url: str, secret: str | None) -> None:  # type: ignore[no-untyped-def]
    done = teleopd(*command, TELEOPD_DATABASE_URL=url)
    line = assert_one_line_error(done, "database")
    if secret is not None:
        assert secret not in done.stderr, line


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
        assert [c["key"] for c in messages[-1]["choices"]] == ["en", "hi"]
        status, body = http_json("POST", f"{base}/api/chat/web-user/messages", {"choice": "hi"})
        assert status == 202, body
        wait_messages(server, base, "web-user", cursor, "क्या आप सहमत हैं?")
        with urllib.request.urlopen(f"{base}/", timeout=5) as page:
            assert page.status == 200 and "text/html" in page.headers["Content-Type"]
        returncode = server.stop(stop_signal)
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


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["serve", "--help"], ["chat", "--help"], ["db", "upgrade", "--help"]], ids=" ".join)
def test_help_exits_0(teleopd, tmp_path: Path, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    done = teleopd(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: teleopd"), done.stdout
    assert not list(tmp_path.iterdir()), "asking for help created files"


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        pytest.param(["chat", "--user", "a b"], "--user", id="chat-bad-user"),
        pytest.param(["chat", "--user", "x" * 65], "--user", id="chat-long-user"),
        pytest.param(["chat", "--lang", "fr"], "--lang", id="chat-bad-lang"),
        pytest.param(["serve", "--port", "http"], "--port", id="serve-port-not-a-number"),
        pytest.param(["frobnicate"], "frobnicate", id="unknown-command"),
    ],
)
def test_bad_arguments_exit_2(teleopd, tmp_path: Path, args: list[str], mentions: str) -> None:  # type: ignore[no-untyped-def]
    done = teleopd(*args, TELEOPD_DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert mentions in done.stderr.strip().splitlines()[-1], done.stderr
