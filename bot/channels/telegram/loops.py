"""Bot API calls from plain threads, on a few long-lived event loops, each thread keeping to one.

python-telegram-bot is asyncio and the outbox worker is threads. One `Bot` reused across
`asyncio.run()` calls fails once a connection was kept alive (PROVIDERS.md §A2), so each Bot
lives on one event loop that runs in a daemon thread for the life of the process, and threads
hand it coroutines (`asyncio.run_coroutine_threadsafe`).

With one loop, that loop's thread was the worker's bound: py-spy of bench/webhook_load.py's
worker found it never idle while the Telegram lane's 32 threads waited on it, a third of it in
httpcore checking every idle connection of its pool on each request (anyio's `getpeername` and
a poll per connection). So the calls are spread over `LOOPS` loops, each with a Bot and a
connection pool of its own; a thread is given a loop on its first call and keeps it, so a
loop's pool holds about as many connections as the threads that use it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
from collections.abc import Callable

from telegram import Bot

log = logging.getLogger(__name__)

# Event loops (and Bots) a process spreads its Bot API calls over; the outbox's Telegram lane
# sends from 32 threads, 8 to a loop. bench/outbound_drain.py has the figures (bench/RESULTS.md).
LOOPS = 4
# How long close() waits for a loop's clients to shut down.
CLOSE_TIMEOUT_S = 5.0


class BotLoop:
    """One event loop in a daemon thread, and the Bot driven from it, made on first use."""

    def __init__(self, make_bot: Callable[[], Bot], name: str):
        self._make_bot = make_bot
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._bot: Bot | None = None
        self._ready = False

    def started(self, timeout: float) -> tuple[asyncio.AbstractEventLoop, Bot]:
        """Return the running loop and its initialized Bot, starting them if need be.

        Raises what `Bot.initialize()` raises (its getMe: a wrong token shows here), or
        concurrent.futures.TimeoutError; the next call tries again.
        """
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name=self._name, daemon=True)
                self._thread.start()
                self._bot = self._make_bot()
                self._ready = False
            loop, bot = self._loop, self._bot
            assert bot is not None
            if not self._ready:
                asyncio.run_coroutine_threadsafe(bot.initialize(), loop).result(timeout)
                self._ready = True
            return loop, bot

    def close(self) -> None:
        """Shut the Bot's HTTP clients down and stop the loop."""
        with self._lock:
            loop, thread, bot, ready = self._loop, self._thread, self._bot, self._ready
            self._loop = self._thread = self._bot = None
            self._ready = False
        if loop is None:
            return
        if bot is not None and ready:
            try:
                asyncio.run_coroutine_threadsafe(bot.shutdown(), loop).result(CLOSE_TIMEOUT_S)
            except Exception:  # closing: nothing more to do with a failure
                log.warning("telegram client did not shut down cleanly", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(CLOSE_TIMEOUT_S)
        if not loop.is_running():
            loop.close()


class BotLoops:
    """`count` BotLoops of one process; each calling thread keeps to the one it was first given."""

    def __init__(self, make_bot: Callable[[], Bot], count: int = LOOPS):
        self._make_bot = make_bot
        self._count = max(1, count)
        self._lock = threading.Lock()
        self._loops: list[BotLoop] = []
        self._pid: int | None = None
        self._turns = itertools.count()
        self._local = threading.local()

    def started(self, timeout: float) -> tuple[asyncio.AbstractEventLoop, Bot]:
        """Return this thread's loop and Bot, started (see BotLoop.started)."""
        return self._mine().started(timeout)

    def close(self) -> None:
        """Close every loop this process started (a forked child's inherited ones are not its own)."""
        with self._lock:
            loops = self._loops if self._pid == os.getpid() else []
            self._loops, self._pid = [], None
        for loop in loops:
            loop.close()

    def _mine(self) -> BotLoop:
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child: the parent's threads are not here
                self._loops = [BotLoop(self._make_bot, f"telegram-loop-{index}") for index in range(self._count)]
                self._pid = os.getpid()
                self._turns = itertools.count()
            loops = self._loops
            mine = getattr(self._local, "loop", None)
            if mine is None or getattr(self._local, "pid", None) != self._pid:
                # Round robin: the lane's threads start one after another, so each loop gets as many.
                mine = next(self._turns) % self._count
                self._local.loop, self._local.pid = mine, self._pid
        return loops[mine]
