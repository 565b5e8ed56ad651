"""The contract every channel adapter keeps, and the vocabulary of send failures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

# The kinds of media a patient may send for the doctor (bot/media/checks.py says which bytes
# each may hold): a photo (of a rash, a report), a document (a PDF report), a voice note.
PHOTO = "photo"
DOCUMENT = "document"
VOICE = "voice"
MEDIA_KINDS = (PHOTO, DOCUMENT, VOICE)


@dataclass(frozen=True)
class MediaRef:
    """A file a message carries, as the provider names it; fetched later, never in the webhook."""

    kind: str  # PHOTO, DOCUMENT or VOICE
    ref: str  # how to fetch it: Telegram's file_id, Twilio's MediaUrlN
    unique: str  # the same file's key across messages: Telegram's file_unique_id, Twilio's URL
    mime: str = ""  # what the provider says it is; the bytes are checked all the same
    size: int | None = None  # what the provider says its size is, where it says


@dataclass(frozen=True)
class InboundMessage:
    """A message from any channel, after its webhook verified it and its adapter parsed it."""

    channel: str
    address: str  # the sender on that channel: chat id, "whatsapp:+91…", "+91…", web user id
    provider_id: str  # the provider's message id: the dedupe key
    text: str = ""
    choice: str | None = None  # the key of a pressed button
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    kind: str = "text"  # text, choice, contact, media, …, or BLOCKED / UNBLOCKED (no words)
    channel_phone: str | None = None
    can_share_contact: bool = False
    contact_phone: str | None = None
    # The role the chat was opened as (the web chat's doctor and health-worker tabs); no privilege.
    opened_as: str | None = None
    # Something the provider wants acknowledged, queued as an outbox row of kind "ack" ahead
    # of the replies (Telegram: {"callback_query_id": ...} for answerCallbackQuery).
    ack: dict[str, str] | None = None
    # The photos, documents and voice notes it carries (kind PHOTO, DOCUMENT, VOICE or "media").
    media: tuple[MediaRef, ...] = ()


# The kinds of an inbound message that says the person blocked us on the channel, or let us
# back in (Telegram's my_chat_member): no words to answer, an opt-out (or back in) all the same.
BLOCKED = "blocked"
UNBLOCKED = "unblocked"
MEMBERSHIP_KINDS = (BLOCKED, UNBLOCKED)


@dataclass(frozen=True)
class Ignored:
    """A well-formed webhook call that carries nothing for the conversation (answered 200)."""

    reason: str  # for the log: "edited message", "group chat", "unknown update kind", …


class Malformed(ValueError):
    """A webhook body that is not what the provider sends (answered 400)."""


@dataclass(frozen=True)
class OutgoingChoice:
    """A choice as the user sees it."""

    key: str
    label: str


@dataclass(frozen=True)
class OutgoingDocument:
    """A file sent with a message: uploaded where the channel takes files (Telegram), fetched from `url` where it takes links (Twilio's MediaUrl)."""

    filename: str
    url: str
    content: Callable[[], bytes]  # made when a channel needs the bytes (a PDF costs CPU time)
    mime_type: str = "application/pdf"
    # A patient's file forwarded to the doctor: its kind (photo, document, voice), by which
    # Telegram picks sendPhoto/sendVoice and the web desk shows it inline; None for our own documents.
    media_kind: str | None = None
    size: int | None = None  # bytes, where known before the file is made


@dataclass(frozen=True)
class OutgoingMessage:
    """A message in the recipient's language, before the channel gives it its final form."""

    text: str
    choices: tuple[OutgoingChoice, ...] = ()
    request_contact: bool = False
    # The label of the "share my number" button, in the recipient's language.
    contact_label: str = ""
    # The stable key of the catalog message this is (bot.outbox.worker.template_key): what SMS DLT
    # template ids and WhatsApp ContentSids are configured against.
    template: str | None = None
    # The language it is in ("en", "hi", …): an SMS DLT template is registered per language.
    language: str = ""
    # The message's parameters as rendered, by name (WhatsApp template variables).
    variables: tuple[tuple[str, str], ...] = ()
    # WhatsApp: False outside the 24 h customer-service window, when only an approved
    # template may be sent (Twilio error 63016).
    session_open: bool = True
    # Emergency advice: the web chat shows it apart, as an alert with numbers to tap.
    emergency: bool = False
    # WhatsApp lists, in the recipient's language: the button that opens a list, and the text
    # above a list that goes on from the one before (bot/channels/whatsapp_content.py).
    list_label: str = ""
    more_label: str = ""
    # A document that goes with the text (an e-prescription).
    document: OutgoingDocument | None = None

    def to_json(self) -> dict[str, object]:
        """Return a JSON-safe dict (kept on the outbox row as what was sent)."""
        return {
            "text": self.text,
            "choices": [{"key": c.key, "label": c.label} for c in self.choices],
            **({"request_contact": True} if self.request_contact else {}),
            **({"template": self.template} if self.template else {}),
            **({"emergency": True} if self.emergency else {}),
            **({"document": self.document.filename} if self.document else {}),
            # The web desk shows a forwarded file inline (bot/channels/local.py ShownMessage).
            **({"media": {"kind": self.document.media_kind, "type": self.document.mime_type, "url": self.document.url}}
               if self.document and self.document.media_kind else {}),
        }


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it accepted a message."""

    provider_id: str
    status: str = "sent"
    parts: int = 1  # a long text goes as several provider messages; provider_id is the first
    # What was actually requested of the provider, when it differs from the text (a
    # WhatsApp template's ContentSid, an SMS DLT template id), kept on the outbox row.
    detail: dict[str, str] = field(default_factory=dict)


class SendError(Exception):
    """A send that failed; `retryable` tells the worker whether to try again."""

    retryable: bool = True
    opted_out: bool = False
    fallback: bool = False

    def __init__(self, message: str, code: str | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class TemporaryError(SendError):
    """Network trouble, a 5xx or a rate limit: try again later."""

    retryable = True


class PermanentError(SendError):
    """The message can never be sent as it is (bad address, bad request): stop."""

    retryable = False


class RecipientOptedOut(PermanentError):
    """The recipient blocked the bot or opted out at the carrier: stop, and mark them."""

    opted_out = True


class NeedsFallback(PermanentError):
    """This channel cannot carry the message now (WhatsApp outside the 24 h window with no
    template configured, Twilio 63016): the worker sends the same notification by SMS."""

    fallback = True


class RateLimited(TemporaryError):
    """Our own limiter said not yet: put the row back until retry_after, without counting
    an attempt (nothing reached the provider).

    `spacing`: the recipient takes one message every `spacing` seconds (a Telegram chat), so
    the rows queued behind this one are put back that far apart, each due at its own turn. Put
    back all due at once, a chat's k rows would be claimed together k times over, one sent each
    time: O(k²) claims and put-backs for what k turns send.
    """

    def __init__(self, message: str, code: str | None = None, retry_after: float | None = None, spacing: float | None = None):
        super().__init__(message, code=code, retry_after=retry_after)
        self.spacing = spacing


class ChannelAdapter(Protocol):
    """One provider: how a message looks there and how it is sent.

    Inbound, an adapter only parses: a provider's payload becomes an InboundMessage, an
    Ignored or a Malformed; the webhook verifies the call first and hands the message on.

    `send` gives the message its channel's final form (keyboards, numbered lists, splitting
    at the channel's length limit), waits its turn at the shared rate limiter, and sends,
    raising a SendError the worker understands. Adapters may also define
    `acknowledge(address, payload) -> None` for outbox rows of kind "ack", and `close()`.
    """

    name: str

    def send(self, address: str, message: OutgoingMessage, outbox_id: int) -> SendResult:
        """Send one message, or raise a SendError."""
