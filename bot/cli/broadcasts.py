"""`teleopd broadcast create|preview|send|approve|cancel|status`: health advisories to opted-in patients.

The operator acting is named with --as (an operator of `teleopd operator add`): a broadcast
above TELEOPD_BROADCAST_APPROVAL_ABOVE patients is approved by another one. Sending itself is
done by the running worker (`teleopd serve` or `teleopd worker`), paced, and survives restarts.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from bot.cli.common import CommandError, int_option, open_services, print_table
from bot.platform.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.store.models import Operator


def add_broadcast_parsers(commands: Any) -> None:
    """Add the `broadcast` command to the `teleopd` subcommands (an argparse subparsers action)."""
    broadcast = commands.add_parser("broadcast", help="health advisories to patients who opted in: compose, preview, approve, send, follow")
    sub = broadcast.add_subparsers(title="broadcast commands", metavar="BROADCAST_COMMAND")
    create = sub.add_parser("create", help="write a draft advisory for a segment; prints its id, count and preview")
    create.add_argument("--as", dest="operator", required=True, help="the operator writing it")
    create.add_argument("--en", help="the advisory in English")
    create.add_argument("--hi", help="the advisory in Hindi (Devanagari)")
    create.add_argument("--hi-latn", help="the advisory in romanised Hindi (plain ASCII); English is sent without it")
    create.add_argument("--template", help="an approved advisory instead of texts (e.g. heat_wave)")
    create.add_argument("--state", action="append", default=[], help="a state's ISO code, e.g. IN-UP (repeatable)")
    create.add_argument("--district", action="append", default=[], help="a district (repeatable)")
    create.add_argument("--language", action="append", default=[], choices=("en", "hi", "hi-Latn"), help="a language (repeatable)")
    create.add_argument("--channel", action="append", default=[], help="telegram, whatsapp, sms or web (repeatable)")
    create.add_argument("--seen-within-days", type=lambda v: int_option("--seen-within-days", v), help="only patients seen in the last N days")
    create.set_defaults(handler=cmd_broadcast_create)
    for name, handler, text in (
        ("preview", cmd_broadcast_preview, "the count per channel and language now, and the advisory in each language"),
        ("send", cmd_broadcast_send, "send a draft (or ask for approval above the threshold), or an approved broadcast"),
        ("approve", cmd_broadcast_approve, "approve a broadcast awaiting approval (not its author)"),
        ("cancel", cmd_broadcast_cancel, "stop a broadcast: nothing more is queued"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("id", type=lambda v: int_option("ID", v), help="the broadcast's number (teleopd broadcast status lists them)")
        if name in ("send", "approve"):
            command.add_argument("--as", dest="operator", required=True, help="the operator acting")
        command.set_defaults(handler=handler)
    status = sub.add_parser("status", help="the latest broadcasts, or one's progress: delivered, failed, opt-outs")
    status.add_argument("id", nargs="?", type=lambda v: int_option("ID", v), help="a broadcast's number: its progress (none: the latest broadcasts)")
    status.set_defaults(handler=cmd_broadcast_status)


def _operator(session: Session, name: str) -> Operator:
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from sqlalchemy import select

    from bot.store.models import Operator

    operator = session.scalars(select(Operator).where(Operator.username == name.strip().lower())).first()
    if operator is None or operator.disabled_at is not None:
        raise CommandError(f"no operator {name!r} (teleopd operator list)")
    return operator


def _change(settings: Settings, change: Any) -> Any:
    """Run a change in one transaction; a refusal is a CommandError."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.broadcasts import BroadcastRefused

    services = open_services(settings, announce=False)
    try:
        with services.db.write() as session:
            return change(session, services)
    except BroadcastRefused as exc:
        raise CommandError(str(exc)) from exc


