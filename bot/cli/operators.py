"""`teleopd operator add/reset-password/remove/list`: who signs in to the dashboard at /dashboard."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bot.cli.common import CommandError, open_services, print_credential, print_table
from bot.platform.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")


def add_operator_parsers(commands: Any) -> None:
    """Add the `operator` command to the `teleopd` subcommands (an argparse subparsers action)."""
    operator = commands.add_parser("operator", help="operators who sign in to the dashboard at /dashboard")
    operator_commands = operator.add_subparsers(title="operator commands", metavar="OPERATOR_COMMAND")
    operator_add = operator_commands.add_parser("add", help="add an operator; prints the name and a generated password on the last lines, once")
    operator_add.add_argument("--name", required=True, help="the name they sign in with (letters, digits and . _ @ -; case does not matter)")
    operator_add.add_argument(
        "--role", default="admin", choices=("admin", "coordinator", "viewer"),
        help="admin: operators and settings; coordinator: the inbox (taking over chats) and broadcasts; viewer: the dashboard only (default: admin)",
    )
    operator_add.add_argument("--state", help="bind them to one state or union territory (its code, e.g. UP): they see its patients only")
    operator_add.set_defaults(handler=cmd_operator_add)
    operator_reset = operator_commands.add_parser("reset-password", help="give an operator a new password (printed once) and sign them out everywhere")
    operator_reset.add_argument("--name", required=True, help="the operator's name")
    operator_reset.set_defaults(handler=cmd_operator_reset_password)
    operator_remove = operator_commands.add_parser("remove", help="stop an operator signing in, ending their sessions")
    operator_remove.add_argument("--name", required=True, help="the operator's name")
    operator_remove.set_defaults(handler=cmd_operator_remove)
    operator_list = operator_commands.add_parser("list", help="list the operators who can sign in")
    operator_list.set_defaults(handler=cmd_operator_list)


def _operator_change(settings: Settings, change: Callable[[Session], T]) -> T:
    """Run a change to the operators in one transaction; a refusal (duplicate, unknown name) is a CommandError."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.operators import OperatorError

    services = open_services(settings, announce=False)
    try:
        with services.db.write() as session:
            return change(session)
    except OperatorError as exc:
        raise CommandError(str(exc)) from exc


def cmd_operator_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add an operator and print their generated password once."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.operators import add_operator

    operator, password = _operator_change(settings, lambda session: add_operator(session, args.name, role=args.role, state=args.state))
    where = f" for {operator.state_code}" if operator.state_code else ""
    print(f"operator {operator.username} added as {operator.role}{where}: they sign in at /dashboard/login; the password is shown only now")
    print_credential(operator.username, password)
    return 0


def cmd_operator_reset_password(settings: Settings, args: argparse.Namespace) -> int:
    """Give an operator a new password, printed once; their open sessions end."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.operators import reset_password

    operator, password = _operator_change(settings, lambda session: reset_password(session, args.name))
    print(f"operator {operator.username} has a new password; sessions signed in with the old one have ended")
    print_credential(operator.username, password)
    return 0


def cmd_operator_remove(settings: Settings, args: argparse.Namespace) -> int:
    """Stop an operator signing in; their open sessions end."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.operators import remove_operator

    operator = _operator_change(settings, lambda session: remove_operator(session, args.name))
    print(f"operator {operator.username} removed: they can no longer sign in, and their sessions have ended")
    return 0


def cmd_operator_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print the operators who can sign in."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.operators import list_operators

    services = open_services(settings, announce=False)
    with services.db.read() as session:
        rows = [
            (o.username, o.role, o.state_code or "all", f"{o.created_at:%Y-%m-%d %H:%M} UTC", f"{o.last_login_at:%Y-%m-%d %H:%M} UTC" if o.last_login_at else "never")
            for o in list_operators(session)
        ]
    if not rows:
        print("no operators yet: add one with `teleopd operator add --name ...`")
        return 0
    print_table(("username", "role", "state", "added", "last sign-in"), rows)
    return 0
