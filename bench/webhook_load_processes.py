"""The processes of bench/webhook_load.py: gunicorn, `teleopd` commands, free ports, waiting for a server
to answer, stopping a process with its children, and a schema of the run's own in a database URL.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from common import (
    ROOT,
    die_with_parent,
    teleopd_command,
)

# --- the processes ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} did not start (exit {process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback
                return
        except urllib.error.HTTPError:
            return  # it answers: a 404/405 is an answer
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def start_gunicorn(app: str, port: int, args: argparse.Namespace, env: dict[str, str], log: Path, chdir: Path) -> subprocess.Popen[bytes]:
    """Start gunicorn (gthread) on 127.0.0.1:port and wait until it answers."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "--chdir", str(chdir), "-k", "gthread", "-w", str(args.web_workers), "--threads", str(args.threads),
               "-b", f"127.0.0.1:{port}", "--backlog", "2048", "--keep-alive", "30", "--error-logfile", str(log), app]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"), cwd=ROOT, preexec_fn=die_with_parent)
    _wait_http(f"http://127.0.0.1:{port}/healthz", process, log)
    return process


def children(pid: int) -> list[int]:
    """Return a process's child pids (gunicorn's workers), from /proc."""
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def stop_process(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_teleopd(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(teleopd_command(*args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"teleopd {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def with_schema(url: str, schema: str) -> str:
    """Return a PostgreSQL URL whose connections use this schema (libpq options=-csearch_path)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"
