"""Delivery status callbacks, the SMS fallback, and one person across channels."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.outbox.delivery import SentMark, queue_sms_fallback, record_sent, record_status
from bot.outbox.enqueue import apply_notices
from bot.services.identities import (
    ensure_identity,
    link_verified_phone,
    notification_identity,
    set_opted_out,
)
from bot.store.db import Database
from bot.store.models import (
    DeliveryEvent,
    Identity,
    OutboxMessage,
    OutboxStatus,
    Person,
    Role,
)
from flows.messages import Reply, reply_to_json, t
from flows.notices import Notify

# The database is what is tested here: status callbacks that update a row once, SMS fallback rows, the last channel by time.
pytestmark = pytest.mark.both_databases

AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
PHONE = "+919812345678"


def _sent_row(db: Database, channel: str = "whatsapp", address: str = f"whatsapp:{PHONE}", sid: str = "SM" + "a" * 32) -> int:
    """Queue one message as sent by the provider with the given sid; return its id."""
    with db.write() as session:
        identity = ensure_identity(session, channel, address)
        identity.language = "hi"
        row = OutboxMessage(
            identity_id=identity.id, channel=channel, address=address, language="hi", kind="push",
            payload=reply_to_json(Reply(t("Your token is {number}.", number=7), kind="push")),
            status=OutboxStatus.SENT, provider_id=sid, due_at=AT,
        )
        session.add(row)
        session.flush()
        return row.id


def _row(db: Database, row_id: int) -> OutboxMessage:
    with db.read() as session:
        return session.get(OutboxMessage, row_id)  # type: ignore[return-value]


def _fallbacks(db: Database, row_id: int) -> list[OutboxMessage]:
    with db.read() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.fallback_of == row_id)))


@pytest.mark.parametrize(
    ("statuses", "final_provider", "final_status"),
    [
        pytest.param(["sent", "delivered"], "delivered", OutboxStatus.DELIVERED, id="in-order"),
        pytest.param(["delivered", "sent"], "delivered", OutboxStatus.DELIVERED, id="out-of-order-never-moves-back"),
        pytest.param(["sent", "delivered", "read"], "read", OutboxStatus.DELIVERED, id="read-receipt"),
        pytest.param(["read", "queued", "sending"], "read", OutboxStatus.DELIVERED, id="late-early-statuses"),
    ],
)
def test_statuses_keep_the_furthest(db: Database, statuses: list[str], final_provider: str, final_status: str) -> None:
    row_id = _sent_row(db)
    for status in statuses:
        record_status(db, "SM" + "a" * 32, status, None, AT)
    row = _row(db, row_id)
    assert (row.provider_status, row.status) == (final_provider, final_status)


def test_a_repeated_callback_is_recorded_once(db: Database) -> None:
    _sent_row(db)
    assert record_status(db, "SM" + "a" * 32, "delivered", None, AT) == "updated"
    assert record_status(db, "SM" + "a" * 32, "delivered", None, AT) == "duplicate"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(DeliveryEvent)) == 1


def test_a_callback_for_a_message_we_never_sent_is_kept_but_changes_nothing(db: Database) -> None:
    assert record_status(db, "SM" + "0" * 32, "delivered", None, AT) == "unknown"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize("status,code", [("undelivered", "63016"), ("failed", "63024"), ("failed", None)])
def test_a_failed_whatsapp_message_goes_again_by_sms_once(db: Database, status: str, code: str | None) -> None:
    row_id = _sent_row(db)
    record_status(db, "SM" + "a" * 32, status, code, AT)
    record_status(db, "SM" + "a" * 32, "failed" if status == "undelivered" else "undelivered", code, AT)
    original = _row(db, row_id)
    assert original.status == OutboxStatus.REROUTED
    [copy] = _fallbacks(db, row_id)
    assert (copy.channel, copy.address, copy.language, copy.status) == ("sms", PHONE, "hi", OutboxStatus.PENDING)
    assert copy.payload == original.payload


def test_the_fallback_is_queued_at_most_once_however_often_asked(db: Database) -> None:
    row_id = _sent_row(db)
    with db.write() as session:
        row = session.get(OutboxMessage, row_id)
        assert queue_sms_fallback(session, row, "test", AT) is True
    with db.write() as session:
        row = session.get(OutboxMessage, row_id)
        assert queue_sms_fallback(session, row, "test again", AT) is False
    assert len(_fallbacks(db, row_id)) == 1


def test_a_whatsapp_sender_without_a_phone_number_has_no_sms_fallback(db: Database) -> None:
    row_id = _sent_row(db, address="whatsapp:IN.2081978709342942")
    record_status(db, "SM" + "a" * 32, "failed", "63016", AT)
    assert _row(db, row_id).status == OutboxStatus.FAILED
    assert _fallbacks(db, row_id) == []


def test_an_sms_failure_does_not_fall_back(db: Database) -> None:
    row_id = _sent_row(db, channel="sms", address=PHONE)
    record_status(db, "SM" + "a" * 32, "undelivered", "30003", AT)
    assert (_row(db, row_id).status, _row(db, row_id).error_code) == (OutboxStatus.FAILED, "30003")
    assert _fallbacks(db, row_id) == []


def test_unsubscribed_at_the_carrier_opts_the_identity_out(db: Database) -> None:
    _sent_row(db, channel="sms", address=PHONE)
    record_status(db, "SM" + "a" * 32, "failed", "21610", AT)
    with db.read() as session:
        assert session.scalars(select(Identity.opted_out).where(Identity.address == PHONE)).one() is True


def test_blocking_and_unblocking_the_bot(db: Database) -> None:
    assert set_opted_out(db, "telegram", "555", True, AT) is True
    assert set_opted_out(db, "telegram", "555", True, AT) is False
    with db.read() as session:
        identity = session.scalars(select(Identity).where(Identity.address == "555")).one()
        assert (identity.opted_out, identity.opted_out_at) == (True, AT)
    assert set_opted_out(db, "telegram", "555", False, AT) is True


def _person_with(db: Database, channel: str, address: str, last: dt.datetime | None) -> int:
    with db.write() as session:
        identity = ensure_identity(session, channel, address)
        person = Person(role=Role.PATIENT, name="Sita", phone=PHONE, language="hi")
        session.add(person)
        session.flush()
        identity.person_id, identity.phone, identity.last_inbound_at = person.id, PHONE, last
        return person.id


def test_a_verified_number_joins_a_new_identity_to_its_person(db: Database) -> None:
    person_id = _person_with(db, "sms", PHONE, None)
    with db.write() as session:
        whatsapp = ensure_identity(session, "whatsapp", f"whatsapp:{PHONE}")
        link_verified_phone(session, whatsapp, PHONE)
        assert whatsapp.person_id == person_id
    with db.write() as session:
        stranger = ensure_identity(session, "telegram", "777")
        link_verified_phone(session, stranger, "+919800000000")
        assert stranger.person_id is None


def test_notifications_go_to_the_channel_used_last(db: Database) -> None:
    _person_with(db, "sms", PHONE, None)
    with db.write() as session:
        sms = session.scalars(select(Identity).where(Identity.channel == "sms")).one()
        whatsapp = ensure_identity(session, "whatsapp", f"whatsapp:{PHONE}")
        link_verified_phone(session, whatsapp, PHONE)
        whatsapp.last_inbound_at = AT
        telegram = ensure_identity(session, "telegram", "4242")
        link_verified_phone(session, telegram, PHONE)
        telegram.last_inbound_at = AT - dt.timedelta(hours=1)
        sms_id, whatsapp_id, telegram_id = sms.id, whatsapp.id, telegram.id
    with db.write() as session:
        assert notification_identity(session, sms_id).id == whatsapp_id  # type: ignore[union-attr]
        apply_notices(session, [Notify(sms_id, Reply(t("Your token is {number}.", number=3), kind="push"))], AT)
    with db.read() as session:
        [row] = session.scalars(select(OutboxMessage)).all()
        assert (row.channel, row.address, row.language) == ("whatsapp", f"whatsapp:{PHONE}", "hi")
    # Once they block us on WhatsApp, the next place they wrote from takes over.
    set_opted_out(db, "whatsapp", f"whatsapp:{PHONE}", True, AT)
    with db.write() as session:
        assert notification_identity(session, sms_id).id == telegram_id  # type: ignore[union-attr]


def test_a_person_who_never_wrote_is_told_where_they_were_booked(db: Database) -> None:
    _person_with(db, "sms", PHONE, None)
    with db.write() as session:
        sms = session.scalars(select(Identity).where(Identity.channel == "sms")).one()
        assert notification_identity(session, sms.id).id == sms.id  # type: ignore[union-attr]


def test_marks_written_together_apply_each_rows_own_early_callbacks(db: Database) -> None:
    # The worker commits the marks of sends that finished together in one transaction
    # (bot/outbox/group_commit.py): each row still gets the callbacks that came before its own mark.
    delivered_sid, failed_sid = "SM" + "d" * 32, "SM" + "f" * 32
    rows = [_pending_row(db, "whatsapp", f"whatsapp:{PHONE}"), _pending_row(db, "whatsapp", "whatsapp:+919812345679"),
            _pending_row(db, "telegram", "555"), _pending_row(db, "telegram", "555", kind="ack")]
    assert record_status(db, delivered_sid, "delivered", None, AT) == "unknown"
    assert record_status(db, failed_sid, "undelivered", "63016", AT) == "unknown"
    sent_at = AT + dt.timedelta(seconds=1)
    rendered = {"text": "Your token is 7."}
    with db.write() as session:
        record_sent(session, [
            SentMark(rows[0], "whatsapp", delivered_sid, rendered, sent_at), SentMark(rows[1], "whatsapp", failed_sid, rendered, sent_at),
            SentMark(rows[2], "telegram", "42", rendered, sent_at), SentMark(rows[3], "telegram", None, None, sent_at),
        ])
    got = [_row(db, r) for r in rows]
    assert [(r.status, r.provider_id, r.provider_status) for r in got] == [
        (OutboxStatus.DELIVERED, delivered_sid, "delivered"), (OutboxStatus.REROUTED, failed_sid, "undelivered"),
        (OutboxStatus.SENT, "42", None), (OutboxStatus.SENT, None, None),
    ]
    assert [r.rendered for r in got] == [rendered, rendered, rendered, None]
    assert all(r.sent_at is not None for r in got)
    assert len(_fallbacks(db, rows[1])) == 1 and _fallbacks(db, rows[0]) == []
    with db.read() as session:
        assert set(session.execute(select(DeliveryEvent.provider_id, DeliveryEvent.outbox_id))) == {
            (delivered_sid, rows[0]), (failed_sid, rows[1])}


def _pending_row(db: Database, channel: str, address: str, kind: str = "push") -> int:
    """Queue one message as claimed for sending; return its id."""
    with db.write() as session:
        identity = ensure_identity(session, channel, address)
        payload = {"callback_query_id": "cq-1"} if kind == "ack" else reply_to_json(Reply(t("Your token is {number}.", number=7), kind="push"))
        row = OutboxMessage(identity_id=identity.id, channel=channel, address=address, language="en", kind=kind, payload=payload,
                            status=OutboxStatus.SENDING, due_at=AT)
        session.add(row)
        session.flush()
        return row.id
