"""Metrics: the counters move by exactly what happened, the gauges equal the database, /metrics parses.

Messages go through the real webhooks (signed Twilio forms, Telegram updates with the secret)
and a real outbox drain against the fake providers, on SQLite and PostgreSQL. Counters live
in this process for the whole run, so each test compares a scrape before and after.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.platform.config import Settings
from bot.runtime import Services, build_services
from bot.store.models import (
    Identity,
    OutboxMessage,
    OutboxStatus,
    Token,
    TokenStatus,
    utcnow,
)
from tests.booking_records_helpers import add_opd, add_patients, book
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from webhooks import create_app

TELEGRAM_TOKEN = "123456:" + "A" * 35
TELEGRAM_SECRET = "s3cret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SID = "AC" + "0" * 32
AUTH = "f" * 32
PUBLIC = "https://teleopd.example.org"
INDIAN = "whatsapp:+919745786257"  # chatwoot's Indian WhatsApp sender (../shared/testdata/twilio)
METRICS_TOKEN = "metrics-token-0123456789"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, AUTH) as server:
        yield server


@pytest.fixture
def services(db, catalogs, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=db.url, public_url=PUBLIC,
        telegram_token=TELEGRAM_TOKEN, telegram_secret=TELEGRAM_SECRET, telegram_api_url=fake_telegram.base_url,
        twilio_account_sid=SID, twilio_auth_token=AUTH, twilio_whatsapp_from="whatsapp:+14155238886",
        twilio_sms_from="+15005550006", twilio_api_url=fake_twilio.url, twilio_whatsapp_mps=1000, twilio_sms_mps=1000,
    )
    services = build_services(settings, db=db, catalogs=catalogs)
    yield services
    services.channels["telegram"].close()  # type: ignore[attr-defined]


@pytest.fixture
def client(services: Services):  # type: ignore[no-untyped-def]
    return create_app(services=services).test_client()


def scrape(client, **headers: str) -> Samples:  # type: ignore[no-untyped-def]
    """GET /metrics and parse it with prometheus_client's own parser."""
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.content_type.startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"{sample.name} {sample.labels} exposed twice"
            samples[key] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def family(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def twilio_post(client, channel: str, params: dict[str, str], signature: str | None = None):  # type: ignore[no-untyped-def]
    path = f"/webhooks/twilio/{channel}"
    if signature is None:
        signature = RequestValidator(AUTH).compute_signature(PUBLIC + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def telegram_update(update_id: int, text: str = "hi", chat: int = 7012345678) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 1764625000, "text": text,
                    "chat": {"id": chat, "type": "private", "first_name": "Asha"},
                    "from": {"id": chat, "is_bot": False, "first_name": "Asha"}},
    }


# --- counters ----------------------------------------------------------------------------------


def test_twilio_webhooks_count_each_result(client) -> None:
    before = scrape(client)
    message = {"MessageSid": "SM" + "1" * 32, "From": INDIAN, "To": "whatsapp:+14155238886", "Body": "hi", "AccountSid": SID}
    assert twilio_post(client, "whatsapp", message).status_code == 200
    assert twilio_post(client, "whatsapp", message).status_code == 200  # Twilio's retry
    assert twilio_post(client, "whatsapp", message, signature="bad").status_code == 403
    assert twilio_post(client, "whatsapp", {**message, "MessageSid": "SM" + "2" * 32}, signature="").status_code == 403
    refused = client.post("/webhooks/twilio/whatsapp", data="not a form", content_type="text/plain", headers={"X-Twilio-Signature": "x"})
    assert refused.status_code == 400
    assert twilio_post(client, "sms", {**message, "MessageSid": "SM" + "3" * 32}).status_code == 200  # a WhatsApp sender on SMS: ignored
    after = scrape(client)
    counts = {result: moved(before, after, "teleopd_messages_in_total", channel="whatsapp", result=result)
              for result in ("handled", "duplicate", "forbidden", "malformed", "ignored")}
    assert counts == {"handled": 1, "duplicate": 1, "forbidden": 2, "malformed": 1, "ignored": 0}
    assert moved(before, after, "teleopd_messages_in_total", channel="sms", result="ignored") == 1
    # Every webhook call is timed, refused ones included.
    assert moved(before, after, "teleopd_webhook_duration_seconds_count", route="/webhooks/twilio/whatsapp") == 5
    assert moved(before, after, "teleopd_webhook_duration_seconds_count", route="/webhooks/twilio/sms") == 1


