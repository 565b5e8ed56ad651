"""The inbox's records: one open item a chat, one holder a chat (a race, on both databases), replies, hand-back, expiry, scope."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from bot.outbox.delivery import record_status
from bot.outbox.enqueue import apply_notices
from bot.outbox.timers import TimerRunner
from bot.runtime import Services
from bot.services import inbox, operators
from bot.services.erasure import erase_identity
from bot.services.pings import TIMER_HANDLERS as PING_TIMER_HANDLERS
from bot.store.db import Database
from bot.store.models import (
    Conversation,
    Identity,
    InboxItem,
    InboxMessage,
    OutboxMessage,
    Timer,
    utcnow,
)
from flows.messages import reply_from_json
from flows.ports import Intake
from flows.steps.pings import ping_notices
from tests.booking_records_helpers import add_opd, add_patient, records

NOW = dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC)


def _operator(db: Database, name: str, role: str = "coordinator", state: str | None = None) -> inbox.Scope:
    with db.write() as session:
        operator, _ = operators.add_operator(session, name, role=role, state=state)
        return inbox.Scope(operator.id, operator.state_code)


def _flagged_patient(db: Database, state: str = "IN-BR") -> tuple[int, int]:
    """A registered patient's chat (at a booking question) in the inbox; return its identity and item ids."""
    identity_id = add_patient(db, state=state)
    with db.write() as session:
        session.add(Conversation(identity_id=identity_id, step="symptoms", data={"red_flags": ["chest_pain"], "opd": 3}))
        session.flush()
        item_id = inbox.open_item(session, identity_id, inbox.ASKED, NOW)
        assert inbox.open_item(session, identity_id, inbox.STUCK, NOW) == item_id  # one open item a chat
    assert item_id is not None
    return identity_id, item_id


def _act(db: Database, action) -> None:  # type: ignore[no-untyped-def]
    with db.write() as session:
        apply_notices(session, action(session), NOW)


def _texts(db: Database, services: Services, identity_id: int) -> list[str]:
    with db.read() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.identity_id == identity_id).order_by(OutboxMessage.id)).all()
        return [services.catalogs.translate(reply_from_json(row.payload).text, row.language) for row in rows]


