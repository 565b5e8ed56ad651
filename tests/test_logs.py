"""Logs: JSON lines with a request id on every line of a request, and no secret or phone number in them.

The log output is the real one: bot.platform.logs' handler on the root logger, writing to a buffer,
while a real webhook request runs through the Flask test client and a real PTB Bot call
reaches the fake Bot API (tests/fakes/telegram_api.py) with httpx logging at INFO. Phone
numbers and update payloads come from ../shared/testdata.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from bot.platform.config import Settings
from bot.platform.logs import (
    REQUEST_ID_HEADER,
    build_handler,
    configure_logging,
    current_request_id,
    log_context,
    redact,
    sane_request_id,
)
from bot.runtime import Services, build_services
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from webhooks import create_app

TELEGRAM_TOKEN = "123456789:AAHd8Qx-Z_kL0pQrStUvWxYz0123456789ab"
TELEGRAM_SECRET = "wh_secret-Token42"
SID = "AC" + "0123456789abcdef" * 2
AUTH = "a1b2c3d4" * 4
METRICS_TOKEN = "metrics-token-0123456789"
PUBLIC = "https://teleopd.example.org"
UUID_HEX = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def chatwoot_indian(testdata) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Return chatwoot's WhatsApp message from an Indian number (whatsapp:+919745786257)."""
    sets = json.loads((testdata / "twilio" / "inbound" / "chatwoot_twilio_param_sets.json").read_text("utf-8"))
    params = next(s["params"] for s in sets["sets"] if s["params"].get("From") == "whatsapp:+919745786257")
    return {k: v for k, v in params.items() if k not in ("MessagingServiceSid", "ExternalUserId")}


@pytest.fixture
def telegram_text_update(testdata) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Return a real private text update (teloxide's sample)."""
    path = testdata / "telegram" / "teloxide" / "samples"
    for sample in sorted(path.glob("*.json")):
        update = json.loads(sample.read_text("utf-8"))
        message = update.get("message") if isinstance(update, dict) else None
        if message and message.get("chat", {}).get("type") == "private" and message.get("text"):
            return update
    raise AssertionError("no private text update in the teloxide samples")


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, AUTH) as server:
        yield server


@pytest.fixture
def settings(db, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        database_url=db.url, public_url=PUBLIC,
        telegram_token=TELEGRAM_TOKEN, telegram_secret=TELEGRAM_SECRET, telegram_api_url=fake_telegram.base_url,
        twilio_account_sid=SID, twilio_auth_token=AUTH, twilio_whatsapp_from="whatsapp:+14155238886",
        twilio_sms_from="+15005550006", twilio_api_url=fake_twilio.url, metrics_token=METRICS_TOKEN,
        twilio_whatsapp_mps=1000, twilio_sms_mps=1000,
    )


@pytest.fixture
def services(db, catalogs, settings: Settings) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    services = build_services(settings, db=db, catalogs=catalogs)
    yield services
    services.channels["telegram"].close()  # type: ignore[attr-defined]


