"""A test user on the local channel: says things, gets the bot's messages back."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.services import Services

_ids = itertools.count(1)


@dataclass
class Said:
    """The bot's messages after one thing the user said."""

    texts: list[str]
    choices: list[list[dict[str, str]]]

    @property
    def all_text(self) -> str:
        """Return every message's text, joined."""
        return "\n".join(self.texts)

    @property
    def last_choices(self) -> list[str]:
        """Return the labels of the last message's choices."""
        return [c["label"] for c in self.choices[-1]] if self.choices else []


class LocalUser:
    """Drives one local-channel user through the real dispatcher and outbox worker."""

    def __init__(self, services: Services, user: str = "u1", opened_as: str | None = None):
        self.services = services
        self.user = user
        self.cursor = 0
        # The role the chat was opened as (the web chat's doctor and health-worker tabs).
        self.opened_as = opened_as

    def say(self, text: str = "", choice: str | None = None, provider_id: str | None = None) -> Said:
        """Send a message and return what the bot answered."""
        self.services.dispatcher.dispatch(
            InboundMessage(
                channel=local.NAME,
                address=self.user,
                provider_id=provider_id or f"{self.user}:{next(_ids)}",
                text=text,
                choice=choice,
                opened_as=self.opened_as,
            )
        )
        return self.receive()

    def receive(self) -> Said:
        """Send what is due and return the messages shown since the last call."""
        self.services.worker.drain(channel=local.NAME)
        messages, self.cursor = local.messages_after(self.services.db, self.user, self.cursor)
        return Said([m.text for m in messages], [list(m.choices) for m in messages])


class PhoneUser:
    """Writes from a phone number on WhatsApp or SMS through the real dispatcher (the provider vouches for the number).

    No provider is configured in these tests: the replies stay in the outbox, where a test reads them.
    """

    def __init__(self, services: Services, channel: str, phone: str):
        self.services = services
        self.channel = channel
        self.phone = phone
        self.address = f"whatsapp:{phone}" if channel == "whatsapp" else phone

    def say(self, text: str = "", choice: str | None = None) -> None:
        """Send a message from the number."""
        self.services.dispatcher.dispatch(
            InboundMessage(
                channel=self.channel,
                address=self.address,
                provider_id=f"{self.channel}-{next(_ids)}",
                text=text,
                choice=choice,
                channel_phone=self.phone,
            )
        )
