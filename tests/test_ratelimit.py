"""The shared send-rate limiter: in-process, and through Redis when TELEOPD_TEST_REDIS_URL is set."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from bot.channels.base import RateLimited
from bot.platform import ratelimit
from bot.platform.ratelimit import Limit, RateLimiter

REDIS_URL = os.environ.get("TELEOPD_TEST_REDIS_URL", "")
STORES = ["memory"] + (["redis"] if REDIS_URL else [])


def _limiter(store: str, **kwargs: object) -> RateLimiter:
    return RateLimiter(REDIS_URL if store == "redis" else None, namespace=f"test-{uuid.uuid4().hex}", **kwargs)  # type: ignore[arg-type]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def _max_in_any_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for s in stamps if start <= s < start + 1.0) for start in stamps)


def test_never_more_than_the_limit_in_any_second(store: str) -> None:
    limiter = _limiter(store, max_wait_seconds=5.0)
    stamps = []
    for _ in range(25):
        limiter.acquire(Limit("bot", 10))
        stamps.append(time.time())
    assert _max_in_any_second(stamps) == 10
    # 25 at 10 a second: the first 10 at once, then two more full windows (with the edge pad).
    assert 2.0 <= stamps[-1] - stamps[0] < 2.5


def test_a_long_wait_is_handed_back_as_retry_after(store: str) -> None:
    limiter = _limiter(store, max_wait_seconds=0.05)
    limiter.acquire(Limit("chat:1", 1))
    with pytest.raises(RateLimited) as caught:
        limiter.acquire(Limit("chat:1", 1))
    assert 0.9 < caught.value.retry_after <= 1.1  # type: ignore[operator]
    assert caught.value.retryable
    limiter.acquire(Limit("chat:2", 1))  # another chat has a window of its own


def test_every_limit_of_a_request_is_kept(store: str) -> None:
    limiter = _limiter(store, max_wait_seconds=0.0, spacing=0.0)  # a window's places at once
    for chat in range(3):
        limiter.acquire(Limit(f"chat:{chat}", 1), Limit("bot", 3))
    with pytest.raises(RateLimited):
        limiter.acquire(Limit("chat:9", 1), Limit("bot", 3))


def test_limits_hold_across_threads_and_limiters_sharing_a_store() -> None:
    """Workers in one process share a limiter; with Redis, limiters in many processes share a window."""
    namespace = f"test-{uuid.uuid4().hex}"
    limiters = [RateLimiter(REDIS_URL or None, namespace=namespace, max_wait_seconds=5.0) for _ in range(3 if REDIS_URL else 1)]
    stamps: list[float] = []
    lock = threading.Lock()

    def send(limiter: RateLimiter) -> None:
        for _ in range(8):
            limiter.acquire(Limit("bot", 12))
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=send, args=(limiters[n % len(limiters)],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stamps) == 32
    assert _max_in_any_second(stamps) <= 12


def _max_in_any_window(stamps: list[float], seconds: float) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for s in stamps if start <= s < start + seconds) for start in stamps)


def test_the_window_is_a_second_and_the_jitter_bound(store: str) -> None:
    """A request that reaches the provider up to `bound` late never makes its second hold more than the limit."""
    limiter = _limiter(store, max_wait_seconds=5.0, jitter_bound_seconds=0.2, spacing=0.0)
    stamps = []
    started = time.time()  # the first place is stored after this, and stamped below a little later
    for _ in range(6):
        limiter.acquire(Limit("bot", 5))
        stamps.append(time.time())
    assert stamps[4] - stamps[0] < 0.2  # a window's places at once (no spacing)
    # The sixth when the first is 1.2 s old: measured from before the first place, since the
    # first stamp trails its place by a round trip (Redis: 1.1997 s from the stamp, once).
    assert stamps[5] - started >= 1.2 and stamps[5] - stamps[0] < 1.45
    assert _max_in_any_window(stamps, 1.2) == 5


def test_places_are_spread_over_the_window(store: str) -> None:
    # Each place is granted somewhere between `before` and `after` its acquire(): bounds that
    # hold however late this thread is scheduled on a loaded machine (a stamp taken after
    # return alone once showed 11 in a window, the first stamp landing 60 ms late).
    bound = 0.2
    window = 1.0 + bound
    limiter = _limiter(store, max_wait_seconds=5.0, jitter_bound_seconds=bound, spacing=0.5)
    before, after = [], []
    for _ in range(12):
        before.append(time.time())
        limiter.acquire(Limit("sender", 10))
        after.append(time.time())
    spacing = 0.5 * window / 10
    assert all(after[i + 1] - before[i] >= spacing - 0.005 for i in range(11))  # never a burst
    assert _max_in_any_window(after, window) <= 10  # what a provider sees up to `bound` late
    assert after[10] - before[0] >= window  # the eleventh waits for the first to leave the window


def test_a_lost_race_leaves_a_spent_place_never_one_too_many(store: str) -> None:
    limiter = _limiter(store, max_wait_seconds=0.0, spacing=0.0)
    bot = Limit("bot", 2)
    limiter.acquire(bot)
    limiter.acquire(bot)
    # Another worker that looked a moment ago saw room, and stores its place now.
    assert limiter._take(bot) is False
    assert limiter.spent == 1
    with pytest.raises(RateLimited):
        limiter.acquire(bot)


def test_a_place_taken_too_slowly_is_not_used(store: str) -> None:
    """A worker descheduled between storing its place and checking it would send late: it tries again."""
    limiter = _limiter(store, max_wait_seconds=0.2, spacing=0.0)
    windows = limiter.windows

    class Slow:
        def __getattr__(self, name: str) -> object:
            return getattr(windows, name)

        def acquire_entry(self, *args: object) -> bool:
            time.sleep(0.03)
            return windows.acquire_entry(*args)  # type: ignore[arg-type]

    limiter.windows = Slow()  # type: ignore[assignment]
    with pytest.raises(RateLimited):
        limiter.acquire(Limit("sender", 100))
    assert limiter.spent >= 1


def test_a_chat_that_must_wait_takes_no_place_of_the_bot(store: str) -> None:
    limiter = _limiter(store, max_wait_seconds=0.05)
    chat, bot = Limit("chat:1", 1), Limit("bot", 30)
    limiter.acquire(chat, bot)
    with pytest.raises(RateLimited) as caught:
        limiter.acquire(chat, bot)
    assert 0.9 < caught.value.retry_after <= 1.1  # type: ignore[operator]
    _, count = limiter.windows.get_moving_window(limiter._key(bot), 30, limiter.window_seconds)  # type: ignore[arg-type]
    assert count == 1


@pytest.mark.skipif(not REDIS_URL, reason="needs TELEOPD_TEST_REDIS_URL")
def test_workers_sharing_redis_keep_to_the_window_and_fill_it() -> None:
    """Limiters sharing a Redis namespace (as worker processes do), four threads each: never
    more than the limit in any second where the requests are (a moment after they were let
    through, as at a provider), and most of the limit used."""
    namespace = f"test-{uuid.uuid4().hex}"
    limiters = [RateLimiter(REDIS_URL, namespace=namespace, max_wait_seconds=5.0) for _ in range(2)]
    stamps: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + 2.5

    def send(limiter: RateLimiter) -> None:
        while time.monotonic() < stop:
            limiter.acquire(Limit("bot", 20))
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=send, args=(limiters[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _max_in_any_second(stamps) <= 20
    stamps.sort()
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    assert rate >= 0.75 * 20 / limiters[0].window_seconds
    assert sum(limiter.spent for limiter in limiters) <= 2


def test_a_budget_of_tries_is_shared_by_limiters_on_one_store(store: str) -> None:
    """Refused enrolment codes are counted like this (bot/services/enrolment.py): every process sharing Redis sees one count."""
    namespace = f"test-{uuid.uuid4().hex}"
    first = RateLimiter(REDIS_URL if store == "redis" else None, namespace=namespace)
    second = RateLimiter(REDIS_URL, namespace=namespace) if store == "redis" else first
    for _ in range(3):
        assert second.has_room("enrol/all", 3, 3600)
        first.spend("enrol/all", 3, 3600)
    assert not first.has_room("enrol/all", 3, 3600) and not second.has_room("enrol/all", 3, 3600)
    assert second.has_room("enrol/chat/1", 3, 3600)  # another key has its own


def test_windows_of_chats_gone_quiet_are_forgotten_in_process() -> None:
    """Without Redis, a window per chat ever sent to was kept for good; expired ones are dropped now.

    limits' MemoryStorage stamps places with the wall clock, so this waits for them to expire
    (STORE_SECONDS, 2 s: the window and its jitter bound need that much). Its expired places are
    cleared by the limiter, not by a thread the storage starts every 10 ms (limits 5.8).
    """
    limiter = RateLimiter(None, namespace=f"test-{uuid.uuid4().hex}", spacing=0)
    time.sleep(0.02)  # MemoryStorage's constructor starts one 10 ms timer
    started: set[str] = set()
    threading.settrace(lambda *_: started.add(threading.current_thread().name))  # called in each thread started
    try:
        for chat in range(100):
            limiter.acquire(Limit(f"telegram:chat:{chat}", 1), Limit("telegram:bot", 1000))
            time.sleep(0.0005 if chat % 10 else 0.012)  # limits 5.8 started a thread here whenever its last timer had run
    finally:
        threading.settrace(None)  # type: ignore[arg-type]
    assert started == set(), "places are taken without starting a thread"
    limiter.spend("enrol/all", 3, 3600)
    assert limiter.forget_idle() == 0, "places still in their window are kept"
    time.sleep(ratelimit.STORE_SECONDS + 0.05)
    limiter.expire()
    events = limiter.storage.events  # type: ignore[attr-defined]
    assert events["window/telegram:bot/1000"] == [] and len(events["budget/enrol/all"]) == 1, "expired places are cleared"
    assert limiter.forget_idle() == 101  # the hundred chats and the bot
    assert list(limiter.storage.events) == ["budget/enrol/all"]  # type: ignore[attr-defined]  # an hour's budget still counts
    limiter.spend("enrol/all", 3, 3600)
    limiter.spend("enrol/all", 3, 3600)
    assert not limiter.has_room("enrol/all", 3, 3600)
    limiter.acquire(Limit("telegram:chat:7", 1), Limit("telegram:bot", 1000))  # a forgotten chat takes a place again
    assert limiter.wait_for(Limit("telegram:chat:7", 1)) > 0
