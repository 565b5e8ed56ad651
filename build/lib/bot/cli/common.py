"""What the command modules share: the one-line error, the services with a checked schema, tables, printed passwords.

main.py and every command module import this module; it imports none of them, so there is
no import circle between the parser and the commands.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from bot.platform.config import Settings

if TYPE_CHECKING:
    from bot.runtime import Services

log = logging.getLogger("teleopd")


class CommandError(Exception):
    """A problem to report to the operator as one line, without a traceback."""


def open_services(settings: Settings, announce: bool = True) -> Services:
    """Build the services, checking the database schema first."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.runtime import build_services
    from bot.store.migrate import current_revision, head_revision, upgrade

    services = build_services(settings)
    try:
        revision = current_revision(services.db.engine)
    except OperationalError as exc:
        raise CommandError(f"cannot reach the database {settings.redacted_database_url}: {reason(exc)}") from exc
    if revision != head_revision():
        if services.db.is_sqlite:
            # The embedded default migrates itself, so a fresh checkout just runs.
            upgrade(settings.database_url, services.db.engine)
        else:
            raise CommandError(f"the database is at revision {revision or 'none'}, not {head_revision()}: run `teleopd db upgrade`")
    if announce:
        for line in settings.channel_status_lines():
            log.info("%s", line)
    return services


def reason(exc: OperationalError) -> str:
    """Return the first line of the database driver's own message."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__


def int_option(name: str, value: str) -> int:
    """Parse a whole number given to an option, or say in one line why it is none."""
    if not value.isascii() or not value.isdigit():
        raise CommandError(f"{name} takes a whole number, not {value}")
    return int(value)


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print rows under a header, in columns as wide as their widest cell."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def print_credential(username: str, password: str) -> None:
    """Print an operator's name and password on the last two lines (shown this once: only a hash is kept)."""
    print(f"username: {username}")
    print(f"password: {password}")
