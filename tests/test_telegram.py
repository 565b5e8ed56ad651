"""The Telegram channel: update cases over real payloads, the webhook, and what reaches the Bot API.

Inbound cases are tables over ../shared/testdata/telegram (real payloads collected by other
Telegram libraries) and tests/fixtures/telegram, run through the adapter's parser alone (a
pure function: no app, no database); a few of each kind then go through the whole webhook
on the databases (the secret's cases are in tests/test_webhook_auth.py). Outbound tests run the real outbox worker
and the real python-telegram-bot Bot against a fake Bot API server on 127.0.0.1
(tests/fakes/telegram_api.py) and check the requests that reached it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.channels.base import (
    BLOCKED,
    UNBLOCKED,
    Ignored,
    InboundMessage,
    Malformed,
    OutgoingChoice,
    OutgoingMessage,
    PermanentError,
)
from bot.channels.telegram import TelegramChannel, parse_update
from bot.channels.telegram.render import MAX_TEXT, inline_keyboard, split_text
from bot.cli.main import main
from bot.platform.config import Settings
from bot.platform.ratelimit import RateLimiter
from bot.runtime import Services, build_services
from bot.store.models import Conversation, Identity, OutboxMessage, OutboxStatus, utcnow
from bot.store.models import InboundMessage as InboundRow
from flows.conversation import handle
from flows.engine import Inbound, State
from flows.messages import Choice, Reply, reply_to_json, t
from flows.ports import Ports
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import FakeDesk, FakePatients, registered_profile
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


# --- inbound: the webhook's case tables ----------------------------------------------------------

# (case, address, kind) — each is answered 200 "handled" and queues a reply.
VALID = [
    ("illemius_telegram_types/message.json", None, "text"),
    ("illemius_telegram_types/forwarded_message.json", None, "text"),
    ("illemius_telegram_types/reply_message.json", None, "text"),
    ("illemius_telegram_types/message_with_location.json", None, "location"),
    ("teloxide/samples/update__de_private_chat_text_message.json", "408258968", "text"),
    ("teloxide/samples/update__message.json", None, "text"),
    ("teloxide/samples/message__de_text.json#message", "250918540", "text"),
    ("teloxide/samples/message__effect_id.json#message", None, "text"),
    ("teloxide/samples/message__de_image.json#message", None, "photo"),
    ("teloxide/samples/message__de_sticker.json#message", None, "sticker"),
    ("teloxide/samples/message__de_media_forwarded.json#message", None, "video"),
    ("teloxide/samples/message__parse_caption_entities.json#message", None, "photo"),
    ("teloxide/samples/message__show_caption_above_media.json#message", None, "photo"),
    ("teloxide/samples/message__issue_481.json#message", "0", "venue"),  # no "from" at all
    # An inline message's button: no message, so the user's own chat.
    ("teloxide/samples/callback_query__deserialize.json#callback_query", "12345", "choice"),
    ("aiogram:MESSAGE", "12345678", "text"),
    ("aiogram:MESSAGE_WITH_LOCATION", "12345678", "location"),
    ("aiogram:MESSAGE_WITH_VENUE", "12345678", "venue"),
    ("aiogram:MESSAGE_WITH_CONTACT", "12345678", "contact_other"),  # a card without user_id
    ("fixture:voice.json", str(CHAT), "voice"),
    ("fixture:document.json", str(CHAT), "document"),
    ("fixture:callback_query_private.json", str(CHAT), "choice"),
    ("fixture:callback_query_inaccessible.json", str(CHAT), "choice"),
    ("fixture:contact_own.json", str(CHAT), "contact"),
    ("fixture:contact_other.json", str(CHAT), "contact_other"),
]

# Media in the shape of Bot API 4.4 and before (2019), without file_unique_id: PTB cannot
# read them, so they are answered 400 like any body de_json refuses. Telegram has sent
# file_unique_id with every file since Bot API 4.5 (https://core.telegram.org/bots/api-changelog).
OUTDATED = [
    "illemius_telegram_types/message_with_photo.json",
    "illemius_telegram_types/message_with_sticker.json",
    "illemius_telegram_types/message_with_voice.json",
    "illemius_telegram_types/message_with_video.json",
    "illemius_telegram_types/message_with_audio.json",
    "illemius_telegram_types/message_with_document.json",
    "aiogram:MESSAGE_WITH_VIDEO_NOTE",
    "aiogram:MESSAGE_WITH_DICE",
]

# (case, reason) — answered 200 "ignored"; nothing stored, nothing queued.
IGNORED = [
    ("illemius_telegram_types/edited_message.json", "edited message"),
    ("illemius_telegram_types/pre_checkout_query.json", "pre checkout query"),
    ("illemius_telegram_types/shipping_query.json", "shipping query"),
    ("illemius_telegram_types/message_with_successful_payment.json", "service message"),
    ("teloxide/samples/update__issue_1107.json", "group chat"),
    ("teloxide/samples/update__issue_1107_2.json", "group chat"),  # a /command in a supergroup
    ("teloxide/samples/update__dice_works.json", "group chat"),
    ("teloxide/samples/update__pinned_message_works.json", "group chat"),
    ("teloxide/samples/update__message_reaction_updated.json", "message reaction"),
    ("teloxide/samples/update__message_reaction_updated_2.json", "message reaction"),
    ("teloxide/samples/update__new_update_kind_error.json", "unknown update kind"),
    ("teloxide/samples/message__issue_419.json#message", "group chat"),
    ("teloxide/samples/message__issue_427.json#message", "group chat"),
    ("teloxide/samples/message__topic_message.json#message", "group chat"),
    ("teloxide/samples/message__de_shared_chat.json#message", "service message"),
    ("teloxide/samples/message__empty_message.json#message", "service message"),
    ("extracted:message_reaction_count_updated", "message reaction count"),
    ("extracted:chat_boost_updated", "chat boost"),
    ("extracted:chat_boost_removed", "removed chat boost"),
    ("extracted:paid_media_purchased_de", "purchased paid media"),
    ("fixture:callback_query_game.json", "callback without data"),
    ("fixture:callback_query_group.json", "group chat"),
    ("fixture:my_chat_member_group.json", "group chat"),
    ("fixture:inline_query.json", "inline query"),
    ("fixture:channel_post.json", "channel post"),
    ("fixture:edited_channel_post.json", "edited channel post"),
]

# (label, body) — refused by the webhook before the adapter sees it: answered 400.
NOT_JSON = [
    ("not json", b"{update_id: 1"),
    ("nested past the parser", b"[" * 100_000),
]

# (label, JSON value) — refused by the adapter (Malformed): answered 400.
CHAT_OK = {"id": CHAT, "type": "private"}
MALFORMED = [
    ("array", [1, 2]),
    ("string", "update"),
    ("null", None),
    ("empty object", {}),
    ("update_id a string", {"update_id": "7", "message": {"message_id": 1, "date": 0, "chat": CHAT_OK, "text": "hi"}}),
    ("update_id a bool", {"update_id": True}),
    ("update_id a float", {"update_id": 1.5}),
    ("message a string", {"update_id": 1, "message": "hello"}),
    ("message without chat", {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "hi"}}),
    ("text a number", {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": CHAT_OK, "text": 5}}),
    ("chat id a string", {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": "x", "type": "private"}, "text": "hi"}}),
    ("date not a time", {"update_id": 1, "message": {"message_id": 1, "date": "today", "chat": CHAT_OK, "text": "hi"}}),
    ("callback data a list", {"update_id": 1, "callback_query": {"id": "q", "from": {"id": 1, "is_bot": False, "first_name": "a"},
                                                                 "chat_instance": "1", "data": ["en"]}}),
    ("callback id missing", {"update_id": 1, "callback_query": {"from": {"id": 1, "is_bot": False, "first_name": "a"}, "data": "en"}}),
]


def load(testdata: Path, case: str) -> dict[str, Any]:
    """Load a case: a fixture of ours or a shared payload."""
    return fixture(case.removeprefix("fixture:")) if case.startswith("fixture:") else shared(testdata, case)


def _address(data: dict[str, Any]) -> str:
    body = data.get("message") or data.get("callback_query", {}).get("message") or {}
    return str(body.get("chat", {}).get("id"))


# The adapter's parser, case by case (no app, no database).


@pytest.mark.parametrize(("case", "address", "kind"), VALID, ids=[c[0].rsplit("/", 1)[-1] for c in VALID])
def test_a_private_message_parses_to_a_message_of_its_chat(testdata, case: str, address: str | None, kind: str) -> None:
    data = load(testdata, case)
    parsed = parse_update(data)
    assert isinstance(parsed, InboundMessage), parsed
    assert (parsed.channel, parsed.address, parsed.provider_id, parsed.kind) == ("telegram", address or _address(data), str(data["update_id"]), kind)
    assert parsed.ack == ({"callback_query_id": data["callback_query"]["id"]} if kind == "choice" else None)


@pytest.mark.parametrize(("case", "reason"), IGNORED, ids=[c[0].rsplit("/", 1)[-1] for c in IGNORED])
def test_an_update_we_do_not_use_parses_to_ignored(testdata, case: str, reason: str) -> None:
    assert parse_update(load(testdata, case)) == Ignored(reason)


@pytest.mark.parametrize("case", OUTDATED, ids=[c.rsplit("/", 1)[-1] for c in OUTDATED])
def test_an_update_in_a_shape_telegram_no_longer_sends_is_malformed(testdata, case: str) -> None:
    with pytest.raises(Malformed, match="not a Telegram update"):
        parse_update(load(testdata, case))


@pytest.mark.parametrize(("label", "body"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_a_body_that_is_no_update_is_malformed(label: str, body: Any) -> None:
    with pytest.raises(Malformed):
        parse_update(body)


def test_parse_refuses_what_is_not_an_update() -> None:
    for body in (None, [], "x", {"update_id": None}):
        with pytest.raises(Malformed):
            parse_update(body)


def test_own_contact_is_taken_in_e164_and_someone_elses_is_not(testdata) -> None:
    own = parse_update(fixture("contact_own.json"))
    assert isinstance(own, InboundMessage)
    assert (own.kind, own.contact_phone, own.text, own.can_share_contact) == ("contact", "+919876543210", "", True)
    for update in (fixture("contact_other.json"), shared(testdata, "aiogram:MESSAGE_WITH_CONTACT")):
        other = parse_update(update)
        assert isinstance(other, InboundMessage)
        assert (other.kind, other.contact_phone, other.text) == ("contact_other", None, "")
    # The sender's own card with a number that cannot be one is no number.
    bad = message(9, contact={"phone_number": "12", "first_name": "S", "user_id": CHAT})
    assert parse_update(bad).contact_phone is None  # type: ignore[union-attr]


def test_every_private_message_can_share_a_contact_and_a_caption_is_read_as_text(testdata) -> None:
    photo = parse_update(shared(testdata, "teloxide/samples/message__parse_caption_entities.json#message"))
    assert isinstance(photo, InboundMessage)
    assert (photo.kind, photo.text, photo.can_share_contact) == ("photo", "www.example.com", True)


def test_a_membership_change_is_a_message_of_its_kind_carrying_when_it_happened(testdata) -> None:
    kicked = parse_update(shared(testdata, "teloxide/samples/update__issue_523.json"))
    assert isinstance(kicked, InboundMessage)
    assert (kicked.address, kicked.provider_id, kicked.kind, kicked.text) == ("0", "0", BLOCKED, "")
    assert kicked.received_at == dt.datetime(2022, 2, 12, 14, 55, 26, tzinfo=dt.UTC)
    unblocked = parse_update(fixture("my_chat_member_unblocked.json"))
    assert isinstance(unblocked, InboundMessage) and (unblocked.address, unblocked.kind) == (str(CHAT), UNBLOCKED)


# The whole webhook, on the databases: each verdict of the parser once.


@pytest.mark.parametrize(("case", "kind"), [
    pytest.param("fixture:contact_own.json", "contact", id="contact"),
    pytest.param("fixture:callback_query_private.json", "choice", id="button"),
    pytest.param("teloxide/samples/message__de_image.json#message", "photo", id="photo"),
])
def test_a_private_message_is_handled_and_answered(client, tg, testdata, case: str, kind: str) -> None:
    data = load(testdata, case)
    answer = post(client, data)
    assert (answer.status_code, answer.get_json()) == (200, {"status": "handled"})
    with tg.db.read() as session:
        inbound = session.scalars(select(InboundRow).where(InboundRow.channel == "telegram")).one()
    assert (inbound.provider_id, inbound.kind) == (str(data["update_id"]), kind)
    rows = outbox(tg.db, parse_update(data).address)  # type: ignore[union-attr]
    assert [r for r in rows if r.kind != "ack"], "a reply is queued"
    acks = [r.payload for r in rows if r.kind == "ack"]
    assert acks == ([{"callback_query_id": data["callback_query"]["id"]}] if kind == "choice" else [])


@pytest.mark.parametrize(("case", "reason"), [
    pytest.param("illemius_telegram_types/edited_message.json", "edited message", id="edited"),
    pytest.param("fixture:my_chat_member_group.json", "group chat", id="group-membership"),
])
def test_an_update_we_do_not_use_is_ignored(client, tg, testdata, caplog, case: str, reason: str) -> None:
    data = load(testdata, case)
    with caplog.at_level(logging.INFO, logger="bot.inbound"):
        answer = post(client, data)
    assert (answer.status_code, answer.get_json()) == (200, {"status": "ignored", "reason": reason})
    assert f"telegram update {data['update_id']} ignored: {reason}" in caplog.text
    assert count(tg.db, InboundRow) == count(tg.db, OutboxMessage) == count(tg.db, Identity) == 0


@pytest.mark.parametrize("label", [*(label for label, _ in NOT_JSON), "malformed for the adapter", "outdated"])
def test_a_malformed_body_is_refused(client, tg, testdata, label: str) -> None:
    body = {
        **dict(NOT_JSON),
        "malformed for the adapter": json.dumps(MALFORMED[-1][1]).encode(),
        "outdated": json.dumps(load(testdata, OUTDATED[0])).encode(),
    }[label]
    answer = post(client, body)
    assert answer.status_code == 400, answer.get_json()
    assert count(tg.db, InboundRow) == count(tg.db, Identity) == 0


@pytest.mark.parametrize("secret", [None, "wrong"], ids=["missing", "wrong"])
def test_a_wrong_or_missing_secret_is_refused_before_parsing(client, tg, secret: str | None) -> None:
    answer = post(client, message(1, "/start"), secret=secret)
    assert answer.status_code == 403
    assert post(client, b"not even json", secret=secret).status_code == 403  # refused before the body is read
    assert count(tg.db, InboundRow) == count(tg.db, Identity) == count(tg.db, OutboxMessage) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "", "application/jsonp"])
def test_a_body_that_is_not_json_by_its_type_is_refused(client, tg, content_type: str) -> None:
    answer = post(client, message(1, "/start"), content_type=content_type)
    assert answer.status_code == 400
    assert count(tg.db, InboundRow) == 0


def test_json_with_a_charset_is_json(client, tg) -> None:
    assert post(client, message(1, "/start"), content_type="application/json; charset=utf-8").status_code == 200


def test_the_webhook_is_not_there_when_telegram_is_off(services) -> None:
    client = create_app(services=services).test_client()
    assert post(client, message(1, "/start")).status_code == 404


@pytest.mark.both_databases
def test_a_redelivered_update_is_handled_once(client, tg) -> None:
    first, again = post(client, message(42, "/start")), post(client, message(42, "/start"))
    assert (first.get_json(), again.get_json()) == ({"status": "handled"}, {"status": "duplicate"})
    assert count(tg.db, InboundRow) == 1
    with tg.db.read() as session:
        assert session.scalar(select(Conversation.version)) == 1
    replies = len(outbox(tg.db, str(CHAT)))
    # Telegram: update ids are not always increasing (a week without updates starts them
    # anywhere): an older id is a new update, not a repeat.
    assert post(client, message(7, "hello")).get_json() == {"status": "handled"}
    assert count(tg.db, InboundRow) == 2 and len(outbox(tg.db, str(CHAT))) > replies


# --- blocking the bot: a message like any other, through the dispatcher ----------------------------


def test_a_blocked_bot_opts_the_user_out_and_an_unblocked_one_back_in(client, tg, testdata) -> None:
    kicked = shared(testdata, "teloxide/samples/update__issue_523.json")  # private chat 0: the bot was blocked
    assert post(client, kicked).get_json() == {"status": "handled", "reason": "blocked"}
    assert identity(tg.db, "0").opted_out is True
    assert post(client, kicked).status_code == 200  # a redelivery changes nothing
    unblocked = fixture("my_chat_member_unblocked.json")
    assert post(client, unblocked).get_json() == {"status": "handled", "reason": "unblocked"}
    assert identity(tg.db, str(CHAT)).opted_out is False
    assert count(tg.db, OutboxMessage) == 0  # nothing is said to someone who just blocked us


@pytest.mark.both_databases
def test_a_block_arriving_twice_is_handled_once_through_the_inbound_table(client, tg, testdata) -> None:
    kicked = shared(testdata, "teloxide/samples/update__issue_523.json")
    assert post(client, kicked).get_json() == {"status": "handled", "reason": "blocked"}
    assert post(client, kicked).get_json() == {"status": "duplicate"}
    with tg.db.read() as session:
        (row,) = session.scalars(select(InboundRow)).all()
        assert (row.channel, row.provider_id, row.kind) == ("telegram", str(kicked["update_id"]), BLOCKED)
        # Under the conversation's lock, once: its state was saved one time.
        assert session.scalar(select(Conversation.version).where(Conversation.identity_id == row.identity_id)) == 1
    assert identity(tg.db, "0").opted_out is True and count(tg.db, OutboxMessage) == 0


@pytest.mark.both_databases
def test_a_block_takes_effect_past_the_flood_limit(db, catalogs, fake, testdata) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=db.url, telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_url=fake.base_url, inbound_per_minute=2)
    services = build_services(settings, db=db, catalogs=catalogs)
    try:
        client = create_app(services=services).test_client()
        for update_id in range(1, 4):
            post(client, message(update_id, "hello"))
        assert post(client, message(4, "hello")).get_json() == {"status": "rate_limited"}
        kicked = fixture("my_chat_member_unblocked.json")
        change = kicked["my_chat_member"]
        change["old_chat_member"], change["new_chat_member"] = change["new_chat_member"], change["old_chat_member"]
        assert post(client, kicked).get_json() == {"status": "handled", "reason": "blocked"}
        assert identity(db, str(CHAT)).opted_out is True
    finally:
        services.channels["telegram"].close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize(("role", "step"), [("patient", "symptoms"), ("patient", "stop_confirm"), ("doctor", "consulting")])
def test_blocking_opts_out_in_silence_and_unblocking_opts_back_in_where_the_chat_was(catalogs, lang: str, role: str, step: str) -> None:
    ports = Ports(patients=FakePatients(registered_profile()), labels=catalogs, default_language="en", role=role, desk=FakeDesk())
    state = State(step=step, data={"intake": {"own_words": "bukhar"}, "stop_resume": "menu"}, language=lang)
    blocked = handle(state, Inbound(blocked=True), ports)
    assert (blocked.replies, blocked.state.opted_out, blocked.state.step, blocked.state.language) == ([], True, step, lang)
    unblocked = handle(blocked.state, Inbound(blocked=False), ports)
    assert (unblocked.replies, unblocked.state.opted_out, unblocked.state.step) == ([], False, step)
    assert unblocked.state.data == {"intake": {"own_words": "bukhar"}, "stop_resume": "menu"}


# --- rendering --------------------------------------------------------------------------------


def test_a_long_text_is_split_at_sentences_then_lines_then_words() -> None:
    sentence = "Drink plenty of water and rest. "
    text = sentence * 300  # 9,600 characters
    parts = split_text(text)
    assert len(parts) == 3 and all(len(p) <= MAX_TEXT for p in parts)
    assert all(p.endswith("rest.") for p in parts)
    assert " ".join(parts) == text.strip()
    hindi = "पानी खूब पिएँ और आराम करें। " * 300
    assert all(p.endswith("।") for p in split_text(hindi))
    lines = "\n".join(["a line without an end"] * 400)
    assert all(p.endswith("end") for p in split_text(lines))
    words = "word " * 2000
    assert all(len(p) <= MAX_TEXT and p.endswith("word") for p in split_text(words))
    assert [len(p) for p in split_text("x" * 5000)] == [MAX_TEXT, 904]
    # Telegram counts UTF-16 code units: an emoji outside the BMP is two.
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_TEXT for p in split_text("🙂" * 3000))
    assert split_text("short") == ["short"]


def test_short_labels_go_two_to_a_row_long_ones_one() -> None:
    short = inline_keyboard([OutgoingChoice("en", "English"), OutgoingChoice("hi", "हिन्दी"), OutgoingChoice("x", "Skip")])
    assert [[b.callback_data for b in row] for row in short.inline_keyboard] == [["en", "hi"], ["x"]]  # type: ignore[union-attr]
    long = inline_keyboard([OutgoingChoice("a", "General Medicine OPD, 9 am to 5 pm"), OutgoingChoice("b", "No")])
    assert [len(row) for row in long.inline_keyboard] == [1, 1]  # type: ignore[union-attr]
    many = inline_keyboard([OutgoingChoice(str(i), str(i)) for i in range(150)])
    assert sum(len(row) for row in many.inline_keyboard) == 100  # type: ignore[union-attr]


def test_a_choice_key_over_64_bytes_is_left_out_with_an_error(caplog) -> None:
    key = "अ" * 22  # 22 characters, 66 bytes
    with caplog.at_level(logging.ERROR):
        markup = inline_keyboard([OutgoingChoice(key, "Yes"), OutgoingChoice("no", "No"), OutgoingChoice("", "Empty")])
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [["no"]]  # type: ignore[union-attr]
    assert "66 bytes left out" in caplog.text and "0 bytes left out" in caplog.text
    assert inline_keyboard([OutgoingChoice("अ" * 21, "ok")]) is not None  # 63 bytes fit


# --- outbound: through the worker to the fake Bot API ----------------------------------------------


LANGUAGE_KEYBOARD = {"inline_keyboard": [[{"text": "English", "callback_data": "en"}, {"text": "हिन्दी", "callback_data": "hi"}]]}
CONSENT = {
    "en": ("Do you agree?", [[{"text": "I agree", "callback_data": "agree"}], [{"text": "No, I do not agree", "callback_data": "decline"}]]),
    "hi": ("क्या आप सहमत हैं?", [[{"text": "मैं सहमत हूँ", "callback_data": "agree"}, {"text": "नहीं, मैं सहमत नहीं हूँ", "callback_data": "decline"}]]),
}


@pytest.mark.parametrize("language", ["en", "hi"])
def test_start_then_a_language_button_answers_the_press_and_replies_in_that_language(client, tg, fake, language: str) -> None:
    assert post(client, message(1, "/start")).status_code == 200
    deliver(tg)
    question = fake.sent(CHAT)[-1]
    assert question["text"] == "Which language would you like to use?"
    assert question["reply_markup"] == LANGUAGE_KEYBOARD
    assert all("parse_mode" not in p for p in fake.sent())  # plain text: what users type may hold < and *

    assert post(client, press(2, language, query_id="cbq-2")).get_json() == {"status": "handled"}
    deliver(tg)
    answered = fake.requests("answerCallbackQuery")
    assert [r.params["callback_query_id"] for r in answered] == ["cbq-2"]
    consent = fake.sent(CHAT)[-1]
    text, keyboard = CONSENT[language]
    assert text in consent["text"] and consent["reply_markup"]["inline_keyboard"] == _layout(keyboard)
    assert answered[0].at < fake.requests("sendMessage")[-1].at  # the spinner stops first


def _layout(keyboard: list[list[dict[str, str]]]) -> list[list[dict[str, str]]]:
    """Return buttons laid out as the adapter does: two to a row when every label is short."""
    buttons = [b for row in keyboard for b in row]
    per_row = 2 if all(len(b["text"]) <= 16 for b in buttons) else 1
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


@pytest.mark.parametrize("language", ["en", "hi"])
def test_registration_shares_the_contact_from_a_reply_keyboard(client, tg, fake, caplog, language: str) -> None:
    caplog.set_level(logging.DEBUG)
    said = iter(range(100, 200))
    steps: list[dict[str, Any]] = [
        message(next(said), "/start"), press(next(said), language), press(next(said), "agree"),
        message(next(said), "Sunita Devi"), message(next(said), "34"), press(next(said), "female"),
        message(next(said), "Uttar Pradesh"), message(next(said), "Varanasi"),
    ]
    for update in steps:
        assert post(client, update).status_code == 200
        deliver(tg)
    ask = fake.sent(CHAT)[-1]
    keyboard = ask["reply_markup"]
    assert keyboard["one_time_keyboard"] is True and keyboard["resize_keyboard"] is True
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    assert keyboard["keyboard"][0][0]["text"] == {"en": "📱 Share my mobile number", "hi": "📱 अपना मोबाइल नंबर भेजें"}[language]
    assert keyboard["keyboard"][1][0]["text"] == {"en": "Skip", "hi": "छोड़ें"}[language]

    own = fixture("contact_own.json")
    assert post(client, own).get_json() == {"status": "handled"}
    deliver(tg)
    confirm = fake.sent(CHAT)[-1]
    assert "+919876543210" in confirm["text"]
    assert "inline_keyboard" in confirm["reply_markup"]
    for secret in (TOKEN, TOKEN.partition(":")[2], "919876543210", "9876543210"):
        assert secret not in caplog.text  # logs carry neither the token nor phone numbers


def test_someone_elses_contact_is_asked_again(client, tg, fake) -> None:
    post(client, message(1, "/start"))
    deliver(tg)
    before = len(fake.sent(CHAT))
    post(client, fixture("contact_other.json"))
    deliver(tg)
    answer = [p["text"] for p in fake.sent(CHAT)[before:]]
    assert answer[0] == "I can only read text messages. Please type your answer."
    assert answer[-1] == "Which language would you like to use?"  # and the question again


def test_a_long_message_goes_in_parts_a_second_apart_with_the_keyboard_on_the_last(tg, fake) -> None:
    advice = "Take paracetamol 500 mg if the fever is above 100 F. " * 100  # 5,300 characters
    row_id = queue(tg, Reply(t("Advice from Dr. {doctor}:\n────────\n{advice}\n────────\nHow was your consultation? Give 1 to 5 stars.",
                               doctor="Mehta", advice=advice.strip()), (Choice("5", t("Thank you")),)))
    assert tg.worker.drain() == 1
    parts = fake.sent(CHAT)
    assert len(parts) == 2 and all(len(p["text"]) <= MAX_TEXT for p in parts)
    assert parts[0]["text"].endswith("100 F.") and "reply_markup" not in parts[0]
    assert parts[1]["reply_markup"]["inline_keyboard"] == [[{"text": "Thank you", "callback_data": "5"}]]
    # Telegram: one message a second in a chat. (Measured at the fake, a loaded machine may
    # delay the first request by more than the limiter's edge pad; the spacing is what we send.)
    first, second = fake.requests("sendMessage")
    assert second.at - first.at >= 0.95
    sent = row(tg.db, row_id)
    assert (sent.status, sent.provider_id) == (OutboxStatus.SENT, "1")  # the first part's message id


def test_a_chat_whose_second_is_used_gives_its_row_back_instead_of_holding_a_thread(tg, fake) -> None:
    # Telegram: about one message a second in one chat. A second message to the same chat
    # within that second is handed back (RateLimited, due when the chat opens) at once, so
    # the sending thread is free for another chat's message meanwhile.
    from bot.channels.base import RateLimited

    adapter = tg.channels["telegram"]
    adapter.send(str(CHAT), OutgoingMessage(text="Token 5 is booked."), outbox_id=1)
    started = time.monotonic()
    with pytest.raises(RateLimited) as refused:
        adapter.send(str(CHAT), OutgoingMessage(text="You are 3rd in the queue."), outbox_id=2)
    assert time.monotonic() - started < 0.5  # not slept through
    assert 0.05 < refused.value.retry_after <= 1.1
    adapter.send(str(CHAT + 1), OutgoingMessage(text="टोकन 6 बुक हो गया।"), outbox_id=3)  # another chat is not held up
    assert [m["text"] for m in fake.sent(CHAT)] == ["Token 5 is booked."]
    assert [m["text"] for m in fake.sent(CHAT + 1)] == ["टोकन 6 बुक हो गया।"]


def test_a_key_too_long_for_telegram_never_reaches_it(tg, fake) -> None:
    queue(tg, Reply(t("Do you agree?"), (Choice("सहमति-" * 11, t("I agree")), Choice("decline", t("No, I do not agree")))))
    tg.worker.drain()
    (sent,) = fake.sent(CHAT)
    assert sent["reply_markup"] == {"inline_keyboard": [[{"text": "No, I do not agree", "callback_data": "decline"}]]}


def test_a_message_without_buttons_takes_away_an_earlier_reply_keyboard(tg, fake) -> None:
    queue(tg, Reply(t("Welcome back!")))
    tg.worker.drain()
    assert fake.sent(CHAT)[0]["reply_markup"] == {"remove_keyboard": True}


def test_flood_control_puts_the_message_back_for_as_long_as_telegram_says(tg, fake) -> None:
    fake.fail_next(1, status=429, retry_after=7)
    row_id = queue(tg, Reply(t("Welcome back!")))
    before = utcnow()
    tg.worker.drain()
    waiting = row(tg.db, row_id)
    assert (waiting.status, waiting.error_code) == (OutboxStatus.PENDING, "429")
    assert before + dt.timedelta(seconds=7) <= _aware(waiting.due_at) <= utcnow() + dt.timedelta(seconds=7)
    assert tg.worker.drain() == 0 and len(fake.requests("sendMessage")) == 1  # not before it is due
    later(tg, seconds=8)
    tg.worker.drain()
    assert row(tg.db, row_id).status == OutboxStatus.SENT and len(fake.sent(CHAT)) == 1


@pytest.mark.parametrize("status", [500, 502])
def test_a_server_error_is_tried_again(tg, fake, status: int) -> None:
    fake.fail_next(1, status=status)
    row_id = queue(tg, Reply(t("Welcome back!")))
    tg.worker.drain()
    waiting = row(tg.db, row_id)
    assert (waiting.status, waiting.error_code, waiting.attempts) == (OutboxStatus.PENDING, "network", 1)
    later(tg, seconds=60)
    tg.worker.drain()
    assert row(tg.db, row_id).status == OutboxStatus.SENT and len(fake.sent(CHAT)) == 1


def test_a_user_who_blocked_the_bot_is_opted_out_and_not_tried_again(tg, fake) -> None:
    fake.block(CHAT)
    row_id = queue(tg, Reply(t("Welcome back!")))
    tg.worker.drain()
    failed = row(tg.db, row_id)
    assert (failed.status, failed.error_code) == (OutboxStatus.FAILED, "403")
    assert identity(tg.db, str(CHAT)).opted_out is True
    later(tg, seconds=3600)
    assert tg.worker.drain() == 0 and len(fake.requests("sendMessage")) == 1


def test_a_chat_telegram_does_not_know_fails_for_good_without_an_opt_out(tg, fake) -> None:
    fake.forget_chat(CHAT)
    row_id = queue(tg, Reply(t("Welcome back!")))
    tg.worker.drain()
    assert (row(tg.db, row_id).status, row(tg.db, row_id).error_code) == (OutboxStatus.FAILED, "400")
    assert identity(tg.db, str(CHAT)).opted_out is False


def test_a_button_press_answered_too_late_is_no_failure(client, tg, fake) -> None:
    fake.fail_next(1, status=400, methods=("answerCallbackQuery",),
                   description="Bad Request: query is too old and response timeout expired or query id is invalid")
    post(client, press(5, "en"))
    deliver(tg)
    (ack,) = [r for r in outbox(tg.db, str(CHAT)) if r.kind == "ack"]
    assert ack.status == OutboxStatus.SENT
    assert fake.sent(CHAT), "the reply still goes"


def test_a_wrong_token_fails_with_a_clear_log_and_never_shows_the_token(db, catalogs, caplog) -> None:
    with FakeTelegram(tokens={"999:other"}) as fake:
        settings = Settings(database_url=db.url, telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_url=fake.base_url)
        tg = build_services(settings, db=db, catalogs=catalogs)
        row_id = queue(tg, Reply(t("Welcome back!")))
        with caplog.at_level(logging.DEBUG):
            tg.worker.drain()
        tg.channels["telegram"].close()  # type: ignore[attr-defined]
    failed = row(db, row_id)
    assert (failed.status, failed.error_code) == (OutboxStatus.FAILED, "invalid_token")
    assert "TELEOPD_TELEGRAM_TOKEN" in caplog.text and TOKEN not in caplog.text and TOKEN not in (failed.error or "")


def test_the_adapter_refuses_an_address_that_is_no_chat_id() -> None:
    with pytest.raises(PermanentError):
        TelegramChannel(TOKEN, RateLimiter()).send("whatsapp:+919876543210", OutgoingMessage("hi"), 1)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# --- the command line -----------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch, db, fake) -> None:  # type: ignore[no-untyped-def]
    """Point `teleopd` at the test database and the fake Bot API."""
    monkeypatch.setenv("TELEOPD_DATABASE_URL", db.url)
    monkeypatch.setenv("TELEOPD_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("TELEOPD_TELEGRAM_SECRET", SECRET)
    monkeypatch.setenv("TELEOPD_TELEGRAM_API_URL", fake.base_url)


def test_set_webhook_registers_our_url_secret_and_update_kinds(env, fake, capsys) -> None:
    assert main(["telegram", "set-webhook", "https://teleopd.example.org/webhooks/telegram"]) == 0
    hook = fake.webhook
    assert hook["url"] == "https://teleopd.example.org/webhooks/telegram" and hook["secret_token"] == SECRET
    assert hook["allowed_updates"] == ["message", "edited_message", "callback_query", "my_chat_member"]
    assert (hook["drop_pending_updates"], hook["max_connections"]) == ("false", "40")
    out = capsys.readouterr()
    assert "https://teleopd.example.org/webhooks/telegram" in out.out
    assert TOKEN not in out.out + out.err and SECRET not in out.out + out.err


@pytest.mark.parametrize(("url", "says"), [
    ("http://teleopd.example.org/webhooks/telegram", "https"),
    ("teleopd.example.org/webhooks/telegram", "https"),
    ("https://teleopd.example.org:8080/webhooks/telegram", "ports"),
    ("https://[::1/webhooks/telegram", "not a URL"),
])
def test_set_webhook_refuses_a_url_telegram_cannot_call(env, fake, capsys, url: str, says: str) -> None:
    assert main(["telegram", "set-webhook", url]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert fake.requests() == []


def test_telegram_commands_say_in_one_line_when_telegram_is_off(monkeypatch, db, capsys) -> None:
    monkeypatch.setenv("TELEOPD_DATABASE_URL", db.url)
    monkeypatch.delenv("TELEOPD_TELEGRAM_TOKEN", raising=False)
    for command, needed in (
        (["telegram", "set-webhook", "https://teleopd.example.org/webhooks/telegram"], "TELEOPD_TELEGRAM_TOKEN and TELEOPD_TELEGRAM_SECRET"),
        (["telegram", "poll"], "TELEOPD_TELEGRAM_TOKEN"),
    ):
        assert main(command) == 2
        assert capsys.readouterr().err.strip() == f"teleopd: telegram is off: set {needed}"


@pytest.fixture
def env_without_secret(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The bot's token and API, and no webhook secret: a developer polling from a laptop."""
    monkeypatch.delenv("TELEOPD_TELEGRAM_SECRET")


