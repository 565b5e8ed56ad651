"""Durable timers: each due timer fires exactly once — across retries, racing runners and kill -9."""

from __future__ import annotations

import datetime as dt
import queue
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.outbox.timers import (
    ERROR_KEY,
    MAX_ATTEMPTS,
    TimerHandler,
    TimerRunner,
    TimerStatus,
    cancel,
    retry_delay,
    schedule,
)
from bot.services.identities import ensure_identity
from bot.store.db import Database
from bot.store.models import Conversation, OutboxMessage, Timer
from tests.conftest import BACKENDS

# The database is what is tested here: timer rows claimed and fired once (locks, due times in UTC).
pytestmark = pytest.mark.both_databases

REPO = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self, start: dt.datetime):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


def queue_message(session: Session, timer: Timer, now: dt.datetime) -> None:
    """Queue an outbox message that names the timer: the observable effect of firing it."""
    session.add(
        OutboxMessage(
            identity_id=timer.identity_id, channel="local", address="a1", language="en", kind="push",
            payload={"timer": timer.id}, due_at=now,
        )
    )


def failing(times: int, error: Callable[[Session, Timer], None]) -> TimerHandler:
    """Return a handler that queues its message, then fails the first `times` calls with `error`."""
    calls = [0]

    def handler(session: Session, timer: Timer, now: dt.datetime) -> None:
        queue_message(session, timer, now)
        calls[0] += 1
        if calls[0] <= times:
            error(session, timer)

    return handler


def boom(session: Session, timer: Timer) -> None:
    raise RuntimeError("boom")


def foreign_key_violation(session: Session, timer: Timer) -> None:
    # A database error aborts the whole transaction on PostgreSQL: the failure must still be recorded.
    session.add(OutboxMessage(identity_id=999_999, channel="local", address="x", language="en", payload={}))
    session.flush()


def _identity(db: Database) -> int:
    with db.write() as session:
        return ensure_identity(session, "local", "a1").id


def _schedule(db: Database, identity_id: int, due_at: dt.datetime, count: int = 1, kind: str = "remind", key: str | None = None) -> list[int]:
    with db.write() as session:
        return [schedule(session, kind, due_at, {"n": n}, identity_id=identity_id, key=key).id for n in range(count)]


def _timer(db: Database, timer_id: int) -> Timer:
    with db.read() as session:
        timer = session.get(Timer, timer_id)
        assert timer is not None
        return timer


def _effects(db: Database) -> Counter[int]:
    """Count the outbox messages each timer produced."""
    with db.read() as session:
        return Counter(p["timer"] for p in session.scalars(select(OutboxMessage.payload)))


def _timers(db: Database) -> list[Timer]:
    with db.read() as session:
        return list(session.scalars(select(Timer).order_by(Timer.id)))


def _statuses(db: Database) -> Counter[str]:
    with db.read() as session:
        return Counter(session.scalars(select(Timer.status)))


def test_a_due_timer_fires_once_and_a_future_one_waits_for_the_clock(db, now) -> None:
    identity = _identity(db)
    offsets = {"an hour late": -3600, "due now": 0, "in a second": 1, "in two minutes": 120}
    ids = {label: _schedule(db, identity, now + dt.timedelta(seconds=s))[0] for label, s in offsets.items()}
    clock = Clock(now)
    runner = TimerRunner(db, {"remind": queue_message}, clock=clock)

    assert runner.drain() == 2
    assert runner.drain() == 0  # fired timers are not fired again
    assert _effects(db) == {ids["an hour late"]: 1, ids["due now"]: 1}
    fired = _timer(db, ids["due now"])
    assert (fired.status, fired.fired_at, fired.attempts) == (TimerStatus.FIRED, now, 1)
    assert _timer(db, ids["in a second"]).status == TimerStatus.PENDING

    clock.now = now + dt.timedelta(seconds=119)
    assert runner.drain() == 1
    clock.now = now + dt.timedelta(seconds=120)
    assert runner.drain() == 1
    assert _effects(db) == {i: 1 for i in ids.values()}


