"""The dispatcher: each message handled once, one person's messages one at a time, nothing lost."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.dispatch import Result
from bot.store.models import Conversation, Identity, OutboxMessage, Patient
from bot.store.models import InboundMessage as InboundRow
from tests.helpers import LocalUser

# The database is what is tested here: the dispatcher's transaction (conversation lock, inbound unique per provider id).
pytestmark = pytest.mark.both_databases

ONBOARDING = ["hello", "1", "yes", "Asha Kumari", "34", "female", "Bihar", "Gaya", "skip", "1"]


def _message(user: str, provider_id: str, text: str) -> InboundMessage:
    return InboundMessage(channel=local.NAME, address=user, provider_id=provider_id, text=text)


def _counts(services, user: str) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with services.db.read() as session:
        identity = session.scalars(select(Identity).where(Identity.address == user)).one()
        inbound = session.scalar(select(func.count()).select_from(InboundRow).where(InboundRow.identity_id == identity.id))
        outbox = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.identity_id == identity.id))
        version = session.scalars(select(Conversation.version).where(Conversation.identity_id == identity.id)).one()
    return inbound, outbox, version


def test_a_redelivered_message_is_handled_once(services) -> None:
    first = services.dispatcher.dispatch(_message("u", "p-1", "hello"))
    again = services.dispatcher.dispatch(_message("u", "p-1", "hello"))
    assert (first.result, again.result) == (Result.HANDLED, Result.DUPLICATE)
    assert first.replies == 2 and again.replies == 0
    assert _counts(services, "u") == (1, 2, 1)


def test_the_same_message_delivered_concurrently_is_handled_once(services) -> None:
    barrier = threading.Barrier(4)

    def deliver(_: int) -> Result:
        barrier.wait()
        return services.dispatcher.dispatch(_message("same", "dup-1", "hello")).result

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(deliver, range(4)))
    assert sorted(results) == [Result.DUPLICATE] * 3 + [Result.HANDLED]
    assert _counts(services, "same") == (1, 2, 1)


@pytest.mark.parametrize("rounds", [5])
def test_two_messages_at_the_same_instant_are_handled_one_after_the_other(services, rounds: int) -> None:
    user = LocalUser(services, "pair")
    for line in ["hello", "1", "yes"]:
        user.say(line)  # now at the name question
    for round_number in range(rounds):
        barrier = threading.Barrier(2)

        def deliver(n: int, round_number: int = round_number) -> None:
            barrier.wait()
            services.dispatcher.dispatch(_message("pair", f"r{round_number}-{n}", "help"))

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(deliver, range(2)))
    with services.db.read() as session:
        rows = session.execute(
            select(InboundRow.step_before, InboundRow.step_after, InboundRow.processed_at).order_by(InboundRow.id)
        ).all()
        version = session.scalars(select(Conversation.version)).one()
    assert version == 3 + 2 * rounds
    # Each message saw the state the previous one left: handled one at a time, none lost.
    for before, after in zip(rows, rows[1:]):
        assert after.step_before == before.step_after
    assert [r.processed_at for r in rows] == sorted(r.processed_at for r in rows)


def test_twenty_users_talking_at_once_lose_nothing(services) -> None:
    users = [f"crowd-{n:02d}" for n in range(20)]
    barrier = threading.Barrier(len(users))

    def onboard(user: str) -> None:
        barrier.wait()
        for n, line in enumerate(ONBOARDING):
            services.dispatcher.dispatch(_message(user, f"{user}-{n}", line))

    with ThreadPoolExecutor(len(users)) as pool:
        list(pool.map(onboard, users))
    services.worker.drain()
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == len(users)
        assert session.scalar(select(func.count()).select_from(InboundRow)) == len(users) * len(ONBOARDING)
        versions = session.scalars(select(Conversation.version)).all()
        unsent = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
    assert versions == [len(ONBOARDING)] * len(users)
    assert unsent == 0
    # Every user got the same conversation, in order, ending on the main menu.
    for user in users[:3]:
        said = LocalUser(services, user).receive()
        assert said.texts[-1] == "What would you like to do?"
        assert said.texts.count("What is your full name?") == 1


def _dispatch_counting(services, message: InboundMessage):  # type: ignore[no-untyped-def]
    """Dispatch one message; return its outcome and the statements it sent (whitespace folded; BEGIN and COMMIT left out)."""
    from sqlalchemy import event

    statements: list[str] = []

    def seen(conn, cursor, statement, *_):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    event.listen(services.db.engine, "before_cursor_execute", seen)
    try:
        outcome = services.dispatcher.dispatch(message)
    finally:
        event.remove(services.db.engine, "before_cursor_execute", seen)
    return outcome, [s for s in statements if s.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT")]


def test_a_message_costs_the_frame_four_round_trips_on_postgresql(services) -> None:
    """The frame's statements, counted (bot/dispatch_store.py): a regression to a statement per ORM
    object or a flush per write shows here as a count, not as a time. PostgreSQL: the identity with
    its locked conversation; the dedupe row with the flood count; the state; the replies with their
    NOTIFY. SQLite, with no round trips to save, runs the same as seven plain statements."""
    services.dispatcher.dispatch(_message("counted", "c-1", "hello"))
    # The language: a step that asks the database nothing of its own.
    outcome, statements = _dispatch_counting(services, _message("counted", "c-2", "1"))
    assert outcome.result == Result.HANDLED and outcome.replies >= 1
    frame = [s.split(None, 1)[0].upper() for s in statements]
    if services.db.is_sqlite:
        assert frame == ["SELECT", "INSERT", "SELECT", "UPDATE", "UPDATE", "UPDATE", "INSERT"]
    else:
        assert frame == ["SELECT", "WITH", "WITH", "INSERT"]


def test_a_first_contact_makes_its_identity_and_conversation_in_two_statements(services) -> None:
    """A person's first message misses the load, makes the identity and its conversation (one
    INSERT each, ON CONFLICT DO NOTHING: a second web process making them at the same moment is
    no error), and loads them as every later message does. No read in between."""
    services.dispatcher.dispatch(_message("before", "b-1", "hello"))  # the process's first message reads its keys
    outcome, frame = _dispatch_counting(services, _message("newcomer", "n-1", "hello"))
    assert outcome.result == Result.HANDLED and outcome.replies >= 1
    made = [s.split("(", 1)[0].strip() for s in frame[1:3]]
    assert made == ["INSERT INTO identities", "INSERT INTO conversations"], frame
    assert frame[0].startswith("SELECT") and frame[3].startswith("SELECT") and frame[0] == frame[3], frame
    assert _counts(services, "newcomer") == (1, outcome.replies, 1)


def test_a_registration_writes_the_person_the_patient_and_the_link_at_once(services) -> None:
    """The onboarding's confirmation is one of a journey's dearest turns (bench/dispatch_cost.py):
    the person, the patient and the identity's link are one statement on PostgreSQL (three on
    SQLite), with no ORM flush after them; the rows hold what was typed, and the next message's
    load finds the person through the identity."""
    for n, line in enumerate(ONBOARDING[:-1]):
        services.dispatcher.dispatch(_message("registering", f"r-{n}", line))
    outcome, statements = _dispatch_counting(services, _message("registering", "r-last", ONBOARDING[-1]))
    assert outcome.result == Result.HANDLED and outcome.replies >= 1
    writes = [s for s in statements if "INSERT INTO people" in s or "INSERT INTO patients" in s or s.startswith("UPDATE identities SET person_id")]
    if services.db.is_sqlite:
        assert [s.split(" (", 1)[0].split(" SET ", 1)[0] for s in writes] == [
            "INSERT INTO people", "INSERT INTO patients", "UPDATE identities"], statements
    else:
        assert len(writes) == 1 and "INSERT INTO people" in writes[0] and "INSERT INTO patients" in writes[0], statements
        assert writes[0].startswith("WITH new_person AS") and "UPDATE identities SET person_id" in writes[0], statements
    with services.db.read() as session:
        identity = session.scalars(select(Identity).where(Identity.address == "registering")).one()
        assert identity.person is not None and identity.person.name == "Asha Kumari"
        patient = session.get(Patient, identity.person_id)
        assert patient is not None and (patient.age, patient.sex, patient.district) == (34, "female", "Gaya")
    later = services.dispatcher.dispatch(_message("registering", "r-after", "hello"))
    assert later.result == Result.HANDLED
