"""The local channel: the web chat and the terminal chat, with no provider behind them.

"Sending" here means the message is final and may be shown: the worker stores what it
rendered on the outbox row and marks it sent, and the web API and `teleopd chat` read sent
rows in order. It goes through the same outbox and worker as Telegram and Twilio, so what
works here is what the real channels get.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select, update

from bot.channels.base import RenderedMessage, SendResult
from bot.db import Database
from bot.models import OutboxMessage, OutboxStatus

NAME = "local"
# Web chat user ids come from a URL path and a terminal flag: keep them short and plain.
USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def valid_user_id(user: str) -> bool:
    """Return True when a string can be a local chat user id."""
    return bool(USER_ID.match(user))


class LocalSmsChannel:
    """Stands in for SMS while the real SMS channel is off: messages are rendered in their SMS
    form and marked sent, so the SMS texts are exercised and can be read from the outbox."""

    name = "sms"

    def send(self, address: str, message: RenderedMessage, outbox_id: int) -> SendResult:
        """Accept a message as if a carrier had."""
        return SendResult(provider_id=f"local-sms-{outbox_id}")


class LocalChannel:
    """Marks messages as shown; the web API and the terminal chat read them from the outbox."""

    name = NAME

    def send(self, address: str, message: RenderedMessage, outbox_id: int) -> SendResult:
        """Accept a message for display."""
        return SendResult(provider_id=f"local-{outbox_id}")


@dataclass(frozen=True)
class ShownMessage:
    """A message as the web chat and the terminal chat show it."""

    id: int
    text: str
    choices: tuple[dict[str, str], ...]
    at: dt.datetime

    def to_json(self) -> dict[str, object]:
        """Return the web API's form of the message."""
        return {"id": str(self.id), "text": self.text, "choices": list(self.choices), "at": self.at.isoformat()}


# Rows past these are settled: shown, or never to be shown.
_SHOWN = (OutboxStatus.SENT, OutboxStatus.DELIVERED)
_SETTLED = (*_SHOWN, OutboxStatus.FAILED, OutboxStatus.SUPPRESSED)


def parse_cursor(cursor: str | None) -> int | None:
    """Return a cursor's position, 0 for none, None for a malformed one."""
    if cursor is None or cursor == "":
        return 0
    # isascii(): str.isdigit() also accepts "²" and "१२", which are no cursor of ours.
    return int(cursor) if cursor.isascii() and cursor.isdigit() and len(cursor) < 19 else None


def messages_after(db: Database, user: str, cursor: int, limit: int = 100) -> tuple[list[ShownMessage], int]:
    """Return the user's messages after a cursor, in order, and the cursor that follows them.

    The cursor only moves past settled rows, and stops at the first message still waiting to
    be sent: a later message never overtakes an earlier one, and none is seen twice.
    """
    with db.read() as session:
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.rendered, OutboxMessage.sent_at)
            .where(OutboxMessage.channel == NAME, OutboxMessage.address == user, OutboxMessage.id > cursor)
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    shown: list[ShownMessage] = []
    for row_id, status, rendered, sent_at in rows:
        if status not in _SETTLED:
            break
        cursor = row_id
        if status in _SHOWN and rendered:
            shown.append(ShownMessage(row_id, str(rendered.get("text", "")), tuple(rendered.get("choices", ())), sent_at))
    return shown, cursor


def mark_delivered(db: Database, user: str, up_to: int) -> None:
    """Record that a reader has shown the user's messages up to an id (the terminal chat does)."""
    with db.write() as session:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == NAME,
                OutboxMessage.address == user,
                OutboxMessage.status == OutboxStatus.SENT,
                OutboxMessage.id <= up_to,
            )
            .values(status=OutboxStatus.DELIVERED)
        )


def delivered_cursor(db: Database, user: str) -> int:
    """Return the cursor after the last message a reader marked as shown."""
    with db.read() as session:
        last = session.scalar(
            select(func.max(OutboxMessage.id)).where(
                OutboxMessage.channel == NAME, OutboxMessage.address == user, OutboxMessage.status == OutboxStatus.DELIVERED
            )
        )
    return last or 0


def waiting_count(db: Database, user: str, now: dt.datetime) -> int:
    """Return how many of the user's messages are due but not yet settled."""
    with db.read() as session:
        return session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.channel == NAME,
                OutboxMessage.address == user,
                OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
                OutboxMessage.due_at <= now,
            )
        ) or 0