def test_a_timer_is_committed_with_the_transaction_that_scheduled_it(db, now) -> None:
    identity = _identity(db)
    with pytest.raises(RuntimeError), db.write() as session:
        schedule(session, "remind", now, {}, identity_id=identity)
        raise RuntimeError("the state change failed")
    assert _statuses(db) == {}
    with pytest.raises(ValueError, match="naive"), db.write() as session:
        schedule(session, "remind", now.replace(tzinfo=None), {})


def test_scheduling_with_a_key_replaces_and_cancel_stops_a_timer(db, now) -> None:
    identity = _identity(db)
    (first,) = _schedule(db, identity, now, kind="noshow", key="token:1")
    (second,) = _schedule(db, identity, now, kind="noshow", key="token:1")
    (other_token,) = _schedule(db, identity, now, kind="noshow", key="token:2")
    (other_kind,) = _schedule(db, identity, now, kind="remind", key="token:1")
    (cancelled,) = _schedule(db, identity, now, kind="remind", key="token:3")
    assert (_timer(db, second).payload, _timer(db, second).key) == ({"n": 0}, "token:1")

    with db.write() as session:
        assert cancel(session, "remind", "token:3") == 1
        assert cancel(session, "remind", "token:3") == 0
        assert cancel(session, "noshow", "token:9") == 0
    runner = TimerRunner(db, {"noshow": queue_message, "remind": queue_message}, clock=Clock(now))
    assert runner.drain() == 3

    assert _effects(db) == {second: 1, other_token: 1, other_kind: 1}
    assert _timer(db, first).status == _timer(db, cancelled).status == TimerStatus.CANCELLED
    with db.write() as session:
        assert cancel(session, "noshow", "token:1") == 0  # a fired timer stays fired
    assert _timer(db, second).status == TimerStatus.FIRED


def test_a_handler_can_arm_the_next_timer_of_its_own_kind_and_key(db, now) -> None:
    def remind_hourly(session: Session, timer: Timer, now: dt.datetime) -> None:
        queue_message(session, timer, now)
        schedule(session, timer.kind, now + dt.timedelta(hours=1), {}, identity_id=timer.identity_id, key=timer.key)

    identity = _identity(db)
    (first,) = _schedule(db, identity, now, key="daily")
    clock = Clock(now)
    runner = TimerRunner(db, {"remind": remind_hourly}, clock=clock)
    assert runner.drain() == 1
    clock.now = now + dt.timedelta(hours=1)
    assert runner.drain() == 1
    assert _timer(db, first).status == TimerStatus.FIRED
    assert _statuses(db) == {TimerStatus.FIRED: 2, TimerStatus.PENDING: 1}
    assert sum(_effects(db).values()) == 2


@pytest.mark.parametrize("error", [boom, foreign_key_violation], ids=["handler-raises", "database-error"])
@pytest.mark.parametrize(
    ("failures", "status", "attempts"),
    [
        pytest.param(1, TimerStatus.FIRED, 2, id="fails-once"),
        pytest.param(MAX_ATTEMPTS - 1, TimerStatus.FIRED, MAX_ATTEMPTS, id="succeeds-on-the-last-try"),
        pytest.param(MAX_ATTEMPTS, TimerStatus.FAILED, MAX_ATTEMPTS, id="always-fails"),
    ],
)
def test_a_failing_handler_leaves_no_effects_and_is_retried_with_backoff(db, now, error, failures: int, status: str, attempts: int) -> None:
    identity = _identity(db)
    (timer_id,) = _schedule(db, identity, now)
    clock = Clock(now)
    runner = TimerRunner(db, {"remind": failing(failures, error)}, clock=clock)

    assert runner.drain() == 1
    timer = _timer(db, timer_id)
    assert (timer.status, timer.attempts, timer.due_at) == (TimerStatus.PENDING, 1, now + retry_delay(1))
    assert ("boom" if error is boom else "IntegrityError") in timer.payload[ERROR_KEY]
    assert _effects(db) == {}  # the message queued before the failure was rolled back
    assert runner.drain() == 0  # not before its new due time

    for _ in range(MAX_ATTEMPTS + 2):
        clock.now = _timer(db, timer_id).due_at
        runner.drain()
    timer = _timer(db, timer_id)
    assert (timer.status, timer.attempts) == (status, attempts)
    assert _effects(db) == ({timer_id: 1} if status == TimerStatus.FIRED else {})


