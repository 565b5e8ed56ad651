"""Send rate limits shared by every worker: Redis when configured, in-process otherwise.

Providers count what reaches them, so a limit here is a moving window over the moment each
request is let through (the `limits` library's moving-window strategy; its Redis storage
makes one window shared by every worker process on every machine). A caller that finds a
window full waits for it when the wait is short, and otherwise is told how long to wait, so
a worker puts the message back instead of holding up other channels.

Provider limits (PROVIDERS.md §A5, §B7):
- Telegram: about 30 messages a second in all, and one a second per chat
  (https://core.telegram.org/bots/faq, "My bot is hitting limits").
- Twilio: each sender's MPS (messages per second), set per account: 10 for a WhatsApp
  sender by default, 1 for an SMS long code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from bot.channels.base import RateLimited

# A window that has just emptied is entered this much later: requests reach the provider a
# few milliseconds after they are let through, and not always in the same few, so a window
# entered at its exact edge could be seen one message over by the provider.
EDGE_PAD_SECONDS = 0.05


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
    ):
        storage: Storage = storage_from_string(redis_url, key_prefix=namespace) if redis_url else MemoryStorage()
        self.storage = storage
        self.shared = redis_url is not None
        self.strategy = MovingWindowRateLimiter(storage)
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep

    def acquire(self, *limits: Limit) -> None:
        """Take one request's place under every limit, waiting briefly; raise RateLimited if
        the wait would be longer (retry_after says how long)."""
        items = [(RateLimitItemPerSecond(limit.per_second, 1), limit.key) for limit in limits]
        waited = 0.0
        while True:
            wait = self._wait_for(items)
            if wait is None:
                # Narrowest first: a chat's own window, then the bot's or sender's. A race
                # lost on the second leaves a spent place in the first, never an excess.
                if all(self.strategy.hit(item, key) for item, key in items):
                    return
                wait = EDGE_PAD_SECONDS
            if waited + wait > self.max_wait_seconds:
                raise RateLimited("rate limit reached", code="rate_limited", retry_after=wait)
            self.sleep(wait)
            waited += wait

    def _wait_for(self, items: list[tuple[RateLimitItemPerSecond, str]]) -> float | None:
        """Return how long until every window has room, or None when they have it now."""
        now = time.time()
        wait = 0.0
        for item, key in items:
            stats = self.strategy.get_window_stats(item, key)
            if stats.remaining < 1:
                wait = max(wait, stats.reset_time - now + EDGE_PAD_SECONDS)
        return None if wait == 0.0 else max(wait, EDGE_PAD_SECONDS)

    def reset(self) -> None:
        """Forget every window (tests and benchmarks start clean)."""
        self.storage.reset()