def test_telegram_webhook_counts_each_result(client) -> None:
    before = scrape(client)
    headers = {SECRET_HEADER: TELEGRAM_SECRET}
    assert client.post("/webhooks/telegram", json=telegram_update(501), headers=headers).get_json()["status"] == "handled"
    assert client.post("/webhooks/telegram", json=telegram_update(501), headers=headers).get_json()["status"] == "duplicate"
    edited = {"update_id": 502, "edited_message": telegram_update(502)["message"]}
    assert client.post("/webhooks/telegram", json=edited, headers=headers).get_json()["status"] == "ignored"
    assert client.post("/webhooks/telegram", json=telegram_update(503), headers={SECRET_HEADER: "wrong"}).status_code == 403
    assert client.post("/webhooks/telegram", data=b"{", content_type="application/json", headers=headers).status_code == 400
    assert client.post("/webhooks/telegram", json=[1, 2], headers=headers).status_code == 400
    after = scrape(client)
    counts = {result: moved(before, after, "teleopd_messages_in_total", channel="telegram", result=result)
              for result in ("handled", "duplicate", "ignored", "forbidden", "malformed")}
    assert counts == {"handled": 1, "duplicate": 1, "ignored": 1, "forbidden": 1, "malformed": 2}
    assert moved(before, after, "teleopd_webhook_duration_seconds_count", route="/webhooks/telegram") == 6
    buckets = family(after, "teleopd_webhook_duration_seconds_bucket")
    assert {dict(labels)["le"] for labels in buckets if dict(labels)["route"] == "/webhooks/telegram"} == {
        "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "1.0", "2.5", "+Inf"}


def test_an_outbox_drain_counts_sends_parts_and_errors(client, services: Services, fake_telegram: FakeTelegram) -> None:
    headers = {SECRET_HEADER: TELEGRAM_SECRET}
    for n, chat in enumerate((7012345601, 7012345602)):
        client.post("/webhooks/telegram", json=telegram_update(600 + n, chat=chat), headers=headers)
    with services.db.read() as session:
        queued = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.channel == "telegram")) or 0
    assert queued >= 2
    fake_telegram.fail_next(1, status=500)
    before = scrape(client)
    services.worker.drain(channel="telegram")
    after = scrape(client)
    with services.db.read() as session:
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENT)).all()
        failed = session.scalars(select(OutboxMessage).where(OutboxMessage.error_code.is_not(None))).all()
    parts = sum((row.rendered or {}).get("parts", 1) for row in sent)
    assert len(sent) >= 1 and len(failed) == 1
    assert moved(before, after, "teleopd_messages_out_total", channel="telegram") == len(sent)
    assert moved(before, after, "teleopd_message_parts_out_total", channel="telegram") == parts
    assert len(fake_telegram.sent()) == parts
    assert moved(before, after, "teleopd_send_errors_total", channel="telegram", code=failed[0].error_code) == 1


# --- gauges --------------------------------------------------------------------------------------


@pytest.mark.both_databases
def test_outbox_gauges_equal_the_database(client, services: Services) -> None:
    headers = {SECRET_HEADER: TELEGRAM_SECRET}
    client.post("/webhooks/telegram", json=telegram_update(701), headers=headers)
    message = {"MessageSid": "SM" + "7" * 32, "From": INDIAN, "To": "whatsapp:+14155238886", "Body": "hi", "AccountSid": SID}
    twilio_post(client, "whatsapp", message)
    now = utcnow()
    with services.db.write() as session:
        identity = session.scalars(select(Identity).where(Identity.channel == "whatsapp")).one()
        # One row claimed by a worker, one waiting 90 s past its due time, one due later.
        for status, due in ((OutboxStatus.SENDING, now), (OutboxStatus.PENDING, now - dt.timedelta(seconds=90)),
                            (OutboxStatus.PENDING, now + dt.timedelta(hours=1))):
            session.add(OutboxMessage(identity_id=identity.id, channel="whatsapp", address=identity.address, language="en",
                                      kind="reply", payload={"text": "x"}, status=status, due_at=due))
    samples = scrape(client)
    assert family(samples, "teleopd_outbox_depth") == outbox_depth(services)
    assert value(samples, "teleopd_outbox_depth", channel="whatsapp", status="sending") == 1
    age = value(samples, "teleopd_outbox_oldest_pending_age_seconds", channel="whatsapp")
    assert 90 <= age < 90 + 30
    assert 0 <= value(samples, "teleopd_outbox_oldest_pending_age_seconds", channel="telegram") < 30
    # Drained, what was due is sent; what is left is not due yet, so nothing is late.
    services.worker.drain(channel="telegram")
    drained = scrape(client)
    assert family(drained, "teleopd_outbox_depth") == outbox_depth(services)
    assert value(drained, "teleopd_outbox_oldest_pending_age_seconds", channel="telegram") == 0
    with services.db.read() as session:
        due = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == "telegram", OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= utcnow()))
    assert due == 0


