"""WhatsApp's own choices through Twilio's Content API: reply buttons, list pickers, templates.

Content is made of variables, so a small fixed set serves every question the flows ask:

    teleopd_buttons_N (N = 1-3)   twilio/quick-reply: body {{1}}; button k: title {{2k}}, id {{2k+1}}
    teleopd_list_N (N = 1-10)     twilio/list-picker: body {{1}}, list button {{2}};
                                  item k: title {{2k+1}}, id {{2k+2}}

and one text template per (message, language) for WhatsApp outside the 24 h window
("teleopd_m1a2b3c4d5e_hi"), its values {{1}}, {{2}}, … in the order of the English message's
placeholders. `teleopd whatsapp sync` (bot/cli/whatsapp.py) creates them and writes their
ContentSids to the TELEOPD_WHATSAPP_TEMPLATES file; the channel (bot/channels/twilio.py) lays a
message out here and sends the ContentSid with ContentVariables. A button's or item's id is the
choice key, so a press arrives (ButtonPayload / ListId) as the key the flow offered.

Provider rules, as Twilio and Meta document them (PROVIDERS.md "Added 2026-12"):
- twilio/quick-reply: body up to 1,024 characters; only 3 buttons in session without approval
  (https://www.twilio.com/docs/content/twilio-quick-reply); WhatsApp: a button title is at most
  20 characters and unique within the message.
- twilio/list-picker: 1-10 items, item title up to 24 characters, id up to 200, body up to
  1,024, list button up to 20; session only (https://www.twilio.com/docs/content/twiliolist-picker).
- A template whose body starts or ends with a variable, or has two side by side, is rejected by
  WhatsApp (https://www.twilio.com/docs/content/using-variables-with-content-api).
"""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.channels.base import OutgoingChoice, OutgoingMessage
from bot.channels.splitting import split_text

# The names this service gives its content; content of other names in the account is not ours.
PREFIX = "teleopd_"
MAX_SESSION_BUTTONS = 3
MAX_LIST_ITEMS = 10
MAX_BODY = 1024
MAX_BUTTON_TITLE = 20
MAX_ITEM_TITLE = 24
MAX_ITEM_ID = 200
MAX_LIST_BUTTON = 20
QUICK_REPLY = "twilio/quick-reply"
LIST_PICKER = "twilio/list-picker"
TEXT = "twilio/text"
# WhatsApp has no romanised Hindi among its template languages: the language is Hindi.
CONTENT_LANGUAGE = {"en": "en", "hi": "hi", "hi-Latn": "hi"}
# Where a label divides into a name and what explains it ("General Medicine (24 hours)",
# "गंभीर: रोज़ का काम…"): the name alone is the short title, when that is enough.
_LABEL_HEAD = re.compile(r"\s*[(:;,।|–—]")
_ADJACENT = re.compile(r"\}\}\s*\{\{")


def buttons_name(count: int) -> str:
    """Return the name of the reply-button content with this many buttons."""
    return f"{PREFIX}buttons_{count}"


def list_name(count: int) -> str:
    """Return the name of the list-picker content with this many items."""
    return f"{PREFIX}list_{count}"


def template_name(key: str, lang: str) -> str:
    """Return the content name of one language's template of a message ("teleopd_m1a2b3c4d5e_hi_latn")."""
    return f"{PREFIX}{key}_{lang.lower().replace('-', '_')}"


# --- laying a message out -------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One Messages.json request of a message: a plain body, or a content and its variables."""

    body: str | None = None
    content: str | None = None  # the content's name (teleopd_list_7)
    variables: tuple[str, ...] = ()  # {{1}}, {{2}}, … in order

    def content_variables(self) -> str:
        """Return the variables as Twilio takes them: a JSON object of "1", "2", … (ContentVariables)."""
        return json.dumps({str(n): v for n, v in enumerate(self.variables, 1)}, ensure_ascii=False)


