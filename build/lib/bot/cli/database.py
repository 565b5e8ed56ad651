"""`teleopd db upgrade`: migrate the configured database to the newest schema."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.exc import OperationalError

from bot.cli.common import CommandError, reason
from bot.platform.config import Settings


def add_db_parsers(commands: Any) -> None:
    """Add the `db` command to the `teleopd` subcommands (an argparse subparsers action)."""
    db = commands.add_parser("db", help="database administration: migrate the database to the newest schema")
    db_commands = db.add_subparsers(title="db commands", metavar="DB_COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.set_defaults(handler=cmd_db_upgrade)


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    """Migrate the configured database to the newest schema."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.store.db import Database
    from bot.store.migrate import current_revision, upgrade

    db = Database(settings.database_url)
    try:
        upgrade(settings.database_url, db.engine)
        print(f"database {settings.redacted_database_url} is at revision {current_revision(db.engine)}")
    except OperationalError as exc:
        raise CommandError(f"cannot reach the database {settings.redacted_database_url}: {reason(exc)}") from exc
    finally:
        db.dispose()
    return 0
