"""The outbox worker against the adapter contract: limits, retries, SMS fallback, crashes.

Every test drives the real OutboxWorker on the real database (SQLite, and PostgreSQL when
configured) through FakeChannel (tests/outbox_delivery_helpers.py), a fake of the ChannelAdapter
port that records what it was asked to send and raises the SendErrors it is scripted to.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

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
    BACKOFF_CAP_S,
    MAX_ATTEMPTS,
    backoff,
)
from bot.store.db import Database
from bot.store.models import Identity, OutboxMessage, OutboxStatus
from flows.steps.visit import get_ready
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
