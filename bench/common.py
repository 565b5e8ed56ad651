"""What the benchmarks share: where they run, how they report."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import sys
import threading
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db import Database


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
