"""teleopd's error cases, in this process: wrong settings, an unreachable database, bad arguments, help.

Each calls bot.cli.main.main(argv) with the environment configured as an operator would, and
reads the exit status and stderr, as tests/test_cli.py reads them from the console script
(which keeps the smoke tests a process of its own needs: the console script itself,
`python -m bot.cli`, serve, worker, signals, a terminal).
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cli.main import main


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
# Help and bad arguments


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
