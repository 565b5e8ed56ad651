"""Broadcasts on the database: the segment's count, a second operator's approval, durable sending, and replies first.

The segment counts only patients who said yes to advisories and did not send STOP, one identity
a person; a broadcast above the threshold waits for an operator who is not its author; a sender
stopped mid-way (between transactions, or killed inside one) and started again queues every
recipient exactly once, skipping whoever sent STOP meanwhile; and a worker claims a reply queued
after 500 broadcast rows before any of them. The flows' side is tests/test_broadcast_flow.py.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select, update

from bot.outbox import claims
from bot.outbox.enqueue import BROADCAST_PRIORITY, enqueue_advisory
from bot.platform.i18n import Catalogs
from bot.services import broadcasts
from bot.services.broadcast_sender import BroadcastSender
from bot.services.broadcasts import BroadcastRefused, Segment
from bot.store.db import Database
from bot.store.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    Identity,
    Operator,
    OutboxMessage,
    Patient,
    Person,
    Role,
)
from flows.messages import Reply, t
from flows.steps.advisories import advisory
from tests.outbox_delivery_helpers import START, Clock, FakeChannel, queue, worker

SECOND = dt.timedelta(seconds=1)


def seed(
    db: Database, count: int, *, prefix: str, channel: str = "telegram", state: str = "IN-UP", district: str = "Varanasi",
    language: str = "hi", opted_in: bool = True, stopped: bool = False,
) -> list[int]:
    """Register `count` patients, one identity each; return the identities' ids."""
    with db.write() as session:
        identities = []
        for n in range(count):
            person = Person(role=Role.PATIENT, name=f"{prefix} {n}", language=language)
            person.patient = Patient(
                age=30, sex="female", state_code=state, district=district, consent_at=START,
                advisories_asked_at=START, advisories_opted_in_at=START if opted_in else None,
                advisories_opted_out_at=None if opted_in else START,
            )
            identity = Identity(channel=channel, address=f"{prefix}-{n}", person=person, language=language,
                                opted_out=stopped, last_inbound_at=START - dt.timedelta(days=1))
            session.add(identity)
            identities.append(identity)
        session.flush()
        return [identity.id for identity in identities]


def operators(db: Database, *names: str) -> list[Operator]:
    with db.write() as session:
        made = [Operator(username=name, password_hash="-") for name in names]
        session.add_all(made)
        session.flush()
        session.expunge_all()
        return made


def draft(db: Database, author: Operator, segment: Segment = Segment()) -> int:
    with db.write() as session:
        return broadcasts.create(session, author.id, segment, START, texts={"en": "Polio drops on Sunday.", "hi": "रविवार को पोलियो की दवा।"}).id


def test_the_segment_counts_opted_in_patients_not_stopped_one_identity_each(db: Database) -> None:
    seed(db, 6, prefix="up")
    seed(db, 2, prefix="said-no", opted_in=False)
    seed(db, 1, prefix="stopped", stopped=True)
    seed(db, 3, prefix="bihar", channel="sms", state="IN-BR", district="Patna", language="hi-Latn")
    # One person on two channels: counted once, where they last wrote from (WhatsApp).
    [telegram] = seed(db, 1, prefix="both")
    with db.write() as session:
        person = session.get(Identity, telegram)
        session.add(Identity(channel="whatsapp", address="whatsapp:+919800000001", person_id=person.person_id, last_inbound_at=START))
    with db.read() as session:
        def count(segment: Segment) -> int:
            return broadcasts.count_audience(session, segment, START)

        assert count(Segment()) == 6 + 3 + 1
        assert count(Segment(states=("IN-UP",))) == 6 + 1
        assert count(Segment(districts=("patna",))) == 3
        assert count(Segment(languages=("hi-Latn",))) == 3
        assert count(Segment(channels=("sms",))) == 3
        assert count(Segment(channels=("telegram",))) == 6 + 1  # on Telegram only, the two-channel person's Telegram
        assert count(Segment(seen_within_days=30)) == 0  # nobody has had a consultation
    [author] = operators(db, "asha")
    broadcast_id = draft(db, author)
    with db.read() as session:
        shown = broadcasts.preview(session, session.get(Broadcast, broadcast_id), START)
    assert (shown.total, shown.by_channel) == (10, {"telegram": 6, "sms": 3, "whatsapp": 1})
    assert shown.by_language == {"hi": 7, "hi-Latn": 3}