@pytest.mark.both_databases
def test_of_two_coordinators_taking_one_chat_at_once_exactly_one_holds_it(db: Database) -> None:
    identity_id, item_id = _flagged_patient(db)
    scopes = [_operator(db, "asha"), _operator(db, "ravi")]
    start = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def take(scope: inbox.Scope) -> None:
        start.wait()
        try:
            with db.write() as session:
                inbox.take_over(session, item_id, scope, NOW)
            outcomes[scope.operator_id] = "held"
        except inbox.InboxError as refused:
            outcomes[scope.operator_id] = refused.reason

    threads = [threading.Thread(target=take, args=(scope,)) for scope in scopes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["held", "taken"]
    [winner] = [operator_id for operator_id, outcome in outcomes.items() if outcome == "held"]
    with db.read() as session:
        assert session.get(InboxItem, item_id).held_by == winner  # type: ignore[union-attr]
        conv = session.scalars(select(Conversation).where(Conversation.identity_id == identity_id)).one()
        assert conv.held_by == winner


def test_a_reply_reaches_the_patient_and_hand_back_puts_the_chat_at_the_menu(db: Database, services: Services) -> None:
    identity_id, item_id = _flagged_patient(db)
    coordinator = _operator(db, "asha")
    with pytest.raises(inbox.InboxError, match="not_held"):
        _act(db, lambda session: inbox.reply(session, item_id, coordinator, "Namaste", NOW))
    _act(db, lambda session: inbox.take_over(session, item_id, coordinator, NOW))
    _act(db, lambda session: inbox.reply(session, item_id, coordinator, "Aapka token kal subah 10 baje hai.", NOW))
    _act(db, lambda session: inbox.hand_back(session, item_id, coordinator, NOW))
    texts = _texts(db, services, identity_id)
    assert "टीम" in texts[0]  # the patient (Hindi) is told a person is answering
    assert texts[1].endswith("Aapka token kal subah 10 baje hai.")
    assert "टेलीओपीडी" in texts[2] and texts[3].startswith("आप क्या करना चाहेंगे")
    with db.read() as session:
        conv = session.scalars(select(Conversation).where(Conversation.identity_id == identity_id)).one()
        assert (conv.step, conv.held_by, conv.data) == ("menu", None, {"red_flags": ["chest_pain"]})
        item = session.get(InboxItem, item_id)
        assert item is not None and item.closed_at is not None and item.open_identity_id is None
        assert [action for _, _, action in inbox.audit_log(session, item_id)] == ["took_over", "replied", "handed_back"]
        # Answered: the takeover's timer was cancelled.
        assert {timer.status for timer in session.scalars(select(Timer).where(Timer.kind == inbox.EXPIRY_TIMER))} == {"cancelled"}
    with pytest.raises(inbox.InboxError, match="closed"):
        _act(db, lambda session: inbox.hand_back(session, item_id, coordinator, NOW))
    with db.write() as session:  # the chat may come to the inbox again
        assert inbox.open_item(session, identity_id, inbox.ASKED, NOW) not in (None, item_id)


def test_a_takeover_nobody_answers_returns_to_the_queue(db: Database, services: Services) -> None:
    identity_id, item_id = _flagged_patient(db)
    asha, ravi = _operator(db, "asha"), _operator(db, "ravi")
    _act(db, lambda session: inbox.take_over(session, item_id, asha, NOW, minutes=15))
    services.timers.clock = lambda: NOW + dt.timedelta(minutes=14)
    assert services.timers.drain() == 0
    services.timers.clock = lambda: NOW + dt.timedelta(minutes=16)
    assert services.timers.drain() == 1
    with db.read() as session:
        item = session.get(InboxItem, item_id)
        assert item is not None and item.held_by is None and item.closed_at is None
        assert session.scalars(select(Conversation.held_by).where(Conversation.identity_id == identity_id)).one() is None
        assert [row.held_by for row in inbox.list_open(session)] == [None]
    _act(db, lambda session: inbox.take_over(session, item_id, ravi, NOW))  # another coordinator takes it


def test_a_state_bound_coordinator_sees_and_takes_their_state_s_chats_only(db: Database) -> None:
    _, bihar_item = _flagged_patient(db, state="IN-BR")
    _, up_item = _flagged_patient(db, state="IN-UP")
    up = _operator(db, "up.coord", state="up")
    everyone = _operator(db, "national")
    assert up.state_code == "IN-UP"
    with db.read() as session:
        assert [row.id for row in inbox.list_open(session, up.state_code)] == [up_item]
        assert [row.id for row in inbox.list_open(session, everyone.state_code)] == [bihar_item, up_item]
    with pytest.raises(inbox.InboxError, match="not_found"):
        _act(db, lambda session: inbox.take_over(session, bihar_item, up, NOW))
    _act(db, lambda session: inbox.take_over(session, up_item, up, NOW))


def test_an_operator_s_role_and_state_are_checked() -> None:
    assert operators.check_role("Coordinator", "br") == ("coordinator", "IN-BR")
    assert operators.check_role("viewer", None) == ("viewer", None)
    for role, state in (("owner", None), ("admin", "XX")):
        with pytest.raises(operators.OperatorError):
            operators.check_role(role, state)


def test_erasure_deletes_the_patient_s_words_kept_for_the_inbox_and_closes_their_item(db: Database) -> None:
    identity_id, item_id = _flagged_patient(db)
    coordinator = _operator(db, "asha")
    _act(db, lambda session: inbox.take_over(session, item_id, coordinator, NOW))
    with db.write() as session:
        inbox.record_patient_message(session, identity_id, "mera naam Sunita hai, gaon Rampur", NOW)
        erase_identity(session, session.get(Identity, identity_id), NOW)  # type: ignore[arg-type]
    with db.read() as session:
        assert session.scalars(select(InboxMessage)).all() == []
        assert inbox.list_open(session) == []
        assert session.scalars(select(Conversation.held_by).where(Conversation.identity_id == identity_id)).one() is None
        assert [action for _, _, action in inbox.audit_log(session, item_id)] == ["took_over"]


def test_a_message_that_never_reached_a_called_patient_puts_their_chat_in_the_inbox(db: Database) -> None:
    called, idle = add_patient(db), add_patient(db)
    with db.write() as session:
        for identity_id, step, sid in ((called, "called", "SM-called"), (idle, "menu", "SM-idle")):
            session.add(Conversation(identity_id=identity_id, step=step, data={}))
            session.add(OutboxMessage(
                identity_id=identity_id, channel="sms", address="+919800000001", language="hi", kind="push",
                payload={"text": {"msgid": "x"}}, status="sent", provider_id=sid,
            ))
    assert record_status(db, "SM-called", "undelivered", "30003", NOW) == "updated"
    assert record_status(db, "SM-idle", "undelivered", "30003", NOW) == "updated"
    with db.read() as session:
        assert [(row.identity_id, row.reason) for row in inbox.list_open(session)] == [(called, inbox.UNDELIVERED)]


def test_a_danger_sign_no_doctor_called_in_time_puts_the_patient_s_chat_in_the_inbox(db: Database) -> None:
    opd = add_opd(db, "NIGHT", hours="24h", days="all")
    patient = add_patient(db)
    booked_at = utcnow() - dt.timedelta(minutes=15)
    with db.write() as session:
        result = records(session, patient, booked_at).book(opd, None, Intake(text="seene mein dard", red_flags=("chest_pain",)), True)
        apply_notices(session, ping_notices(result, booked_at, escalation_minutes=10), booked_at)
    TimerRunner(db, PING_TIMER_HANDLERS).drain()
    with db.read() as session:
        assert [(row.identity_id, row.reason) for row in inbox.list_open(session)] == [(patient, inbox.DANGER)]
