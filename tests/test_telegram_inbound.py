"""The Telegram channel inbound: update cases over real payloads, the webhook, and blocking the bot.

Inbound cases are tables over ../shared/testdata/telegram (real payloads collected by other
Telegram libraries) and tests/fixtures/telegram, run through the adapter's parser alone (a
pure function: no app, no database); a few of each kind then go through the whole webhook
on the databases (the secret's cases are in tests/test_webhook_auth.py). Blocking and unblocking
the bot is a message like any other, through the dispatcher.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.base import (
    BLOCKED,
    UNBLOCKED,
    Ignored,
    InboundMessage,
    Malformed,
)
from bot.channels.telegram import parse_update
from bot.platform.config import Settings
from bot.runtime import build_services
from bot.store.models import Conversation, Identity, OutboxMessage
from bot.store.models import InboundMessage as InboundRow
from flows.conversation import handle
from flows.engine import Inbound, State
from flows.ports import Ports
from tests.helpers import FakeDesk, FakePatients, registered_profile
from tests.telegram_helpers import (  # noqa: F401  (fixtures)
    CHAT,
    SECRET,
    TOKEN,
    client,
    count,
    fake,
    fixture,
    identity,
    message,
    outbox,
    post,
    shared,
    tg,
)
from webhooks import create_app

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
