"""`teleopd opd add ...` and `teleopd opd list`: the OPD catalogue."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import CommandError, int_option, open_services, print_table
from bot.platform.config import Settings


def add_opd_parsers(commands: Any) -> None:
    """Add the `opd` command to the `teleopd` subcommands (an argparse subparsers action)."""
    opd = commands.add_parser("opd", help="the OPD catalogue: add or update an OPD, or list them")
    opd_commands = opd.add_subparsers(title="opd commands", metavar="OPD_COMMAND")
    opd_add = opd_commands.add_parser("add", help="add an OPD (or update the one with the same code)")
    opd_add.add_argument("--code", required=True, help="short code, e.g. GEN")
    opd_add.add_argument("--name", required=True, help="name in English")
    opd_add.add_argument("--name-hi", required=True, help="name in Hindi")
    opd_add.add_argument("--specialty", required=True, help="general_medicine, paediatrics, obgyn, dermatology, ent, …")
    opd_add.add_argument("--hours", default="09:00-17:00", help="opening hours in India's time, HH:MM-HH:MM, or 24h")
    opd_add.add_argument("--days", default="mon-sat", help="working days: mon-sat, mon,wed,fri or all")
    opd_add.add_argument("--capacity", default="100", help="tokens a day")
    opd_add.add_argument("--languages", default="hi,en", help="languages the doctors speak")
    opd_add.add_argument("--minutes", default="10", help="minutes per consultation, until the OPD has its own figures")
    opd_add.set_defaults(handler=cmd_opd_add)
    opd_list = opd_commands.add_parser("list", help="list the OPDs with today's tokens")
    opd_list.set_defaults(handler=cmd_opd_list)


def cmd_opd_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add or update an OPD."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.opds import (
        CatalogueError,
        OpdSpec,
        check_spec,
        days_text,
        hours_text,
        upsert_opd,
    )

    spec = OpdSpec(
        code=args.code, name_en=args.name, name_hi=args.name_hi, specialty=args.specialty, hours=args.hours, days=args.days,
        capacity=int_option("--capacity", args.capacity), languages=args.languages, consult_minutes=int_option("--minutes", args.minutes),
    )
    try:
        check_spec(spec)  # before touching the database: a refusal is one line and changes nothing
        services = open_services(settings, announce=False)
        with services.db.write() as session:
            opd = upsert_opd(session, spec)
            line = f"{opd.code}\t{opd.name_en} / {opd.name_hi}\t{opd.specialty}\t{hours_text(opd)} IST\t{days_text(opd)}\t{opd.daily_capacity} tokens a day"
    except CatalogueError as exc:
        raise CommandError(str(exc)) from exc
    print(line)
    return 0


def cmd_opd_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print the OPD catalogue with today's tokens."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.opds import catalogue_rows
    from bot.store.models import utcnow

    services = open_services(settings, announce=False)
    with services.db.read() as session:
        rows = catalogue_rows(session, utcnow())
    if not rows:
        print("no OPDs yet: add one with `teleopd opd add`, or load the demo set with `teleopd demo`")
        return 0
    header = ("code", "name", "specialty", "hours (IST)", "days", "capacity", "issued today", "waiting")
    print_table(header, [
        (str(r["code"]), f"{r['name']} / {r['name_hi']}", str(r["specialty"]), str(r["hours_ist"]), str(r["days"]),
         str(r["capacity"]), str(r["issued_today"]), str(r["waiting"]))
        for r in rows
    ])
    return 0
