"""Hostile input fuzzed over every route of the real web app, on the real databases.

hypothesis generates bodies from nothing (any JSON, any bytes), from the shapes providers send
(Update-like dicts, Twilio forms) and from real payloads in ../shared/testdata mutated (fields
removed, wrong types, huge ints, deep nesting, naughty strings from the Big List). Twilio forms
are signed correctly, Telegram updates carry the secret, so the fuzz reaches the parsers and
the flows, not just the door. Every answer must be a documented status (never 5xx), carry no
traceback, and an accepted message must leave a reply in the person's language and no
half-written rows.

TELEOPD_FUZZ_EXAMPLES sets the examples per test (default 20, so the file stays well under a
minute on both databases). A recorded run:
    TELEOPD_FUZZ_EXAMPLES=2500 .venv/bin/pytest tests/test_fuzz_webhooks.py -p no:randomly --hypothesis-show-statistics
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from bot.channels.base import MEMBERSHIP_KINDS
from bot.runtime import Services
from bot.store.models import Conversation, Identity, InboundMessage, OutboxMessage
from tests.test_webhook_auth import (  # noqa: F401  (fixtures)
    FORM,
    PUBLIC,
    SECRET_HEADER,
    SIGNATURE_HEADER,
    TELEGRAM_SECRET,
    client,
    every_channel,
    fake_providers,
    sign,
)
from tests.testdata import TESTDATA

EXAMPLES = int(os.environ.get("TELEOPD_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
# DESIGN.md, HTTP: handled/ignored, malformed, auth, not here / wrong method, too large, wrong type.
DOCUMENTED = {200, 202, 400, 401, 403, 404, 405, 413, 415}
TWILIO_ROUTES = ("/webhooks/twilio/whatsapp", "/webhooks/twilio/sms", "/webhooks/twilio/status")
ROUTES = ("/webhooks/telegram", *TWILIO_ROUTES, "/api/chat/fuzz-user/messages")


def _json(name: str) -> Any:
    return json.loads((TESTDATA / name).read_text(encoding="utf-8"))


NAUGHTY = [s for s in _json("robustness/blns.json") if isinstance(s, str)]
DEVANAGARI_EDGES = [c["text"] for c in _json("robustness/generated/devanagari_edge_cases.json")["cases"] if "text" in c]
GRAPHEMES = [row["text"] for row in _json("robustness/devanagari_grapheme_break_tests_unicode15_1.json")["rows"]]


def _real_updates() -> list[dict[str, Any]]:
    """Return every whole Telegram Update in the shared test data."""
    root = TESTDATA / "telegram"
    updates = [json.loads(p.read_text()) for p in sorted((root / "illemius_telegram_types").glob("*.json"))]
    updates += [json.loads(p.read_text()) for p in sorted((root / "teloxide" / "samples").glob("update__*.json"))]
    updates += [{"update_id": 880000000 + n, "message": json.loads(p.read_text())}
                for n, p in enumerate(sorted((root / "teloxide" / "samples").glob("message__*.json")))]
    aiogram = json.loads((root / "aiogram_v2_dataset" / "aiogram_v2_dataset.json").read_text())
    updates += [{"update_id": 890000000 + n, "message": v} for n, (k, v) in enumerate(sorted(aiogram.items()))
                if k.startswith("MESSAGE") and isinstance(v, dict)]
    return [u for u in updates if isinstance(u, dict) and "update_id" in u]


REAL_UPDATES = _real_updates()
REAL_FORMS = [s["params"] for s in _json("twilio/inbound/chatwoot_twilio_param_sets.json")["sets"]]

# --- strategies -----------------------------------------------------------------------------

naughty_text = st.one_of(st.sampled_from(NAUGHTY), st.sampled_from(DEVANAGARI_EDGES), st.sampled_from(GRAPHEMES), st.text(max_size=300),
                         st.binary(max_size=100).map(lambda b: b.decode("utf-8", "replace")),
                         st.sampled_from(["", " ", "\x00", "next", "STOP", "START", "मदद", "1", "/start", "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace")]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63 - 5, max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), naughty_text)
any_json = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(naughty_text, inner, max_size=5), max_leaves=30)
chat_ids = st.one_of(st.integers(min_value=1, max_value=10**12), st.integers(), st.sampled_from([0, -1, 2**63, 2**64 + 1]), naughty_text)


@st.composite
def update_shaped(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a dict shaped like a Telegram Update, with random or naughty values and types.

    Half the examples are "tame": right types and a private chat, only the text is naughty,
    so they reach the flows; the other half are wild everywhere.
    """
    if not draw(st.booleans()):
        chat_id = draw(st.integers(min_value=1, max_value=10**12))
        text = draw(naughty_text)
        return {"update_id": draw(st.integers(min_value=1, max_value=2**40)), "message": {
            "message_id": 1, "date": 1764590000, "text": text if text.strip() else "x" + text,
            "from": {"id": chat_id, "is_bot": False, "first_name": draw(naughty_text), "language_code": draw(st.sampled_from(["hi", "en", "xx"]))},
            "chat": {"id": chat_id, "type": "private"}}}
    chat_id = draw(st.one_of(st.integers(min_value=1, max_value=10**12), chat_ids))
    sender = {"id": chat_id, "is_bot": draw(st.one_of(st.booleans(), scalars)), "first_name": draw(naughty_text),
              "language_code": draw(st.one_of(st.sampled_from(["hi", "en", "xx"]), scalars))}
    chat = {"id": chat_id, "type": draw(st.one_of(st.just("private"), st.sampled_from(["group", "supergroup", "channel"]), scalars))}
    kind = draw(st.sampled_from(["message", "edited_message", "callback_query", "my_chat_member", "other"]))
    body: dict[str, Any]
    if kind == "callback_query":
        body = {"id": draw(naughty_text), "from": sender, "chat_instance": draw(naughty_text), "data": draw(st.one_of(naughty_text, scalars)),
                "message": {"message_id": draw(st.integers()), "chat": chat, "date": draw(st.integers()), "text": "?"}}
    else:
        body = {"message_id": draw(st.one_of(st.integers(), scalars)), "from": sender, "chat": chat, "date": draw(st.one_of(st.integers(), scalars)),
                "text": draw(st.one_of(naughty_text, scalars))}
        if draw(st.booleans()):
            body["contact"] = {"phone_number": draw(naughty_text), "user_id": draw(st.one_of(st.just(chat_id), scalars)), "first_name": "x"}
    update: dict[str, Any] = {"update_id": draw(st.one_of(st.integers(min_value=1, max_value=2**40), scalars)), kind: body}
    for key in draw(st.lists(st.sampled_from(["from", "chat", "text", "date", "message_id", "id", "data"]), max_size=2)):
        body.pop(key, None)
    return update


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