def test_a_broadcast_above_the_threshold_waits_for_a_second_operator(db: Database) -> None:
    seed(db, 5, prefix="p")
    author, other, gone = operators(db, "asha", "ravi", "old")
    broadcast_id = draft(db, author)
    with db.write() as session:
        assert broadcasts.send(session, broadcast_id, author, START, approval_above=4).status == BroadcastStatus.AWAITING_APPROVAL
    with pytest.raises(BroadcastRefused) as refused, db.write() as session:
        broadcasts.approve(session, broadcast_id, author, START)
    assert refused.value.code == "second_operator"
    gone.disabled_at = START
    with db.read() as session:
        assert not broadcasts.may_send_broadcast(gone, session.get(Broadcast, broadcast_id))
    with db.write() as session:
        approved = broadcasts.approve(session, broadcast_id, other, START)
        assert (approved.status, approved.approver_id, approved.audience) == (BroadcastStatus.APPROVED, other.id, 5)
    with db.write() as session:
        assert broadcasts.send(session, broadcast_id, author, START, approval_above=4).status == BroadcastStatus.SENDING
    # At or below the threshold, the author sends it alone.
    small = draft(db, author)
    with db.write() as session:
        assert broadcasts.send(session, small, author, START, approval_above=5).status == BroadcastStatus.SENDING
    with pytest.raises(BroadcastRefused), db.write() as session:
        broadcasts.create(session, author.id, Segment(), START, texts={"en": "English only"})


@pytest.mark.both_databases
def test_a_stopped_and_restarted_sender_queues_everyone_once(db: Database, catalogs: Catalogs) -> None:
    everyone = seed(db, 300, prefix="p")
    seed(db, 20, prefix="no", opted_in=False)
    [author] = operators(db, "asha")
    broadcast_id = draft(db, author)
    with db.write() as session:
        broadcasts.send(session, broadcast_id, author, START, approval_above=1000)
    clock = Clock()
    first = BroadcastSender(db, per_second=100, clock=clock, batch=64)
    for _ in range(3):  # 192 of 300 made recipients
        first.step(broadcast_id)
    # Killed inside a transaction: the batch it was making is not there at all.
    with pytest.raises(RuntimeError), db.write() as session:
        first._expand(session, session.get(Broadcast, broadcast_id), clock())
        raise RuntimeError("killed")
    second = BroadcastSender(db, per_second=100, clock=clock, batch=64)
    while second.step(broadcast_id) and clock.now < START + 10 * SECOND:
        with db.read() as session:
            if session.get(Broadcast, broadcast_id).paced_until is not None:
                break  # expanded, and the first advisories queued
    with pytest.raises(RuntimeError), db.write() as session:
        second._queue(session, session.get(Broadcast, broadcast_id), clock())
        raise RuntimeError("killed")
    # One recipient sends STOP before their turn: skipped.
    stopper = everyone[-1]
    with db.write() as session:
        session.execute(update(Identity).where(Identity.id == stopper).values(opted_out=True, opted_out_at=clock()))
    third = BroadcastSender(db, per_second=100, clock=clock, batch=64)
    for _ in range(100):
        clock.now += SECOND
        third.run_once()
        with db.read() as session:
            if session.get(Broadcast, broadcast_id).status == BroadcastStatus.DONE:
                break
    channel = FakeChannel("telegram")
    clock.now += 10 * SECOND
    worker(db, catalogs, channel, clock=clock).drain()
    sent = Counter(s.address for s in channel.sent)
    assert max(sent.values()) == 1  # nobody twice
    assert set(sent) == {f"p-{n}" for n in range(299)}  # nobody missing, and not the one who sent STOP
    with db.read() as session:
        broadcast = session.get(Broadcast, broadcast_id)
        assert broadcast.status == BroadcastStatus.DONE and broadcast.recipients == 300
        rows = session.scalars(select(OutboxMessage.priority).where(OutboxMessage.kind == "push")).all()
        assert rows == [BROADCAST_PRIORITY] * 299
        shown = broadcasts.progress(session, broadcast)
    assert (shown.recipients, shown.sent, shown.not_sent, shown.pending, shown.queued, shown.opted_out) == (300, 299, 1, 0, 0, 1)
    assert "पोलियो" in channel.sent[0].message.text


