"""Message templates as providers know them: a stable key per catalog message.

Indian A2P SMS must match a template registered on the operators' DLT platform (TRAI
TCCCPR 2018), and WhatsApp outside the 24 h window takes only an approved template
(Twilio ContentSid, error 63016). Both are configured against the key of the catalog
message they stand for: `template_key(msgid)`, listed with the text by `teleopd templates`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def template_key(msgid: str) -> str:
    """Return the stable key of a catalog message: it changes only when the English source does."""
    return "m" + hashlib.sha256(msgid.encode("utf-8")).hexdigest()[:10]


def dlt_key(key: str, lang: str) -> str:
    """Return the key of one language's DLT template of a message ("m1a2b3c4d5e:hi").

    A DLT template is registered per text, so the Hindi and the English form of a message are two
    templates with two ids; TELEOPD_SMS_TEMPLATES maps these keys (or, for a gateway that needs
    one id per message, the bare template key) to the ids.
    """
    return f"{key}:{lang}"


def whatsapp_key(key: str, lang: str) -> str:
    """Return the key of one language's WhatsApp template of a message ("m1a2b3c4d5e:hi").

    WhatsApp approves a template per language, so a message sent outside the 24 h window has one
    ContentSid per language: a Hindi patient gets the Hindi template, never the English one.
    """
    return f"{key}:{lang}"


@dataclass(frozen=True)
class WhatsAppTemplate:
    """An approved WhatsApp template: its ContentSid and which message parameters fill {{1}}, {{2}}, …

    `language` is the language of its text; None for a bare-key entry written before templates
    were kept per language, which is read as English (the text `teleopd templates` lists).
    """

    content_sid: str
    variables: tuple[str, ...] = ()
    language: str | None = None


def find_whatsapp_template(templates: Mapping[str, WhatsAppTemplate], key: str, lang: str) -> WhatsAppTemplate | None:
    """Return the template of a message in this language, or None: never another language's."""
    found = templates.get(whatsapp_key(key, lang))
    if found is not None:
        return found
    bare = templates.get(key)
    # A message that names no language is the English text (OutgoingMessage's default).
    if bare is not None and (bare.language or "en") == (lang or "en"):
        return bare
    return None


class TemplateError(ValueError):
    """A template file that cannot be used; the message names the file and the problem."""


def _load_json(path: str | None) -> dict[str, object]:
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TemplateError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: expected a JSON object of template key → template")
    return data


def load_whatsapp_templates(path: str | None) -> dict[str, WhatsAppTemplate]:
    """Read {"<template key>[:<language>]": {"content_sid": "HX…", "variables": ["number", …], "language": "hi"}, …}.

    `teleopd whatsapp sync --apply` writes this file: one entry per (message, language) and the
    buttons' and lists' contents ("teleopd/buttons/2", "teleopd/list/7"). An entry without a
    content_sid (a message the operator asked to have as a template, not yet created) is skipped.
    """
    templates = {}
    for key, value in _load_json(path).items():
        if isinstance(value, dict) and value.get("content_sid") in (None, ""):
            continue
        if not isinstance(value, dict) or not isinstance(value.get("content_sid"), str) or not str(value["content_sid"]).startswith("HX"):
            raise TemplateError(f"{path}: {key}: needs a content_sid starting with HX")
        variables = value.get("variables", [])
        if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
            raise TemplateError(f"{path}: {key}: variables must be a list of parameter names")
        language = value.get("language")
        if language is not None and not isinstance(language, str):
            raise TemplateError(f"{path}: {key}: language must be a language tag such as \"hi\"")
        templates[key] = WhatsAppTemplate(str(value["content_sid"]), tuple(variables), language)
    return templates


def load_sms_templates(path: str | None) -> dict[str, str]:
    """Read {"<template key>": "<DLT template id>", …}."""
    templates = {}
    for key, value in _load_json(path).items():
        if not isinstance(value, str | int) or not str(value).strip():
            raise TemplateError(f"{path}: {key}: needs the DLT template id as a string")
        templates[key] = str(value).strip()
    return templates
