"""`teleopd whatsapp sync [--apply] [--file PATH]`: WhatsApp's buttons, lists and templates in Twilio.

The Content API (content.twilio.com/v1/Content) holds what WhatsApp shows besides text: the
reply-button and list-picker contents every question is sent with (all words variables, so 13
contents serve every question), and a text template per (message, language) for notifications
outside the 24 h window (bot/channels/whatsapp_content.py says what each holds). This command
reads what the account holds, says what it would create, replace (a content changed: Twilio
cannot edit one in use, so it is made anew and the old one deleted) or delete (a teleopd_
content no longer wanted; content of other names is never touched), and with --apply does it,
asks WhatsApp to approve each new template, and writes the ContentSids to the templates file.
A second run changes nothing.

Where the ContentSids are kept: the TELEOPD_WHATSAPP_TEMPLATES file, not the database. They are
configuration of the Twilio account, like the credentials: written by an operator's command, read
once when a channel starts (no query per message), reviewed and deployed with the rest of the
configuration, and the same for every process; the file was already where ContentSids live, so
an existing deployment keeps working. The messages wanted as templates are named in the same
file by their template keys (`teleopd templates`), as {"m1a2b3c4d5e": {}}.

Registered in bot/cli/main.py with add_whatsapp_parser; imports what it needs when it runs
(bot/cli/__init__.py says why).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.channels.whatsapp_content import (
    PREFIX,
    ContentSpec,
    Refused,
    session_contents,
    template_contents,
)
from bot.cli.common import CommandError
from bot.outbox.template_keys import template_key
from bot.platform.config import Settings

# The category WhatsApp is asked to approve a notification template in (token, queue, call).
APPROVAL_CATEGORY = "UTILITY"


def add_whatsapp_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the `whatsapp` command to the `teleopd` subcommands."""
    whatsapp = commands.add_parser("whatsapp", help="WhatsApp through Twilio: buttons, lists and templates (Content API)")
    sub = whatsapp.add_subparsers(title="whatsapp commands", metavar="WHATSAPP_COMMAND")
    sync = sub.add_parser("sync", help="create or update the WhatsApp contents in Twilio; a dry run unless --apply")
    sync.add_argument("--apply", action="store_true", help="make the changes and write the ContentSids to the templates file")
    sync.add_argument("--file", help="the templates file (default: TELEOPD_WHATSAPP_TEMPLATES); created by --apply if missing")
    sync.set_defaults(handler=cmd_sync)
    return whatsapp


@dataclass(frozen=True)
class Action:
    """One change the sync makes, or one content it keeps."""

    verb: str  # create, replace, delete, keep
    name: str
    spec: ContentSpec | None = None  # the content wanted (not for delete)
    sids: tuple[str, ...] = ()  # the contents it replaces, deletes or keeps


def plan(wanted: list[ContentSpec], existing: list[dict[str, Any]]) -> list[Action]:
    """Return what turns the teleopd_ contents the account holds into those wanted."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for content in existing:
        by_name.setdefault(str(content.get("friendly_name") or ""), []).append(content)
    actions = []
    for spec in wanted:
        held = by_name.pop(spec.name, [])
        same = next((c for c in held if spec.matches(c)), None)
        if same is not None:
            actions.append(Action("keep", spec.name, spec, (same["sid"],)))
            extra = [c["sid"] for c in held if c is not same]  # left by an interrupted run
            if extra:
                actions.append(Action("delete", spec.name, None, tuple(extra)))
        elif held:
            actions.append(Action("replace", spec.name, spec, tuple(c["sid"] for c in held)))
        else:
            actions.append(Action("create", spec.name, spec))
    for name, held in sorted(by_name.items()):
        if name.startswith(PREFIX):
            actions.append(Action("delete", name, None, tuple(c["sid"] for c in held)))
    return actions


def cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    """Print the plan; with --apply carry it out and write the templates file."""
    path = Path(args.file or settings.whatsapp_templates_file or "")
    if not (args.file or settings.whatsapp_templates_file):
        raise CommandError("name the templates file: --file PATH or TELEOPD_WHATSAPP_TEMPLATES (the ContentSids are kept there)")
    if settings.twilio_account_sid is None or settings.twilio_auth_token is None:
        raise CommandError("set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN: the Content API belongs to the Twilio account")
    kept = _read(path)
    wanted, refused = _wanted(kept)
    api = ContentApi(settings)
    try:
        actions = plan(wanted, api.contents())
        for refusal in refused:
            print(f"skip    {refusal.key}:{refusal.language}: {refusal.reason}")
        for action in actions:
            print(_describe(action))
        changes = [a for a in actions if a.verb != "keep"]
        updated = _updated_file(kept, wanted, {a.name: a.sids[0] for a in actions if a.verb == "keep"})
        if not args.apply:
            print(f"dry run: {_summary(actions)}" + ("; run with --apply to do it" if changes or updated != kept else ""))
            return 0
        sids = {a.name: a.sids[0] for a in actions if a.verb == "keep"}
        for action in changes:
            if action.verb in ("create", "replace"):
                sids[action.name] = api.create(action.spec.request())
                if action.spec.message_language is not None:
                    api.ask_approval(sids[action.name], action.name)
            for sid in action.sids if action.verb in ("replace", "delete") else ():
                api.delete(sid)
        updated = _updated_file(kept, wanted, sids)
        if updated != kept or not path.exists():
            path.write_text(json.dumps(updated, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"applied: {_summary(actions)}; ContentSids in {path}" if changes or updated != kept else "nothing to change")
        return 0
    finally:
        api.close()


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise CommandError(f"{path}: expected a JSON object of template key → template")
    return data


def _wanted(kept: dict[str, Any]) -> tuple[list[ContentSpec], list[Refused]]:
    """Return the contents wanted (buttons, lists, and a template per language of each message the file asks for)."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.platform.i18n import Catalogs
    from flows.engine import LANGUAGES

    asked = sorted(k for k in kept if ":" not in k and not k.startswith(PREFIX))
    wanted: list[ContentSpec] = session_contents()
    refused: list[Refused] = []
    if not asked:
        return wanted, refused
    msgids = {template_key(m): m for m in _catalog_messages()}
    unknown = [k for k in asked if k not in msgids]
    if unknown:
        raise CommandError(f"no message has the template key {', '.join(unknown)}: `teleopd templates` lists them")
    catalogs = Catalogs()
    for key in asked:
        texts = {lang: catalogs.translations(lang).gettext(msgids[key]) for lang in LANGUAGES}
        made = template_contents(key, msgids[key], texts)
        wanted += made.specs
        refused += made.refused
    return wanted, refused


