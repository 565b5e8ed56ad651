"""The Twilio channel inbound (WhatsApp and SMS): forms as case tables, signatures, commands, whole turns.

Inbound cases come from ../shared/testdata/twilio (chatwoot's parameter sets, twilio-python's
signature vectors) and run through the adapter's parsers and the webhook's signature check
alone (pure functions: no app, no database); a few of each kind then go through the whole
webhook on the databases. STOP, START and HELP in English and Hindi, and whole turns: a
message in, the request that reached a fake Twilio API on 127.0.0.1 out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from bot.channels.base import (
    Ignored,
    InboundMessage,
    Malformed,
)
from bot.channels.twilio import parse_inbound
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.store.models import Identity, OutboxMessage, OutboxStatus
from bot.store.models import InboundMessage as InboundRow
from tests.fakes.twilio_api import FakeTwilio
from tests.twilio_helpers import (  # noqa: F401  (fixtures)
    EMPTY_TWIML,
    INDIAN,
    PARAM_SETS,
    PUBLIC,
    SMS_FROM,
    STATUS_URL,
    TOKEN,
    WA_FROM,
    WA_INDIAN,
    _count,
    _identity,
    _message,
    _post,
    _say,
    _settings,
    adapter,
    client,
    fake,
    services,
)
from webhooks import create_app
from webhooks.twilio import verify_signature

# --- inbound: case tables over the shared parameter sets ------------------------------------


INBOUND_CASES = [
    # (id, parameter set, endpoint, fields replaced, expected outcome, inbound kind)
    ("sms-short-code-sender-ignored", "sms_basic_messaging_service", "sms", {}, "ignored", None),
    ("sms-indian-sender", "sms_basic_messaging_service", "sms", {"From": INDIAN}, "handled", "text"),
    ("sms-nul-bytes-stripped", "sms_null_bytes_in_body", "sms", {"From": INDIAN}, "handled", "text"),
    ("sms-no-body-field", "sms_no_body_field", "sms", {"From": INDIAN}, "handled", "text"),
    ("sms-to-phone-number", "sms_to_phone_number", "sms", {"From": INDIAN}, "handled", "text"),
    ("mms-one-image", "mms_one_image", "sms", {"From": INDIAN}, "handled", "media"),
    ("mms-twilio-hosted-media", "mms_twilio_hosted_media", "sms", {"From": INDIAN}, "handled", "media"),
    ("mms-internal-url-never-fetched", "mms_media_url_internal_address_ssrf", "sms", {"From": INDIAN}, "handled", "media"),
    ("mms-two-media", "mms_two_media_no_text_type_mismatch", "sms", {"From": INDIAN}, "handled", "media"),
    ("whatsapp-location", "whatsapp_location_no_body", "whatsapp", {"From": WA_INDIAN}, "handled", "location"),
    ("whatsapp-profile-name", "whatsapp_profile_name", "whatsapp", {"From": WA_INDIAN}, "handled", "text"),
    ("whatsapp-blank-profile-name", "whatsapp_blank_profile_name", "whatsapp", {"From": WA_INDIAN}, "handled", "text"),
    ("whatsapp-non-ascii-profile-name", "whatsapp_non_ascii_profile_name", "whatsapp", {}, "handled", "text"),
    ("whatsapp-indian-phone-and-bsuid", "whatsapp_indian_phone_plus_bsuid", "whatsapp", {}, "handled", "text"),
    ("whatsapp-ctwa-referral", "whatsapp_ctwa_referral", "whatsapp", {}, "handled", "text"),
    ("whatsapp-bsuid-only-ignored", "whatsapp_bsuid_only_india_no_phone", "whatsapp", {}, "ignored", None),
    ("whatsapp-sender-without-prefix-ignored", "whatsapp_profile_name", "whatsapp", {}, "ignored", None),
    ("whatsapp-address-on-sms-webhook-ignored", "whatsapp_indian_phone_plus_bsuid", "sms", {}, "ignored", None),
    ("sms-number-on-whatsapp-webhook-ignored", "sms_basic_messaging_service", "whatsapp", {"From": INDIAN}, "ignored", None),
    ("no-message-sid-malformed", "sms_basic_messaging_service", "sms", {"From": INDIAN, "SmsSid": None}, "malformed", None),
    ("junk-message-sid-malformed", "sms_basic_messaging_service", "sms", {"From": INDIAN, "SmsSid": "SM<x>"}, "malformed", None),
    ("no-from-malformed", "sms_basic_messaging_service", "sms", {"From": None}, "malformed", None),
]


def _case_params(name: str, replace: dict) -> dict[str, str]:  # type: ignore[type-arg]
    """Return a shared parameter set with some fields replaced (None: left out)."""
    return {k: v for k, v in {**PARAM_SETS[name], **replace}.items() if v is not None}


@pytest.mark.parametrize(("name", "endpoint", "replace", "expected", "kind"), [pytest.param(*c[1:], id=c[0]) for c in INBOUND_CASES])
def test_inbound_forms_parse(name: str, endpoint: str, replace: dict, expected: str, kind: str | None) -> None:  # type: ignore[type-arg]
    params = _case_params(name, replace)
    if expected == "malformed":
        with pytest.raises(Malformed):
            parse_inbound(endpoint, params)
        return
    parsed = parse_inbound(endpoint, params)
    if expected == "ignored":
        assert isinstance(parsed, Ignored), parsed
        return
    assert isinstance(parsed, InboundMessage), parsed
    number = params["From"].removeprefix("whatsapp:")
    assert (parsed.channel, parsed.address, parsed.channel_phone, parsed.kind) == (endpoint, params["From"], number, kind)
    assert parsed.provider_id == params.get("MessageSid", params.get("SmsSid"))
    assert parsed.text == params.get("Body", "").replace("\x00", "")


WEBHOOK_CASES = ("sms-nul-bytes-stripped", "mms-one-image", "whatsapp-location", "whatsapp-bsuid-only-ignored", "no-from-malformed")


@pytest.mark.parametrize(("name", "endpoint", "replace", "expected", "kind"), [pytest.param(*c[1:], id=c[0]) for c in INBOUND_CASES if c[0] in WEBHOOK_CASES])
def test_inbound_cases(client, services: Services, name: str, endpoint: str, replace: dict, expected: str, kind: str | None) -> None:  # type: ignore[no-untyped-def]
    params = _case_params(name, replace)
    response = _post(client, f"/webhooks/twilio/{endpoint}", params)
    inbound, outbox = _count(services, InboundRow), _count(services, OutboxMessage)
    if expected == "malformed":
        assert response.status_code == 400
        assert (inbound, outbox) == (0, 0)
        return
    assert response.status_code == 200
    assert response.mimetype == "text/xml" and response.get_data(as_text=True) == EMPTY_TWIML
    if expected == "ignored":
        assert (inbound, outbox) == (0, 0)
        return
    assert inbound == 1 and outbox >= 1, "handled, and a reply queued"
    with services.db.read() as session:
        row = session.scalars(select(InboundRow)).one()
        identity = session.get(Identity, row.identity_id)
        assert row.kind == kind
        assert row.provider_id == params.get("MessageSid", params.get("SmsSid"))
        assert row.length == len(params.get("Body", "").replace("\x00", ""))
        number = params["From"].removeprefix("whatsapp:")
        assert (identity.channel, identity.address, identity.phone) == (endpoint, params["From"], number)


def test_unknown_parameters_are_signed_and_accepted(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    response = _post(client, "/webhooks/twilio/whatsapp", _message(NewField2031="x", ChannelMetadata='{"a": 1}'))
    assert response.status_code == 200 and _count(services, InboundRow) == 1


@pytest.mark.both_databases
def test_duplicate_message_sid_is_processed_once(client, services: Services, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    form = _message("hello")
    assert _post(client, "/webhooks/twilio/whatsapp", form).status_code == 200
    replies = _count(services, OutboxMessage)
    assert _post(client, "/webhooks/twilio/whatsapp", form).status_code == 200
    assert (_count(services, InboundRow), _count(services, OutboxMessage)) == (1, replies)
    services.worker.drain()
    assert fake.counts_by_recipient()[WA_INDIAN] == replies


# --- signatures -----------------------------------------------------------------------------

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "shared/testdata/twilio/signature/twilio_signature_vectors.json").read_text())


def _vector_params(vector: dict) -> object:  # type: ignore[type-arg]
    if "bodySHA256=" in vector["url"]:
        return VECTORS["body"] if VECTORS["body_sha256"] in vector["url"] else VECTORS["empty_body"]
    return MultiDict([(k, v) for k, values in vector["params"].items() for v in (values if isinstance(values, list) else [values])])


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=[v["name"] for v in VECTORS["vectors"]])
def test_signature_vectors(vector: dict) -> None:  # type: ignore[type-arg]
    params = _vector_params(vector)
    assert verify_signature(vector["auth_token"], vector["url"], params, vector["expected_signature"])
    tampered = vector["expected_signature"][:-2] + ("A=" if not vector["expected_signature"].endswith("A=") else "B=")
    assert not verify_signature(vector["auth_token"], vector["url"], params, tampered)
    assert not verify_signature("54321", vector["url"], params, vector["expected_signature"])


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        pytest.param({}, 200, id="valid"),
        pytest.param({"signature": ""}, 403, id="missing-signature"),
        pytest.param({"signature": "bm90IGEgc2lnbmF0dXJl"}, 403, id="bad-signature"),
        pytest.param({"token": "0" * 32}, 403, id="another-accounts-token"),
        pytest.param({"signed_url": "http://teleopd.example.org/webhooks/twilio/whatsapp"}, 403, id="http-instead-of-https"),
        pytest.param({"signed_url": "https://teleopd.example.org:443/webhooks/twilio/whatsapp"}, 200, id="explicit-port-443"),
        pytest.param({"base_url": "http://127.0.0.1:8000"}, 200, id="behind-a-tls-proxy"),
        pytest.param({"query": "tenant=7"}, 200, id="query-string-signed"),
        pytest.param({"query": "tenant=7", "signed_url": PUBLIC + "/webhooks/twilio/whatsapp"}, 403, id="query-string-dropped"),
        pytest.param({"signed_url": PUBLIC + "/webhooks/twilio/sms"}, 403, id="signed-for-another-path"),
    ],
)
def test_signature_checks(client, services: Services, kwargs: dict, status: int) -> None:  # type: ignore[no-untyped-def,type-arg]
    response = _post(client, "/webhooks/twilio/whatsapp", _message(), **kwargs)
    assert response.status_code == status
    assert _count(services, InboundRow) == (1 if status == 200 else 0)


def test_signature_covers_every_parameter(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    form = _message("hello")
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/webhooks/twilio/whatsapp", form)
    response = _post(client, "/webhooks/twilio/whatsapp", {**form, "Body": "STOP"}, signature=signature)
    assert response.status_code == 403 and _count(services, InboundRow) == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param('{"MessageSid": "SM1"}', "application/json", id="json-body"),
        pytest.param("MessageSid=SM1", "text/plain", id="plain-text"),
        pytest.param("MessageSid=SM1&From", "application/x-www-form-urlencoded", id="field-without-value"),
        pytest.param("MessageSid=SM1&Body=%FF%FE", "application/x-www-form-urlencoded", id="not-utf-8"),
    ],
)
def test_bodies_that_are_not_twilio_forms(client, services: Services, body: str, content_type: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/webhooks/twilio/sms", data=body, content_type=content_type, headers={"X-Twilio-Signature": "x"}, base_url=PUBLIC)
    assert response.status_code == 400 and _count(services, InboundRow) == 0


def test_a_channel_that_is_off_is_not_found(db, catalogs: Catalogs, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    services = build_services(_settings(db.url, fake, twilio_sms_from=None), db=db, catalogs=catalogs)
    client = create_app(services=services).test_client()
    assert _post(client, "/webhooks/twilio/sms", _message(sender=INDIAN)).status_code == 404
    assert _post(client, "/webhooks/twilio/whatsapp", _message()).status_code == 200
    off = create_app(services=build_services(Settings(database_url=db.url), db=db, catalogs=catalogs)).test_client()
    assert off.post("/webhooks/twilio/status", data={"MessageSid": "SM1"}).status_code == 404


# --- commands in English and Hindi ------------------------------------------------------------


@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
@pytest.mark.parametrize(("stop", "start"), [pytest.param("STOP", "START", id="english"), pytest.param("संदेश बंद करो", "शुरू", id="hindi")])
def test_stop_and_start(client, services: Services, fake: FakeTwilio, channel: str, stop: str, start: str) -> None:  # type: ignore[no-untyped-def]
    address = f"whatsapp:{INDIAN}" if channel == "whatsapp" else INDIAN
    _say(client, services, fake, "hello", channel)
    _say(client, services, fake, stop, channel)
    assert _identity(services, channel, address).opted_out
    _say(client, services, fake, start, channel)
    assert not _identity(services, channel, address).opted_out


@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
@pytest.mark.parametrize(("word", "expected"), [pytest.param("HELP", "108", id="english"), pytest.param("मदद", "108", id="hindi")])
def test_help(client, services: Services, fake: FakeTwilio, channel: str, word: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    _say(client, services, fake, "hello", channel)
    sent = _say(client, services, fake, word, channel)
    assert sent and any(expected in r["Body"] for r in sent)


# --- whole turns: a message in, the request that reached Twilio out ----------------------------


@pytest.mark.parametrize(
    ("channel", "language", "answer", "question", "numbered"),
    [
        pytest.param("whatsapp", "en", "1", "Do you agree?", "\n\n1. ", id="whatsapp-english"),
        pytest.param("whatsapp", "hi", "2", "क्या आप सहमत हैं?", "\n\n1. ", id="whatsapp-hindi"),
        pytest.param("sms", "en", "1", "Do you agree?", "\n1 ", id="sms-english"),
        pytest.param("sms", "hi", "2", "क्या आप सहमत हैं?", "\n1 ", id="sms-hindi"),
    ],
)
def test_a_turn_reaches_twilio(client, services: Services, fake: FakeTwilio, channel: str, language: str, answer: str, question: str, numbered: str) -> None:  # type: ignore[no-untyped-def]
    to, from_ = (f"whatsapp:{INDIAN}", WA_FROM) if channel == "whatsapp" else (INDIAN, SMS_FROM)
    *_greeting, first = _say(client, services, fake, "hello", channel)
    assert (first["To"], first["From"], first["StatusCallback"]) == (to, from_, STATUS_URL)
    assert "Which language" in first["Body"]
    assert ("1. English\n2. हिन्दी" if channel == "whatsapp" else "1 English\n2 हिन्दी") in first["Body"]
    sent = _say(client, services, fake, answer, channel)
    assert any(question in r["Body"] and numbered in r["Body"] for r in sent), sent
    assert _identity(services, channel, to).language == language
    with services.db.read() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.address == to)).all()
        assert all(r.status == OutboxStatus.SENT and r.provider_id.startswith("SM") for r in rows)
