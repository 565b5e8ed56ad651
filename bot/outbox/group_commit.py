"""Writes from many threads committed together, each thread going on only once its own committed.

The worker's send threads each end a send with a small write (the row marked sent). One
transaction each is a checkout, a BEGIN, a COMMIT and their round trips per message, and
under load the database's time for them grows with the number of sends. Instead a thread
that finds no write in progress becomes the leader: it takes every write queued so far and
commits them in one transaction; threads that arrive meanwhile queue theirs and wait for
the next one, which the first of them to wake leads. A thread alone commits its own write
at once: nothing is ever held back to wait for company, so one send is no slower than
before, and many sends share their commits (the group commit of database engines).

A caller returns only after the transaction holding its write committed, and gets that
transaction's error if it failed: what it does on failure (wait out an outage and try
again, bot/outbox/retry.py record_through_outage) is unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass(eq=False)
class _Queued(Generic[Item]):
    item: Item
    done: bool = False
    error: BaseException | None = None


class GroupCommit(Generic[Item]):
    """Hands the items threads submit to `write_many` in groups; each submit waits for its group's commit."""

    def __init__(self, write_many: Callable[[Sequence[Item]], None], max_group: int = 64):
        # Writes the items in one transaction, committed when it returns.
        self.write_many = write_many
        self.max_group = max_group
        self._changed = threading.Condition()
        self._queued: list[_Queued[Item]] = []
        self._writing = False

    def submit(self, item: Item) -> None:
        """Write one item, together with whatever other threads are writing; raise its group's error."""
        mine = _Queued(item)
        with self._changed:
            self._queued.append(mine)
        while True:
            with self._changed:
                while self._writing and not mine.done:
                    self._changed.wait()
                if mine.done:  # in a group this thread or another one led
                    break
                self._writing = True  # this thread leads the next group (the oldest max_group queued)
                group, self._queued = self._queued[: self.max_group], self._queued[self.max_group :]
            self._write(group)
        if mine.error is not None:
            raise mine.error

    def _write(self, group: list[_Queued[Item]]) -> None:
        error: BaseException | None = None
        try:
            self.write_many([queued.item for queued in group])
        except BaseException as exc:  # every thread of the group gets it, to handle as its own
            error = exc
        with self._changed:
            for queued in group:
                queued.done, queued.error = True, error
            self._writing = False
            self._changed.notify_all()