def test_a_timer_of_an_unknown_kind_fails_at_once_with_the_reason(db, now) -> None:
    identity = _identity(db)
    (timer_id,) = _schedule(db, identity, now, kind="mystery")
    assert TimerRunner(db, {"remind": queue_message}, clock=Clock(now)).drain() == 1
    timer = _timer(db, timer_id)
    assert (timer.status, timer.attempts) == (TimerStatus.FAILED, 1)
    assert timer.payload[ERROR_KEY] == "no handler for timer kind 'mystery'"


def test_retry_delay_doubles_and_is_capped() -> None:
    waits = [retry_delay(n).total_seconds() for n in range(1, 12)]
    assert waits[:4] == [5, 10, 20, 40]
    assert max(waits) == waits[-1] == 600


def test_four_runners_fire_two_hundred_timers_exactly_once(db, now) -> None:
    identity = _identity(db)
    _schedule(db, identity, now - dt.timedelta(minutes=1), count=200)
    start = threading.Barrier(4)

    def slow_queue(session: Session, timer: Timer, now: dt.datetime) -> None:
        queue_message(session, timer, now)
        time.sleep(0.001)  # widen the window in which another runner could take the same timer

    def run() -> int:
        runner = TimerRunner(db, {"remind": slow_queue}, clock=Clock(now), batch_size=7)
        start.wait(timeout=10)
        return runner.drain()

    with ThreadPoolExecutor(4) as pool:
        handled = [f.result(timeout=120) for f in [pool.submit(run) for _ in range(4)]]
    assert sum(handled) == 200
    effects = _effects(db)
    assert len(effects) == 200 and set(effects.values()) == {1}
    assert _statuses(db) == {TimerStatus.FIRED: 200}
    with db.read() as session:
        assert set(session.scalars(select(Timer.attempts))) == {1}


def test_the_run_loop_fires_a_timer_when_woken_and_signals_the_outbox(db) -> None:
    identity = _identity(db)
    stop, wake, outbox = threading.Event(), threading.Event(), threading.Event()
    runner = TimerRunner(db, {"remind": queue_message}, outbox_signal=outbox)
    thread = threading.Thread(target=runner.run, args=(stop, wake, 5.0), daemon=True)
    thread.start()
    try:
        (timer_id,) = _schedule(db, identity, dt.datetime.now(dt.UTC))
        wake.set()
        assert outbox.wait(timeout=3)
        assert _effects(db) == {timer_id: 1}
    finally:
        stop.set()
        wake.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def _lock_conversation(session: Session, identity_id: int) -> Conversation:
    return session.scalars(select(Conversation).where(Conversation.identity_id == identity_id).with_for_update()).one()


# PostgreSQL only: SQLite runs whole write transactions one at a time, so there is no
# interleaving to race there; the test exists when TELEOPD_TEST_DATABASE_URL is set.
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
@pytest.mark.parametrize("first", ["runner", "patient"])
def test_a_timer_racing_the_change_that_cancels_it_gives_one_consistent_outcome(db, now, first: str) -> None:
    """The no-show window closes as the patient says they are joining: either wins, never both, no deadlock."""
    identity = _identity(db)
    with db.write() as session:
        _lock_conversation(session, identity).step = "called"
        schedule(session, "no_show", now, {}, identity_id=identity, key="consultation:1")
    entered, holding, go = threading.Event(), threading.Event(), threading.Event()

    def no_show(session: Session, timer: Timer, now: dt.datetime) -> None:
        entered.set()
        conversation = _lock_conversation(session, timer.identity_id)  # the handler re-checks under lock
        holding.set()
        go.wait(timeout=5)
        if conversation.step == "called":
            conversation.step = "no_show"
            queue_message(session, timer, now)

    def patient_joins() -> tuple[bool, int]:
        with db.write() as session:
            conversation = _lock_conversation(session, identity)
            if conversation.step != "called":
                return False, 0
            conversation.step = "joined"
            if first == "patient":
                # The runner has taken the timer and waits for this conversation: a cancel that
                # waited for the timer would close a lock cycle.
                assert entered.wait(timeout=5)
                time.sleep(0.2)
            cancelled = cancel(session, "no_show", "consultation:1")
            return True, cancelled

    runner = TimerRunner(db, {"no_show": no_show}, clock=Clock(now))
    with ThreadPoolExecutor(2) as pool:
        if first == "runner":
            fired = pool.submit(runner.drain)
            assert holding.wait(timeout=5)
            joined = pool.submit(patient_joins)
            time.sleep(0.2)  # the patient's transaction now waits for the conversation
            go.set()
        else:
            go.set()
            joined = pool.submit(patient_joins)
            time.sleep(0.2)  # the patient holds the conversation
            fired = pool.submit(runner.drain)
        assert fired.result(timeout=10) == 1
        did_join, cancelled = joined.result(timeout=10)

    (timer,) = _timers(db)
    with db.read() as session:
        step = session.scalars(select(Conversation.step).where(Conversation.identity_id == identity)).one()
    # The runner fired the timer either way (once, on its first try); only one side acted.
    assert (timer.status, timer.attempts, cancelled) == (TimerStatus.FIRED, 1, 0)
    if first == "runner":
        assert (did_join, step, sum(_effects(db).values())) == (False, "no_show", 1)
    else:
        assert (did_join, step, sum(_effects(db).values())) == (True, "joined", 0)


