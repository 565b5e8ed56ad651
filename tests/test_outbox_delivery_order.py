"""The outbox worker against the adapter contract: order, acks, workers together, windows and rendering.

Every test drives the real OutboxWorker on the real database (SQLite, and PostgreSQL when
configured) through FakeChannel (tests/outbox_delivery_helpers.py), a fake of the ChannelAdapter
port that records what it was asked to send and raises the SendErrors it is scripted to.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.channels.base import (
    RateLimited,
    TemporaryError,
)
from bot.outbox.template_keys import template_key
from bot.outbox.worker import (
    ACK_ATTEMPTS,
    OutboxWorker,
)
from bot.store.models import OutboxMessage, OutboxStatus
from flows.steps.visit import get_ready
from tests.conftest import BACKENDS
from tests.outbox_delivery_helpers import (
    OPD,
    SECOND,
    START,
    Clock,
    FakeChannel,
    queue,
    row,
    worker,
)

# The database is what is tested here: outbox claims (FOR UPDATE SKIP LOCKED on PostgreSQL), per-address order, claim timeouts.
pytestmark = pytest.mark.both_databases


# --- order ------------------------------------------------------------------------------------


def test_rows_after_a_deferred_one_wait_with_it_and_keep_their_order(db, catalogs) -> None:
    clock = Clock()
    channel = FakeChannel(script=[RateLimited("full", retry_after=0.5)])
    first = queue(db, "c1", count=3)  # the first is rate limited
    other = queue(db, "c2")
    w = worker(db, catalogs, channel, clock=clock, batch_size=2)  # the third c1 row is left out of the batch
    assert w.run_once() == 2  # c1's first two: other recipients wait for the next batch
    for row_id in first:
        r = row(db, row_id)
        assert (r.status, r.attempts, r.due_at) == (OutboxStatus.PENDING, 0, START + dt.timedelta(seconds=0.5))
    w.drain()
    assert channel.sent_ids() == other  # c1 waits; c2 is not held up
    clock.now += SECOND
    w.drain()
    assert channel.sent_ids() == other + first


def test_a_chat_that_takes_a_message_a_second_gets_its_rows_back_a_second_apart(db, catalogs) -> None:
    """RateLimited.spacing (a Telegram chat): the rows behind the deferred one are due one after another,
    so each is claimed once, when its turn comes, instead of all of them every time one goes."""
    clock = Clock()
    channel = FakeChannel(script=[RateLimited("chat", retry_after=0.5, spacing=1.0)])
    rows = queue(db, "c1", count=4)
    w = worker(db, catalogs, channel, clock=clock, batch_size=3)  # the fourth is queued behind the batch
    assert w.run_once() == 3
    half = dt.timedelta(seconds=0.5)
    assert [(row(db, r).status, row(db, r).attempts, row(db, r).due_at) for r in rows] == [
        (OutboxStatus.PENDING, 0, START + half),
        (OutboxStatus.PENDING, 0, START + half + SECOND),
        (OutboxStatus.PENDING, 0, START + half + 2 * SECOND),
        (OutboxStatus.PENDING, 0, START + half + 2 * SECOND),  # queued after them: waits for the last
    ]
    sent_at_each_turn = []
    for _ in range(3):
        clock.now += SECOND if sent_at_each_turn else half
        w.drain()
        sent_at_each_turn.append(len(channel.sent_ids()))
    assert sent_at_each_turn == [1, 2, 4]
    assert channel.sent_ids() == rows  # in order


def test_a_later_row_waits_while_another_worker_sends_the_earlier_one(db, catalogs) -> None:
    clock = Clock()
    channel = FakeChannel()
    first, second = queue(db, count=2)
    busy = worker(db, catalogs, channel, clock=clock, batch_size=1)
    (claimed,) = busy.claim()  # still sending the first
    assert claimed.id == first
    other = worker(db, catalogs, channel, clock=clock)
    assert other.drain(patience_s=0.05) == 0
    busy._send_group([claimed])
    assert other.drain() == 1
    assert channel.sent_ids() == [first, second]


# PostgreSQL only: SQLite claims under one write lock (BEGIN IMMEDIATE), so no claim is
# ever seen half done there.
@pytest.mark.parametrize("db", [backend for backend in BACKENDS if backend == "postgresql"], indirect=True)
def test_a_later_row_is_not_taken_while_another_claim_holds_the_earlier_one(db, catalogs) -> None:
    channel = FakeChannel()
    first, second = queue(db, count=2)
    with db.write() as session:  # another worker, between its SELECT … FOR UPDATE and its commit
        session.execute(select(OutboxMessage.id).where(OutboxMessage.id == first).with_for_update())
        assert worker(db, catalogs, channel, clock=Clock()).claim() == []
    assert [c.id for c in worker(db, catalogs, channel, clock=Clock()).claim()] == [first, second]


def test_an_ack_never_waits_behind_a_message(db, catalogs) -> None:
    clock = Clock()
    channel = FakeChannel(script=[RateLimited("full", retry_after=5)])
    (reply,) = queue(db, "c1")
    (ack,) = queue(db, "c1", kind="ack")
    worker(db, catalogs, channel, clock=clock).drain()
    assert row(db, ack).status == OutboxStatus.SENT and channel.acks == [("c1", {"callback_query_id": "cq-1"})]
    assert row(db, reply).status == OutboxStatus.PENDING


def test_a_failing_ack_is_tried_a_few_times_then_dropped(db, catalogs) -> None:
    clock = Clock()
    channel = FakeChannel(ack_script=[TemporaryError("query is too old", code="400")] * 10)
    (ack,) = queue(db, kind="ack")
    w = worker(db, catalogs, channel, clock=clock)
    for _ in range(ACK_ATTEMPTS + 2):
        w.drain()
        clock.now += dt.timedelta(seconds=5)
    assert (row(db, ack).status, channel.calls, channel.sent) == (OutboxStatus.FAILED, ACK_ATTEMPTS, [])


def test_workers_draining_together_send_every_row_once_in_order(db, catalogs) -> None:
    channel = FakeChannel(delay=0.001)
    ids = {f"c{n}": queue(db, f"c{n}", count=1 + n % 4) for n in range(40)}
    workers = [worker(db, catalogs, channel, clock=Clock(), batch_size=9) for _ in range(2)]
    barrier = threading.Barrier(len(workers))

    def drain(w: OutboxWorker) -> int:
        barrier.wait()
        return w.drain()

    with ThreadPoolExecutor(len(workers)) as pool:
        handled = sum(pool.map(drain, workers))
    total = sum(len(v) for v in ids.values())
    assert handled == total and sorted(channel.sent_ids()) == sorted(i for v in ids.values() for i in v)
    for address, expected in ids.items():
        assert [s.outbox_id for s in channel.sent if s.address == address] == expected
    with db.read() as session:
        assert dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()) == {OutboxStatus.SENT: total}


# --- rendering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_inbound", "session_open"),
    [
        pytest.param(None, False, id="never-wrote"),
        pytest.param(dt.timedelta(hours=23, minutes=59), True, id="within-24h"),
        pytest.param(dt.timedelta(hours=24), False, id="24h-of-silence"),
        pytest.param(dt.timedelta(days=3), False, id="days-ago"),
    ],
)
def test_whatsapp_messages_know_whether_the_24h_window_is_open(db, catalogs, last_inbound, session_open: bool) -> None:
    whatsapp = FakeChannel("whatsapp")
    at = None if last_inbound is None else START - last_inbound
    queue(db, "whatsapp:+919812345678", "whatsapp", last_inbound_at=at)
    worker(db, catalogs, whatsapp, clock=Clock()).drain()
    assert whatsapp.sent[0].message.session_open is session_open


def test_other_channels_are_always_in_session(db, catalogs) -> None:
    telegram = FakeChannel("telegram")
    queue(db, "c1", "telegram", last_inbound_at=None)
    worker(db, catalogs, telegram, clock=Clock()).drain()
    assert telegram.sent[0].message.session_open is True


@pytest.mark.parametrize(
    ("channel", "lang", "msgid", "variables"),
    [
        pytest.param(
            "whatsapp", "hi", get_ready(OPD, 1234).text.msgid, (("number", "1,234"), ("opd", "सामान्य चिकित्सा")), id="whatsapp-hi"
        ),
        pytest.param("telegram", "en", get_ready(OPD, 1234).text.msgid, (("number", "1,234"), ("opd", "General Medicine")), id="telegram-en"),
        pytest.param("sms", "hi", get_ready(OPD, 1234).sms.msgid, (("number", "1,234"),), id="sms-short-form"),  # type: ignore[union-attr]
    ],
)
def test_messages_carry_their_template_key_and_variables(db, catalogs, channel: str, lang: str, msgid: str, variables) -> None:
    fake = FakeChannel(channel)
    queue(db, "+919812345678" if channel == "sms" else "c1", channel, reply=get_ready(OPD, 1234), language=lang)
    worker(db, catalogs, fake, clock=Clock()).drain()
    message = fake.sent[0].message
    assert (message.template, message.variables) == (template_key(msgid), variables)
    assert "1,234" in message.text


def test_a_running_worker_comes_back_for_rate_limited_rows_without_idling(db, catalogs) -> None:
    channel = FakeChannel(script=[RateLimited("full", retry_after=0.2)] * 3)
    ids = [queue(db, f"c{n}", due=dt.datetime.now(dt.UTC))[0] for n in range(5)]
    w = OutboxWorker(db, catalogs, {"telegram": channel})  # the real clock
    stop = threading.Event()
    runner = threading.Thread(target=w.run, args=(stop, None, 5.0))  # a long idle pause it must not take
    runner.start()
    try:
        deadline = time.monotonic() + 3
        while len(channel.sent) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert sorted(channel.sent_ids()) == ids
    assert not runner.is_alive()


def test_a_row_queued_while_an_earlier_one_waits_for_its_turn_does_not_overtake_it(db, catalogs) -> None:
    # A Telegram chat takes a message a second: the first reply goes back until its turn, and
    # the patient's next message is answered meanwhile. That answer waits behind it.
    clock = Clock()
    channel = FakeChannel(script=[RateLimited("chat", retry_after=0.5, spacing=1.0)])
    (first,) = queue(db, "c1")
    w = worker(db, catalogs, channel, clock=clock)
    w.drain()
    (second,) = queue(db, "c1", due=START)  # due now, while the first is due in half a second
    other = queue(db, "c2", due=START)
    w.drain(patience_s=0)  # c1's second row is due but held back: nothing to wait for
    assert channel.sent_ids() == other, "another chat is not held up"
    clock.now += SECOND
    w.drain()
    assert channel.sent_ids() == [*other, first, second]


def test_a_claim_whose_first_due_rows_are_all_held_back_still_finds_the_next_recipients(db, catalogs) -> None:
    # A claim walks the due rows in order and stops at its limit: rows held back behind one
    # being sent are passed over, never stop it.
    channel = FakeChannel()
    busy = worker(db, catalogs, channel, clock=Clock(), batch_size=1)
    (sending,) = queue(db, "c1")
    assert [c.id for c in busy.claim()] == [sending]
    queue(db, "c1", count=6)  # more than the window of a claim of one
    (other,) = queue(db, "c2")
    assert [c.id for c in worker(db, catalogs, channel, clock=Clock(), batch_size=1).claim()] == [other]


@pytest.mark.parametrize("one_channel", [False, True], ids=["every-channel", "one-channel"])
def test_a_claim_walks_the_claim_order_and_never_sorts_the_queue(db, one_channel: bool) -> None:
    # Planned from statistics that trail a growing queue (PostgreSQL) or from none (SQLite), a
    # claim gathered every due row, checked each and sorted them: 187 ms with 14,000 queued
    # (bench/RESULTS.md). The plan wanted walks the claim order's index and stops at the limit,
    # and checks a recipient's earlier rows through ix_outbox_recipient.
    from sqlalchemy import event, text

    from bot.outbox.claims import WALK_IN_CLAIM_ORDER, claim_query

    explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "

    def explained(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        return ((explain + statement) if statement.startswith("SELECT outbox.id") else statement), parameters

    params = {"now": START, "limit": 50, "channel": "telegram"}
    event.listen(db.engine, "before_cursor_execute", explained, retval=True)
    try:
        with db.write() as session:
            if not db.is_sqlite:
                session.execute(WALK_IN_CLAIM_ORDER)
                # The settings are the claim's transaction's alone (checked below).
                assert session.execute(text("SHOW enable_sort")).scalar() == "off"
            result = session.connection().execute(claim_query(one_channel), params)
            plan = [str(row[-1]) for row in result.cursor.fetchall()]  # the plan, not the claim's columns
    finally:
        event.remove(db.engine, "before_cursor_execute", explained)
    shown = "\n".join(plan)
    assert not any("Sort" in line or "Bitmap" in line or "TEMP B-TREE" in line for line in plan), shown
    index = "ix_outbox_lane_claim_order" if one_channel else "ix_outbox_claim_order"
    assert any(index in line for line in plan), shown
    assert sum("ix_outbox_recipient" in line for line in plan) == 2, shown  # the two checks
    if not db.is_sqlite:
        with db.read() as session:
            assert session.execute(text("SHOW enable_sort")).scalar() == "on"


def test_a_full_lane_does_not_hold_back_another_channels_rows(db, catalogs) -> None:
    # WhatsApp's lane fills with sends that hang; an SMS queued meanwhile goes at once
    # (claimed on its own channel's rows), and WhatsApp's rows all go when the provider answers.
    answer = threading.Event()

    class Hanging(FakeChannel):
        def send(self, address, message, outbox_id):  # noqa: ANN001, ANN201
            answer.wait(10)
            return super().send(address, message, outbox_id)

    whatsapp, sms = Hanging("whatsapp"), FakeChannel("sms")
    w = worker(db, catalogs, whatsapp, sms, clock=Clock(), batch_size=4)
    hanging = [queue(db, f"whatsapp:+9198765432{i:02d}", channel="whatsapp")[0] for i in range(4)]
    (text,) = queue(db, "+919876500000", channel="sms")
    with ThreadPoolExecutor(1) as pool:
        drained = pool.submit(w.drain)
        deadline = time.monotonic() + 5
        while not sms.sent and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sms.sent_ids() == [text] and whatsapp.sent == []
        answer.set()
        drained.result(10)
    assert sorted(whatsapp.sent_ids()) == hanging
