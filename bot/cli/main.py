"""The `teleopd` command: the parser, and main() that runs one command.

Usage:
    teleopd serve [--host 127.0.0.1] [--port 8000]   web app + in-process worker
    teleopd worker                                     the outbox worker alone
    teleopd chat [--user ID] [--lang en|hi]            terminal chat on the local channel
    teleopd db upgrade                                 migrate the database to the newest schema
    teleopd opd add ... / teleopd opd list             the OPD catalogue
    teleopd demo                                       load the demo OPDs
    teleopd doctor add/list/disable/enable/remove/new-code   doctors (add and new-code print an enrolment code)
    teleopd doctor edit --id N --registration R              what a doctor's e-prescriptions print
    teleopd worker-user add/list/disable/enable/remove/new-code   health workers, the same
    teleopd operator add/reset-password/remove/list    who signs in to the dashboard (prints a password)
    teleopd webchat list / teleopd webchat revoke CHAT  web chats beyond the local demo
    teleopd broadcast create/preview/send/approve/cancel/status   health advisories to opted-in patients
    teleopd whatsapp sync [--apply]                    WhatsApp buttons, lists and templates (Twilio Content API)

Each command group is a module of its own (bot/cli/__init__.py lists them); this one only
puts their parsers together, in the order `teleopd --help` lists them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.cli.broadcasts import add_broadcast_parsers
from bot.cli.common import CommandError
from bot.cli.database import add_db_parsers
from bot.cli.demo import add_demo_parser
from bot.cli.opds import add_opd_parsers
from bot.cli.operators import add_operator_parsers
from bot.cli.patients import add_patient_parsers
from bot.cli.reports import add_report_parser
from bot.cli.run import add_run_parsers
from bot.cli.staff import add_staff_parsers
from bot.cli.telegram import add_telegram_parser
from bot.cli.templates import add_templates_parser
from bot.cli.webchats import add_webchat_parsers
from bot.cli.whatsapp import add_whatsapp_parser
from bot.platform.config import Settings, SettingsError
from bot.platform.logs import configure_logging

__all__ = ["CommandError", "build_parser", "describe_subcommands", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the teleopd command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
        # JSON lines (or text, TELEOPD_LOG_FORMAT) to stderr, masked, with request ids (bot/platform/logs.py).
        configure_logging(settings)
        return int(args.handler(settings, args) or 0)
    except (SettingsError, CommandError) as exc:
        print(f"teleopd: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    """Return the `teleopd` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="teleopd", description="Messaging front door of a tele-OPD service.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    add_run_parsers(commands)  # serve, worker, chat
    add_opd_parsers(commands)
    add_staff_parsers(commands)  # doctor, worker-user
    add_patient_parsers(commands)
    add_operator_parsers(commands)
    add_webchat_parsers(commands)
    add_broadcast_parsers(commands)
    add_demo_parser(commands)
    add_report_parser(commands)
    add_templates_parser(commands)
    add_telegram_parser(commands)
    add_whatsapp_parser(commands)
    add_db_parsers(commands)
    describe_subcommands(parser)
    return parser


def describe_subcommands(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand's own --help page the line its parent's list shows for it."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, subparser in action.choices.items():
            if subparser.description is None and helps.get(name):
                text = str(helps[name])
                subparser.description = text[0].upper() + text[1:] + "."
            describe_subcommands(subparser)