def test_quiet_hours_hold_a_broadcast_until_morning(db: Database) -> None:
    seed(db, 3, prefix="p")
    [author] = operators(db, "asha")
    broadcast_id = draft(db, author)
    with db.write() as session:
        broadcasts.send(session, broadcast_id, author, START, approval_above=1000)
    night = Clock(dt.datetime(2026, 11, 25, 17, 0, tzinfo=dt.UTC))  # 22:30 in India
    sender = BroadcastSender(db, per_second=100, clock=night)
    sender.drain()
    with db.read() as session:
        assert session.scalars(select(BroadcastRecipient.status)).all() == ["pending"] * 3
    night.now = dt.datetime(2026, 11, 26, 2, 31, tzinfo=dt.UTC)  # 08:01
    sender.drain()
    with db.read() as session:
        assert session.scalars(select(BroadcastRecipient.status)).all() == ["queued"] * 3


def test_a_reply_queued_after_500_broadcast_rows_is_claimed_first(db: Database) -> None:
    identities = seed(db, 50, prefix="p")
    reply_to_broadcast_recipient = identities[0]
    with db.write() as session:
        people = session.scalars(select(Identity).where(Identity.id.in_(identities))).all()
        message = advisory(template="heat_wave")
        for n in range(500):
            enqueue_advisory(session, people[n % len(people)], "hi", message, START - SECOND)
    # A patient's reply, and "the doctor is ready" to someone whose advisories wait.
    others = queue(db, "c1", reply=Reply(t("Welcome back!")))
    with db.read() as session:
        address = session.get(Identity, reply_to_broadcast_recipient).address
    queue_ready = queue(db, address, reply=Reply(t("Welcome back!"), kind="push"))
    with db.write() as session:
        taken = claims.claim(session, START, limit=5)
    assert [row.id for row in taken[:2]] == others + queue_ready
    assert all(row.kind == "push" for row in taken[2:])


