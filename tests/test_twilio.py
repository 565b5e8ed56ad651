"""The Twilio channel (WhatsApp and SMS): forms as case tables, the webhooks, what reaches the REST API, status callbacks.

Inbound cases come from ../shared/testdata/twilio (chatwoot's parameter sets, twilio-python's
signature vectors) and run through the adapter's parsers and the webhook's signature check
alone (pure functions: no app, no database); a few of each kind then go through the whole
webhook on the databases. Outbound cases assert the request that reached a fake Twilio API
on 127.0.0.1 through the real twilio Client.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import string
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from bot.channels.base import (
    Ignored,
    InboundMessage,
    Malformed,
    NeedsFallback,
    OutgoingChoice,
    OutgoingMessage,
    PermanentError,
    RateLimited,
    TemporaryError,
)
from bot.channels.sms_text import segments
from bot.channels.twilio import (
    MAX_BODY_UNITS,
    StatusUpdate,
    TwilioChannel,
    body_units,
    mask,
    parse_inbound,
    parse_status,
    render_sms,
)
from bot.outbox.template_keys import template_key
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.platform.ratelimit import RateLimiter
from bot.runtime import Services, build_services
from bot.store.models import DeliveryEvent, Identity, OutboxMessage, OutboxStatus
from bot.store.models import InboundMessage as InboundRow
from flows.messages import ByLanguage, Text, t
from flows.steps.booking import SEVERITY_LABELS
from flows.steps.visit import STAR_LABELS
from tests.fakes.twilio_api import FakeTwilio
from tests.test_sms_forms import FORMS, _worst_values
from webhooks import create_app
from webhooks.twilio import verify_signature

SID = "AC" + "0" * 32
TOKEN = "f" * 32
PUBLIC = "https://teleopd.example.org"
WA_FROM = "whatsapp:+14155238886"
SMS_FROM = "+15005550006"
INDIAN = "+919745786257"
STATUS_URL = PUBLIC + "/webhooks/twilio/status"
EMPTY_TWIML = str(MessagingResponse())

_sids = iter(range(1, 10**9))


def _sid() -> str:
    return f"SM{next(_sids):032x}"


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    """Run a fake Twilio REST API for one test."""
    with FakeTwilio(SID, TOKEN) as server:
        yield server


def _settings(db_url: str, fake: FakeTwilio, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        database_url=db_url, public_url=PUBLIC, twilio_account_sid=SID, twilio_auth_token=TOKEN,
        twilio_whatsapp_from=WA_FROM, twilio_sms_from=SMS_FROM, twilio_api_url=fake.url,
        # Far above what a test sends in a second: the rate test sets its own.
        twilio_whatsapp_mps=1000, twilio_sms_mps=1000,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def services(db, catalogs: Catalogs, fake: FakeTwilio) -> Services:  # type: ignore[no-untyped-def]
    """Return the runtime with both Twilio channels on, pointed at the fake API."""
    return build_services(_settings(db.url, fake), db=db, catalogs=catalogs)


@pytest.fixture
def adapter(fake: FakeTwilio, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Return a builder of a Twilio adapter pointed at the fake, with no database behind it."""

    def build(name: str = "whatsapp", **overrides: object) -> TwilioChannel:
        settings = _settings(f"sqlite:///{tmp_path / 'unused.db'}", fake, **overrides)
        return TwilioChannel.from_settings(settings, name, RateLimiter())

    return build


@pytest.fixture
def client(services: Services):  # type: ignore[no-untyped-def]
    """Return a Flask test client of the whole web app."""
    return create_app(services=services).test_client()


def _post(client, path: str, params: dict[str, str] | list[tuple[str, str]], *, signed_url: str | None = None,  # type: ignore[no-untyped-def]
          token: str = TOKEN, signature: str | None = None, query: str = "", base_url: str = PUBLIC, **kw):
    """POST a form as Twilio does, signed over the public URL unless told otherwise."""
    url = f"{PUBLIC}{path}{'?' + query if query else ''}"
    form = MultiDict(params)
    if signature is None:
        signature = RequestValidator(token).compute_signature(signed_url or url, form)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(
        f"{path}{'?' + query if query else ''}", data=urlencode(list(form.items(multi=True))),
        content_type="application/x-www-form-urlencoded", headers=headers, base_url=base_url, **kw,
    )