@st.composite
def mutated_update(draw: st.DrawFn) -> Any:
    """Draw a real update with a few fields removed, retyped, made huge or nested deeply."""
    update = json.loads(json.dumps(draw(st.sampled_from(REAL_UPDATES))))
    update["update_id"] = draw(st.integers(min_value=1, max_value=2**40))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(update)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = update
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["remove", "retype", "huge", "nest", "naughty"]))
        if action == "remove":
            del parent[path[-1]]
        elif action == "retype":
            parent[path[-1]] = draw(scalars)
        elif action == "huge":
            parent[path[-1]] = draw(st.sampled_from([2**64, -(2**63) - 1, 10**30, 1e308, -0.0]))
        elif action == "nest":
            depth = draw(st.integers(min_value=10, max_value=900))
            nested: Any = parent[path[-1]]
            for _ in range(depth):
                nested = [nested]
            parent[path[-1]] = nested
            # Last: walking 900 levels for the next path would hit the recursion limit at
            # whatever stack depth hypothesis runs in, which it reports as a flaky strategy.
            break
        else:
            parent[path[-1]] = draw(naughty_text)
    return update


def _phone(n: int) -> str:
    return f"+9198{n % 10**8:08d}"


@st.composite
def twilio_form(draw: st.DrawFn) -> tuple[str, MultiDict[str, str]]:
    """Draw a route and a Twilio form: a real parameter set or ours, with naughty values."""
    route = draw(st.sampled_from(TWILIO_ROUTES))
    number = _phone(draw(st.integers(min_value=0)))
    sid = "SM" + draw(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32))
    base = dict(draw(st.sampled_from(REAL_FORMS))) if draw(st.booleans()) else {}
    sender = f"whatsapp:{number}" if route.endswith("whatsapp") else number
    base.update({"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "Body": draw(naughty_text), "NumMedia": "0",
                 "To": "whatsapp:+14155238886" if route.endswith("whatsapp") else "+15005550006"})
    if route.endswith("status"):
        base["MessageStatus"] = draw(st.one_of(st.sampled_from(["queued", "sent", "delivered", "read", "failed", "undelivered"]), naughty_text))
    wild = draw(st.booleans())  # tame examples keep every field Twilio sends, so they reach the flows
    for field in draw(st.lists(st.sampled_from(["Body", "From", "To", "MessageSid", "SmsSid", "NumMedia", "MessageStatus", "ErrorCode",
                                                "ProfileName", "WaId", "ButtonPayload", "Latitude", "MediaUrl0", "MediaContentType0"]), max_size=4 if wild else 0)):
        base[field] = draw(st.one_of(naughty_text, st.integers().map(str), st.just("")))
    for field in draw(st.lists(st.sampled_from(sorted(base)), max_size=2 if wild else 0)):
        base.pop(field, None)
    form: MultiDict[str, str] = MultiDict(list(base.items()))
    for field, value in draw(st.lists(st.tuples(st.sampled_from(["Body", "From", "MessageSid", "x"]), naughty_text), max_size=2 if wild else 0)):
        form.add(field, value)  # repeated keys
    # PostgreSQL and urlencode both cope with NUL; lone surrogates cannot be sent at all.
    clean = MultiDict([(k, v.encode("utf-8", "replace").decode("utf-8")) for k, v in form.items(multi=True)])
    return route, clean


