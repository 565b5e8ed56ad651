"""Telegram updates parsed into channel-neutral messages: what an update means to us.

`parse_update` reads one raw update (a webhook body, or one of `teleopd telegram poll`'s)
with python-telegram-bot's `Update.de_json` and returns an InboundMessage, an Ignored or
raises Malformed. It neither dispatches nor writes: the caller (bot/inbound.py) does.
A user blocking the bot, or letting it back in (my_chat_member), is a message of kind
BLOCKED or UNBLOCKED, deduplicated and handled like any other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram import Update
from telegram.constants import ChatType

from bot.channels.base import (
    BLOCKED,
    DOCUMENT,
    PHOTO,
    UNBLOCKED,
    VOICE,
    Ignored,
    InboundMessage,
    Malformed,
    MediaRef,
)
from bot.platform.phones import e164

NAME = "telegram"
# The update kinds we handle; `teleopd telegram set-webhook` and `poll` ask for these only.
# Edited messages are asked for so that they can be answered 200 and logged as ignored.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")

# Kinds of message content we cannot read; the flows answer them kindly (kind reply).
# `venue` before `location`: a venue carries a location too.
MEDIA_KINDS = (
    "photo", "sticker", "voice", "video", "video_note", "audio", "animation", "document",
    "venue", "location", "dice", "poll", "game", "story",
)
_INT64 = 2**63
# The content kept for the doctor, as our media kind: an audio file is heard like a voice note.
KEPT_MEDIA = {"photo": PHOTO, "document": DOCUMENT, "voice": VOICE, "audio": VOICE}


def parse_update(data: object) -> InboundMessage | Ignored:
    """Return what a raw update means to us, or raise Malformed."""
    if not isinstance(data, dict):
        raise Malformed("an update is a JSON object")
    update_id = _int(data.get("update_id"), "update_id")
    try:
        update = Update.de_json(data, bot=None)
    except Exception as exc:  # PTB raises TypeError, KeyError, ValueError… on a bad shape
        raise Malformed(f"not a Telegram update ({type(exc).__name__})") from None
    try:
        if update.message is not None:
            return _from_message(update.message, update_id)
        if update.callback_query is not None:
            return _from_callback(update, update_id)
        if update.my_chat_member is not None:
            return _from_membership(update, update_id)
    except (AttributeError, TypeError, ValueError) as exc:  # fields of the wrong type
        raise Malformed(f"not a Telegram update ({exc.__class__.__name__})") from None
    kinds = [key for key in data if key != "update_id"]
    if not kinds:
        return Ignored("no update kind")
    if kinds[0] not in Update.ALL_TYPES:
        return Ignored("unknown update kind")
    return Ignored(kinds[0].replace("_", " "))


def _from_message(message: Any, update_id: int) -> InboundMessage | Ignored:
    chat = message.chat
    if chat.type != ChatType.PRIVATE:
        return Ignored("group chat")
    address = str(_int(chat.id, "chat.id"))
    base = {"channel": NAME, "address": address, "provider_id": str(update_id), "can_share_contact": True}
    text = _text(message.text, "text")
    if text is not None:
        return InboundMessage(**base, text=text, kind="text")
    if message.contact is not None:
        return _from_contact(message, base)
    caption = _text(message.caption, "caption") or ""
    for kind in MEDIA_KINDS:
        if getattr(message, kind, None):
            # A photo, document or voice note is kept for the doctor (fetched later, by
            # bot/media/fetcher.py); anything else the flows answer "I can only read text messages".
            media = _media(kind, getattr(message, kind)) if kind in KEPT_MEDIA else ()
            return InboundMessage(**base, text=caption, kind=kind, media=media)
    return Ignored("service message")


def _media(kind: str, content: Any) -> tuple[MediaRef, ...]:
    """Return the file a photo, document, voice note or audio message carries."""
    if kind == "photo":
        # Telegram sends a photo in several sizes, the largest last
        # (https://core.telegram.org/bots/api#message, "photo: Array of PhotoSize").
        content = content[-1]
        mime = "image/jpeg"
    else:
        mime = _text(getattr(content, "mime_type", None), f"{kind}.mime_type") or ""
    file_id = _text(content.file_id, "file_id")
    if not file_id:
        return ()  # nothing to fetch: answered as a message we cannot read
    # Old clients' updates carry an empty file_unique_id; the file_id then stands for it.
    unique = _text(content.file_unique_id, "file_unique_id") or file_id
    size = content.file_size if type(content.file_size) is int else None
    return (MediaRef(KEPT_MEDIA[kind], file_id, unique, mime, size),)


def _from_contact(message: Any, base: dict[str, Any]) -> InboundMessage:
    contact, sender = message.contact, message.from_user
    # Telegram: a contact is anyone's card; only the sender's own (user_id == from.id) is a
    # number Telegram vouches for (PROVIDERS.md §A4).
    own = sender is not None and contact.user_id is not None and contact.user_id == sender.id
    phone = _contact_e164(contact.phone_number) if own else None
    if phone is None:
        # Text-less, so the flow asks again for the patient's own number.
        return InboundMessage(**base, kind="contact_other")
    return InboundMessage(**base, kind="contact", contact_phone=phone)


def _from_callback(update: Update, update_id: int) -> InboundMessage | Ignored:
    query = update.callback_query
    assert query is not None
    data = _text(query.data, "callback_query.data")
    if data is None:
        return Ignored("callback without data")  # a game's button: not ours
    if query.message is not None:
        if query.message.chat.type != ChatType.PRIVATE:
            return Ignored("group chat")
        chat_id = query.message.chat.id
    else:
        # The message is inaccessible (too old, or an inline message): the user's own chat.
        chat_id = query.from_user.id
    if not isinstance(query.id, str) or not query.id:
        raise Malformed("callback_query.id is not a string")
    return InboundMessage(
        channel=NAME,
        address=str(_int(chat_id, "chat.id")),
        provider_id=str(update_id),
        choice=data,
        kind="choice",
        can_share_contact=True,
        # Telegram: clients show a progress bar until answerCallbackQuery is called,
        # https://core.telegram.org/bots/api#answercallbackquery
        ack={"callback_query_id": query.id},
    )


def _from_membership(update: Update, update_id: int) -> InboundMessage | Ignored:
    change = update.my_chat_member
    assert change is not None
    if change.chat.type != ChatType.PRIVATE:
        return Ignored("group chat")
    status = change.new_chat_member.status
    # Telegram: in a private chat the bot is "kicked" when the user blocks it and a "member"
    # again when they unblock it, https://core.telegram.org/bots/api#chatmemberupdated
    if status not in ("kicked", "member"):
        return Ignored(f"chat member {status}")
    at = change.date if isinstance(change.date, dt.datetime) else dt.datetime.now(dt.UTC)
    return InboundMessage(
        channel=NAME,
        address=str(_int(change.chat.id, "chat.id")),
        provider_id=str(update_id),
        kind=BLOCKED if status == "kicked" else UNBLOCKED,
        received_at=at,  # when they blocked us, which the update says
    )


def _int(value: object, what: str) -> int:
    if type(value) is not int or not -_INT64 < value < _INT64:
        raise Malformed(f"{what} is not an integer")
    return value


def _text(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise Malformed(f"{what} is not a string")
    return value


def _contact_e164(number: object) -> str | None:
    """Return a shared contact's number in E.164: Telegram sends it international, sometimes without its "+"."""
    if not isinstance(number, str):
        return None
    digits = number.strip()
    return e164(digits if digits.startswith("+") else "+" + digits)