@pytest.fixture
def output(settings: Settings) -> Iterator[io.StringIO]:
    """Send every log record, at INFO and above (httpx included), through teleopd's handler into a buffer."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(settings, stream=buffer)
    for name in ("httpx", "telegram", "twilio", "urllib3"):
        logging.getLogger(name).setLevel(logging.INFO)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def lines(buffer: io.StringIO, since: int = 0) -> list[dict[str, Any]]:
    """Return the JSON objects written to the buffer from offset `since` on; each line must parse."""
    text = buffer.getvalue()[since:]
    return [json.loads(line) for line in text.splitlines()]


def secrets_and_phones(*phones: str) -> list[str]:
    digits = [p.lstrip("+").removeprefix("whatsapp:+") for p in phones]
    return [TELEGRAM_TOKEN, TELEGRAM_TOKEN.partition(":")[2], TELEGRAM_SECRET, AUTH, METRICS_TOKEN, *phones, *digits]


def signed_post(client, path: str, params: dict[str, str], **headers: str):  # type: ignore[no-untyped-def]
    signature = RequestValidator(AUTH).compute_signature(PUBLIC + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature, **headers})


# --- a webhook request -----------------------------------------------------------------------


def test_every_line_of_a_twilio_request_carries_its_id_and_no_phone(services, output, chatwoot_indian) -> None:
    client = create_app(services=services).test_client()
    start = len(output.getvalue())
    first = signed_post(client, "/webhooks/twilio/whatsapp", chatwoot_indian)
    again = signed_post(client, "/webhooks/twilio/whatsapp", chatwoot_indian)  # Twilio's retry: logged as a duplicate
    wrong = signed_post(client, "/webhooks/twilio/sms", chatwoot_indian)  # ignored, logged with its sender
    assert first.status_code == again.status_code == wrong.status_code == 200
    ids = [first.headers[REQUEST_ID_HEADER], again.headers[REQUEST_ID_HEADER], wrong.headers[REQUEST_ID_HEADER]]
    assert all(UUID_HEX.fullmatch(i) for i in ids) and len(set(ids)) == 3
    logged = lines(output, start)
    assert logged, "the requests logged nothing"
    assert {line["request_id"] for line in logged} <= set(ids)
    assert any(line["request_id"] == ids[1] and "already handled" in line["message"] for line in logged)
    text = output.getvalue()[start:]
    for secret in secrets_and_phones("+919745786257"):
        assert secret not in text
    assert any(line["request_id"] == ids[2] and "+91******6257" in line["message"] for line in logged)  # the last 4 stay
    for line in logged:
        assert {"time", "level", "logger", "message", "request_id"} <= line.keys()
        assert line["time"].endswith("+00:00")


def test_the_dispatchers_lines_carry_the_request_id(services, output, telegram_text_update) -> None:
    client = create_app(services=services).test_client()
    start = len(output.getvalue())
    # A wrong enrolment code: the dispatcher logs the flow's "enrolment refused" event.
    update = {**telegram_text_update, "message": {**telegram_text_update["message"], "text": "enroll WRONG-CODE-1"}}
    answer = client.post("/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
    assert answer.status_code == 200 and answer.get_json()["status"] == "handled"
    logged = lines(output, start)
    dispatcher = [line for line in logged if line["logger"] == "bot.dispatch"]
    assert dispatcher, f"the dispatcher logged nothing: {logged}"
    assert {line["request_id"] for line in logged} == {answer.headers[REQUEST_ID_HEADER]}


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123_x.y", True),
        ("A" * 64, True),
        ("A" * 65, False),
        ("has space", False),
        ("id;drop", False),
        ("<script>", False),
        ("", False),
    ],
    ids=["plain", "64-chars", "65-chars", "space", "semicolon", "markup", "empty"],
)
def test_a_sane_incoming_request_id_is_kept_else_a_new_one(services, output, given: str, kept: bool) -> None:
    client = create_app(services=services).test_client()
    start = len(output.getvalue())
    answer = client.post("/webhooks/telegram", data=b"{", content_type="application/json",
                         headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET, REQUEST_ID_HEADER: given})
    assert answer.status_code == 400
    echoed = answer.headers[REQUEST_ID_HEADER]
    assert echoed == given if kept else UUID_HEX.fullmatch(echoed)
    assert all(line["request_id"] == echoed for line in lines(output, start))
    assert current_request_id() is None  # reset when the request ended


# --- a real Bot API call through httpx -------------------------------------------------------------


def test_the_bot_token_in_httpx_urls_is_masked_and_sends_carry_their_row(services, output, fake_telegram, telegram_text_update) -> None:
    client = create_app(services=services).test_client()
    client.post("/webhooks/telegram", json=telegram_text_update, headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
    # The channel turns httpx down to WARNING when its Bot starts (bot/channels/telegram/send.py);
    # here it talks at INFO, as it would wherever someone turned it up again.
    services.channels["telegram"].delete_webhook()  # type: ignore[attr-defined]
    logging.getLogger("httpx").setLevel(logging.INFO)
    start = len(output.getvalue())
    assert services.worker.drain(channel="telegram") >= 1
    assert fake_telegram.sent(), "nothing reached the fake Bot API"
    logged = lines(output, start)
    requests = [line for line in logged if line["logger"] == "httpx" and "sendMessage" in line["message"]]
    assert requests, f"httpx logged no sendMessage: {logged}"
    for line in requests:
        assert "/bot123456789:***/sendMessage" in line["message"]
        assert line["channel"] == "telegram" and isinstance(line["outbox_id"], int)
    text = output.getvalue()[start:]
    for secret in secrets_and_phones():
        assert secret not in text


def test_exception_text_and_extra_fields_are_masked(services, output) -> None:
    log = logging.getLogger("teleopd.test")
    start = len(output.getvalue())
    with log_context(request_id="req-1"):
        try:
            raise RuntimeError(f"POST https://api.telegram.org/bot{TELEGRAM_TOKEN}/sendMessage failed for +919876543210")
        except RuntimeError:
            log.exception("send to %s failed", "whatsapp:+919876543210", extra={"to": "+919876543210", "secret": TELEGRAM_SECRET})
    (line,) = lines(output, start)
    assert line["request_id"] == "req-1" and line["level"] == "ERROR"
    assert line["message"] == "send to whatsapp:+91******3210 failed"
    assert line["to"] == "+91******3210" and line["secret"] == "***"
    assert "bot123456789:***/sendMessage" in line["exc_info"] and "+91******3210" in line["exc_info"]
    assert TELEGRAM_TOKEN not in json.dumps(line) and "9876543210" not in json.dumps(line)


# --- the masking rules, as a table -----------------------------------------------------------------

REDACTION = [
    ("telegram-url", f"GET https://api.telegram.org/bot{TELEGRAM_TOKEN}/getMe", "GET https://api.telegram.org/bot123456789:***/getMe"),
    ("e164", "from +919876543210.", "from +91******3210."),
    ("whatsapp", "whatsapp:+919745786257", "whatsapp:+91******6257"),
    ("url-encoded", "To=%2B919876543210&Body=hi", "To=%2B91******3210&Body=hi"),
    ("bare-indian-mobile", "call 9876543210 now", "call ******3210 now"),
    ("mobile-before-devanagari", "9876543210 पर कॉल करें", "******3210 पर कॉल करें"),
    ("us-number", "+14155238886", "+14*****8886"),
    ("twilio-basic-auth", f"https://{SID}:{AUTH}@api.twilio.com", f"https://{SID}:***@api.twilio.com"),
    ("authorization-header", "Authorization: Basic QUMxMjM6c2VjcmV0", "Authorization: Basic ***"),
    ("authorization-dict", "{'Authorization': 'Bearer abc.def'}", "{'Authorization': 'Bearer ***'}"),
    ("secret-header", "X-Telegram-Bot-Api-Secret-Token: zzzzzz", "X-Telegram-Bot-Api-Secret-Token: ***"),
    ("configured-secret", f"secret={TELEGRAM_SECRET}", "secret=***"),
    ("configured-metrics-token", f"token {METRICS_TOKEN} used", "token *** used"),
    ("configured-auth-token", f"auth {AUTH}", "auth ***"),
    # Left alone: ids that are not phone numbers.
    ("uuid-request-id", "9876543210abcdef0123456789abcdef", "9876543210abcdef0123456789abcdef"),
    ("update-id", "telegram update 123456789 ignored", "telegram update 123456789 ignored"),
    ("epoch-seconds", "at 1764625000", "at 1764625000"),
    ("identity-id", "identity 42 (telegram): booked", "identity 42 (telegram): booked"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in REDACTION], ids=[c[0] for c in REDACTION])
def test_redaction(text: str, expected: str) -> None:
    assert redact(text, [TELEGRAM_SECRET, METRICS_TOKEN, AUTH]) == expected


def test_text_format_is_one_line_for_people() -> None:
    buffer = io.StringIO()
    handler = build_handler(buffer, "text", [TELEGRAM_SECRET])
    log = logging.getLogger("teleopd.text")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("no request here, secret %s", TELEGRAM_SECRET)
        with log_context(request_id="r-7"):
            log.warning("in a request, from %s", "+919876543210")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    first, second = buffer.getvalue().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING teleopd\.text \[-\]: no request here, secret \*\*\*", first)
    assert second.endswith("WARNING teleopd.text [r-7]: in a request, from +91******3210")


def test_configure_logging_twice_keeps_one_handler(settings: Settings) -> None:
    root = logging.getLogger()
    level = root.level
    first = configure_logging(settings, stream=io.StringIO())
    second = configure_logging(settings, stream=io.StringIO())
    try:
        assert first not in root.handlers and [h for h in root.handlers if h.get_name() == "teleopd"] == [second]
    finally:
        root.removeHandler(second)
        root.setLevel(level)


def test_sane_request_id() -> None:
    assert sane_request_id("edge-42") == "edge-42"
    assert UUID_HEX.fullmatch(sane_request_id(None))
    assert sane_request_id(None) != sane_request_id(None)


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr does in an operator's shell."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "configured", "expected"), [
    pytest.param(Terminal, None, "text", id="terminal-unset"),
    pytest.param(io.StringIO, None, "json", id="pipe-unset"),
    pytest.param(Terminal, "json", "json", id="terminal-json-asked"),
    pytest.param(io.StringIO, "text", "text", id="pipe-text-asked"),
])
def test_unset_log_format_is_text_on_a_terminal_and_json_elsewhere(
    stream: type[io.StringIO], configured: str | None, expected: str,
) -> None:
    settings = Settings.from_env({"TELEOPD_LOG_FORMAT": configured} if configured else {})
    buffer = stream()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(settings, stream=buffer)
    try:
        logging.getLogger("teleopd").info("web chat at %s", "http://127.0.0.1:8000/")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    [line] = buffer.getvalue().splitlines()
    if expected == "json":
        assert json.loads(line)["message"] == "web chat at http://127.0.0.1:8000/"
    else:
        assert re.fullmatch(r"\S+Z INFO teleopd \[-\]: web chat at http://127\.0\.0\.1:8000/", line), line
