"""Shared by the Twilio channel's tests (WhatsApp and SMS): the account, the numbers, a fake Twilio
REST API on 127.0.0.1 with services, an adapter and a web client pointed at it, and helpers that post
signed forms and look at the rows they leave. The fixtures here are used by being imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from bot.channels.twilio import TwilioChannel
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.platform.ratelimit import RateLimiter
from bot.runtime import Services, build_services
from bot.store.models import Identity
from tests.fakes.twilio_api import FakeTwilio
from webhooks import create_app

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


PARAM_SETS = {s["name"]: s["params"] for s in json.loads(
    (Path(__file__).resolve().parents[2] / "shared/testdata/twilio/inbound/chatwoot_twilio_param_sets.json").read_text()
)["sets"]}
WA_INDIAN = "whatsapp:" + INDIAN
