"""Every provider webhook refuses a missing or wrong signature or secret with 403, before parsing.

Twilio signs the exact URL it called and every POST parameter with the account's Auth Token
(https://www.twilio.com/docs/usage/webhooks/webhooks-security): a request signed for another
of our URLs (a /whatsapp request replayed onto /sms), or with a parameter added, removed or
changed, is not Twilio's. Telegram repeats setWebhook's secret_token in a header
(https://core.telegram.org/bots/api#setwebhook). Vectors: ../shared/testdata/twilio/signature.
Each case runs on the webhooks' check alone (verify_signature, verify_secret: no app), then
through the whole app: a refused request leaves no row behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from bot.platform.config import Settings
from bot.runtime import Services, build_services
from bot.store.models import DeliveryEvent, Identity, InboundMessage, OutboxMessage
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from webhooks import create_app
from webhooks.telegram import verify_secret
from webhooks.twilio import verify_signature

SID = "AC" + "0" * 32
AUTH_TOKEN = "f" * 32
PUBLIC = "https://teleopd.example.org"
TELEGRAM_TOKEN = "123456:" + "A" * 35
TELEGRAM_SECRET = "s3cret-webhook-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SIGNATURE_HEADER = "X-Twilio-Signature"
FORM = "application/x-www-form-urlencoded"
ROUTES = ("/webhooks/twilio/whatsapp", "/webhooks/twilio/sms", "/webhooks/twilio/status")
ROWS = (InboundMessage, Identity, OutboxMessage, DeliveryEvent)


@pytest.fixture(scope="module")
def fake_providers() -> Iterator[tuple[FakeTwilio, FakeTelegram]]:
    """Run the fake Twilio and Telegram APIs once per module (stopping one takes half a second)."""
    with FakeTwilio(SID, AUTH_TOKEN) as twilio_api, FakeTelegram() as telegram_api:
        yield twilio_api, telegram_api


@pytest.fixture
def every_channel(db, catalogs, fake_providers) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """Return services with Telegram, WhatsApp and SMS on, pointed at fake providers."""
    twilio_api, telegram_api = fake_providers
    settings = Settings(
        database_url=db.url, public_url=PUBLIC,
        telegram_token=TELEGRAM_TOKEN, telegram_secret=TELEGRAM_SECRET, telegram_api_url=telegram_api.base_url,
        twilio_account_sid=SID, twilio_auth_token=AUTH_TOKEN, twilio_api_url=twilio_api.url,
        twilio_whatsapp_from="whatsapp:+14155238886", twilio_sms_from="+15005550006",
        twilio_whatsapp_mps=1000, twilio_sms_mps=1000,
        # The tests are scripts: far faster than the flood limit lets a person type.
        inbound_per_minute=1000,
    )
    services = build_services(settings, db=db, catalogs=catalogs)
    yield services
    services.channels["telegram"].close()  # type: ignore[attr-defined]


@pytest.fixture
def client(every_channel: Services):  # type: ignore[no-untyped-def]
    """Return a test client of the whole web app, as the local demo (the web chat takes any user id)."""
    return create_app(services=every_channel, local_demo=True).test_client()


def row_counts(services: Services) -> dict[str, int]:
    """Count the rows a webhook may write."""
    with services.db.read() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model)) or 0 for model in ROWS}


def nothing_written(services: Services) -> bool:
    """Tell whether no webhook left a row."""
    return not any(row_counts(services).values())


def sign(path: str, params: Any, token: str = AUTH_TOKEN, base: str = PUBLIC) -> str:
    """Return Twilio's signature of a POST to one of our routes."""
    return RequestValidator(token).compute_signature(base + path, params)  # type: ignore[no-any-return]


def twilio_post(client, path: str, params: Any, signature: str | None, body: bytes | str | None = None, content_type: str = FORM):  # type: ignore[no-untyped-def]
    """POST a form (or a raw body) with the given X-Twilio-Signature (None: no header)."""
    pairs = list(params.items(multi=True)) if isinstance(params, MultiDict) else list(params.items())
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    data = body if body is not None else urlencode(pairs)
    return client.post(path, data=data, content_type=content_type, headers=headers, base_url=PUBLIC)


def inbound(route: str, sid: str = "SM" + "1" * 32, text: str = "hello") -> dict[str, str]:
    """Return a form Twilio would send to one of our routes."""
    if route.endswith("status"):
        return {"MessageSid": sid, "AccountSid": SID, "MessageStatus": "delivered", "To": "whatsapp:+919745786257"}
    sender = "whatsapp:+919745786257" if route.endswith("whatsapp") else "+919745786257"
    to = "whatsapp:+14155238886" if route.endswith("whatsapp") else "+15005550006"
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": SID, "From": sender, "To": to, "Body": text, "NumMedia": "0"}


