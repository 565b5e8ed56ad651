"""WhatsApp's layout through Twilio: a message's bodies, and its choices as buttons, lists or numbered text.

The channel (bot/channels/twilio.py) sends what this lays out; the buttons and lists are
Twilio Content API contents (bot/channels/whatsapp_content.py), and numbered text is the
fallback where no content can carry the message. SMS has a layout of its own (sms_text.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.channels import whatsapp_content
from bot.channels.base import OutgoingChoice, OutgoingMessage
from bot.channels.splitting import split_text
from bot.outbox.template_keys import WhatsAppTemplate

# Twilio: "a limit of 1600 characters in a single incoming or outgoing message request…
# all Programmable Messaging channels, including SMS, MMS, WhatsApp" (error 21617,
# https://support.twilio.com/hc/en-us/articles/360033806753). WhatsApp itself takes 4,096,
# but through Twilio the 1,600 applies; non-GSM characters can count double, so the
# length is measured in UTF-16 units.
MAX_BODY_UNITS = 1600
# WhatsApp shows at most 10 rows in a list (and Twilio quick replies take 1-10 buttons,
# https://www.twilio.com/docs/content/twilio-quick-reply): the numbered list follows suit.
MAX_CHOICES_PER_MESSAGE = 10


def split_body(text: str) -> list[str]:
    """Split a body over Twilio's limit into parts within it."""
    return split_text(text, MAX_BODY_UNITS, body_units)


def body_units(text: str) -> int:
    """Return a body's length as Twilio counts it against 1,600: in UTF-16 units."""
    return len(text.encode("utf-16-le")) // 2


def numbered(choices: Sequence[OutgoingChoice], start: int = 1) -> str:
    """Return choices as a numbered list, one per line ("1. Yes")."""
    return "\n".join(f"{n}. {c.label}" for n, c in enumerate(choices, start))


def whatsapp_requests(message: OutgoingMessage, contents: Mapping[str, WhatsAppTemplate]) -> list[dict[str, str]]:
    """Return the Messages.json requests of an in-session WhatsApp message.

    Choices go as reply buttons or lists (bot/channels/whatsapp_content.py) when `teleopd whatsapp
    sync` has made the contents they need; otherwise, and for a message content cannot carry,
    as numbered text.
    """
    parts = whatsapp_content.layout(message)
    if parts is None or any(p.content is not None and p.content not in contents for p in parts):
        return [{"body": body} for body in render_whatsapp(message)]
    return [
        {"body": p.body} if p.content is None
        else {"content_sid": contents[p.content].content_sid, "content_variables": p.content_variables()}
        for p in parts
    ]


def render_whatsapp(message: OutgoingMessage) -> list[str]:
    """Return the WhatsApp bodies of a message: its text, then its choices numbered 1, 2, …

    At most 10 choices go with one message, shared out evenly (11 → 6 + 5, so "11. आयुष" never
    arrives alone); the list goes on in the next message with the numbers going on, so "11"
    still picks the 11th choice (flows/engine.resolve_choice).
    """
    bodies = split_body(message.text)
    first = 0
    for group in whatsapp_content.shared_out(message.choices, MAX_CHOICES_PER_MESSAGE) if message.choices else []:
        block = numbered(group, first + 1)
        at_start, first = first == 0, first + len(group)
        if at_start and bodies and body_units(f"{bodies[-1]}\n\n{block}") <= MAX_BODY_UNITS:
            bodies[-1] = f"{bodies[-1]}\n\n{block}"
        else:
            bodies.extend(split_body(block))
    return bodies
