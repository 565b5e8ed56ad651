"""Messages in their Telegram form: the text split at Telegram's limit, the choices as a keyboard.

Telegram rules applied here are cited where they are applied; the Bot API reference is
https://core.telegram.org/bots/api.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import (
    InlineKeyboardButtonLimit,
    InlineKeyboardMarkupLimit,
    MessageLimit,
)

from bot.channels import splitting
from bot.channels.base import OutgoingChoice, OutgoingMessage

log = logging.getLogger(__name__)

# Telegram: 4096 characters per message, https://core.telegram.org/bots/api#sendmessage
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
# Telegram: callback_data is 1-64 bytes, https://core.telegram.org/bots/api#inlinekeyboardbutton
MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
# PTB's limits for an inline keyboard: 100 buttons, 8 to a row.
MAX_BUTTONS = InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER
MAX_PER_ROW = InlineKeyboardMarkupLimit.BUTTONS_PER_ROW
# Labels up to this long sit two to a row on a phone; longer ones get a row each.
SHORT_LABEL = 16
# Put before the share-contact button's words (from the catalogs): a symbol every reader knows.
CONTACT_BUTTON_LABEL = "📱"

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True)
class Part:
    """One sendMessage: text and, on the last part only, the keyboard."""

    text: str
    markup: Markup | None = None


def render(message: OutgoingMessage) -> list[Part]:
    """Return a message as the sendMessage calls that carry it."""
    texts = split_text(message.text)
    if message.request_contact:
        markup: Markup | None = contact_keyboard(message.choices, message.contact_label)
    elif message.choices:
        markup = inline_keyboard(message.choices)
    else:
        # Stateless: a reply keyboard (the contact button) shown earlier goes away once a
        # message has no buttons of its own; without one this changes nothing.
        markup = ReplyKeyboardRemove()
    return [Part(text, markup if i == len(texts) - 1 else None) for i, text in enumerate(texts)]


def inline_keyboard(choices: Sequence[OutgoingChoice]) -> InlineKeyboardMarkup | None:
    """Return choices as an inline keyboard, leaving out any Telegram would refuse."""
    buttons = []
    for choice in choices:
        size = len(choice.key.encode("utf-8"))
        if not 1 <= size <= MAX_CALLBACK_BYTES:
            # Telegram refuses the whole message for one bad button (BUTTON_DATA_INVALID):
            # drop the button, keep the message; the flows accept the label typed as text.
            log.error("choice key of %d bytes left out: Telegram takes 1-%d bytes of callback_data", size, MAX_CALLBACK_BYTES)
            continue
        if not choice.label.strip():
            log.error("choice %r left out: it has no label", choice.key[:MAX_CALLBACK_BYTES])
            continue
        buttons.append(InlineKeyboardButton(choice.label, callback_data=choice.key))
    if len(buttons) > MAX_BUTTONS:
        log.error("%d choices: only the first %d fit an inline keyboard", len(buttons), MAX_BUTTONS)
        buttons = buttons[:MAX_BUTTONS]
    if not buttons:
        return None
    per_row = 2 if all(len(b.text) <= SHORT_LABEL for b in buttons) else 1
    per_row = min(per_row, MAX_PER_ROW)
    return InlineKeyboardMarkup([buttons[i : i + per_row] for i in range(0, len(buttons), per_row)])


def contact_keyboard(choices: Sequence[OutgoingChoice], label: str = "") -> ReplyKeyboardMarkup:
    """Return a reply keyboard with the share-contact button and the choices as text buttons.

    A message has one keyboard, so the choices are text buttons here: pressing one sends its
    label, which the flows match like typed text.
    """
    # Telegram: request_contact works in private chats only; one_time_keyboard hides the
    # keyboard once used, https://core.telegram.org/bots/api#replykeyboardmarkup
    rows = [[KeyboardButton(f"{CONTACT_BUTTON_LABEL} {label}".strip(), request_contact=True)]]
    rows += [[KeyboardButton(c.label)] for c in choices[: MAX_BUTTONS - 1] if c.label.strip()]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a text into parts of at most `limit` UTF-16 units (Telegram counts entity
    offsets in them): at sentences, else lines, else words."""
    return splitting.split_text(text, limit)

