"""Shared by the Telegram channel's tests: the token and secret, a fake Bot API server, services and a
web client pointed at it, and builders of updates (a message, a button press) with ways to look at
the rows they leave.

The fake Bot API server is tests/fakes/telegram_api.py. The fixtures here are used by being imported.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.platform.config import Settings
from bot.runtime import Services, build_services
from bot.store.models import Identity, OutboxMessage, OutboxStatus, utcnow
from flows.messages import Reply, reply_to_json
from tests.fakes.telegram_api import FakeTelegram
from webhooks import create_app

TOKEN = "123456:" + "A" * 35
SECRET = "s3cret-webhook-token"  # 16+ characters of Telegram's alphabet, as Settings.from_env asks
HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
CHAT = 7012345678  # the user in tests/fixtures/telegram


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """Return a fake Bot API server on loopback."""
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def tg(db, catalogs, fake: FakeTelegram) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """Return services with Telegram on, pointed at the fake."""
    settings = Settings(database_url=db.url, telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_url=fake.base_url)
    services = build_services(settings, db=db, catalogs=catalogs)
    yield services
    services.channels["telegram"].close()  # type: ignore[attr-defined]


@pytest.fixture
def client(tg: Services):  # type: ignore[no-untyped-def]
    """Return a Flask test client of the web app."""
    return create_app(services=tg).test_client()


def post(client, body: Any, secret: str | None = SECRET, content_type: str = "application/json"):  # type: ignore[no-untyped-def]
    """POST an update (a dict, or raw bytes) to the webhook."""
    headers = {HEADER: secret} if secret is not None else {}
    data = body if isinstance(body, bytes | str) else json.dumps(body, ensure_ascii=False)
    return client.post("/webhooks/telegram", data=data, headers=headers, content_type=content_type)


def fixture(name: str) -> dict[str, Any]:
    """Load an update from tests/fixtures/telegram."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def shared(testdata: Path, case: str) -> dict[str, Any]:
    """Load a whole update from ../shared/testdata/telegram, wrapping inner Messages.

    `case` is "dir/file.json", "dir/file.json#message" (a Message to wrap),
    "extracted:<test_fn>#<n>" (teloxide's extracted list) or "aiogram:<NAME>" (a Message).
    """
    root = testdata / "telegram"
    if case.startswith("extracted:"):
        name, _, index = case.removeprefix("extracted:").partition("#")
        samples = json.loads((root / "teloxide" / "teloxide_extracted_samples.json").read_text())
        return [s["json"] for s in samples if s["test_fn"] == name][int(index or 0)]
    if case.startswith("aiogram:"):
        data = json.loads((root / "aiogram_v2_dataset" / "aiogram_v2_dataset.json").read_text())
        return {"update_id": 880000001, "message": data[case.removeprefix("aiogram:")]}
    path, _, wrap = case.partition("#")
    data = json.loads((root / path).read_text())
    if wrap == "message":
        return {"update_id": 880000002, "message": data}
    if wrap == "callback_query":
        return {"update_id": 880000003, "callback_query": data}
    return data


def message(update_id: int, text: str | None = None, chat_id: int = CHAT, **fields: Any) -> dict[str, Any]:
    """Return an update with a private message (text, or other fields such as a contact)."""
    sender = {"id": chat_id, "is_bot": False, "first_name": "Sunita", "language_code": "hi"}
    body: dict[str, Any] = {"message_id": update_id % 100000, "from": sender, "date": 1764590000,
                            "chat": {"id": chat_id, "first_name": "Sunita", "type": "private"}, **fields}
    if text is not None:
        body["text"] = text
    return {"update_id": update_id, "message": body}


def press(update_id: int, data: str, chat_id: int = CHAT, query_id: str | None = None) -> dict[str, Any]:
    """Return an update for a pressed inline button in a private chat."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Sunita"}
    chat = {"id": chat_id, "first_name": "Sunita", "type": "private"}
    return {"update_id": update_id, "callback_query": {
        "id": query_id or f"q{update_id}", "from": user, "chat_instance": "-642934712",
        "message": {"message_id": 1, "from": {"id": 123456, "is_bot": True, "first_name": "teleopd"}, "chat": chat,
                    "date": 1764590000, "text": "?"},
        "data": data}}


def count(db, model, **where: Any) -> int:  # type: ignore[no-untyped-def]
    """Count rows of a model matching column values."""
    with db.read() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return session.scalar(query) or 0


def outbox(db, address: str) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    """Return the Telegram outbox rows of a chat, in order."""
    with db.read() as session:
        return list(session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "telegram", OutboxMessage.address == address).order_by(OutboxMessage.id)
        ))


def identity(db, address: str) -> Identity | None:  # type: ignore[no-untyped-def]
    """Return the Telegram identity of a chat."""
    with db.read() as session:
        return session.scalars(select(Identity).where(Identity.channel == "telegram", Identity.address == address)).one_or_none()


def queue(tg: Services, reply: Reply, address: str = str(CHAT), language: str = "en") -> int:
    """Put one reply in the outbox for a chat, as the dispatcher would; return its id."""
    from bot.services.identities import ensure_identity

    with tg.db.write() as session:
        person = ensure_identity(session, "telegram", address)
        row = OutboxMessage(identity_id=person.id, channel="telegram", address=address, language=language,
                            kind=reply.kind, payload=reply_to_json(reply), due_at=utcnow())
        session.add(row)
        session.flush()
        return row.id


def deliver(tg: Services, rounds: int = 20) -> None:
    """Send everything queued, as a worker would over the next seconds, without waiting them out.

    Telegram takes one message a second in a chat, so the limiter puts a chat's second reply
    back for a second. Between rounds this forgets the limiter's windows (RateLimiter.reset,
    for tests) and moves the worker's clock past the put-back time.
    """
    skew = dt.timedelta()
    for _ in range(rounds):
        tg.worker.drain()
        if count(tg.db, OutboxMessage, status=OutboxStatus.PENDING) == 0:
            return
        tg.limiter.reset()
        skew += dt.timedelta(seconds=2)
        tg.worker.clock = lambda skew=skew: utcnow() + skew
    raise AssertionError("the outbox did not empty")


def later(tg: Services, seconds: float) -> None:
    """Make the worker see a later time, and the send rate limiter a fresh second."""
    tg.worker.clock = lambda: utcnow() + dt.timedelta(seconds=seconds)
    tg.limiter.reset()


def row(db, row_id: int) -> OutboxMessage:  # type: ignore[no-untyped-def]
    """Return an outbox row."""
    with db.read() as session:
        return session.get(OutboxMessage, row_id)