def layout(message: OutgoingMessage) -> list[Part] | None:
    """Return a message with choices as reply buttons or list pickers, or None for numbered text.

    Up to 3 choices whose labels fit a button are buttons; more, or longer labels, a list of up to
    10; beyond 10 the choices go on in more lists, shared out evenly so no list holds a lone
    choice. Numbered text stays for what content cannot carry: no choices, the share-number
    question, a choice without a label or with a key too long for an id.
    """
    choices = message.choices
    if not choices or message.request_contact or not message.text.strip():
        return None
    if any(not c.label.strip() or not 1 <= len(c.key) <= MAX_ITEM_ID for c in choices):
        return None
    texts = split_text(message.text, MAX_BODY, len)
    leading, body = [Part(body=t) for t in texts[:-1]], texts[-1]
    labels = [" ".join(c.label.split()) for c in choices]
    if len(choices) <= MAX_SESSION_BUTTONS and all(len(x) <= MAX_BUTTON_TITLE for x in labels) and len(set(labels)) == len(labels):
        variables = [body]
        for choice, label in zip(choices, labels, strict=True):
            variables += [label, choice.key]
        return [*leading, Part(content=buttons_name(len(choices)), variables=tuple(variables))]
    button = " ".join(message.list_label.split())
    more = message.more_label.strip()
    if not 1 <= len(button) <= MAX_LIST_BUTTON or (len(choices) > MAX_LIST_ITEMS and not more):
        return None
    parts = leading
    for n, page in enumerate(shared_out(choices, MAX_LIST_ITEMS)):
        variables = [body if n == 0 else more, button]
        for choice, title in zip(page, item_titles([c.label for c in page]), strict=True):
            variables += [title, choice.key]
        parts.append(Part(content=list_name(len(page)), variables=tuple(variables)))
    return parts


def shared_out(choices: Sequence[OutgoingChoice], most: int) -> list[Sequence[OutgoingChoice]]:
    """Return choices shared out evenly over as few groups of up to `most` as hold them (11 of 10 → 6 + 5): none goes alone."""
    count = math.ceil(len(choices) / most)
    size = math.ceil(len(choices) / count)
    return [choices[i:i + size] for i in range(0, len(choices), size)]


def item_titles(labels: Sequence[str]) -> list[str]:
    """Return list item titles within 24 characters: a label as it is, else its name, else cut at a word.

    When one label is cut to its name ("Moderate" of "Moderate: daily work is hard"), every label
    that has a name is shown by it, so the list reads alike ("Mild", "Moderate", "Severe").
    """
    titles = [short_title(label) for label in labels]
    heads = [_LABEL_HEAD.split(" ".join(label.split()), maxsplit=1)[0].strip() for label in labels]
    if titles != [" ".join(x.split()) for x in labels] and all(0 < len(h) <= MAX_ITEM_TITLE for h in heads) and len(set(heads)) == len(heads):
        return heads
    for n, title in enumerate(titles):
        if titles.count(title) > 1:  # two names alike ("General Medicine"): keep what tells them apart
            titles[n] = _cut(" ".join(labels[n].split()))
    return titles


def short_title(label: str, limit: int = MAX_ITEM_TITLE) -> str:
    """Return a label within `limit` characters: whole, its name without the explanation, or cut at a word with "…"."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    head = _LABEL_HEAD.split(label, maxsplit=1)[0].strip()
    if head and len(head) <= limit:
        return head
    return _cut(label, limit)


def _cut(label: str, limit: int = MAX_ITEM_TITLE) -> str:
    if len(label) <= limit:
        return label
    cut = label[:limit - 1]
    if " " in cut:  # at a word: never inside a Devanagari syllable
        cut = cut[:cut.rfind(" ")]
    return cut.rstrip(" ,;:(–—-") + "…"


# --- the content this service keeps in the account ------------------------------------------


@dataclass(frozen=True)
class ContentSpec:
    """A content as the Content API holds it, and what the templates file says of it."""

    name: str  # friendly_name, and the key in the templates file
    language: str  # the Content API's language
    types: dict[str, Any]
    samples: dict[str, str]  # a sample value of each variable (WhatsApp asks for them)
    file_key: str = ""  # the templates file's key, when not the name (a template: "m…:hi")
    message_variables: tuple[str, ...] = ()  # a template: the message parameter of {{1}}, {{2}}, …
    message_language: str | None = None  # a template: the language of its text

    @property
    def key(self) -> str:
        """Return the templates file's key of this content."""
        return self.file_key or self.name

    def request(self) -> dict[str, Any]:
        """Return the Content API's create request for it."""
        return {"friendly_name": self.name, "language": self.language, "variables": self.samples, "types": self.types}

    def matches(self, existing: Mapping[str, Any]) -> bool:
        """Return whether a content the API listed is this one, unchanged."""
        return (
            existing.get("language") == self.language
            and normal(existing.get("types")) == normal(self.types)
            and normal(existing.get("variables") or {}) == normal(self.samples)
        )


