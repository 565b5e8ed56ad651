"""The Twilio channel outbound (WhatsApp and SMS): what reaches the REST API through the adapter and the worker.

Outbound cases assert the request that reached a fake Twilio API on 127.0.0.1 through the real
twilio Client: choices and long texts, SMS segments and DLT templates, WhatsApp's 24-hour window,
errors and their classes, the senders' rate, and the outbox worker with the real adapter.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import string
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.channels.base import (
    NeedsFallback,
    OutgoingChoice,
    OutgoingMessage,
    PermanentError,
    RateLimited,
    TemporaryError,
)
from bot.channels.sms_text import render_sms, segments
from bot.channels.twilio import TwilioChannel
from bot.channels.whatsapp_text import MAX_BODY_UNITS, body_units
from bot.outbox.template_keys import dlt_key, template_key
from bot.platform.i18n import Catalogs
from bot.runtime import Services
from bot.store.models import Identity, OutboxMessage, OutboxStatus
from flows.messages import ByLanguage, Text, t
from flows.steps.booking import SEVERITY_LABELS
from flows.steps.visit import STAR_LABELS
from tests.fakes.twilio_api import FakeTwilio
from tests.test_sms_forms import ADVICE_SMS, FORMS, _worst_values
from tests.twilio_helpers import (  # noqa: F401  (fixtures)
    INDIAN,
    SID,
    SMS_FROM,
    STATUS_URL,
    TOKEN,
    WA_FROM,
    WA_INDIAN,
    _identity,
    _message,
    _post,
    adapter,
    client,
    fake,
    services,
)

# --- outbound through the adapter -----------------------------------------------------------------


def test_services_carry_both_twilio_channels(services: Services) -> None:
    assert {n: type(services.channels[n]) for n in ("whatsapp", "sms")} == {"whatsapp": TwilioChannel, "sms": TwilioChannel}
    assert (services.channels["whatsapp"].from_, services.channels["sms"].from_) == (WA_FROM, SMS_FROM)  # type: ignore[attr-defined]


def test_more_than_ten_choices_continue_their_numbers(adapter, fake: FakeTwilio) -> None:
    choices = tuple(OutgoingChoice(f"k{n}", f"Option {n}") for n in range(1, 24))
    result = adapter().send(WA_INDIAN, OutgoingMessage("Pick one", choices), 1)
    bodies = [r["Body"] for r in fake.sent()]
    assert result.parts == 3 and result.provider_id == fake.requests[0].sid
    # Shared out evenly (8 + 8 + 7), not 10 + 10 + 3: the last message is never one or two choices alone.
    assert bodies[0] == "Pick one\n\n" + "\n".join(f"{n}. Option {n}" for n in range(1, 9))
    assert bodies[1] == "\n".join(f"{n}. Option {n}" for n in range(9, 17))
    assert bodies[2] == "\n".join(f"{n}. Option {n}" for n in range(17, 24))


def test_eleven_choices_never_leave_the_eleventh_alone(adapter, fake: FakeTwilio) -> None:
    choices = tuple(OutgoingChoice(f"k{n}", f"Option {n}") for n in range(1, 12))
    adapter().send(WA_INDIAN, OutgoingMessage("Pick one", choices), 1)
    bodies = [r["Body"] for r in fake.sent()]
    assert [body.count("Option") for body in bodies] == [6, 5] and bodies[1].startswith("7. Option 7")


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
RATING_SMS = "Advice from Dr. {doctor}:\n{advice}\nHow was your consultation? Reply 1-5 (5 = very good)."
CALL_SMS = "The doctor is ready now. Video call: {room}\n1 I am joining 2 I cannot come now"


FOR_WHOM_SMS = "Who is the patient?\n1 Myself, {family}\n{child} My child {other} Another family member"


def _sms_choice_sets(catalogs: Catalogs, lang: str) -> dict[str, tuple[str, ...]]:
    """Return the choices the flows offer under an SMS form, as the patient reads them."""
    labels = lambda *texts: tuple(catalogs.format_value(x, lang) for x in texts)  # noqa: E731
    # Three family members with long names: the SMS form lists them by first name (test_sms_forms.py "family").
    dependents = tuple(ByLanguage(en="Ramachandran Venkataraghavan Subramaniam Iyer " * 2, hi="रामचंद्रन वेंकटराघवन सुब्रमण्यम अय्यर " * 2) for _ in range(3))
    return {
        FOR_WHOM_SMS: labels(t("Myself"), *dependents, t("My child"), t("Another family member")),
        "How bad is it? 1 mild 2 moderate 3 severe": labels(*SEVERITY_LABELS.values()),
        "Book a token at {opd}?": labels(t("Yes, book a token"), t("Choose another OPD")),
        "Cancel token {number}, {opd}?": labels(t("Yes, cancel it"), t("No, keep it")),
        OFFER_SMS: labels(t("Yes, book for then"), t("Choose another OPD"), t("No, not now")),
        RATING_SMS: labels(*STAR_LABELS.values()),
        CALL_SMS: labels(t("I am joining"), t("I cannot come now")),
    }


def _sms_body(catalogs: Catalogs, msgid: str, lang: str) -> tuple[str, str, int]:
    """Return an SMS form with its longest values, the body sent with its choices, and how many choices."""
    # The advice is the doctor's own words: a short one here (a long one takes numbered parts, tests/test_advice_everywhere.py).
    worst = {**_worst_values(catalogs, lang), "doctor": "Anita Sharma", "advice": "Rest, and drink water."}
    names = {name for _, name, _, _ in string.Formatter().parse(msgid) if name}
    text = catalogs.translate(Text(msgid, tuple(sorted((k, v) for k, v in worst.items() if k in names))), lang)
    choices = tuple(OutgoingChoice(str(n), label) for n, label in enumerate(_sms_choice_sets(catalogs, lang).get(msgid, ()), 1))
    return text, render_sms(OutgoingMessage(text, choices)), len(choices)


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_every_sms_with_its_choices_fits_two_segments(catalogs: Catalogs, lang: str) -> None:
    assert set(_sms_choice_sets(catalogs, lang)) <= {*FORMS, ADVICE_SMS}, "the table names SMS forms that exist"
    for msgid in FORMS:
        text, body, count = _sms_body(catalogs, msgid, lang)
        assert segments(body) <= 2, f"{segments(body)} segments: {body!r}"
        assert body.startswith(text)
        if count and body != text:  # else the form names its numbered answers itself ("Reply 1-5")
            assert all(str(n) in body[len(text):] for n in range(1, count + 1)), body


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("msgid", [OFFER_SMS, RATING_SMS, CALL_SMS, "How bad is it? 1 mild 2 moderate 3 severe"])
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


@pytest.mark.parametrize(("lang", "text", "dlt_id"), [
    ("en", "Token 12, General Medicine cancelled.", "1107160000000000001"),
    ("hi", "टोकन 12, सामान्य चिकित्सा रद्द हो गया।", "1107160000000000002"),
])
def test_each_language_of_an_sms_carries_its_own_dlt_template_id(adapter, fake: FakeTwilio, tmp_path: Path, lang: str, text: str, dlt_id: str) -> None:  # type: ignore[no-untyped-def]
    # DLT registers a template per text: the Hindi and the English form are two ids.
    key = template_key("Token {number}, {opd} cancelled.")
    (tmp_path / "sms.json").write_text(json.dumps({dlt_key(key, "en"): "1107160000000000001", dlt_key(key, "hi"): "1107160000000000002"}))
    message = OutgoingMessage(text, template=key, language=lang)
    result = adapter("sms", sms_templates_file=str(tmp_path / "sms.json")).send(INDIAN, message, 4)
    assert result.detail["dlt_template_id"] == dlt_id
    assert [sent["Body"] for sent in fake.sent()] == [text]


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
    # 23 choices in three messages, shared out evenly: 1-8, 9-16, 17-23.
    assert result.parts == 3 and len(bodies) == 3 and bodies[1].startswith("9. ") and bodies[2].startswith("17. ")
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
    # The limiter keeps its moving window on the times requests leave; the fake sees them arrive,
    # a few milliseconds later on a loaded machine (a full suite once saw 5 in an arrival second).
    # 0.9 s of arrivals allows that jitter and still catches a limiter that lets a fifth through.
    assert fake.max_per_second(SMS_FROM, window=0.9) == 4


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