def _count(services: Services, model) -> int:  # type: ignore[no-untyped-def]
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _identity(services: Services, channel: str, address: str) -> Identity | None:
    with services.db.read() as session:
        return session.scalars(select(Identity).where(Identity.channel == channel, Identity.address == address)).first()


def _message(text: str = "Hello", sid: str | None = None, sender: str = "whatsapp:" + INDIAN, **extra: str) -> dict[str, str]:
    """Return an inbound message form with the fields Twilio always sends."""
    sid = sid or _sid()
    to = WA_FROM if sender.startswith("whatsapp:") else SMS_FROM
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": SID, "From": sender, "To": to, "Body": text, "NumMedia": "0", **extra}


def _say(client, services: Services, fake: FakeTwilio, text: str, channel: str = "whatsapp", address: str = INDIAN) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """Send one message in and return the requests that reached the fake Twilio API for it."""
    sender = f"whatsapp:{address}" if channel == "whatsapp" else address
    before = len(fake.requests)
    response = _post(client, f"/webhooks/twilio/{channel}", _message(text, sender=sender))
    assert response.status_code == 200, response.get_data(as_text=True)
    services.worker.drain()
    return [r.params for r in fake.requests[before:]]


# --- inbound: case tables over the shared parameter sets ------------------------------------

PARAM_SETS = {s["name"]: s["params"] for s in json.loads(
    (Path(__file__).resolve().parents[2] / "shared/testdata/twilio/inbound/chatwoot_twilio_param_sets.json").read_text()
)["sets"]}
WA_INDIAN = "whatsapp:" + INDIAN
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


# --- outbound through the adapter -----------------------------------------------------------------


def test_services_carry_both_twilio_channels(services: Services) -> None:
    assert {n: type(services.channels[n]) for n in ("whatsapp", "sms")} == {"whatsapp": TwilioChannel, "sms": TwilioChannel}
    assert (services.channels["whatsapp"].from_, services.channels["sms"].from_) == (WA_FROM, SMS_FROM)  # type: ignore[attr-defined]


def test_more_than_ten_choices_continue_their_numbers(adapter, fake: FakeTwilio) -> None:
    choices = tuple(OutgoingChoice(f"k{n}", f"Option {n}") for n in range(1, 24))
    result = adapter().send(WA_INDIAN, OutgoingMessage("Pick one", choices), 1)
    bodies = [r["Body"] for r in fake.sent()]
    assert result.parts == 3 and result.provider_id == fake.requests[0].sid
    assert bodies[0] == "Pick one\n\n" + "\n".join(f"{n}. Option {n}" for n in range(1, 11))
    assert bodies[1] == "\n".join(f"{n}. Option {n}" for n in range(11, 21))
    assert bodies[2] == "\n".join(f"{n}. Option {n}" for n in range(21, 24))


@pytest.mark.parametrize(
    ("sentence", "end"),
    [pytest.param("Drink clean water and rest well today. ", ".", id="english"), pytest.param("साफ़ पानी पिएँ और आज आराम करें। ", "।", id="hindi")],
)
def test_long_text_splits_at_sentences(adapter, fake: FakeTwilio, sentence: str, end: str) -> None:
    text = (sentence * 150).strip()
    assert len(text) > 4096
    result = adapter().send(WA_INDIAN, OutgoingMessage(text, (OutgoingChoice("ok", "OK"),)), 2)
    bodies = [r["Body"] for r in fake.sent()]
    assert result.parts == len(bodies) >= 3
    assert all(body_units(b) <= MAX_BODY_UNITS for b in bodies)
    assert all(b.endswith(end) for b in bodies[:-1]) and bodies[-1].endswith("1. OK")
    texts = [b.removesuffix("\n\n1. OK") for b in bodies if b != "1. OK"]
    assert " ".join(texts) == text