def normal(value: Any) -> Any:
    """Return a JSON value without its null or empty members, for comparing what was asked with what is kept.

    The API answers with the members it has defaults for (null, ""): they are not a change.
    """
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [normal(v) for v in value]
    return value


def session_contents() -> list[ContentSpec]:
    """Return the reply-button and list-picker contents: 3 and 10 of them, every word a variable."""
    specs = []
    for count in range(1, MAX_SESSION_BUTTONS + 1):
        actions = [{"title": f"{{{{{2 * k}}}}}", "id": f"{{{{{2 * k + 1}}}}}"} for k in range(1, count + 1)]
        samples = {"1": "Book a token at General Medicine?"}
        for k in range(1, count + 1):
            samples |= {str(2 * k): f"Choice {k}", str(2 * k + 1): f"choice{k}"}
        specs.append(ContentSpec(buttons_name(count), "en", {QUICK_REPLY: {"body": "{{1}}", "actions": actions}}, samples))
    for count in range(1, MAX_LIST_ITEMS + 1):
        items = [{"item": f"{{{{{2 * k + 1}}}}}", "id": f"{{{{{2 * k + 2}}}}}"} for k in range(1, count + 1)]
        samples = {"1": "Which OPD would you like?", "2": "Choose"}
        for k in range(1, count + 1):
            samples |= {str(2 * k + 1): f"Choice {k}", str(2 * k + 2): f"choice{k}"}
        specs.append(ContentSpec(list_name(count), "en", {LIST_PICKER: {"body": "{{1}}", "button": "{{2}}", "items": items}}, samples))
    return specs


@dataclass(frozen=True)
class Refused:
    """A message that cannot be a WhatsApp template in one language, and why."""

    key: str
    language: str
    reason: str


@dataclass
class TemplatePlan:
    """The templates wanted, and the messages WhatsApp would refuse as they are written."""

    specs: list[ContentSpec] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def template_contents(key: str, msgid: str, texts: Mapping[str, str]) -> TemplatePlan:
    """Return one text template per language of a message, its values numbered in the English order."""
    names = list(dict.fromkeys(_placeholders(msgid)))
    plan = TemplatePlan()
    for lang, text in texts.items():
        body, unknown = _numbered(text, names)
        reason = (
            f"its text has {{{unknown}}}, which the English message has not" if unknown
            else "it starts with a value" if body.lstrip().startswith("{{")
            else "it ends with a value" if body.rstrip().endswith("}}")
            else "two values stand side by side" if _ADJACENT.search(body)
            else "it is longer than 1,024 characters" if len(body) > MAX_BODY
            else None
        )
        if reason is not None:
            plan.refused.append(Refused(key, lang, f"WhatsApp refuses a template when {reason}"))
            continue
        samples = {str(n): _sample(name) for n, name in enumerate(names, 1)}
        plan.specs.append(ContentSpec(
            template_name(key, lang), CONTENT_LANGUAGE.get(lang, lang), {TEXT: {"body": body}}, samples,
            file_key=f"{key}:{lang}", message_variables=tuple(names), message_language=lang,
        ))
    return plan


def _placeholders(text: str) -> Iterable[str]:
    return (name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name)


def _numbered(text: str, names: list[str]) -> tuple[str, str | None]:
    """Return a catalog text with each {name} as {{n}}, and a placeholder the English lacks, if any."""
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            if name not in names:
                return "", name
            out.append(f"{{{{{names.index(name) + 1}}}}}")
    return "".join(out), None


def _sample(name: str) -> str:
    return {"number": "42", "position": "3", "minutes": "20", "opd": "General Medicine", "date": "12 Dec",
            "time": "10:30", "doctor": "Anita Sharma", "room": "https://meet.jit.si/teleopd-sample"}.get(name, "sample")
