"""`teleopd templates [list] [--sms | --dlt] [--json]`: the messages to register as provider templates.

Indian A2P SMS must match templates registered on the operators' DLT platform (TRAI TCCCPR
2018), and a WhatsApp notification outside the 24 h window must be an approved template. This
lists each message with its template key — what TELEOPD_SMS_TEMPLATES and
TELEOPD_WHATSAPP_TEMPLATES map to the DLT template id and the ContentSid — and its text, with
{placeholders} where the values go. `--dlt` lists what a state registers on DLT: one template
per (SMS form, language), variables written `{#var#}` as the DLT portals take them. Registered
in bot/cli/main.py with add_templates_parser.
"""

from __future__ import annotations

import argparse
import json
import string
from pathlib import Path
from typing import Any

from bot.platform.config import Settings

# What each placeholder of an SMS form carries, for whoever registers the DLT templates: a
# portal checks a variable's length and what it may hold (links are whitelisted with the template).
VARIABLE_KINDS = {
    "number": "token number (digits)",
    "position": "place in the queue (digits)",
    "minutes": "minutes (digits)",
    "opd": "OPD name",
    "date": "date",
    "time": "time of day",
    "room": "video room link (https): whitelist the link's domain with the template",
    "doctor": "doctor's name",
    "advice": "the doctor's advice, word for word: free text of any length, sent in numbered parts",
    "privacy_url": "link to the privacy notice (https): whitelist the domain with the template",
}


def add_templates_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the `templates` command to the `teleopd` subcommands."""
    templates = commands.add_parser("templates", help="list messages with the template keys providers' template ids are configured against")
    templates.add_argument("action", nargs="?", choices=["list"], default="list", help="list the templates (the default)")
    kind = templates.add_mutually_exclusive_group()
    kind.add_argument("--sms", action="store_true", help="only the SMS forms, with their cost in segments")
    kind.add_argument("--dlt", action="store_true", help="the SMS forms as DLT templates: one per (message, language), variables as {#var#}")
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


def placeholders(text: str) -> list[str]:
    """Return the names of a message's {placeholders}, in order."""
    return [name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name]


def dlt_text(text: str) -> str:
    """Return a message as a DLT template: literal text kept, each {placeholder} as {#var#}."""
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            out.append("{#var#}")
    return "".join(out)


def cmd_templates(settings: Settings, args: argparse.Namespace) -> int:
    """Print the templates: key, segments (SMS), the text in each language."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.outbox.template_keys import dlt_key, template_key
    from bot.platform.i18n import Catalogs
    from flows.engine import LANGUAGES

    catalogs = Catalogs()
    sms_only = args.sms or args.dlt
    msgids = marked_messages("sms") if sms_only else sorted({*marked_messages("t"), *marked_messages("sms")})
    if args.json:
        if args.dlt:
            skeleton: dict[str, object] = {dlt_key(template_key(m), lang): "" for m in msgids for lang in LANGUAGES}
        else:
            # WhatsApp: an empty entry asks `teleopd whatsapp sync` for the message's templates.
            skeleton = {template_key(m): ("" if args.sms else {}) for m in msgids}
        print(json.dumps(skeleton, ensure_ascii=False, indent=2))
        return 0
    if args.dlt:
        return _print_dlt(catalogs, msgids, LANGUAGES)
    from bot.channels.sms_text import segments

    for msgid in msgids:
        hindi = catalogs.translations("hi").gettext(msgid)
        cost = f"  [{segments(msgid)} / {segments(hindi)} segments]" if args.sms else ""
        print(f"{template_key(msgid)}{cost}\n  en: {msgid}\n  hi: {hindi}")
    return 0


def _print_dlt(catalogs: Any, msgids: list[str], languages: tuple[str, ...]) -> int:
    from bot.channels.sms_text import is_gsm7, segments
    from bot.outbox.template_keys import dlt_key, template_key

    count = 0
    for msgid in msgids:
        names = placeholders(msgid)
        for lang in languages:
            text = catalogs.translations(lang).gettext(msgid)
            template = dlt_text(text)
            encoding = "Text (GSM-7)" if is_gsm7(template) else "Unicode (UCS-2)"
            print(f"{dlt_key(template_key(msgid), lang)}  {lang}  {encoding}  {segments(template)} segment(s) without values")
            print("  " + template.replace("\n", "\n  "))
            for name in dict.fromkeys(names):
                print(f"    {{#var#}} {name}: {VARIABLE_KINDS.get(name, 'a value filled when sent')}")
            count += 1
    print(f"{count} templates: {len(msgids)} SMS forms in {len(languages)} languages ({', '.join(languages)}).")
    return 0
