"""`teleopd report [--date D | --from D --to D] [--lang en|hi] [--csv]`: the consultation report.

Registered in bot/cli/main.py's parser with ``add_report_parser(commands)``. Days are India's days
(IST); the default is today in India.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from typing import Any

from bot.cli.common import CommandError, open_services
from bot.platform.config import Settings

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def add_report_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the `report` command to the `teleopd` subcommands (an argparse subparsers action)."""
    report = commands.add_parser(
        "report", help="consultations, patients, waits, no-shows, per OPD, doctor and state (India's days)"
    )
    report.add_argument("--date", metavar="D", help="one day, YYYY-MM-DD (default: today in India)")
    report.add_argument("--from", dest="start", metavar="D", help="first day of a range, YYYY-MM-DD (with --to)")
    report.add_argument("--to", dest="end", metavar="D", help="last day of a range, YYYY-MM-DD, included (with --from)")
    report.add_argument("--lang", choices=("en", "hi"), help="language of the report (default: the service's default language)")
    report.add_argument("--csv", action="store_true", help="machine-readable rows: section,key,metric,value")
    report.set_defaults(handler=cmd_report)
    return report


def _day(option: str, value: str) -> dt.date:
    try:
        if not _ISO_DAY.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} takes a date as YYYY-MM-DD, not {value!r}") from None


def report_range(args: argparse.Namespace, today: dt.date) -> tuple[dt.date, dt.date]:
    """Return the days the command line asks for, or raise CommandError saying why it cannot."""
    if args.date is not None:
        if args.start is not None or args.end is not None:
            raise CommandError("give either --date or --from and --to, not both")
        day = _day("--date", args.date)
        return day, day
    if args.start is None and args.end is None:
        return today, today
    if args.start is None or args.end is None:
        raise CommandError("--from and --to go together (for one day, use --date)")
    start, end = _day("--from", args.start), _day("--to", args.end)
    if start > end:
        raise CommandError(f"--from {start} is after --to {end}")
    return start, end


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    """Print the consultation report of a day or a range of days."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.reports import IST, build_report, render_csv, render_text

    start, end = report_range(args, dt.datetime.now(IST).date())
    services = open_services(settings, announce=False)
    with services.db.read() as session:
        report = build_report(session, start, end)
    sys.stdout.write(render_csv(report) if args.csv else render_text(report, args.lang or settings.default_language, services.catalogs))
    return 0