def outbox_depth(services: Services) -> dict[frozenset[tuple[str, str]], float]:
    """Return the outbox depth per channel and status as the database has it."""
    with services.db.read() as session:
        rows = session.execute(
            select(OutboxMessage.channel, OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
            .group_by(OutboxMessage.channel, OutboxMessage.status)
        ).all()
    return {frozenset({("channel", channel), ("status", status)}): float(count) for channel, status, count in rows}


@pytest.mark.both_databases
def test_queue_gauge_counts_todays_waiting_tokens_by_opd(client, services: Services) -> None:
    now = utcnow()
    today = now.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).date()
    general = add_opd(services.db, "GEN", hours="24h", days="all")
    add_opd(services.db, "SKIN", hours="24h", days="all")
    patients = add_patients(services.db, 4)
    for identity_id in patients[:3]:
        book(services.db, identity_id, general, now=now, day=today)
    with services.db.write() as session:  # one of them called in: no longer waiting
        first = session.scalars(select(Token).order_by(Token.id)).first()
        first.status = TokenStatus.CALLED
    samples = scrape(client)
    with services.db.read() as session:
        waiting = session.scalar(select(func.count()).select_from(Token).where(Token.day == today, Token.status == TokenStatus.WAITING))
    assert waiting == 2
    assert family(samples, "teleopd_queue_waiting") == {frozenset({("opd", "GEN")}): 2.0, frozenset({("opd", "SKIN")}): 0.0}


# --- exposure ------------------------------------------------------------------------------------


def test_metrics_token_is_required_when_set(db, catalogs) -> None:  # type: ignore[no-untyped-def]
    services = build_services(Settings(database_url=db.url, metrics_token=METRICS_TOKEN), db=db, catalogs=catalogs)
    client = create_app(services=services).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Basic {METRICS_TOKEN}"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer आ"}).status_code == 401
    samples = scrape(client, Authorization=f"Bearer {METRICS_TOKEN}")
    assert family(samples, "teleopd_queue_waiting") == {}


def test_without_a_token_metrics_are_open_to_this_machine_only(client) -> None:
    # The test client comes from 127.0.0.1, as the local demo's browser does. (The families
    # are listed even before anything was counted: this test passes alone as in a full run.)
    answer = client.get("/metrics")
    assert answer.status_code == 200 and "# TYPE teleopd_" in answer.get_data(as_text=True)
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    for address in ("203.0.113.5", "10.0.0.8", "not-an-address"):
        refused = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert refused.status_code == 403 and "TELEOPD_METRICS_TOKEN" in refused.get_json()["error"], address
    # A proxy on this machine reaches us from loopback, carrying someone else's request.
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        assert client.get("/metrics", headers={header: "203.0.113.5"}).status_code == 403, header


def test_with_a_token_metrics_answer_any_address_that_sends_it(db, catalogs) -> None:  # type: ignore[no-untyped-def]
    services = build_services(Settings(database_url=db.url, metrics_token=METRICS_TOKEN), db=db, catalogs=catalogs)
    client = create_app(services=services).test_client()
    remote = {"REMOTE_ADDR": "203.0.113.5"}
    assert client.get("/metrics", environ_base=remote).status_code == 401
    answer = client.get("/metrics", environ_base=remote, headers={"Authorization": f"Bearer {METRICS_TOKEN}", "X-Forwarded-For": "198.51.100.1"})
    assert answer.status_code == 200 and "teleopd_" in answer.get_data(as_text=True)


MULTIPROCESS_CHILD = """
import sys
from bot.platform.metrics import count_in, count_sent
for _ in range(int(sys.argv[1])):
    count_in("sms", "handled")
count_sent("sms", 2)
"""

MULTIPROCESS_SCRAPE = """
import sys
from bot.store.db import Database
from bot.platform.metrics import exposition
sys.stdout.write(exposition(Database(sys.argv[1])).decode())
"""


def test_multiprocess_mode_adds_up_every_process(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A directory of its own: prometheus_client reads every *.db file in it, and SQLite's is one.
    (tmp_path / "metrics").mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    for count in (2, 3):  # two processes that have since exited, as gunicorn's workers and `teleopd worker`
        subprocess.run([sys.executable, "-c", MULTIPROCESS_CHILD, str(count)], env=env, check=True, cwd=Path(__file__).parents[1])
    out = subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRAPE, db.url], env=env, check=True, capture_output=True, text=True,
                         cwd=Path(__file__).parents[1]).stdout
    samples = {(s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(out) for s in f.samples}
    assert value(samples, "teleopd_messages_in_total", channel="sms", result="handled") == 5
    assert value(samples, "teleopd_messages_out_total", channel="sms") == 2
    assert value(samples, "teleopd_message_parts_out_total", channel="sms") == 4
    assert ("teleopd_queue_waiting", frozenset()) not in samples and "teleopd_outbox_depth" in out
