"""`teleopd webchat list` and `teleopd webchat revoke CHAT`: web chats beyond the local demo, each a secret the server issued."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import CommandError, open_services, print_table
from bot.platform.config import Settings


def add_webchat_parsers(commands: Any) -> None:
    """Add the `webchat` command to the `teleopd` subcommands (an argparse subparsers action)."""
    webchat = commands.add_parser("webchat", help="web chats beyond the local demo: each one a secret the server issued")
    webchat_commands = webchat.add_subparsers(title="webchat commands", metavar="WEBCHAT_COMMAND")
    webchat_list = webchat_commands.add_parser("list", help="list the open web chats: address, role, the staff member's name")
    webchat_list.set_defaults(handler=cmd_webchat_list)
    webchat_revoke = webchat_commands.add_parser("revoke", help="end a web chat for good (a lost phone's doctor desk): its secret opens nothing any more")
    webchat_revoke.add_argument("chat", help="the chat's address (web-…), as the chat page and `teleopd webchat list` show it")
    webchat_revoke.set_defaults(handler=cmd_webchat_revoke)


def cmd_webchat_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print the open web chats, the staff ones with their names."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.webchats import open_chats

    services = open_services(settings, announce=False)
    with services.db.read() as session:
        rows = [
            (
                chat.address, chat.role or "-", chat.name or "",
                f"{chat.opened_at:%Y-%m-%d %H:%M} UTC",
                f"{chat.last_message_at:%Y-%m-%d %H:%M} UTC" if chat.last_message_at else "never",
            )
            for chat in open_chats(session)
        ]
    if not rows:
        print("no open web chats")
        return 0
    print_table(("chat", "role", "name", "opened", "last message"), rows)
    return 0


def cmd_webchat_revoke(settings: Settings, args: argparse.Namespace) -> int:
    """Revoke a web chat: its cookie opens nothing any more."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.webchats import revoke

    services = open_services(settings, announce=False)
    if not revoke(services.db, args.chat):
        raise CommandError(f"no open web chat {args.chat!r}: `teleopd webchat list` shows them")
    print(f"revoked {args.chat}: its browser is told the chat has ended, and its next message starts a new one")
    return 0
