"""The local channel: the web chat and the terminal chat, with no provider behind them.

"Sending" here means the message is final and may be shown: the worker stores what it
rendered on the outbox row and marks it sent, and the web API and `teleopd chat` read sent
rows in order. It goes through the same outbox and worker as Telegram and Twilio, so what
works here is what the real channels get.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from bot.channels.base import MEDIA_KINDS, OutgoingMessage, SendResult
from bot.media.checks import ALLOWED
from bot.media.links import PATH as MEDIA_PATH
from bot.store.db import Database
from bot.store.models import Identity, OutboxMessage, OutboxStatus, Role

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

    def send(self, address: str, message: OutgoingMessage, outbox_id: int) -> SendResult:
        """Accept a message as if a carrier had."""
        return SendResult(provider_id=f"local-sms-{outbox_id}")


class LocalChannel:
    """Marks messages as shown; the web API and the terminal chat read them from the outbox."""

    name = NAME

    def send(self, address: str, message: OutgoingMessage, outbox_id: int) -> SendResult:
        """Accept a message for display; readers waiting for this user wake when it is recorded."""
        ARRIVALS.after_commit(address)
        return SendResult(provider_id=f"local-{outbox_id}")


@dataclass(frozen=True)
class ShownMessage:
    """A message as the web chat and the terminal chat show it."""

    id: int
    text: str
    choices: tuple[dict[str, str], ...]
    at: dt.datetime
    emergency: bool = False
    # A patient's file the message forwards to a doctor ({"kind", "type", "url"}): the web desk shows it inline.
    media: dict[str, str] | None = None

    def to_json(self) -> dict[str, object]:
        """Return the web API's form of the message."""
        return {
            "id": str(self.id), "text": self.text, "choices": list(self.choices), "at": self.at.isoformat(),
            "emergency": self.emergency, **({"media": self.media} if self.media else {}),
        }


def shown_media(rendered: dict[str, object]) -> dict[str, str] | None:
    """Return the file a sent message forwards, when it is one of this server's kept files.

    Only a link to the /media/ route (bot/media/links.py) is marked: the page shows it as an
    <img> or <audio>, and an arbitrary address in a message must stay a plain link.
    """
    media = rendered.get("media")
    if not isinstance(media, dict):
        return None
    kind, mime, url = media.get("kind"), media.get("type"), media.get("url")
    if kind not in MEDIA_KINDS or mime not in ALLOWED.get(str(kind), ()) or not isinstance(url, str):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("", "http", "https") or not parts.path.startswith(MEDIA_PATH) or parts.query or parts.fragment:
        return None
    return {"kind": str(kind), "type": str(mime), "url": url}


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
            shown.append(ShownMessage(
                row_id, str(rendered.get("text", "")), tuple(rendered.get("choices", ())), sent_at, bool(rendered.get("emergency")),
                shown_media(rendered),
            ))
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


def chat_state(db: Database, user: str) -> tuple[str | None, str | None]:
    """Return the role behind a local chat user (patient, doctor, health_worker) and their
    conversation's language (en, hi); either is None before it is known.

    A doctor or health worker whose account is turned off is still one (the bot tells them it is off).
    """
    with db.read() as session:
        identity = session.scalars(select(Identity).where(Identity.channel == NAME, Identity.address == user)).first()
        if identity is None:
            return None, None
        role = identity.person.role if identity.person is not None else Role.PATIENT
        return str(role), identity.language


# --- long polling -------------------------------------------------------------------------

# How often a waiting reader looks at the database anyway: a separate `teleopd worker`
# process cannot wake this one's readers, so its deliveries are seen within this.
RECHECK_S = 1.0


class Arrivals:
    """Wakes the web chat readers of this process that wait for a user's next message.

    The worker calls LocalChannel.send before it commits the row as sent, so a wake then
    would find nothing to read: send() only notes the user (per thread), and the note is
    signalled when that thread's next transaction commits, which is the one recording the
    send. Only users someone waits for are counted, so nothing grows with the user count.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._readers: dict[str, int] = {}
        self._arrived: dict[str, int] = {}
        self._noted = threading.local()
        self._listening = False
        self.closed = False  # the process is stopping: no reader waits any more

    def after_commit(self, user: str) -> None:
        """Signal the user's readers once this thread's next transaction has committed."""
        self._listen()
        noted: set[str] | None = getattr(self._noted, "users", None)
        if noted is None:
            noted = self._noted.users = set()
        noted.add(user)

    def signal(self, user: str) -> None:
        """Wake the readers waiting for a user now."""
        with self._changed:
            if user in self._readers:
                self._arrived[user] += 1
                self._changed.notify_all()

    def wait_for_reader(self, user: str, timeout: float) -> bool:
        """Block until someone waits for a user (or the timeout passes); return True if someone does."""
        with self._changed:
            return self._changed.wait_for(lambda: user in self._readers, timeout)

    @contextmanager
    def watching(self, user: str) -> Iterator[None]:
        """Count arrivals for a user while the block runs (register before reading, so none is missed)."""
        with self._changed:
            self._readers[user] = self._readers.get(user, 0) + 1
            self._arrived.setdefault(user, 0)
            self._changed.notify_all()  # for wait_for_reader
        try:
            yield
        finally:
            with self._changed:
                self._readers[user] -= 1
                if not self._readers[user]:
                    del self._readers[user], self._arrived[user]

    def count(self, user: str) -> int:
        """Return the arrivals for a watched user so far (read it before reading the database)."""
        with self._changed:
            return self._arrived[user]

    def wait(self, user: str, seen: int, timeout: float) -> None:
        """Block until a watched user has an arrival after `seen`, the timeout passes, or the process stops."""
        with self._changed:
            self._changed.wait_for(lambda: self._arrived[user] != seen or self.closed, timeout)

    def close(self) -> None:
        """Answer every waiting reader now, and let none wait again: the process is stopping.

        waitress gives requests in flight 5 s to end when it stops; a web chat's long poll
        would hold the stop (a deploy, a restart) for those 5 s, then be cut off.
        """
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def _listen(self) -> None:
        """Hear every commit of this process (installed on first use, not at import)."""
        if self._listening:
            return
        with self._changed:
            if not self._listening:
                event.listen(Session, "after_commit", self._committed)
                self._listening = True

    def _committed(self, _session: Session) -> None:
        noted: set[str] | None = getattr(self._noted, "users", None)
        if noted:
            self._noted.users = set()
            for user in noted:
                self.signal(user)


ARRIVALS = Arrivals()


def wait_for_messages(
    db: Database, user: str, cursor: int, wait_s: float, recheck_s: float = RECHECK_S, arrivals: Arrivals = ARRIVALS
) -> tuple[list[ShownMessage], int]:
    """Return the user's messages after a cursor as messages_after does, waiting up to wait_s for one.

    A message this process records wakes the reader at once; the database is read again
    every recheck_s anyway, for messages another process sent.
    """
    deadline = time.monotonic() + wait_s
    with arrivals.watching(user):
        while True:
            seen = arrivals.count(user)
            messages, cursor = messages_after(db, user, cursor)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0 or arrivals.closed:
                return messages, cursor
            arrivals.wait(user, seen, min(remaining, recheck_s))
