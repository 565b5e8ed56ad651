"""The Twilio channel's status callbacks (signed, parsed, recorded once, SMS fallback), and its logs.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.channels.base import (
    Ignored,
    Malformed,
)
from bot.channels.twilio import (
    StatusUpdate,
    mask,
    parse_status,
)
from bot.runtime import Services
from bot.store.models import DeliveryEvent, OutboxMessage, OutboxStatus
from tests.fakes.twilio_api import FakeTwilio
from tests.twilio_helpers import (  # noqa: F401  (fixtures)
    INDIAN,
    PARAM_SETS,
    SMS_FROM,
    TOKEN,
    WA_INDIAN,
    _count,
    _message,
    _post,
    _say,
    adapter,
    client,
    fake,
    services,
)

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