# --- checks ---------------------------------------------------------------------------------


def counts(services: Services) -> dict[str, int]:
    """Count the rows a webhook may write; InboundMessage counts the messages that want an answer (a block wants none)."""
    with services.db.read() as session:
        found = {m.__name__: session.scalar(select(func.count()).select_from(m)) or 0 for m in (OutboxMessage, Identity)}
        found["InboundMessage"] = session.scalar(
            select(func.count()).select_from(InboundMessage).where(InboundMessage.kind.not_in(MEMBERSHIP_KINDS))
        ) or 0
    return found


def no_half_written_rows(services: Services) -> None:
    """Every identity has its conversation; every inbound message was answered or counted."""
    with services.db.read() as session:
        orphans = session.scalar(select(func.count()).select_from(Identity).outerjoin(Conversation, Conversation.identity_id == Identity.id)
                                 .where(Conversation.id.is_(None)))
        bad_language = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.language.not_in(("en", "hi"))))
    assert orphans == 0 and bad_language == 0


def check_answer(response, services: Services, before: dict[str, int] | None = None, fuzzed: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Assert a documented status, no traceback, and a reply for an accepted message."""
    body = response.get_data(as_text=True)
    if fuzzed:  # shown by --hypothesis-show-statistics: how far into the app the examples got
        event(f"HTTP {response.status_code}")
    assert response.status_code in DOCUMENTED, (response.status_code, body[:500])
    assert "Traceback" not in body and "Error:" not in body and "Exception" not in body, body[:500]
    if before is not None:
        after = counts(services)
        if after["InboundMessage"] > before["InboundMessage"]:
            if fuzzed:
                event("a message accepted and answered")
            assert response.status_code in (200, 202)
            assert after["OutboxMessage"] > before["OutboxMessage"], "an accepted message got no reply"
        no_half_written_rows(services)


def telegram(client, body: bytes, content_type: str = "application/json", secret: str | None = TELEGRAM_SECRET):  # type: ignore[no-untyped-def]
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return client.post("/webhooks/telegram", data=body, content_type=content_type, headers=headers)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


# --- Telegram -------------------------------------------------------------------------------


@FUZZ
@given(value=any_json)
@example(value={"update_id": 2**64, "message": {"text": "hi"}})
@example(value={"update_id": 1, "message": {"chat": {"id": 2**70, "type": "private"}, "from": {"id": 2**70}, "text": "hi", "date": 1, "message_id": 1}})
def test_telegram_any_json(client, every_channel, value: Any) -> None:  # type: ignore[no-untyped-def]
    before = counts(every_channel)
    check_answer(telegram(client, _dumps(value)), every_channel, before)


@pytest.mark.both_databases
@FUZZ
@given(update=update_shaped())
def test_telegram_update_shaped(client, every_channel, update: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    before = counts(every_channel)
    response = telegram(client, _dumps(update))
    check_answer(response, every_channel, before)
    if response.status_code == 200 and response.get_json().get("status") == "handled":
        assert counts(every_channel)["OutboxMessage"] > before["OutboxMessage"]


@pytest.mark.both_databases
@FUZZ
@given(update=mutated_update())
def test_telegram_real_updates_mutated(client, every_channel, update: Any) -> None:  # type: ignore[no-untyped-def]
    before = counts(every_channel)
    check_answer(telegram(client, _dumps(update)), every_channel, before)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"{", b"[" * 5000, b"\x00", b'{"update_id": 1,}', b"null", b"\xef\xbb\xbf{}"])),
       content_type=st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain", "", FORM, "multipart/form-data"]),
       secret=st.one_of(st.just(TELEGRAM_SECRET), st.none(), st.text(max_size=30).filter(lambda s: "\n" not in s and "\r" not in s)))
def test_telegram_raw_bodies_types_and_secrets(client, every_channel, raw: bytes, content_type: str, secret: str | None) -> None:  # type: ignore[no-untyped-def]
    before = counts(every_channel)
    response = telegram(client, raw, content_type, secret)
    check_answer(response, every_channel, before)
    if secret != TELEGRAM_SECRET:
        assert response.status_code == 403


# --- Twilio ---------------------------------------------------------------------------------


@pytest.mark.both_databases
@FUZZ
@given(drawn=twilio_form())
def test_twilio_signed_forms(client, every_channel, drawn: tuple[str, MultiDict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    route, form = drawn
    before = counts(every_channel)
    response = client.post(route, data=urlencode(list(form.items(multi=True))), content_type=FORM,
                           headers={SIGNATURE_HEADER: sign(route, form)}, base_url=PUBLIC)
    check_answer(response, every_channel, before)


@FUZZ
@given(route=st.sampled_from(TWILIO_ROUTES), raw=st.one_of(st.binary(max_size=300), st.sampled_from([
    b"Body=%FF%FE&From=%2B919800000000", b"Body=\x00&From=x", b'{"Body": "hi"}', b"a=1&a=2&a=3", b"&&&", b"=", b"%", b"Body=%E0%A4"])),
       content_type=st.sampled_from([FORM, "application/json", "text/plain", "", FORM + "; charset=utf-8"]),
       signed=st.booleans())
def test_twilio_raw_and_unsigned_bodies(client, every_channel, route: str, raw: bytes, content_type: str, signed: bool) -> None:  # type: ignore[no-untyped-def]
    before = counts(every_channel)
    headers = {SIGNATURE_HEADER: "bm90IGEgc2lnbmF0dXJl"} if signed else {}
    response = client.post(route, data=raw, content_type=content_type, headers=headers, base_url=PUBLIC)
    check_answer(response, every_channel, before)
    assert response.status_code in (400, 403)
    assert counts(every_channel) == before


# --- web chat -------------------------------------------------------------------------------


@pytest.mark.both_databases
@FUZZ
@given(user=st.one_of(st.from_regex(r"\A[A-Za-z0-9_.@-]{1,64}\Z"), st.text(max_size=80)), payload=any_json,
       cursor=st.one_of(st.none(), st.text(max_size=40), st.integers().map(str)))
@example(user="0/", payload=None, cursor=None)  # was a 308 redirect to /api/chat/0/messages
def test_web_chat_users_json_and_cursors(client, every_channel, user: str, payload: Any, cursor: str | None) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import quote

    path = f"/api/chat/{quote(user, safe='')}/messages"
    before = counts(every_channel)
    check_answer(client.post(path, data=_dumps(payload), content_type="application/json"), every_channel, before)
    if isinstance(payload, dict):
        check_answer(client.post(path, json={"text": payload.get("text") if isinstance(payload.get("text"), str) else str(payload)[:100]}), every_channel)
    query = {"after": cursor} if cursor is not None else {}
    check_answer(client.get(path, query_string=query), every_channel)


# --- sizes and methods ----------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_a_megabyte_body_is_413_on_every_route(client, every_channel, route: str) -> None:  # type: ignore[no-untyped-def]
    big = b"Body=" + b"a" * (1 << 20)
    form = MultiDict([("Body", "a" * (1 << 20))])
    headers = {SECRET_HEADER: TELEGRAM_SECRET, SIGNATURE_HEADER: sign(route, form)}
    response = client.post(route, data=big, content_type="application/json" if "twilio" not in route else FORM, headers=headers, base_url=PUBLIC)
    assert response.status_code == 413, response.get_data(as_text=True)[:200]
    check_answer(response, every_channel, fuzzed=False)
    assert counts(every_channel)["InboundMessage"] == 0


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "GET"])
def test_wrong_methods_are_405(client, every_channel, route: str, method: str) -> None:  # type: ignore[no-untyped-def]
    response = client.open(route, method=method, headers={SECRET_HEADER: TELEGRAM_SECRET})
    if method == "GET" and route.startswith("/api/chat"):
        assert response.status_code == 200  # reading the chat is a GET
    else:
        assert response.status_code == 405
    check_answer(response, every_channel, fuzzed=False)
