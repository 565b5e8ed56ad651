"""`teleopd templates [--sms] [--json]`: the messages to register as provider templates.

Indian A2P SMS must match templates registered on the operators' DLT platform, and a
WhatsApp notification outside the 24 h window must be an approved template. This lists each
message with its template key — what TELEOPD_SMS_TEMPLATES and TELEOPD_WHATSAPP_TEMPLATES
map to the DLT template id and the ContentSid — and its text in English and Hindi, with
{placeholders} where the values go. Registered in bot/cli/main.py with add_templates_parser.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.platform.config import Settings


def add_templates_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the `templates` command to the `teleopd` subcommands."""
    templates = commands.add_parser("templates", help="list messages with the template keys providers' template ids are configured against")
    templates.add_argument("--sms", action="store_true", help="only the SMS forms (the DLT templates), with their cost in segments")
    templates.add_argument("--json", action="store_true", help="print a skeleton template file to fill in")
    templates.set_defaults(handler=cmd_templates)
    return templates


def marked_messages(keyword: str) -> list[str]:
    """Return the msgids marked with a keyword (t, sms, tn) in the flows' source."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from babel.messages.extract import extract_from_dir

    import flows

    root = Path(flows.__file__).parent
    found = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(root), method_map=[("**.py", "python")], keywords={keyword: None}
        )
    }
    return sorted(found)


def cmd_templates(settings: Settings, args: argparse.Namespace) -> int:
    """Print the templates: key, segments (SMS), English and Hindi text."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.channels.sms_text import segments
    from bot.outbox.template_keys import template_key
    from bot.platform.i18n import Catalogs

    catalogs = Catalogs()
    msgids = marked_messages("sms") if args.sms else sorted({*marked_messages("t"), *marked_messages("sms")})
    if args.json:
        skeleton = {template_key(m): ("" if args.sms else {"content_sid": "HX…", "variables": []}) for m in msgids}
        print(json.dumps(skeleton, ensure_ascii=False, indent=2))
        return 0
    for msgid in msgids:
        hindi = catalogs.translations("hi").gettext(msgid)
        cost = f"  [{segments(msgid)} / {segments(hindi)} segments]" if args.sms else ""
        print(f"{template_key(msgid)}{cost}\n  en: {msgid}\n  hi: {hindi}")
    return 0
