"""The outbox worker against the adapter contract: limits, retries, fallback, crashes, order, windows.

Every test drives the real OutboxWorker on the real database (SQLite, and PostgreSQL when
configured) through FakeChannel, a fake of the ChannelAdapter port that records what it
was asked to send and raises the SendErrors it is scripted to.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from bot.channels.base import (
    NeedsFallback,
    OutgoingMessage,
    PermanentError,
    RateLimited,
    RecipientOptedOut,
    SendResult,
    TemporaryError,
)
from bot.outbox.template_keys import template_key
from bot.outbox.worker import (
    ACK_ATTEMPTS,
    BACKOFF_CAP_S,
    MAX_ATTEMPTS,
    OutboxWorker,
    backoff,
)
from bot.platform.i18n import Catalogs
from bot.services.identities import ensure_identity
from bot.store.db import Database
from bot.store.models import Identity, OutboxMessage, OutboxStatus
from flows.messages import ByLanguage, Reply, reply_to_json, t
from flows.steps.visit import get_ready
from tests.conftest import BACKENDS

# The database is what is tested here: outbox claims (FOR UPDATE SKIP LOCKED on PostgreSQL), per-address order, claim timeouts.
pytestmark = pytest.mark.both_databases

START = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
OPD = ByLanguage("General Medicine", "सामान्य चिकित्सा")


@dataclass(frozen=True)
class Sent:
    """One message as it reached the fake provider."""

    address: str
    message: OutgoingMessage
    outbox_id: int


class FakeChannel:
    """A channel adapter that records its sends and plays a script of outcomes, one per call."""

    def __init__(
        self, name: str = "telegram", script: list[object] | None = None, delay: float = 0.0, ack_script: list[object] | None = None
    ):
        self.name = name
        self.script = list(script or [])
        self.ack_script = list(ack_script or [])
        self.delay = delay
        self.sent: list[Sent] = []
        self.acks: list[tuple[str, dict[str, object]]] = []
        self.calls = 0
        self.lock = threading.Lock()

    def _next(self, script: list[object]) -> object:
        with self.lock:
            self.calls += 1
            return script.pop(0) if script else None

    def send(self, address: str, message: OutgoingMessage, outbox_id: int) -> SendResult:
        outcome = self._next(self.script)
        if self.delay:
            time.sleep(self.delay)
        if isinstance(outcome, Exception):
            raise outcome
        with self.lock:
            self.sent.append(Sent(address, message, outbox_id))
        return outcome if isinstance(outcome, SendResult) else SendResult(provider_id=f"{self.name}-{outbox_id}")

    def acknowledge(self, address: str, payload: dict[str, object]) -> None:
        outcome = self._next(self.ack_script)
        if isinstance(outcome, Exception):
            raise outcome
        with self.lock:
            self.acks.append((address, payload))

    def sent_ids(self) -> list[int]:
        return [s.outbox_id for s in self.sent]


class Clock:
    """A clock the test moves."""

    def __init__(self, start: dt.datetime = START):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def queue(
    db: Database, address: str = "c1", channel: str = "telegram", count: int = 1, kind: str = "reply",
    reply: Reply | None = None, language: str = "en", due: dt.datetime = START, **identity: object,
) -> list[int]:
    """Queue messages for one recipient; return their ids."""
    with db.write() as session:
        who = ensure_identity(session, channel, address)
        for name, value in identity.items():
            setattr(who, name, value)
        payload = {"callback_query_id": "cq-1"} if kind == "ack" else reply_to_json(reply or Reply(t("Welcome back!")))
        rows = [
            OutboxMessage(identity_id=who.id, channel=channel, address=address, language=language, kind=kind, payload=payload, due_at=due)
            for _ in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def row(db: Database, row_id: int) -> OutboxMessage:
    with db.read() as session:
        found = session.get(OutboxMessage, row_id)
        assert found is not None
        return found


def worker(db: Database, catalogs: Catalogs, *channels: FakeChannel, clock: Clock, **kwargs: object) -> OutboxWorker:
    return OutboxWorker(db, catalogs, {c.name: c for c in channels}, clock=clock, **kwargs)  # type: ignore[arg-type]


# --- results ----------------------------------------------------------------------------------


def test_a_rate_limited_row_waits_as_told_and_is_not_counted(db, catalogs) -> None:
    clock = Clock()
    channel = FakeChannel(script=[RateLimited("full", code="rate_limited", retry_after=0.4)] * 3)
    (row_id,) = queue(db)
    w = worker(db, catalogs, channel, clock=clock)
    for _ in range(3):
        assert w.run_once() == 1
        r = row(db, row_id)
        assert (r.status, r.attempts, r.due_at) == (OutboxStatus.PENDING, 0, clock.now + dt.timedelta(seconds=0.4))
        assert w.run_once() == 0  # not before its time
        clock.now = r.due_at
    w.drain()
    r = row(db, row_id)
    assert (r.status, r.attempts, channel.sent_ids()) == (OutboxStatus.SENT, 1, [row_id])


@pytest.mark.parametrize("retry_after", [0, 2.5, 37])
def test_a_providers_retry_after_is_honoured_exactly(db, catalogs, retry_after: float) -> None:
    clock = Clock()
    channel = FakeChannel(script=[TemporaryError("429 Too Many Requests", code="20429", retry_after=retry_after)])
    (row_id,) = queue(db)
    worker(db, catalogs, channel, clock=clock).run_once()
    r = row(db, row_id)
    assert (r.status, r.attempts, r.error_code) == (OutboxStatus.PENDING, 1, "20429")
    assert r.due_at == START + dt.timedelta(seconds=retry_after)


def test_temporary_errors_back_off_exponentially_within_jitter_bounds_then_fail(db, catalogs) -> None:
    clock = Clock()
    channel = FakeChannel(script=[TemporaryError("503", code="503")] * (MAX_ATTEMPTS + 1))
    (row_id,) = queue(db)
    w = worker(db, catalogs, channel, clock=clock)
    for attempt in range(1, MAX_ATTEMPTS):
        w.run_once()
        r = row(db, row_id)
        wait = (r.due_at - clock.now).total_seconds()
        ceiling = min(BACKOFF_CAP_S, 2.0 * 2 ** (attempt - 1))
        assert (r.status, r.attempts) == (OutboxStatus.PENDING, attempt)
        assert ceiling / 2 <= wait <= ceiling, f"attempt {attempt}: waited {wait}"
        clock.now = r.due_at
    w.run_once()
    r = row(db, row_id)
    assert (r.status, r.attempts, r.error_code) == (OutboxStatus.FAILED, MAX_ATTEMPTS, "503")
    assert w.drain() == 0 and channel.calls == MAX_ATTEMPTS


@given(attempts=st.integers(min_value=1, max_value=40), jitter=st.floats(min_value=0, max_value=1))
def test_backoff_stays_between_half_and_all_of_its_ceiling(attempts: int, jitter: float) -> None:
    ceiling = min(BACKOFF_CAP_S, 2.0 * 2 ** (attempts - 1))
    assert ceiling / 2 <= backoff(attempts, rng=lambda: jitter).total_seconds() <= ceiling
    assert backoff(attempts + 1, rng=lambda: 0.0) >= backoff(attempts, rng=lambda: 0.0)


def test_rate_limits_in_between_do_not_use_up_attempts(db, catalogs) -> None:
    clock = Clock()
    script: list[object] = []
    for _ in range(MAX_ATTEMPTS - 1):
        script += [RateLimited("full", retry_after=0.1), TemporaryError("timeout", code="timeout", retry_after=1)]
    channel = FakeChannel(script=script)
    (row_id,) = queue(db)
    w = worker(db, catalogs, channel, clock=clock)
    while row(db, row_id).status == OutboxStatus.PENDING:
        w.run_once()
        clock.now = row(db, row_id).due_at
    assert (row(db, row_id).status, row(db, row_id).attempts) == (OutboxStatus.SENT, MAX_ATTEMPTS)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(PermanentError("chat not found", code="400"), id="permanent"),
        pytest.param(RecipientOptedOut("bot was blocked by the user", code="403"), id="opted-out"),
    ],
)
def test_what_can_never_be_sent_fails_at_once(db, catalogs, error: Exception) -> None:
    clock = Clock()
    channel = FakeChannel(script=[error])
    (row_id,) = queue(db)
    worker(db, catalogs, channel, clock=clock).drain()
    r = row(db, row_id)
    assert (r.status, r.attempts, r.error_code, channel.calls) == (OutboxStatus.FAILED, 1, error.code, 1)  # type: ignore[attr-defined]
    with db.read() as session:
        who = session.scalars(select(Identity).where(Identity.address == "c1")).one()
    opted_out = isinstance(error, RecipientOptedOut)
    assert (who.opted_out, who.opted_out_at) == (opted_out, START if opted_out else None)


def test_what_the_adapter_requested_is_kept_with_the_text(db, catalogs) -> None:
    channel = FakeChannel(script=[SendResult("SM1", detail={"content_sid": "HX123"})])
    (row_id,) = queue(db)
    worker(db, catalogs, channel, clock=Clock()).drain()
    rendered = row(db, row_id).rendered
    assert rendered is not None and rendered["detail"] == {"content_sid": "HX123"}
    assert rendered["text"] == "Welcome back!" and rendered["template"] == template_key("Welcome back!")


# --- SMS fallback -----------------------------------------------------------------------------


def _sms_copies(db: Database, row_id: int) -> list[OutboxMessage]:
    with db.read() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.fallback_of == row_id)))


def test_a_message_whatsapp_cannot_carry_goes_by_sms_once(db, catalogs) -> None:
    clock = Clock()
    whatsapp = FakeChannel("whatsapp", script=[NeedsFallback("outside the window", code="63016")] * 2)
    sms = FakeChannel("sms")
    (row_id,) = queue(db, "whatsapp:+919812345678", "whatsapp", kind="push", reply=get_ready(OPD, 12), language="hi")
    w = worker(db, catalogs, whatsapp, sms, clock=clock)
    w.drain()
    r = row(db, row_id)
    assert (r.status, r.error_code) == (OutboxStatus.REROUTED, "63016")
    (copy,) = _sms_copies(db, row_id)
    assert (copy.channel, copy.address, copy.status, copy.language) == ("sms", "+919812345678", OutboxStatus.SENT, "hi")
    assert sms.sent[0].message.text == "तैयार रहें: कतार में आप तीसरे नंबर पर हैं (टोकन 12)।"  # the short SMS form
    # Processed again (as after a crash before the mark): still one copy, still rerouted.
    with db.write() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(status=OutboxStatus.PENDING))
    w.drain()
    assert len(_sms_copies(db, row_id)) == 1 and len(sms.sent) == 1
    assert row(db, row_id).status == OutboxStatus.REROUTED


def test_a_fallback_with_no_phone_number_fails_with_its_reason(db, catalogs) -> None:
    whatsapp = FakeChannel("whatsapp", script=[NeedsFallback("outside the window", code="63016")])
    (row_id,) = queue(db, "whatsapp:IN.2085551234", "whatsapp")  # a WhatsApp username (BSUID), no number
    worker(db, catalogs, whatsapp, FakeChannel("sms"), clock=Clock()).drain()
    r = row(db, row_id)
    assert (r.status, r.error_code, _sms_copies(db, row_id)) == (OutboxStatus.FAILED, "63016", [])


# --- crashes ----------------------------------------------------------------------------------


def test_a_crash_between_send_and_mark_repeats_a_send_at_most_once(db, catalogs) -> None:
    clock = Clock()
    channel = FakeChannel()
    ids = queue(db, count=3)
    timeout = dt.timedelta(seconds=30)
    live = worker(db, catalogs, channel, clock=clock, claim_timeout=timeout)
    for _ in range(2):  # a worker claims, sends, and dies before marking — twice
        dead = worker(db, catalogs, channel, clock=clock, claim_timeout=timeout)
        for claimed in dead.claim():
            channel.send(claimed.address, OutgoingMessage("…"), claimed.id)
        assert live.recover_stale() == 0  # not yet: it may still be sending
        clock.now += timeout + SECOND
        live.recover_stale()
    assert live.drain() == 0
    assert Counter(channel.sent_ids()) == {i: 2 for i in ids}
    for row_id in ids:
        r = row(db, row_id)
        assert (r.status, r.error_code, r.recoveries) == (OutboxStatus.FAILED, "crash_repeat", 1)


def test_a_row_recovered_once_is_sent_by_the_next_worker(db, catalogs) -> None:
    clock = Clock()
    channel = FakeChannel()
    (row_id,) = queue(db)
    worker(db, catalogs, channel, clock=clock).claim()  # then the process died
    clock.now += dt.timedelta(minutes=5) + SECOND  # the default claim timeout
    live = worker(db, catalogs, channel, clock=clock)
    assert live.recover_stale() == 1
    live.drain()
    r = row(db, row_id)
    assert (r.status, r.recoveries, r.attempts, channel.sent_ids()) == (OutboxStatus.SENT, 1, 2, [row_id])


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
