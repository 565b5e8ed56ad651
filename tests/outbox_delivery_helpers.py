"""Shared by the tests of the outbox worker against the adapter contract: FakeChannel, a fake of the
ChannelAdapter port that records what it was asked to send and raises the SendErrors it is scripted
to, a clock, and helpers that queue rows, read them and build a worker.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from bot.channels.base import (
    OutgoingMessage,
    SendResult,
)
from bot.outbox.worker import OutboxWorker
from bot.platform.i18n import Catalogs
from bot.services.identities import ensure_identity
from bot.store.db import Database
from bot.store.models import OutboxMessage
from flows.messages import ByLanguage, Reply, reply_to_json, t

START = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
OPD = ByLanguage("General Medicine", "सामान्य चिकित्सा")


@dataclass(frozen=True)
class Sent:
    """One message as it reached the fake provider."""

    address: str
    message: OutgoingMessage
    outbox_id: int


class FakeChannel:
    """A channel adapter that records its sends and plays a script of outcomes, one per call."""

    def __init__(
        self, name: str = "telegram", script: list[object] | None = None, delay: float = 0.0, ack_script: list[object] | None = None
    ):
        self.name = name
        self.script = list(script or [])
        self.ack_script = list(ack_script or [])
        self.delay = delay
        self.sent: list[Sent] = []
        self.acks: list[tuple[str, dict[str, object]]] = []
        self.calls = 0
        self.lock = threading.Lock()

    def _next(self, script: list[object]) -> object:
        with self.lock:
            self.calls += 1
            return script.pop(0) if script else None

    def send(self, address: str, message: OutgoingMessage, outbox_id: int) -> SendResult:
        outcome = self._next(self.script)
        if self.delay:
            time.sleep(self.delay)
        if isinstance(outcome, Exception):
            raise outcome
        with self.lock:
            self.sent.append(Sent(address, message, outbox_id))
        return outcome if isinstance(outcome, SendResult) else SendResult(provider_id=f"{self.name}-{outbox_id}")

    def acknowledge(self, address: str, payload: dict[str, object]) -> None:
        outcome = self._next(self.ack_script)
        if isinstance(outcome, Exception):
            raise outcome
        with self.lock:
            self.acks.append((address, payload))

    def sent_ids(self) -> list[int]:
        return [s.outbox_id for s in self.sent]


class Clock:
    """A clock the test moves."""

    def __init__(self, start: dt.datetime = START):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def queue(
    db: Database, address: str = "c1", channel: str = "telegram", count: int = 1, kind: str = "reply",
    reply: Reply | None = None, language: str = "en", due: dt.datetime = START, **identity: object,
) -> list[int]:
    """Queue messages for one recipient; return their ids."""
    with db.write() as session:
        who = ensure_identity(session, channel, address)
        for name, value in identity.items():
            setattr(who, name, value)
        payload = {"callback_query_id": "cq-1"} if kind == "ack" else reply_to_json(reply or Reply(t("Welcome back!")))
        rows = [
            OutboxMessage(identity_id=who.id, channel=channel, address=address, language=language, kind=kind, payload=payload, due_at=due)
            for _ in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def row(db: Database, row_id: int) -> OutboxMessage:
    with db.read() as session:
        found = session.get(OutboxMessage, row_id)
        assert found is not None
        return found


def worker(db: Database, catalogs: Catalogs, *channels: FakeChannel, clock: Clock, **kwargs: object) -> OutboxWorker:
    return OutboxWorker(db, catalogs, {c.name: c for c in channels}, clock=clock, **kwargs)  # type: ignore[arg-type]
