"""The outbox worker: sends once, retries what may succeed later, stops on what never will."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, update

from bot.channels.base import (
    OutgoingMessage,
    PermanentError,
    RecipientOptedOut,
    SendResult,
    TemporaryError,
)
from bot.outbox.template_keys import template_key
from bot.outbox.worker import MAX_ATTEMPTS, OutboxWorker, backoff
from bot.services.identities import ensure_identity
from bot.store.models import Identity, OutboxMessage, OutboxStatus
from flows.messages import Reply, reply_to_json, t

# The database is what is tested here: outbox claims (FOR UPDATE SKIP LOCKED on PostgreSQL), per-address order, claim timeouts.
pytestmark = pytest.mark.both_databases


class FakeProvider:
    """A channel that records what it was asked to send and fails as it is told to."""

    name = "fake"

    def __init__(self, failures: list[Exception] | None = None):
        self.failures = list(failures or [])
        self.sent: list[tuple[str, OutgoingMessage]] = []
        self.lock = threading.Lock()

    def send(self, address: str, message: OutgoingMessage, outbox_id: int) -> SendResult:
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.sent.append((address, message))
            return SendResult(provider_id=f"fake-{outbox_id}")


class Clock:
    def __init__(self, start: dt.datetime):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def _queue(db, count: int = 1, kind: str = "reply", language: str = "hi", address: str = "a1") -> list[int]:  # type: ignore[no-untyped-def]
    with db.write() as session:
        identity = ensure_identity(session, "fake", address)
        rows = [
            OutboxMessage(
                identity_id=identity.id, channel="fake", address=address, language=language, kind=kind,
                payload=reply_to_json(Reply(t("Welcome back!"))), due_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
            for _ in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def _row(db, row_id: int) -> OutboxMessage:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return session.get(OutboxMessage, row_id)


def _worker(services, provider: FakeProvider, clock: Clock) -> OutboxWorker:  # type: ignore[no-untyped-def]
    return OutboxWorker(services.db, services.catalogs, {"fake": provider}, clock=clock)


def test_a_message_is_rendered_in_its_language_sent_and_recorded(services, now) -> None:
    provider = FakeProvider()
    (row_id,) = _queue(services.db)
    assert _worker(services, provider, Clock(now)).drain() == 1
    key = template_key("Welcome back!")
    assert provider.sent == [("a1", OutgoingMessage("फिर से आपका स्वागत है!", template=key, language="hi"))]
    row = _row(services.db, row_id)
    assert (row.status, row.provider_id, row.attempts, row.sent_at) == (OutboxStatus.SENT, f"fake-{row_id}", 1, now)
    assert row.rendered == {"text": "फिर से आपका स्वागत है!", "choices": [], "template": key}


@pytest.mark.parametrize(
    ("error", "status", "attempts_left"),
    [
        pytest.param(TemporaryError("timeout", code="timeout"), OutboxStatus.PENDING, True, id="temporary"),
        pytest.param(TemporaryError("slow down", code="429", retry_after=7), OutboxStatus.PENDING, True, id="retry-after"),
        pytest.param(PermanentError("bad address", code="400"), OutboxStatus.FAILED, False, id="permanent"),
        pytest.param(RecipientOptedOut("blocked", code="403"), OutboxStatus.FAILED, False, id="opted-out"),
        pytest.param(RuntimeError("bug in an adapter"), OutboxStatus.PENDING, True, id="unexpected"),
    ],
)
def test_failures_are_classified_once(services, now, error: Exception, status: str, attempts_left: bool) -> None:
    provider = FakeProvider([error])
    clock = Clock(now)
    (row_id,) = _queue(services.db)
    _worker(services, provider, clock).drain()
    row = _row(services.db, row_id)
    assert row.status == status
    assert row.error_code == getattr(error, "code", None) or row.error_code == "unexpected"
    if isinstance(error, TemporaryError) and error.retry_after:
        assert row.due_at == now + dt.timedelta(seconds=7)
    if attempts_left:
        assert now < row.due_at <= now + backoff(1, rng=lambda: 1.0) + dt.timedelta(seconds=7)
        clock.now = row.due_at
        _worker(services, provider, clock).drain()
        assert _row(services.db, row_id).status == OutboxStatus.SENT
        assert len(provider.sent) == 1
    with services.db.read() as session:
        opted_out = session.scalars(select(Identity.opted_out).where(Identity.address == "a1")).one()
    assert opted_out is isinstance(error, RecipientOptedOut)


def test_retries_stop_after_the_last_attempt(services, now) -> None:
    provider = FakeProvider([TemporaryError("down", code="503") for _ in range(MAX_ATTEMPTS + 2)])
    clock = Clock(now)
    (row_id,) = _queue(services.db)
    worker = _worker(services, provider, clock)
    for _ in range(MAX_ATTEMPTS):
        worker.drain()
        clock.now = _row(services.db, row_id).due_at
    row = _row(services.db, row_id)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, MAX_ATTEMPTS)


def test_backoff_grows_and_is_capped() -> None:
    waits = [backoff(n, rng=lambda: 1.0).total_seconds() for n in range(1, 15)]
    assert waits[:4] == [2, 4, 8, 16]
    assert max(waits) == 15 * 60
    assert backoff(3, rng=lambda: 0.0).total_seconds() == 4  # jitter keeps at least half


def test_pushed_messages_are_not_sent_to_someone_who_opted_out(services, now) -> None:
    provider = FakeProvider()
    push, reply = _queue(services.db, kind="push")[0], _queue(services.db, kind="reply")[0]
    with services.db.write() as session:
        session.execute(update(Identity).values(opted_out=True))
    _worker(services, provider, Clock(now)).drain()
    assert _row(services.db, push).status == OutboxStatus.SUPPRESSED
    assert _row(services.db, reply).status == OutboxStatus.SENT  # the answer to their own message goes


def test_a_worker_that_died_after_claiming_gives_its_rows_back(services, now) -> None:
    provider = FakeProvider()
    clock = Clock(now)
    (row_id,) = _queue(services.db)
    dead = _worker(services, provider, clock)
    assert [c.id for c in dead.claim()] == [row_id]  # claimed, then the process died
    alive = _worker(services, provider, clock)
    assert alive.drain() == 0 and alive.recover_stale() == 0  # not yet: it may still be sending
    clock.now = now + dt.timedelta(minutes=6)
    assert alive.recover_stale() == 1
    alive.drain()
    assert _row(services.db, row_id).status == OutboxStatus.SENT
    assert _row(services.db, row_id).attempts == 2


def test_workers_running_together_send_each_message_once(services, now) -> None:
    provider = FakeProvider()
    ids = _queue(services.db, count=120)
    workers = [OutboxWorker(services.db, services.catalogs, {"fake": provider}, batch_size=7, clock=Clock(now)) for _ in range(4)]
    barrier = threading.Barrier(len(workers))

    def run(worker: OutboxWorker) -> int:
        barrier.wait()
        return worker.drain()

    with ThreadPoolExecutor(len(workers)) as pool:
        handled = list(pool.map(run, workers))
    assert sum(handled) == len(ids)
    assert len(provider.sent) == len(ids)
    with services.db.read() as session:
        statuses = Counter(session.scalars(select(OutboxMessage.status)))
    assert statuses == {OutboxStatus.SENT: len(ids)}


def test_a_channel_that_is_off_fails_the_row_with_a_reason(services, now) -> None:
    (row_id,) = _queue(services.db)
    OutboxWorker(services.db, services.catalogs, {}, clock=Clock(now)).drain()
    row = _row(services.db, row_id)
    assert (row.status, row.error_code) == (OutboxStatus.FAILED, "channel_off")


def test_a_send_whose_record_meets_a_database_outage_is_recorded_once_it_is_back(services, now) -> None:
    """The provider accepted; the database dropped the next two writes (a restart): no row left "sending", no resend."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    refused = {"left": 0}

    def database_away(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if refused["left"] and statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            refused["left"] -= 1
            raise OperationalError(statement, parameters, Exception("server closed the connection unexpectedly"))

    class ProviderThenOutage(FakeProvider):
        def send(self, address: str, message: OutgoingMessage, outbox_id: int) -> SendResult:
            refused["left"] = 2  # after this answer, whatever it is
            return super().send(address, message, outbox_id)

    provider = ProviderThenOutage()
    ids = _queue(services.db, count=2)
    event.listen(services.db.engine, "before_cursor_execute", database_away)
    try:
        assert _worker(services, provider, Clock(now)).drain() == 2
    finally:
        event.remove(services.db.engine, "before_cursor_execute", database_away)
    assert len(provider.sent) == 2
    assert [(_row(services.db, i).status, _row(services.db, i).provider_id) for i in ids] == [
        (OutboxStatus.SENT, f"fake-{i}") for i in ids]


def test_a_send_to_retry_whose_put_back_meets_a_database_outage_is_retried_not_left_sending(services, now) -> None:
    """A temporary error, then the database drops the write that puts the row back: it is pending, not stuck "sending"."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    refused = {"left": 0}

    def database_away(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if refused["left"] and statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            refused["left"] -= 1
            raise OperationalError(statement, parameters, Exception("server closed the connection unexpectedly"))

    class FailingThenOutage(FakeProvider):
        def send(self, address: str, message: OutgoingMessage, outbox_id: int) -> SendResult:
            refused["left"] = 2
            return super().send(address, message, outbox_id)

    provider = FailingThenOutage(failures=[TemporaryError("busy")])
    (row_id,) = _queue(services.db)
    event.listen(services.db.engine, "before_cursor_execute", database_away)
    try:
        _worker(services, provider, Clock(now)).drain()
    finally:
        event.remove(services.db.engine, "before_cursor_execute", database_away)
    row = _row(services.db, row_id)
    assert (row.status, row.attempts, provider.sent) == (OutboxStatus.PENDING, 1, [])
    assert row.due_at > now
