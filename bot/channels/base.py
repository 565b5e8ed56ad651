"""The contract every channel adapter keeps, and the vocabulary of send failures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class InboundMessage:
    """A message from any channel, after its adapter verified and parsed it."""

    channel: str
    address: str  # the sender on that channel: chat id, "whatsapp:+91…", "+91…", web user id
    provider_id: str  # the provider's message id: the dedupe key
    text: str = ""
    choice: str | None = None  # the key of a pressed button
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    kind: str = "text"  # text, choice, contact, media, …
    channel_phone: str | None = None
    can_share_contact: bool = False
    contact_phone: str | None = None


@dataclass(frozen=True)
class RenderedChoice:
    """A choice as the user sees it."""

    key: str
    label: str


@dataclass(frozen=True)
class RenderedMessage:
    """A message in the recipient's language, before the channel gives it its final form."""

    text: str
    choices: tuple[RenderedChoice, ...] = ()
    request_contact: bool = False

    def to_json(self) -> dict[str, object]:
        """Return a JSON-safe dict (kept on the outbox row as what was sent)."""
        return {
            "text": self.text,
            "choices": [{"key": c.key, "label": c.label} for c in self.choices],
            **({"request_contact": True} if self.request_contact else {}),
        }


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it accepted a message."""

    provider_id: str
    status: str = "sent"


class SendError(Exception):
    """A send that failed; `retryable` tells the worker whether to try again."""

    retryable: bool = True
    opted_out: bool = False

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


class ChannelAdapter(Protocol):
    """One provider: how a message looks there and how it is sent."""

    name: str

    def send(self, address: str, message: RenderedMessage, outbox_id: int) -> SendResult:
        """Send one message, or raise a SendError."""