OFFER_SMS = "{opd} opens next on {date} at {time}. Book then?\n1 Yes 2 Other OPD 3 No"
RATING_SMS = "Your consultation is over. How was it? Reply 1-5 (5 = very good)."


def _sms_choice_sets(catalogs: Catalogs, lang: str) -> dict[str, tuple[str, ...]]:
    """Return the choices the flows offer under an SMS form, as the patient reads them."""
    labels = lambda *texts: tuple(catalogs.format_value(x, lang) for x in texts)  # noqa: E731
    dependents = tuple(ByLanguage(en="Ramachandran Venkataraghavan Subramaniam Iyer " * 2, hi="रामचंद्रन वेंकटराघवन सुब्रमण्यम अय्यर " * 2) for _ in range(6))
    return {
        "Who is the patient?": labels(t("Myself"), *dependents, t("My child"), t("Another family member")),
        "How bad is it? 1 mild 2 moderate 3 severe": labels(*SEVERITY_LABELS.values()),
        "Book a token at {opd}?": labels(t("Yes, book a token"), t("Choose another OPD")),
        "Cancel token {number}, {opd}?": labels(t("Yes, cancel it"), t("No, keep it")),
        OFFER_SMS: labels(t("Yes, book for then"), t("Choose another OPD"), t("No, not now")),
        RATING_SMS: labels(*STAR_LABELS.values()),
    }


def _sms_body(catalogs: Catalogs, msgid: str, lang: str) -> tuple[str, str, int]:
    """Return an SMS form with its longest values, the body sent with its choices, and how many choices."""
    worst = _worst_values(catalogs, lang)
    names = {name for _, name, _, _ in string.Formatter().parse(msgid) if name}
    text = catalogs.translate(Text(msgid, tuple(sorted((k, v) for k, v in worst.items() if k in names))), lang)
    choices = tuple(OutgoingChoice(str(n), label) for n, label in enumerate(_sms_choice_sets(catalogs, lang).get(msgid, ()), 1))
    return text, render_sms(OutgoingMessage(text, choices)), len(choices)


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_every_sms_with_its_choices_fits_two_segments(catalogs: Catalogs, lang: str) -> None:
    assert set(_sms_choice_sets(catalogs, lang)) <= set(FORMS), "the table names SMS forms that exist"
    for msgid in FORMS:
        text, body, count = _sms_body(catalogs, msgid, lang)
        assert segments(body) <= 2, f"{segments(body)} segments: {body!r}"
        assert body.startswith(text)
        if count and body != text:  # else the form names its numbered answers itself ("Reply 1-5")
            assert all(str(n) in body[len(text):] for n in range(1, count + 1)), body


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("msgid", [OFFER_SMS, RATING_SMS, "How bad is it? 1 mild 2 moderate 3 severe"])
def test_an_sms_that_numbers_its_answers_goes_as_written(catalogs: Catalogs, msgid: str, lang: str) -> None:
    """No second list under "1 हाँ 2 दूसरी ओपीडी 3 नहीं" or "1 से 5 भेजें": cut to fit, "नहीं, अभी नहीं" read "नहीं, अभी" (no, now)."""
    text, body, _ = _sms_body(catalogs, msgid, lang)
    assert body == text