def test_poll_needs_no_webhook_secret(env_without_secret, db, fake) -> None:  # type: ignore[no-untyped-def]
    fake.queue_update(message(500, "/start"))
    assert main(["telegram", "poll", "--timeout", "1", "--idle-exit"]) == 0
    assert count(db, InboundRow, channel="telegram") == 1
    assert "Which language would you like to use?" in fake.sent(CHAT)[-1]["text"]


def test_set_webhook_without_a_secret_says_so_in_one_line(env_without_secret, fake, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["telegram", "set-webhook", "https://teleopd.example.org/webhooks/telegram"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("teleopd: the webhook needs TELEOPD_TELEGRAM_SECRET") and len(err.splitlines()) == 1
    assert fake.requests("setWebhook") == []


def test_without_a_secret_the_webhook_is_off(db, catalogs, fake) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=db.url, telegram_token=TOKEN, telegram_api_url=fake.base_url)
    services = build_services(settings, db=db, catalogs=catalogs)
    try:
        assert "telegram" in services.channels  # it still sends
        client = create_app(services=services).test_client()
        for secret in (None, "", SECRET):
            assert post(client, message(1, "/start"), secret=secret).status_code == 404
        assert count(db, InboundRow) == 0
    finally:
        services.channels["telegram"].close()  # type: ignore[attr-defined]


def test_a_short_webhook_secret_is_refused_at_start(env, monkeypatch, fake, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TELEOPD_TELEGRAM_SECRET", "s3cret")
    # --idle-exit: were the secret taken, the poll would end at once rather than run on.
    for command in (["telegram", "poll", "--timeout", "0", "--idle-exit"], ["telegram", "set-webhook", "https://teleopd.example.org/webhooks/telegram"]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("teleopd: TELEOPD_TELEGRAM_SECRET must be 16-256 characters") and "s3cret" not in err
    assert fake.requests() == []


def test_poll_deletes_the_webhook_and_handles_updates_as_the_webhook_does(env, db, fake, testdata) -> None:
    fake.queue_update(message(500, "/start"), press(501, "hi", query_id="cbq-501"), fixture("inline_query.json"))
    # Our replies are one a second in a chat: the poll ends once they are sent.
    fake.handle("setWebhook", TOKEN, {"url": "https://old.example.org/hook"})
    assert main(["telegram", "poll", "--timeout", "1", "--idle-exit"]) == 0
    assert fake.webhook == {} and fake.requests("deleteWebhook")
    assert count(db, InboundRow, channel="telegram") == 2  # the inline query was ignored
    assert [r.params["callback_query_id"] for r in fake.requests("answerCallbackQuery")] == ["cbq-501"]
    assert "क्या आप सहमत हैं?" in fake.sent(CHAT)[-1]["text"]
    last = fake.requests("getUpdates")[-1]
    assert last.params["offset"] == str(563000109 + 1)  # what was handled is confirmed


def test_poll_takes_a_block_the_webhooks_way(tg, fake, testdata) -> None:
    from bot.cli.telegram import poll_updates

    kicked = shared(testdata, "teloxide/samples/update__issue_523.json")
    fake.queue_update(kicked, kicked)  # delivered twice
    assert poll_updates(tg, tg.channels["telegram"], threading.Event(), timeout=0, max_updates=2) == 2
    with tg.db.read() as session:
        assert [(r.provider_id, r.kind) for r in session.scalars(select(InboundRow))] == [(str(kicked["update_id"]), BLOCKED)]
    assert identity(tg.db, "0").opted_out is True and count(tg.db, OutboxMessage) == 0


def test_poll_stops_promptly_when_told_to_even_in_a_long_poll(tg, fake) -> None:
    from bot.cli.telegram import poll_updates

    fake.max_poll_wait = 30.0
    stop = threading.Event()
    fake.queue_update(message(1, "/start"))
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(poll_updates(tg, tg.channels["telegram"], stop, timeout=25)))
    thread.start()
    deadline = time.monotonic() + 5
    while count(tg.db, InboundRow) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # now in the next long poll
    started = time.monotonic()
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 1.5
    assert result == [1]
