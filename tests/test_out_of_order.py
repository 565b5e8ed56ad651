"""Status callbacks repeated, shuffled, early and at once; duplicate webhooks posted at once.

Twilio posts a callback per status change, more than once and in any order (PROVIDERS.md
§B4), and may post one before its API answer to our send has reached the worker. Every
test here runs the real Flask app, the real outbox worker and a fake Twilio API on the
real database (SQLite, and PostgreSQL when configured), with callbacks signed as Twilio
signs them.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot.outbox.delivery import STATUS_RANK
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.services.identities import ensure_identity
from bot.store.models import (
    Conversation,
    DeliveryEvent,
    Identity,
    InboundMessage,
    OutboxMessage,
    OutboxStatus,
    utcnow,
)
from flows.messages import Reply, reply_to_json, t
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram_helpers import SECRET as TELEGRAM_SECRET
from tests.telegram_helpers import TOKEN as TELEGRAM_TOKEN
from tests.telegram_helpers import message as telegram_update
from tests.telegram_helpers import post as post_update
from tests.twilio_helpers import SID, SMS_FROM, TOKEN, _message, _post, _settings
from webhooks import create_app

# The database is what is tested here: out-of-order and concurrent deliveries serialised by the conversation lock.
pytestmark = pytest.mark.both_databases

MESSAGES = 40
SEED = 20261201
Callback = tuple[str, str | None]  # (MessageStatus, ErrorCode)

# What Twilio says about a message, in the order it happens; each fate ends on its highest rank.
FATES: dict[str, list[Callback]] = {
    "delivered": [("queued", None), ("sent", None), ("delivered", None)],
    "read": [("queued", None), ("sent", None), ("delivered", None), ("read", None)],
    "outside-window": [("queued", None), ("sent", None), ("undelivered", "63016")],
    "failed": [("queued", None), ("failed", "30008")],
    "unsubscribed": [("queued", None), ("sent", None), ("failed", "21610")],
}
FATES_BY_CHANNEL = {
    "whatsapp": ["delivered", "read", "outside-window", "failed"],
    "sms": ["delivered", "outside-window", "failed", "unsubscribed"],
}


class EarlyTwilio(FakeTwilio):
    """A fake Twilio that can post status callbacks before it answers the send, as the real one may."""

    def __init__(self, account_sid: str, auth_token: str):
        super().__init__(account_sid, auth_token)
        self.early: dict[str, list[Callback]] = {}  # by recipient ("To")
        self.post_callback = lambda sid, status, code: None
        self.wait_for_callbacks = True
        self.racing: list[threading.Thread] = []

    def _answer(self, path: str, auth: str | None, body: bytes) -> tuple[int, dict[str, object]]:
        status, payload = super()._answer(path, auth, body)
        callbacks = self.early.get(str(payload.get("to"))) if status == 201 else None
        for callback in callbacks or ():
            if self.wait_for_callbacks:  # posted and answered before the worker hears of its SID
                self.post_callback(str(payload["sid"]), *callback)
            else:  # posted while the worker marks the row sent: a race either side may win
                thread = threading.Thread(target=self.post_callback, args=(str(payload["sid"]), *callback))
                self.racing.append(thread)
                thread.start()
        return status, payload


@dataclass(frozen=True)
class Message:
    """One queued message and what Twilio will say about it."""

    outbox_id: int
    channel: str
    address: str
    language: str
    fate: str


@pytest.fixture
def fake() -> Iterator[EarlyTwilio]:
    with EarlyTwilio(SID, TOKEN) as server:
        yield server


@pytest.fixture
def services(db, catalogs: Catalogs, fake: EarlyTwilio) -> Services:  # type: ignore[no-untyped-def]
    return build_services(_settings(db.url, fake), db=db, catalogs=catalogs)


@pytest.fixture
def app(services: Services, fake: EarlyTwilio):  # type: ignore[no-untyped-def]
    app = create_app(services=services)

    def post_callback(sid: str, status: str, code: str | None) -> None:
        # A client per call: the fake posts from its own threads.
        response = _post(app.test_client(), "/webhooks/twilio/status", fake.status_form(sid, status, code))
        assert response.status_code == 200, response.get_data(as_text=True)

    fake.post_callback = post_callback
    return app


def _queue(services: Services, count: int = MESSAGES) -> list[Message]:
    """Queue one message to each of `count` people, WhatsApp and SMS, English and Hindi."""
    now, messages = utcnow(), []
    with services.db.write() as session:
        for n in range(count):
            channel = "whatsapp" if n % 2 == 0 else "sms"
            phone = f"+9198{n:08d}"
            address = f"whatsapp:{phone}" if channel == "whatsapp" else phone
            language = "en" if n % 4 < 2 else "hi"
            identity = ensure_identity(session, channel, address)
            identity.phone, identity.language, identity.last_inbound_at = phone, language, now
            row = OutboxMessage(
                identity_id=identity.id, channel=channel, address=address, language=language, kind="push",
                payload=reply_to_json(Reply(t("Your token is {number}.", number=n + 1), kind="push")), due_at=now,
            )
            session.add(row)
            session.flush()
            fates = FATES_BY_CHANNEL[channel]
            messages.append(Message(row.id, channel, address, language, fates[(n // 2) % len(fates)]))
    return messages


def _shuffled(callbacks: list[tuple[str, str, str | None]], rng: random.Random) -> list[tuple[str, str, str | None]]:
    """Return each callback one to three times, in a random order."""
    repeated = [c for c in callbacks for _ in range(rng.randint(1, 3))]
    rng.shuffle(repeated)
    return repeated


def _assert_each_message_ends_by_the_rules(services: Services, messages: list[Message]) -> None:
    with services.db.read() as session:
        rows = {r.id: r for r in session.scalars(select(OutboxMessage))}
        events = session.execute(select(DeliveryEvent.provider_id, DeliveryEvent.status, DeliveryEvent.outbox_id)).all()
        opted_out = set(session.scalars(select(Identity.address).where(Identity.opted_out.is_(True))))
    copies = {r.fallback_of: r for r in rows.values() if r.fallback_of is not None}
    assert len(copies) == sum(1 for r in rows.values() if r.fallback_of is not None), "one SMS copy at most per message"
    expected_events = set()
    for m in messages:
        row, fate = rows[m.outbox_id], FATES[m.fate]
        highest, code = max(fate, key=lambda c: STATUS_RANK[c[0]])
        expected_events |= {(row.provider_id, status, m.outbox_id) for status, _ in fate}
        failed = highest in ("undelivered", "failed")
        falls_back = failed and m.channel == "whatsapp" and code != "21610"
        expected_status = OutboxStatus.REROUTED if falls_back else OutboxStatus.FAILED if failed else OutboxStatus.DELIVERED
        assert (row.provider_status, row.status, row.error_code) == (highest, expected_status, code), m
        copy = copies.get(m.outbox_id)
        if falls_back:
            assert copy is not None and (copy.channel, copy.address, copy.language) == ("sms", m.address.removeprefix("whatsapp:"), m.language)
            assert copy.payload == row.payload
        else:
            assert copy is None, m
        assert (m.address in opted_out) == (code == "21610"), m
    assert len(events) == len(set(events)) == len(expected_events), "each distinct callback is recorded once"
    assert set(events) == expected_events


def _sids(services: Services) -> dict[int, str]:
    with services.db.read() as session:
        return dict(session.execute(select(OutboxMessage.id, OutboxMessage.provider_id).where(OutboxMessage.fallback_of.is_(None))).all())


@pytest.mark.parametrize(
    "early_share",
    [
        pytest.param(0.0, id="all-after-the-sid-is-stored"),
        pytest.param(1.0, id="all-before-the-sid-is-stored"),
        pytest.param(0.5, id="some-before-some-after"),
    ],
)
def test_shuffled_repeated_callbacks_end_at_the_highest_rank_whenever_they_come(
    services: Services, fake: EarlyTwilio, app, early_share: float  # type: ignore[no-untyped-def]
) -> None:
    rng = random.Random(SEED)
    messages = _queue(services)
    later: dict[str, list[Callback]] = {}
    for m in messages:
        callbacks = _shuffled([(m.address, *c) for c in FATES[m.fate]], rng)
        cut = round(len(callbacks) * early_share)
        fake.early[m.address] = [c[1:] for c in callbacks[:cut]]
        later[m.address] = [c[1:] for c in callbacks[cut:]]
    services.worker.drain()
    sids = _sids(services)
    assert len(sids) == MESSAGES and all(sid and sid.startswith("SM") for sid in sids.values())
    pending = [(sids[m.outbox_id], *c) for m in messages for c in later[m.address]]
    rng.shuffle(pending)  # across messages too
    for sid, status, code in pending:
        fake.post_callback(sid, status, code)
    _assert_each_message_ends_by_the_rules(services, messages)
    # The SMS copies go out once; callbacks for them are a story of their own.
    services.worker.drain()
    rerouted = [m.address.removeprefix("whatsapp:") for m in messages if m.channel == "whatsapp" and m.fate in ("outside-window", "failed")]
    copies = [r["To"] for r in fake.sent() if r["From"] == SMS_FROM and r["To"] in rerouted]
    assert sorted(copies) == sorted(rerouted)


def test_callbacks_racing_the_worker_that_stores_the_sid_end_as_if_they_came_after(
    services: Services, fake: EarlyTwilio, app  # type: ignore[no-untyped-def]
) -> None:
    rng = random.Random(SEED + 1)
    messages = _queue(services)
    fake.wait_for_callbacks = False
    for m in messages:
        fake.early[m.address] = [c[1:] for c in _shuffled([(m.address, *c) for c in FATES[m.fate]], rng)]
    services.worker.drain()
    for thread in fake.racing:
        thread.join(30)
    assert fake.racing and not any(thread.is_alive() for thread in fake.racing)
    _assert_each_message_ends_by_the_rules(services, messages)


def test_the_same_failure_posted_at_once_falls_back_to_sms_once(services: Services, fake: EarlyTwilio, app) -> None:  # type: ignore[no-untyped-def]
    [whatsapp] = _queue(services, count=1)
    services.worker.drain()
    sid = _sids(services)[whatsapp.outbox_id]
    barrier = threading.Barrier(6, timeout=30)

    def post(_: int) -> None:
        barrier.wait()
        fake.post_callback(sid, "undelivered", "63016")

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(post, range(6)))
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(DeliveryEvent)) == 1
        original = session.get(OutboxMessage, whatsapp.outbox_id)
        copies = session.scalars(select(OutboxMessage).where(OutboxMessage.fallback_of == whatsapp.outbox_id)).all()
    assert original is not None and original.status == OutboxStatus.REROUTED
    assert len(copies) == 1


def test_the_same_twilio_message_sid_posted_at_once_is_handled_once(services: Services, app) -> None:  # type: ignore[no-untyped-def]
    form = _message("hello")
    barrier = threading.Barrier(4, timeout=30)

    def post(_: int) -> int:
        client = app.test_client()
        barrier.wait()
        return _post(client, "/webhooks/twilio/whatsapp", form).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(post, range(4))) == [200] * 4
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert session.scalars(select(Conversation.version)).all() == [1], "one turn taken"
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) > 0


@pytest.fixture
def telegram(db, catalogs: Catalogs) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    with FakeTelegram() as server:
        settings = Settings(
            database_url=db.url, telegram_token=TELEGRAM_TOKEN, telegram_secret=TELEGRAM_SECRET, telegram_api_url=server.base_url,
        )
        services = build_services(settings, db=db, catalogs=catalogs)
        yield services
        services.channels["telegram"].close()  # type: ignore[attr-defined]


def test_the_same_telegram_update_posted_at_once_is_handled_once(telegram: Services) -> None:
    app = create_app(services=telegram)
    barrier = threading.Barrier(4, timeout=30)

    def post(_: int) -> dict[str, str]:
        client = app.test_client()
        barrier.wait()
        return post_update(client, telegram_update(4242, "/start")).get_json()

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(post, range(4)))
    assert sorted(a["status"] for a in answers) == ["duplicate"] * 3 + ["handled"]
    with telegram.db.read() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1

