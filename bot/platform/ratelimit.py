"""Send rate limits shared by every worker: Redis when configured, in-process otherwise.

Providers count what reaches them, so a limit here is a moving window over the moment each
request is let through (the `limits` library's moving-window storage; its Redis storage
makes one window shared by every worker process on every machine). A caller that finds a
window full waits for it when the wait is short, and otherwise is told how long to wait, so
a worker puts the message back instead of holding up other channels.

A request reaches the provider a little after it is let through, and not always equally
late: a thread waits for the GIL, Telegram's sends queue on their event loop, the machine is
shared with the database. If every request arrives within JITTER_BOUND_SECONDS of being let
through, then any 1-second window at the provider holds requests let through within
1 + JITTER_BOUND_SECONDS of each other; so the window here is that long, and the provider
never counts more than the limit in any second (a limit of N costs at most N/(1 + bound) a
second of throughput, 95 % of N with a 50 ms bound). Requests are also spaced out within
the window rather than let through in bursts, which is what keeps the lateness small: a
burst of 30 queues behind itself (a 1 s moving window saturated by 8 threads a lane lets
its places go in bursts at its edges, and they reached the fake up to ~250 ms late); 30
spread over a second each find the way clear (p99 ~25 ms, see bench/README.md).

A shared place is taken by one thread of a process at a time, and by one process at a time
(a lock in the same Redis, itself a 1-per-second `limits` window, so it lapses if its
holder dies). After storing its place a worker counts the window again, so even without
the lock a race lost leaves a spent place, never one request too many.

Provider limits (PROVIDERS.md §A5, §B7):
- Telegram: about 30 messages a second in all, and one a second per chat
  (https://core.telegram.org/bots/faq, "My bot is hitting limits").
- Twilio: each sender's MPS (messages per second), set per account: 10 for a WhatsApp
  sender by default, 1 for an SMS long code.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits.storage import (
    MemoryStorage,
    MovingWindowSupport,
    Storage,
    storage_from_string,
)

from bot.channels.base import RateLimited

log = logging.getLogger(__name__)

# The latest a request may reach the provider after the limiter let it through (measured by
# bench/outbound_drain.py at the fake providers: see bench/README.md, "Outbound drain").
# The window is 1 s plus this.
JITTER_BOUND_SECONDS = 0.05
# A place taken and checked more slowly than this (the process was descheduled, Redis was
# slow) is not used: the request would already be late by part of its bound. It is left
# spent, and the caller tries again.
TAKE_BOUND_SECONDS = 0.015
# Requests under one key are at least this share of window/N apart, so a full window is
# spread over most of its length instead of going in a burst. Below 1: a request let
# through late does not push every later one back; the window itself stays the hard limit.
SPACING = 0.5
# A wait this short is slept holding this process's lock for the key, then the place taken.
HOLD_SECONDS = 0.1
# How often a worker looks whether another process let go of a shared window.
LOCK_POLL_SECONDS = 0.001
# How long to wait before trying again after a lost race (another worker took the place).
RETRY_SECONDS = 0.005
# Places are stored 2 s (Redis EXPIRE takes whole seconds, at least the window), in a list
# this many times the limit long: room for the window's own and any spent places.
STORE_SECONDS = 2
# limits' MemoryStorage (5.8) empties a window whose places expired but keeps its key, and a
# key is a chat: a process without Redis (`teleopd serve`) kept one for every chat it had ever
# sent to, ~170 bytes each (tracemalloc of 10,000 chats: 4.0 MiB held, 1.7 MiB once emptied).
# This often, windows whose places have all expired are dropped (Redis expires its own).
FORGET_EVERY_SECONDS = 60.0
# How often the in-process windows' expired places are cleared (see InProcessWindows).
EXPIRE_EVERY_SECONDS = 1.0
STORE_FACTOR = 3
# A Redis that stops answering (a dropped network path) fails a call after this long instead
# of holding a send, or GET /healthz, until the operating system gives up on the socket.
REDIS_TIMEOUT_SECONDS = 2.0


class InProcessWindows(MemoryStorage):
    """limits' MemoryStorage, its expired places cleared by the RateLimiter using it, not by a new thread.

    MemoryStorage (5.8, limits/storage/memory.py `__schedule_expiry`) starts a
    `threading.Timer(0.01)` to clear expired places whenever its last one has finished, so a
    process sending all the time started a thread every ~10 ms (the outbox worker at 70–80
    messages a second started ~25 a second, each walking every window): without them, and
    with the outbox lanes' threads kept, the worker spent ~7 % less CPU a row sent
    (bench/RESULTS.md, issue 18's seventh sitting). Clearing expired places only frees
    memory: a window counts the places inside it whether or not older ones were cleared.
    """

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - the name MemoryStorage calls
        """Start no thread: RateLimiter.expire() clears expired places (every EXPIRE_EVERY_SECONDS)."""

    def expire(self) -> None:
        """Clear the places that have left their windows (MemoryStorage's own clearing, run here)."""
        self._MemoryStorage__expire_events()  # type: ignore[attr-defined]

    def forget_idle(self) -> int:
        """Drop the windows whose places have all expired; return how many were dropped.

        MemoryStorage empties such a window but keeps its key (FORGET_EVERY_SECONDS).
        """
        # MemoryStorage's `events` (key → places, newest first) and `locks` (key → RLock), used
        # as its own expiry uses them; tests/test_ratelimit.py pins them for the next release.
        now, dropped = time.time(), 0
        for key, places in list(self.events.items()):
            if places and places[0].expiry > now:  # the newest place first: still in use
                continue
            with self.locks[key]:  # as the storage's own expiry does: no thread is taking a place under it
                places = self.events.get(key, [])
                if not places or places[0].expiry <= now:
                    self.clear(key)
                    dropped += 1
        return dropped


@dataclass(frozen=True)
class Limit:
    """At most `per_second` requests a second under one key (a bot, a chat, a sender)."""

    key: str
    per_second: int


class RateLimiter:
    """Lets requests through at no more than their limits, across every process sharing it."""

    def __init__(
        self,
        redis_url: str | None = None,
        namespace: str = "teleopd",
        max_wait_seconds: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random.random,
        jitter_bound_seconds: float = JITTER_BOUND_SECONDS,
        spacing: float = SPACING,
    ):
        storage: Storage = (
            storage_from_string(
                redis_url, key_prefix=namespace, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS,
            )
            if redis_url
            else InProcessWindows()
        )
        assert isinstance(storage, MovingWindowSupport)
        self.storage = storage
        self.windows: MovingWindowSupport = storage
        self.shared = redis_url is not None
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep
        self._random = random
        if not 0 <= jitter_bound_seconds < STORE_SECONDS - 1:
            raise ValueError(f"a jitter bound is between 0 and {STORE_SECONDS - 1} s")
        self.window_seconds = 1.0 + jitter_bound_seconds
        self.spacing = spacing  # 0: no spacing, a window's places may go at once
        self.spent = 0  # places taken but not used (lost races, slow takes): for benchmarks
        # One thread at a time per key in this process waits at the window: threads woken
        # together would take places together, a burst.
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._next: dict[str, float] = {}  # key → when this process may take its next place
        self._forget_at = time.monotonic() + FORGET_EVERY_SECONDS
        self._expire_at = time.monotonic() + EXPIRE_EVERY_SECONDS

    def acquire(self, *limits: Limit) -> None:
        """Take one request's place under every limit, waiting briefly; raise RateLimited if
        the wait would be longer (retry_after says how long).

        The last limit is the one many requests share (a bot's, a sender's); any before it
        are the request's own (a chat's). First every own window is waited for, then the
        shared place is taken, then the own ones, and the caller sends at once: a place
        taken is a request on its way.
        """
        if not limits:
            return
        self._tidy_now_and_then()
        deadline = time.monotonic() + self.max_wait_seconds
        shared, own = limits[-1], limits[:-1]
        while True:
            wait = self.wait_for(*own) if own else 0.0
            if wait == 0.0:
                wait = self._take_shared(shared, deadline)
                # A lost race for an own place (another worker sending to this chat) leaves
                # a spent shared place: 1/N of a second of the bot's, not a second of the chat's.
                if wait == 0.0:
                    if all(self._take(limit) for limit in own):
                        return
                    wait = RETRY_SECONDS
            if time.monotonic() + wait > deadline:
                raise RateLimited("rate limit reached", code="rate_limited", retry_after=wait)
            self.sleep(wait)

    def _take_shared(self, limit: Limit, deadline: float) -> float:
        """Take a place under a shared limit; return 0.0, or how long to wait before trying again.

        One thread of this process at a time, and (through Redis) one process at a time,
        looks at the window and takes the place, `spacing` after this process's last:
        workers woken together would otherwise take places together, a burst, or all see the
        window over and all leave their places spent.
        """
        lock = self._lock(limit.key)
        if not lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            return HOLD_SECONDS
        try:
            while True:
                wait = self._next.get(limit.key, 0.0) - time.monotonic()
                if wait <= 0.0:
                    if not self._lock_shared(limit, deadline):
                        return RETRY_SECONDS
                    try:
                        wait = self.wait_for(limit)
                        if wait == 0.0:
                            if self._take(limit):
                                self._next[limit.key] = time.monotonic() + self._spacing(limit)
                                return 0.0
                            wait = RETRY_SECONDS
                    finally:
                        self._unlock_shared(limit)
                if wait > HOLD_SECONDS or time.monotonic() + wait > deadline:
                    return wait
                self.sleep(wait)
        finally:
            lock.release()

    def _lock_shared(self, limit: Limit, deadline: float) -> bool:
        """Take the lock on a shared window across processes (Redis only; it lapses after 1 s)."""
        if not self.shared:
            return True
        key = f"lock/{limit.key}"
        while not self.windows.acquire_entry(key, 1, 1):
            if time.monotonic() + LOCK_POLL_SECONDS > deadline:
                return False
            self.sleep(LOCK_POLL_SECONDS * (0.5 + self._random()))
        return True

    def _unlock_shared(self, limit: Limit) -> None:
        if self.shared:
            self.storage.clear(f"lock/{limit.key}")

    def wait_for(self, *limits: Limit) -> float:
        """Return how long until every limit's window has room for one more request (0.0: now)."""
        now = time.time()
        wait = 0.0
        for limit in limits:
            n = limit.per_second
            start, count = self.windows.get_moving_window(self._key(limit), n, self.window_seconds)  # type: ignore[arg-type]
            if count >= n:  # `start` is then the n-th newest: room when it leaves the window
                wait = max(wait, start + self.window_seconds - now)
        return wait

    def _spacing(self, limit: Limit) -> float:
        return self.spacing * self.window_seconds / limit.per_second if limit.per_second > 1 else 0.0

    def _take(self, limit: Limit) -> bool:
        """Take a place under a limit and check that its window holds no more than the limit now.

        The check runs after the place was stored, so of two workers racing for the last
        place the later to store sees both: a lost race leaves a spent place, never one
        request too many. A place taken too slowly (TAKE_BOUND_SECONDS) is left spent too.
        """
        started = time.time()
        key, n = self._key(limit), limit.per_second
        if self.windows.acquire_entry(key, STORE_FACTOR * n, STORE_SECONDS):
            _, count = self.windows.get_moving_window(key, n + 1, self.window_seconds)  # type: ignore[arg-type]
            if count <= n and time.time() - started <= TAKE_BOUND_SECONDS:
                return True
        self.spent += 1
        return False

    def has_room(self, key: str, amount: int, seconds: int) -> bool:
        """Return True while fewer than `amount` were spent under a key in the last `seconds` (a budget of tries)."""
        _, count = self.windows.get_moving_window(f"budget/{key}", amount, seconds)
        return count < amount

    def spend(self, key: str, amount: int, seconds: int) -> None:
        """Spend one of a key's `amount` tries a `seconds` (nothing more once they are all spent)."""
        self._tidy_now_and_then()
        self.windows.acquire_entry(f"budget/{key}", amount, seconds)

    def forget_idle(self) -> int:
        """Drop the in-process windows whose places have all expired; return how many were dropped (Redis expires its own)."""
        return self.storage.forget_idle() if isinstance(self.storage, InProcessWindows) else 0

    def expire(self) -> None:
        """Clear the in-process windows' expired places (Redis expires its own)."""
        if isinstance(self.storage, InProcessWindows):
            self.storage.expire()

    def _tidy_now_and_then(self) -> None:
        now = time.monotonic()
        if now < self._expire_at:
            return
        self._expire_at = now + EXPIRE_EVERY_SECONDS
        forget = now >= self._forget_at
        if forget:
            self._forget_at = now + FORGET_EVERY_SECONDS
        try:
            self.expire()
            if forget:
                self.forget_idle()
        except Exception:  # housekeeping: a storage that changed shape must not fail a send
            log.warning("could not clear expired rate-limit places", exc_info=True)

    def _key(self, limit: Limit) -> str:
        return f"window/{limit.key}/{limit.per_second}"

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())

    def reset(self) -> None:
        """Forget every window (tests and benchmarks start clean)."""
        self.storage.reset()

