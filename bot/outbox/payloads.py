"""Outbox payloads translated for their recipient: the text, choice labels, template key and variables in their language."""

from __future__ import annotations

from dataclasses import replace

from bot.channels.base import OutgoingChoice, OutgoingDocument, OutgoingMessage
from bot.channels.whatsapp_content import MAX_LIST_ITEMS
from bot.outbox.template_keys import template_key
from bot.platform.i18n import Catalogs
from flows.messages import reply_from_json, t

# Channels whose messages are read on feature phones: they get a message's short SMS form.
SMS_CHANNELS = ("sms",)


def translate(
    catalogs: Catalogs, payload: dict[str, object], lang: str, sms: bool = False, session_open: bool = True,
    document: OutgoingDocument | None = None,
) -> OutgoingMessage:
    """Return an outbox payload as text and choice labels in the recipient's language.

    The template key and variables are those of the text actually used (the SMS form on
    SMS channels): SMS DLT template ids and WhatsApp ContentSids are configured per key.
    """
    reply = reply_from_json(payload)  # type: ignore[arg-type]
    text = reply.sms if sms and reply.sms is not None else reply.text
    if document is not None:
        # The message names its document by a link made at sending time (flows/messages.py Attachment).
        text = replace(text, params=tuple(sorted((*(p for p in text.params if p[0] != "link"), ("link", document.url)))))
    return OutgoingMessage(
        text=catalogs.translate(text, lang),
        choices=tuple(OutgoingChoice(c.key, catalogs.format_value(c.label, lang)) for c in reply.choices),
        request_contact=reply.request_contact,
        contact_label=catalogs.translate(t("Share my mobile number"), lang) if reply.request_contact else "",
        template=template_key(text.msgid),
        language=lang,
        variables=tuple((name, catalogs.format_value(value, lang)) for name, value in text.params),
        session_open=session_open,
        emergency=reply.emergency,
        list_label=catalogs.translate(t("Choose"), lang) if reply.choices else "",
        more_label=catalogs.translate(t("More choices:"), lang) if len(reply.choices) > MAX_LIST_ITEMS else "",
        document=document,
    )