# A real worker process: each timer's handler queues its message, says which timer it is
# firing, then sleeps before the commit — the moment the test kills it.
WORKER = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import func, select
    from bot.store.db import Database
    from bot.store.models import Conversation, OutboxMessage, Timer
    from bot.outbox.timers import TimerRunner, TimerStatus

    def slow(session, timer, now):
        session.add(OutboxMessage(identity_id=timer.identity_id, channel="local", address="a1", language="en",
                                  kind="push", payload={"timer": timer.id}, due_at=now))
        session.flush()
        print("firing", timer.id, flush=True)
        time.sleep(float(sys.argv[2]))

    db = Database(sys.argv[1])
    runner = TimerRunner(db, {"slow": slow}, batch_size=5)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if runner.run_once():
            continue
        # Like the real loop, keep polling: a timer locked by a killed worker's connection
        # is skipped until the database notices the connection is gone.
        with db.read() as session:
            if not session.scalar(select(func.count()).select_from(Timer).where(Timer.status == TimerStatus.PENDING)):
                break
        time.sleep(0.05)
    print("done", flush=True)
    """
)


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """Return a queue that receives the process's output lines as they come."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.strip())

    threading.Thread(target=read, daemon=True).start()
    return lines


@pytest.mark.slow
def test_a_worker_killed_mid_fire_and_restarted_loses_no_timer_and_fires_none_twice(db, tmp_path: Path) -> None:
    identity = _identity(db)
    # 20 timers in batches of 5, killed at the 5th and the 8th firing: every kill lands mid-batch
    # and mid-fire, as with more timers (50 took 13 s a database), in under half the time.
    timers = 20
    timer_ids = _schedule(db, identity, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1), count=timers, kind="slow")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(script), db.url, "0.2"], cwd=REPO, stdout=subprocess.PIPE, text=True
        )

    killed: list[int] = []
    for kill_after in (5, 8):
        process = start()
        lines = _lines(process)
        try:
            for _ in range(kill_after):
                line = lines.get(timeout=20)
            process.kill()  # SIGKILL: no cleanup, no rollback from the client
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
        # It was killed while firing this timer: flushed, slept, not committed.
        firing = int(line.split()[1])
        killed.append(firing)
        assert _timer(db, firing).status == TimerStatus.PENDING
        assert firing not in _effects(db)

    process = start()
    try:
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and out.strip().endswith("done")

    effects = _effects(db)
    assert sorted(effects) == sorted(timer_ids) and set(effects.values()) == {1}
    assert _statuses(db) == {TimerStatus.FIRED: timers}
    with db.read() as session:
        # The killed tries left no trace: every timer fired on its first committed try.
        assert set(session.scalars(select(Timer.attempts))) == {1}
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == timers
    assert len(set(killed)) == 2


if "postgresql" not in BACKENDS:
    del test_a_timer_racing_the_change_that_cancels_it_gives_one_consistent_outcome
