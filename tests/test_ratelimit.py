"""The shared send-rate limiter: in-process, and through Redis when TELEOPD_TEST_REDIS_URL is set."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from bot.channels.base import RateLimited
from bot.ratelimit import Limit, RateLimiter

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
    limiter = _limiter(store, max_wait_seconds=0.0)
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