# --- Twilio: what a valid signature must cover --------------------------------------------

def _tampered(route: str) -> list[Any]:
    """Return (label, form sent, form signed, URL signed, token) cases that must all be refused."""
    form = inbound(route)
    others = [r for r in ROUTES if r != route]
    cases = [
        ("missing", form, None, None, None),
        ("empty", form, "", None, None),
        ("garbage", form, "bm90IGEgc2lnbmF0dXJl", None, None),
        ("another-accounts-token", form, form, route, "0" * 32),
        ("param-added", {**form, "Body2": "x"}, form, route, None),
        ("param-removed", {k: v for k, v in form.items() if k != "AccountSid"}, form, route, None),
        ("value-changed", {**form, "MessageSid": "SM" + "2" * 32}, form, route, None),
        ("body-replaced", {**form, "Body": "STOP", "MessageStatus": "failed"}, form, route, None),
        ("http-not-https", form, form, route, "http"),
        ("another-host", form, form, route, "host"),
        ("with-a-query-we-did-not-get", form, form, route + "?x=1", None),
    ]
    cases += [(f"replayed-from-{other.rsplit('/', 1)[-1]}", form, form, other, None) for other in others]
    return [pytest.param(route, *case[1:], id=f"{route.rsplit('/', 1)[-1]}-{case[0]}") for case in cases]


def _signature(signed: Any, signed_path: str | None, variant: str | None) -> str | None:
    """Return the X-Twilio-Signature of a tampered case: as given (missing, empty, garbage), or computed as it says."""
    if signed is None or isinstance(signed, str):
        return signed
    token = variant if variant not in (None, "http", "host") else AUTH_TOKEN
    base = {"http": PUBLIC.replace("https:", "http:"), "host": "https://evil.example.org"}.get(variant or "", PUBLIC)
    return sign(signed_path, signed, token=token, base=base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("route", "sent", "signed", "signed_path", "variant"), [c for r in ROUTES for c in _tampered(r)])
def test_a_signature_not_made_for_exactly_this_request_does_not_verify(route, sent, signed, signed_path, variant) -> None:  # type: ignore[no-untyped-def]
    assert not verify_signature(AUTH_TOKEN, PUBLIC + route, MultiDict(sent), _signature(signed, signed_path, variant))
    assert verify_signature(AUTH_TOKEN, PUBLIC + route, MultiDict(sent), sign(route, sent))  # the same form, signed for it


@pytest.mark.parametrize(("route", "sent", "signed", "signed_path", "variant"), [c for r in ROUTES for c in _tampered(r)])
def test_a_twilio_request_not_signed_for_exactly_this_request_is_refused(client, every_channel, route, sent, signed, signed_path, variant) -> None:  # type: ignore[no-untyped-def]
    answer = twilio_post(client, route, sent, _signature(signed, signed_path, variant))
    assert answer.status_code == 403, answer.get_data(as_text=True)
    assert "Traceback" not in answer.get_data(as_text=True)
    assert nothing_written(every_channel)


@pytest.mark.parametrize("route", ROUTES)
def test_the_same_request_signed_correctly_is_accepted(client, every_channel, route: str) -> None:  # type: ignore[no-untyped-def]
    answer = twilio_post(client, route, inbound(route), sign(route, inbound(route)))
    assert answer.status_code == 200, answer.get_data(as_text=True)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("label", "body", "content_type"),
    [
        ("json", b'{"MessageSid": "SM1"}', "application/json"),
        ("not-utf-8", b"MessageSid=SM1&Body=%FF%FE", FORM),
        ("raw-bytes", b"\xff\xfe\x00\x01", FORM),
        ("broken-form", b"MessageSid=SM1&From", FORM),
        ("empty", b"", FORM),
        ("a-megabyte", b"Body=" + b"a" * (1 << 20), FORM),
    ],
)
def test_an_unsigned_request_is_refused_before_its_body_is_looked_at(client, every_channel, route: str, label: str, body: bytes, content_type: str) -> None:  # type: ignore[no-untyped-def]
    answer = twilio_post(client, route, {}, None, body=body, content_type=content_type)
    assert answer.status_code == 403, (label, answer.status_code)
    assert nothing_written(every_channel)


# --- Twilio: the shared signature vectors --------------------------------------------------

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "shared/testdata/twilio/signature/twilio_signature_vectors.json").read_text())
FORM_VECTORS = [v for v in VECTORS["vectors"] if v["params"]]