def test_sms_carries_its_dlt_template_id(adapter, fake: FakeTwilio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    msgid = "Book a token at {opd}?"
    (tmp_path / "sms.json").write_text(json.dumps({template_key(msgid): "1107161234567890123"}))
    message = OutgoingMessage(
        "Book a token at General Medicine?", (OutgoingChoice("book", "Yes, book a token"), OutgoingChoice("other", "Choose another OPD")),
        template=template_key(msgid),
    )
    result = adapter("sms", sms_templates_file=str(tmp_path / "sms.json")).send(INDIAN, message, 3)
    (sent,) = fake.sent()
    assert sent["Body"] == "Book a token at General Medicine?\n1 Yes, book a token\n2 Choose another OPD"
    assert (sent["To"], sent["From"], sent["StatusCallback"]) == (INDIAN, SMS_FROM, STATUS_URL)
    assert segments(sent["Body"]) <= 2 and result.detail["dlt_template_id"] == "1107161234567890123"


def _templated(adapter, tmp_path: Path) -> tuple[TwilioChannel, str]:  # type: ignore[no-untyped-def]
    key = template_key("Get ready: you are 3rd in the queue (token {number}).")
    (tmp_path / "wa.json").write_text(json.dumps({key: {"content_sid": "HX" + "a" * 32, "variables": ["number"]}}))
    return adapter("whatsapp", whatsapp_templates_file=str(tmp_path / "wa.json")), key


def test_outside_the_window_a_template_is_sent(adapter, fake: FakeTwilio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    channel, key = _templated(adapter, tmp_path)
    message = OutgoingMessage("Get ready: token 42.", template=key, variables=(("number", "42"),), session_open=False)
    result = channel.send(WA_INDIAN, message, 4)
    (sent,) = fake.sent()
    assert sent["ContentSid"] == "HX" + "a" * 32 and json.loads(sent["ContentVariables"]) == {"1": "42"}
    assert "Body" not in sent and result.detail["content_sid"] == "HX" + "a" * 32


def test_outside_the_window_without_a_template_needs_fallback(adapter, fake: FakeTwilio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    channel, _key = _templated(adapter, tmp_path)
    with pytest.raises(NeedsFallback) as caught:
        channel.send(WA_INDIAN, OutgoingMessage("Hi", template="m0000000000", session_open=False), 5)
    assert caught.value.code == "no_template" and fake.requests == []


@pytest.mark.parametrize(
    ("program", "error", "code"),
    [
        pytest.param(lambda f: f.fail_next(1, 429), TemporaryError, "20429", id="429"),
        pytest.param(lambda f: f.fail_next(1, 500), TemporaryError, "20500", id="500"),
        pytest.param(lambda f: f.fail_next(1, 503), TemporaryError, "20503", id="503"),
        pytest.param(lambda f: f.fail_recipient(WA_INDIAN, 21610), PermanentError, "21610", id="unsubscribed"),
        pytest.param(lambda f: f.fail_recipient(WA_INDIAN, 63016), NeedsFallback, "63016", id="outside-window"),
        pytest.param(lambda f: f.fail_recipient(WA_INDIAN, 21211), PermanentError, "21211", id="invalid-number"),
        pytest.param(lambda f: f.fail_recipient(WA_INDIAN, 21614), PermanentError, "21614", id="landline"),
    ],
)
def test_send_errors_are_classified(adapter, fake: FakeTwilio, program, error: type, code: str) -> None:  # type: ignore[no-untyped-def]
    program(fake)
    with pytest.raises(error) as caught:
        adapter().send(WA_INDIAN, OutgoingMessage("Hi"), 6)
    assert caught.value.code == code
    assert caught.value.opted_out == (code == "21610") and caught.value.fallback == (code == "63016")
    assert INDIAN not in str(caught.value)


def test_unreachable_api_is_temporary(adapter, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    with FakeTwilio(SID, TOKEN) as gone:
        url = gone.url
    with pytest.raises(TemporaryError) as caught:
        adapter("sms", twilio_api_url=url).send(INDIAN, OutgoingMessage("Hi"), 7)
    assert caught.value.code == "connection"


def test_bad_credentials_are_permanent_and_logged_without_the_token(adapter, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.DEBUG), pytest.raises(PermanentError) as caught:
        adapter("sms", twilio_auth_token="e" * 32).send(INDIAN, OutgoingMessage("Hi"), 8)
    assert caught.value.code == "20003" and not caught.value.retryable
    assert "TWILIO_AUTH_TOKEN" in caplog.text and "e" * 32 not in caplog.text and INDIAN not in caplog.text


def test_a_message_in_parts_resumes_after_a_failed_part(adapter, fake: FakeTwilio) -> None:
    channel = adapter()
    message = OutgoingMessage("Pick one", tuple(OutgoingChoice(f"k{n}", f"Option {n}") for n in range(1, 24)))
    fake.fail_next(1, 503, after=1)  # the second part fails
    with pytest.raises(TemporaryError):
        channel.send(WA_INDIAN, message, 9)
    result = channel.send(WA_INDIAN, message, 9)
    bodies = [r["Body"] for r in fake.sent()]
    assert result.parts == 3 and len(bodies) == 3 and bodies[1].startswith("11. ")
    assert result.provider_id == fake.requests[0].sid


def test_sends_keep_to_the_senders_rate(adapter, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    channel = adapter("sms", twilio_sms_mps=4)
    sent = 0
    while sent < 7:
        try:
            channel.send(INDIAN, OutgoingMessage(f"Message {sent}"), 100 + sent)
            sent += 1
        except RateLimited as exc:
            time.sleep(exc.retry_after or 0.05)
    assert fake.max_per_second(SMS_FROM) == 4


# --- the worker with the real adapter ----------------------------------------------------------


def _queued(services: Services, address: str) -> list[OutboxMessage]:
    with services.db.read() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.address == address).order_by(OutboxMessage.id)))


@pytest.mark.parametrize("status", [429, 500])
def test_temporary_errors_are_retried_by_the_worker(client, services: Services, fake: FakeTwilio, status: int) -> None:  # type: ignore[no-untyped-def]
    fake.fail_next(1, status)
    assert _post(client, "/webhooks/twilio/whatsapp", _message("hello")).status_code == 200
    services.worker.drain()
    first, *later = _queued(services, WA_INDIAN)
    assert (first.status, first.error_code, first.attempts) == (OutboxStatus.PENDING, str(20429 if status == 429 else 20500), 1)
    assert all(r.status == OutboxStatus.PENDING for r in later), "the rest wait behind it, in order"
    with services.db.write() as session:  # the backoff has passed
        session.execute(update(OutboxMessage).values(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    services.worker.drain()
    rows = _queued(services, WA_INDIAN)
    assert all(r.status == OutboxStatus.SENT for r in rows)
    assert rows[0].provider_id == fake.requests[1].sid
    assert fake.counts_by_recipient()[WA_INDIAN] == len(rows) + 1


def test_unsubscribed_recipient_is_opted_out(client, services: Services, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    fake.fail_recipient(INDIAN, 21610)
    assert _post(client, "/webhooks/twilio/sms", _message("hello", sender=INDIAN)).status_code == 200
    services.worker.drain()
    row = _queued(services, INDIAN)[0]
    assert (row.status, row.error_code) == (OutboxStatus.FAILED, "21610")
    assert _identity(services, "sms", INDIAN).opted_out


def test_outside_the_window_without_a_template_the_worker_sends_sms(client, services: Services, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    assert _post(client, "/webhooks/twilio/whatsapp", _message("hello")).status_code == 200
    with services.db.write() as session:  # the patient wrote two days ago
        session.execute(update(Identity).values(last_inbound_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)))
    services.worker.drain()
    assert all(r["To"] == INDIAN and r["From"] == SMS_FROM for r in fake.sent()) and fake.sent()
    assert {r.status for r in _queued(services, WA_INDIAN)} <= {OutboxStatus.REROUTED, OutboxStatus.FAILED}


# --- status callbacks -----------------------------------------------------------------------------


def _sent_sid(client, services: Services, fake: FakeTwilio) -> str:  # type: ignore[no-untyped-def]
    _say(client, services, fake, "hello")
    return fake.requests[-1].sid  # type: ignore[return-value]


def _status(client, fake: FakeTwilio, sid: str, status: str, error_code: str | None = None, **kw):  # type: ignore[no-untyped-def]
    return _post(client, "/webhooks/twilio/status", fake.status_form(sid, status, error_code), **kw)


def _row_by_sid(services: Services, sid: str) -> OutboxMessage:
    with services.db.read() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.provider_id == sid)).one()


@pytest.mark.both_databases
def test_status_callbacks_update_the_row_once_and_never_move_back(client, services: Services, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    sid = _sent_sid(client, services, fake)
    assert _status(client, fake, sid, "delivered").status_code == 200
    assert _status(client, fake, sid, "delivered").status_code == 200  # a retry of the same callback
    assert _status(client, fake, sid, "sent").status_code == 200  # late, out of order
    row = _row_by_sid(services, sid)
    assert (row.status, row.provider_status) == (OutboxStatus.DELIVERED, "delivered")
    assert _count(services, DeliveryEvent) == 2


def test_status_callback_with_bad_signature_is_refused(client, services: Services, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    sid = _sent_sid(client, services, fake)
    assert _status(client, fake, sid, "delivered", token="0" * 32).status_code == 403
    assert _status(client, fake, sid, "delivered", signature="").status_code == 403
    assert _count(services, DeliveryEvent) == 0 and _row_by_sid(services, sid).provider_status is None


@pytest.mark.both_databases
def test_failed_whatsapp_message_falls_back_to_sms(client, services: Services, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    sid = _sent_sid(client, services, fake)
    assert _status(client, fake, sid, "undelivered", "63016").status_code == 200
    services.worker.drain()
    assert _row_by_sid(services, sid).status == OutboxStatus.REROUTED
    (copy,) = [r for r in fake.sent() if r["To"] == INDIAN]
    assert copy["From"] == SMS_FROM and "Which language" in copy["Body"]


STATUS_CASES = [
    ("status-read", "status_read"),
    ("status-delivered", "status_delivered"),
    ("status-failed", "status_failed"),
    ("status-failed-with-error-code", "status_failed_with_error_code_and_message"),
    ("status-failed-error-code-only", "status_failed_error_code_only"),
]


@pytest.mark.parametrize("name", [pytest.param(c[1], id=c[0]) for c in STATUS_CASES])
def test_status_parameter_sets_parse(name: str) -> None:
    params = PARAM_SETS[name]
    assert parse_status(params) == StatusUpdate(params["MessageSid"], params["MessageStatus"], params.get("ErrorCode"))


def test_a_status_parameter_set_is_recorded(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    params = PARAM_SETS["status_failed_with_error_code_and_message"]
    assert _post(client, "/webhooks/twilio/status", params).status_code == 200
    with services.db.read() as session:
        event = session.scalars(select(DeliveryEvent)).one()  # a message we did not send: recorded, nothing else
    assert (event.provider_id, event.status, event.error_code, event.outbox_id) == (params["MessageSid"], params["MessageStatus"], params.get("ErrorCode"), None)


MALFORMED_STATUS = [
    pytest.param({"MessageStatus": "delivered"}, 400, id="no-message-sid"),
    pytest.param({"MessageSid": "SM" + "1" * 32}, 400, id="no-status"),
    pytest.param({"MessageSid": "SM" + "1" * 32, "MessageStatus": "teleported"}, 200, id="unknown-status-ignored"),
]


@pytest.mark.parametrize(("form", "code"), MALFORMED_STATUS)
def test_malformed_status_callbacks_parse(form: dict, code: int) -> None:  # type: ignore[type-arg]
    if code == 400:
        with pytest.raises(Malformed):
            parse_status(form)
    else:
        assert isinstance(parse_status(form), Ignored)


@pytest.mark.parametrize(("form", "code"), MALFORMED_STATUS)
def test_malformed_status_callbacks(client, services: Services, form: dict, code: int) -> None:  # type: ignore[no-untyped-def,type-arg]
    assert _post(client, "/webhooks/twilio/status", form).status_code == code
    assert _count(services, DeliveryEvent) == 0


# --- logs -----------------------------------------------------------------------------------------


def test_logs_carry_no_full_number_and_no_token(client, services: Services, fake: FakeTwilio, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.DEBUG):
        _say(client, services, fake, "hello")
        _post(client, "/webhooks/twilio/whatsapp", _message(sender="whatsapp:IN.2081978709342942"))
        _post(client, "/webhooks/twilio/sms", _message(sender=INDIAN), signature="bad")
    assert caplog.text and INDIAN not in caplog.text and INDIAN[1:] not in caplog.text and TOKEN not in caplog.text
    assert mask(WA_INDIAN) == "whatsapp:+91******6257"
