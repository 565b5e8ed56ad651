"""What the bot says, as data: catalog message ids with parameters, never finished text.

Flows decide *what* to say; the text in the user's language is produced later, by the
runtime, from the gettext catalogs (locales/). The marker functions ``t`` and ``tn`` are the
keywords ``pybabel extract`` looks for (see babel.cfg).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Union

ParamValue = Union[str, int, float, dt.date, dt.datetime, "Text", "ByLanguage", "TimeOfDay", tuple["Text", ...], "Lines"]


@dataclass(frozen=True)
class ByLanguage:
    """A value that is data rather than catalog text but differs by language (a state's name)."""

    en: str
    hi: str
    # Romanised Hindi's own value, where the English one is no Latin text (a label written in
    # Devanagari whatever the language, "हिन्दी").
    latn: str | None = None

    def pick(self, lang: str) -> str:
        """Return the value for a language ("hi", "hi-IN", "hi_IN" → Hindi; anything else → English).

        Romanised Hindi ("hi-Latn") gets its own value if there is one, else the English one:
        the name in Latin letters ("Uttar Pradesh", "General Medicine"), which is what a phone
        without Devanagari can show.
        """
        tags = lang.lower().replace("_", "-").split("-")
        if tags[0] == "hi" and "latn" in tags[1:]:
            return self.latn if self.latn is not None else self.en
        return self.hi if tags[0] == "hi" else self.en


@dataclass(frozen=True)
class TimeOfDay:
    """A moment shown as a time of day only, in India's time (9:00 am)."""

    at: dt.datetime


@dataclass(frozen=True)
class Lines:
    """Values shown one a line (a doctor's summary lists past consultations so), where a tuple is comma-separated."""

    items: tuple[ParamValue, ...]


@dataclass(frozen=True)
class Text:
    """A catalog message id with its ``{placeholders}`` filled at render time."""

    msgid: str
    params: tuple[tuple[str, ParamValue], ...] = ()
    plural: str | None = None
    count: int | None = None

    def param_dict(self) -> dict[str, ParamValue]:
        """Return the parameters as a dict."""
        return dict(self.params)


def t(msgid: str, **params: ParamValue) -> Text:
    """Mark a message for the catalog and attach its parameters."""
    return Text(msgid, tuple(sorted(params.items())))


def sms(msgid: str, **params: ParamValue) -> Text:
    """Mark the short SMS form of a message (2 SMS segments at most; tests/test_sms_forms.py)."""
    return Text(msgid, tuple(sorted(params.items())))


def tn(singular: str, plural: str, count: int, **params: ParamValue) -> Text:
    """Mark a plural message; ``{count}`` is available to both forms."""
    params = {"count": count, **params}
    return Text(singular, tuple(sorted(params.items())), plural=plural, count=count)


@dataclass(frozen=True)
class Choice:
    """One answer the user can pick: a stable key, a label, and extra words that select it."""

    key: str
    label: Text | ByLanguage | dt.date  # a date is shown in the user's language
    # Words users type for this choice beyond its label in either language, e.g. romanised
    # Hindi ("haan") — matched after text.fold().
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attachment:
    """A document sent with a message, made by the runtime when the message is sent.

    Flows only name it (a consultation's e-prescription: kind "prescription", ref the
    consultation); the worker makes the file and its link (bot/outbox/documents.py) and fills
    the message's ``{link}`` placeholder with the link.
    """

    kind: str
    ref: int


@dataclass(frozen=True)
class Reply:
    """One message to the user, with the choices offered under it."""

    text: Text
    choices: tuple[Choice, ...] = ()
    # Channels that can share a contact (Telegram) show a "share my number" button.
    request_contact: bool = False
    # "reply" answers the user's own message; "push" is sent unprompted and is suppressed
    # for users who opted out.
    kind: str = "reply"
    # The short form for SMS (feature phones): Devanagari SMS costs 70 characters a segment.
    sms: Text | None = None
    # Emergency advice (108/112, Tele-MANAS 14416): a channel that can make it stand out does.
    emergency: bool = False
    # A document sent with the message (Telegram: the file; WhatsApp: as media; SMS: its link).
    attachment: Attachment | None = None


# --- JSON form, for the outbox ------------------------------------------------------------


def _param_to_json(value: ParamValue) -> Any:
    if isinstance(value, tuple):  # a list shown comma-separated in the reader's language
        return {"$list": [_param_to_json(v) for v in value]}
    if isinstance(value, Lines):
        return {"$lines": [_param_to_json(v) for v in value.items]}
    if isinstance(value, Text):
        return {"$text": text_to_json(value)}
    if isinstance(value, ByLanguage):
        return {"$lang": {"en": value.en, "hi": value.hi, **({"latn": value.latn} if value.latn is not None else {})}}
    if isinstance(value, TimeOfDay):
        return {"$time": value.at.isoformat()}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    return value


def _param_from_json(value: Any) -> ParamValue:
    if isinstance(value, dict):
        if "$list" in value:
            return tuple(_param_from_json(v) for v in value["$list"])  # type: ignore[return-value]
        if "$lines" in value:
            return Lines(tuple(_param_from_json(v) for v in value["$lines"]))
        if "$text" in value:
            return text_from_json(value["$text"])
        if "$lang" in value:
            return ByLanguage(**value["$lang"])
        if "$time" in value:
            return TimeOfDay(dt.datetime.fromisoformat(value["$time"]))
        if "$datetime" in value:
            return dt.datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return dt.date.fromisoformat(value["$date"])
    return value


def text_to_json(text: Text) -> dict[str, Any]:
    """Return a JSON-safe dict for a Text."""
    out: dict[str, Any] = {"id": text.msgid, "params": {k: _param_to_json(v) for k, v in text.params}}
    if text.plural is not None:
        out["plural"] = text.plural
        out["count"] = text.count
    return out


def text_from_json(data: dict[str, Any]) -> Text:
    """Rebuild a Text from text_to_json's output."""
    params = tuple(sorted((k, _param_from_json(v)) for k, v in data.get("params", {}).items()))
    return Text(data["id"], params, plural=data.get("plural"), count=data.get("count"))


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """Return a JSON-safe dict for a Reply (what the outbox stores)."""
    return {
        "text": text_to_json(reply.text),
        "choices": [{"key": c.key, "label": _param_to_json(c.label)} for c in reply.choices],
        "request_contact": reply.request_contact,
        "kind": reply.kind,
        **({"sms": text_to_json(reply.sms)} if reply.sms is not None else {}),
        **({"emergency": True} if reply.emergency else {}),
        **({"attachment": {"kind": reply.attachment.kind, "ref": reply.attachment.ref}} if reply.attachment else {}),
    }


def reply_from_json(data: dict[str, Any]) -> Reply:
    """Rebuild a Reply from reply_to_json's output."""
    return Reply(
        text=text_from_json(data["text"]),
        choices=tuple(Choice(c["key"], _param_from_json(c["label"])) for c in data.get("choices", [])),  # type: ignore[arg-type]
        request_contact=bool(data.get("request_contact")),
        kind=data.get("kind", "reply"),
        sms=text_from_json(data["sms"]) if data.get("sms") else None,
        emergency=bool(data.get("emergency")),
        attachment=Attachment(**data["attachment"]) if data.get("attachment") else None,
    )