def _multidict(params: dict[str, Any]) -> MultiDict[str, str]:
    return MultiDict([(k, v) for k, values in params.items() for v in (values if isinstance(values, list) else [values])])


@pytest.mark.parametrize("vector", FORM_VECTORS, ids=[v["name"] for v in FORM_VECTORS])
@pytest.mark.parametrize("route", ROUTES)
def test_a_vectors_signature_is_good_only_for_its_own_url(client, every_channel, vector: dict, route: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    params = _multidict(vector["params"])
    assert RequestValidator(vector["auth_token"]).validate(vector["url"], params, vector["expected_signature"])
    # Twilio's genuine signature, for another URL and another account: replayed onto ours.
    refused = twilio_post(client, route, params, vector["expected_signature"])
    assert refused.status_code == 403
    # The same parameters (repeated keys included) signed for our URL pass the check; they are
    # no message, so the answer is 400 — the parser saw them only after the signature.
    passed = twilio_post(client, route, params, sign(route, params))
    assert passed.status_code in (200, 400), passed.get_data(as_text=True)
    assert nothing_written(every_channel)


@pytest.mark.parametrize("route", ROUTES[:2])
def test_repeated_keys_are_covered_by_the_signature(client, every_channel, route: str) -> None:  # type: ignore[no-untyped-def]
    form = MultiDict(list(inbound(route).items()) + [("Body", "second")])
    assert twilio_post(client, route, form, sign(route, form)).status_code in (200, 400)
    fewer = MultiDict(list(inbound(route, sid="SM" + "3" * 32).items()))
    more = MultiDict(list(fewer.items()) + [("Body", "STOP")])
    assert twilio_post(client, route, more, sign(route, fewer)).status_code == 403


# --- Telegram -------------------------------------------------------------------------------

def _update(update_id: int = 1, text: str = "/start") -> dict[str, Any]:
    chat = {"id": 7012345678, "first_name": "Sunita", "type": "private"}
    return {"update_id": update_id, "message": {"message_id": 1, "from": {"id": 7012345678, "is_bot": False, "first_name": "Sunita"},
                                                "chat": chat, "date": 1764590000, "text": text}}


WRONG_SECRETS = [
    pytest.param(None, id="missing"),
    pytest.param("", id="empty"),
    pytest.param(TELEGRAM_SECRET[:-1], id="prefix"),
    pytest.param(TELEGRAM_SECRET + "x", id="longer"),
    pytest.param(TELEGRAM_SECRET.upper(), id="case"),
    pytest.param(" " + TELEGRAM_SECRET, id="leading-space"),
    pytest.param(TELEGRAM_TOKEN, id="the-bot-token"),
    pytest.param(TELEGRAM_SECRET[:-1] + "é", id="non-ascii"),
]
BODIES = [
    pytest.param(json.dumps(_update()).encode(), "application/json", id="valid-update"),
    pytest.param(b"{not json", "application/json", id="broken-json"),
    pytest.param(b"[" * 100_000, "application/json", id="deeply-nested"),
    pytest.param(b"\xff\xfe", "text/plain", id="bytes"),
    pytest.param(b"x" * (1 << 20), "application/json", id="a-megabyte"),
]


@pytest.mark.parametrize("secret", WRONG_SECRETS)
def test_only_our_secret_verifies(secret: str | None) -> None:
    assert not verify_secret(secret or "", TELEGRAM_SECRET)  # a missing header reads as ""
    assert verify_secret(TELEGRAM_SECRET, TELEGRAM_SECRET)


@pytest.mark.parametrize(("body", "content_type"), BODIES)
@pytest.mark.parametrize("secret", WRONG_SECRETS)
def test_a_telegram_update_without_the_secret_is_refused_before_parsing(client, every_channel, secret: str | None, body: bytes, content_type: str) -> None:  # type: ignore[no-untyped-def]
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    answer = client.post("/webhooks/telegram", data=body, content_type=content_type, headers=headers)
    assert answer.status_code == 403
    assert nothing_written(every_channel)


def test_the_secret_elsewhere_than_its_header_is_refused(client, every_channel) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(_update())
    for where in ({"query_string": {"secret_token": TELEGRAM_SECRET}}, {"headers": {"Authorization": f"Bearer {TELEGRAM_SECRET}"}},
                  {"headers": {"X-Telegram-Bot-Api-Secret": TELEGRAM_SECRET}}):
        assert client.post("/webhooks/telegram", data=body, content_type="application/json", **where).status_code == 403, where
    assert nothing_written(every_channel)
    accepted = client.post("/webhooks/telegram", data=body, content_type="application/json", headers={SECRET_HEADER: TELEGRAM_SECRET})
    assert accepted.status_code == 200