def test_the_broadcast_command_writes_previews_asks_approval_and_follows(db: Database, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli.main import main

    monkeypatch.setenv("TELEOPD_DATABASE_URL", db.url)
    monkeypatch.setenv("TELEOPD_BROADCAST_APPROVAL_ABOVE", "1")
    seed(db, 2, prefix="p")
    operators(db, "asha", "ravi")

    def run(*args: str) -> tuple[int, str]:
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out if status == 0 else err

    status, out = run("broadcast", "create", "--as", "asha", "--template", "heat_wave", "--state", "IN-UP")
    assert status == 0 and "broadcast 1 written" in out and "reaches 2 patients" in out
    assert "लू की चेतावनी" in out and "SALAAH BAND" in out  # the advisory in every language
    status, out = run("broadcast", "send", "1", "--as", "asha")
    assert status == 0 and "approve 1" in out
    status, out = run("broadcast", "approve", "1", "--as", "asha")
    assert status != 0 and "second operator" in out
    assert run("broadcast", "approve", "1", "--as", "ravi")[0] == 0
    assert run("broadcast", "send", "1", "--as", "ravi")[0] == 0
    BroadcastSender(db, per_second=100, clock=Clock()).drain()
    status, out = run("broadcast", "status", "1")
    assert status == 0 and "broadcast 1: done" in out
    assert out.splitlines()[-1].split()[:4] == ["2", "2", "0", "2"]  # audience, recipients, to queue, queued


def test_nobody_gets_more_advisories_a_month_than_they_agreed_to(db: Database) -> None:
    seed(db, 2, prefix="p")
    [author] = operators(db, "asha")
    clock = Clock()
    sender = BroadcastSender(db, per_second=100, clock=clock, per_month=1)
    for _ in range(2):
        broadcast_id = draft(db, author)
        with db.write() as session:
            broadcasts.send(session, broadcast_id, author, clock(), approval_above=1000)
        sender.drain()
        clock.now += dt.timedelta(days=1)
    with db.read() as session:
        first, second = (broadcasts.progress(session, session.get(Broadcast, n)) for n in (broadcast_id - 1, broadcast_id))
    assert (first.queued, first.not_sent, second.queued, second.not_sent) == (2, 0, 0, 2)


def test_a_registered_patient_answers_the_question_through_the_dispatcher_once(db: Database, catalogs: Catalogs) -> None:
    from bot.channels import local
    from bot.platform.config import Settings
    from bot.runtime import build_services
    from bot.store.models import Conversation
    from tests.helpers import LocalUser

    services = build_services(Settings(database_url=db.url, inbound_per_minute=1000, advisories_per_month=4), db=db, catalogs=catalogs)
    with db.write() as session:
        person = Person(role=Role.PATIENT, name="Sunita Devi", language="hi")
        person.patient = Patient(age=34, sex="female", state_code="IN-UP", district="Varanasi", consent_at=START)
        identity = Identity(channel=local.NAME, address="u1", person=person, language="hi")
        session.add(identity)
        session.flush()
        session.add(Conversation(identity_id=identity.id, step="menu", data={}))
    user = LocalUser(services, "u1")
    asked = user.say("मेनू")
    assert "महीने में ज़्यादा से ज़्यादा 4" in asked.all_text
    user.say("हाँ")
    with db.read() as session:
        patient = session.scalars(select(Patient)).one()
        assert patient.advisories_asked_at is not None and patient.advisories_opted_in_at is not None
        assert broadcasts.count_audience(session, Segment(), START) == 1
    user.say("मेनू")
    with db.read() as session:
        assert session.scalars(select(Conversation.step)).one() == "menu"  # asked once: the menu itself now
    user.say("सलाह बंद")
    with db.read() as session:
        patient = session.scalars(select(Patient)).one()
        assert patient.advisories_opted_in_at is None and patient.advisories_opted_out_at is not None
        assert broadcasts.count_audience(session, Segment(), START) == 0


def test_a_coordinator_bound_to_a_state_broadcasts_to_that_state_alone_and_a_viewer_to_nobody(db: Database) -> None:
    texts = {"en": "Polio drops on Sunday.", "hi": "रविवार को पोलियो की दवा।"}
    with db.write() as session:
        made = [
            Operator(username="up-coordinator", password_hash="-", role="coordinator", state_code="IN-UP"),
            Operator(username="viewer", password_hash="-", role="viewer"),
            Operator(username="national", password_hash="-", role="admin"),
        ]
        session.add_all(made)
        session.flush()
        session.expunge_all()
    up, viewer, national = made
    with db.write() as session:
        own = broadcasts.create(session, up.id, Segment(states=("up",)), START, texts=texts)  # "up" is kept as the ISO code
        assert own.segment["states"] == ["IN-UP"]
        everyone = broadcasts.create(session, national.id, Segment(), START, texts=texts)
        assert broadcasts.may_send_broadcast(up, own) is False  # its author
        assert broadcasts.may_send_broadcast(national, own) and not broadcasts.may_send_broadcast(up, everyone)
        assert not broadcasts.may_send_broadcast(viewer, everyone)
    for who, segment, code in (
        (up, Segment(), "not_yours"), (up, Segment(states=("IN-UP", "IN-BR")), "not_yours"),
        (viewer, Segment(states=("IN-UP",)), "not_yours"), (national, Segment(states=("XX",)), "segment"),
    ):
        with pytest.raises(BroadcastRefused) as refused, db.write() as session:
            broadcasts.create(session, who.id, segment, START, texts=texts)
        assert refused.value.code == code, (who.username, segment)