def _catalog_messages() -> list[str]:
    """Return every message id the catalogs hold (the English catalog has them all, as `pybabel update` wrote it)."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from babel.messages.pofile import read_po

    from bot.platform.i18n import locales_dir

    with (locales_dir() / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return [m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id]


def _updated_file(kept: dict[str, Any], wanted: list[ContentSpec], sids: dict[str, str]) -> dict[str, Any]:
    """Return the templates file with each wanted content's entry, and none for contents gone."""
    wanted_keys = {spec.key for spec in wanted}
    updated = {k: v for k, v in kept.items() if not ((":" in k or k.startswith(PREFIX)) and k not in wanted_keys)}
    for spec in wanted:
        if spec.name not in sids:
            continue
        entry: dict[str, Any] = {"content_sid": sids[spec.name], "variables": list(spec.message_variables)}
        if spec.message_language is not None:
            entry["language"] = spec.message_language
        updated[spec.key] = entry
    return updated


def _describe(action: Action) -> str:
    what = ""
    if action.spec is not None:
        kind = next(iter(action.spec.types))
        what = f" ({kind}, {action.spec.language})"
    old = f" [{', '.join(action.sids)}]" if action.sids else ""
    return f"{action.verb:<7} {action.name}{what}{old}"


def _summary(actions: list[Action]) -> str:
    counts = {verb: sum(a.verb == verb for a in actions) for verb in ("create", "replace", "delete", "keep")}
    return ", ".join(f"{n} to {verb}" if verb != "keep" else f"{n} kept" for verb, n in counts.items())


class ContentApi:
    """The account's Content API through the twilio library (content.twilio.com, or the configured URL)."""

    def __init__(self, settings: Settings):
        # Loaded when the command runs (bot/cli/__init__.py says why).
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        from bot.channels.twilio import HTTP_TIMEOUT_S

        self.client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=TwilioHttpClient(timeout=HTTP_TIMEOUT_S))
        if settings.twilio_content_api_url:
            self.client.content.base_url = settings.twilio_content_api_url  # tests: the fake API

    def contents(self) -> list[dict[str, Any]]:
        """Return every content of the account (the list is paged; the library follows the pages)."""
        from twilio.base.exceptions import TwilioException

        try:
            return [
                {"sid": c.sid, "friendly_name": c.friendly_name, "language": c.language, "types": c.types, "variables": c.variables}
                for c in self.client.content.v1.contents.stream(page_size=100)
            ]
        except TwilioException as exc:
            raise CommandError(f"the Content API refused to list the contents: {exc}") from None

    def create(self, request: dict[str, Any]) -> str:
        """Create one content; return its ContentSid."""
        from twilio.base.exceptions import TwilioException
        from twilio.rest.content.v1.content import ContentList

        try:
            return str(self.client.content.v1.contents.create(ContentList.ContentCreateRequest(request)).sid)
        except TwilioException as exc:
            raise CommandError(f"the Content API refused {request['friendly_name']}: {exc}") from None

    def ask_approval(self, sid: str, name: str) -> None:
        """Ask WhatsApp to approve a template (needed before it can be sent outside the 24 h window)."""
        from twilio.base.exceptions import TwilioException
        from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

        request = ApprovalCreateList.ContentApprovalRequest({"name": name, "category": APPROVAL_CATEGORY})
        try:
            self.client.content.v1.contents(sid).approval_create.create(request)
        except TwilioException as exc:
            raise CommandError(f"WhatsApp approval of {name} could not be asked for: {exc}") from None

    def delete(self, sid: str) -> None:
        """Delete one content."""
        from twilio.base.exceptions import TwilioException

        try:
            self.client.content.v1.contents(sid).delete()
        except TwilioException as exc:
            raise CommandError(f"the Content API refused to delete {sid}: {exc}") from None

    def close(self) -> None:
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()