def cmd_broadcast_create(settings: Settings, args: argparse.Namespace) -> int:
    """Write a draft broadcast and print its preview."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.broadcasts import Segment, create
    from bot.store.models import utcnow

    texts = {lang: text for lang, text in (("en", args.en), ("hi", args.hi), ("hi-Latn", args.hi_latn)) if text}
    segment = Segment(tuple(args.state), tuple(args.district), tuple(args.language), tuple(args.channel), args.seen_within_days)

    def made(session: Session, services: Any) -> int:
        author = _operator(session, args.operator)
        broadcast = create(session, author.id, segment, utcnow(), texts=texts or None, template_key=args.template)
        return broadcast.id

    broadcast_id = _change(settings, made)
    print(f"broadcast {broadcast_id} written (draft); send it with: teleopd broadcast send {broadcast_id} --as NAME")
    return cmd_broadcast_preview(settings, argparse.Namespace(id=broadcast_id))


def cmd_broadcast_preview(settings: Settings, args: argparse.Namespace) -> int:
    """Print who a broadcast reaches now, per channel and language, and its advisory in each language."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.channels.sms_text import sms_parts
    from bot.services.broadcasts import preview
    from bot.store.models import Broadcast, utcnow
    from flows.engine import LANGUAGES

    services = open_services(settings, announce=False)
    with services.db.read() as session:
        broadcast = session.get(Broadcast, args.id)
        if broadcast is None:
            raise CommandError(f"no broadcast {args.id}")
        shown = preview(session, broadcast, utcnow())
    print(f"broadcast {args.id} reaches {shown.total} patients now (opted in to advisories, not stopped)")
    print_table(("channel", "patients"), [(channel, str(count)) for channel, count in sorted(shown.by_channel.items())])
    print_table(("language", "patients"), [(lang, str(count)) for lang, count in sorted(shown.by_language.items())])
    for lang in LANGUAGES:
        text = services.catalogs.translate(shown.reply.text, lang)
        print(f"\n[{lang}] ({len(sms_parts(text))} SMS part(s))\n{text}")
    return 0


def cmd_broadcast_send(settings: Settings, args: argparse.Namespace) -> int:
    """Send a broadcast, or put it up for approval when its segment is above the threshold."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.broadcasts import send
    from bot.store.models import utcnow

    def sent(session: Session, services: Any) -> tuple[str, int]:
        broadcast = send(session, args.id, _operator(session, args.operator), utcnow(), settings.broadcast_approval_above)
        return broadcast.status, broadcast.audience

    status, audience = _change(settings, sent)
    if status == "awaiting_approval":
        print(f"broadcast {args.id} reaches {audience} patients, above {settings.broadcast_approval_above}: "
              f"another operator approves it with: teleopd broadcast approve {args.id} --as NAME")
    else:
        print(f"broadcast {args.id} is sending: the worker queues it at {settings.broadcast_per_second} a second "
              f"(follow it with: teleopd broadcast status {args.id})")
    return 0


def cmd_broadcast_approve(settings: Settings, args: argparse.Namespace) -> int:
    """Approve a broadcast awaiting approval."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.broadcasts import approve
    from bot.store.models import utcnow

    _change(settings, lambda session, services: approve(session, args.id, _operator(session, args.operator), utcnow()))
    print(f"broadcast {args.id} approved; send it with: teleopd broadcast send {args.id} --as NAME")
    return 0


def cmd_broadcast_cancel(settings: Settings, args: argparse.Namespace) -> int:
    """Stop a broadcast."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.broadcasts import cancel
    from bot.store.models import utcnow

    _change(settings, lambda session, services: cancel(session, args.id, utcnow()))
    print(f"broadcast {args.id} cancelled: nothing more is queued")
    return 0


def cmd_broadcast_status(settings: Settings, args: argparse.Namespace) -> int:
    """Print the latest broadcasts, or one broadcast's progress."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.broadcasts import listed, progress
    from bot.store.models import Broadcast

    services = open_services(settings, announce=False)
    with services.db.read() as session:
        if args.id is None:
            rows = [(str(b.id), b.status, str(b.audience), str(b.recipients), b.created_at.strftime("%Y-%m-%d %H:%M")) for b in listed(session)]
            print_table(("id", "status", "audience", "recipients", "created (UTC)"), rows)
            return 0
        broadcast = session.get(Broadcast, args.id)
        if broadcast is None:
            raise CommandError(f"no broadcast {args.id}")
        shown = progress(session, broadcast)
    print(f"broadcast {args.id}: {broadcast.status}")
    print_table(
        ("audience", "recipients", "to queue", "queued", "sent", "delivered", "failed", "not sent", "opted out since"),
        [tuple(str(v) for v in (shown.audience, shown.recipients, shown.pending, shown.queued, shown.sent, shown.delivered,
                                 shown.failed, shown.not_sent, shown.opted_out))],
    )
    return 0
