"""The worker's group commit: writes from many threads committed together, none lost, none early."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.outbox.group_commit import GroupCommit


class Store:
    """A stand-in for the database: groups are "committed" when write_many returns."""

    def __init__(self, hold_first: threading.Event | None = None, fail_on: object = None):
        self.committed: list[object] = []
        self.groups: list[list[object]] = []
        self.hold_first = hold_first
        self.first_started = threading.Event()
        self.fail_on = fail_on

    def write_many(self, items: Sequence[object]) -> None:
        if not self.groups and self.hold_first is not None:
            self.first_started.set()
            assert self.hold_first.wait(10)
        self.groups.append(list(items))
        if self.fail_on in items:
            raise RuntimeError("the database went away")
        self.committed.extend(items)


def test_a_thread_alone_commits_its_own_write_at_once() -> None:
    store = Store()
    commit = GroupCommit(store.write_many)
    commit.submit("a")
    assert store.committed == ["a"]  # before submit returned
    commit.submit("b")
    assert store.groups == [["a"], ["b"]]


def test_writes_that_queue_behind_a_commit_go_together_and_each_returns_after_its_own() -> None:
    release = threading.Event()
    store = Store(hold_first=release)
    commit = GroupCommit(store.write_many)
    returned: list[tuple[int, bool]] = []

    def write(item: int) -> None:
        commit.submit(item)
        returned.append((item, item in store.committed))

    with ThreadPoolExecutor(9) as pool:
        first = pool.submit(write, 0)
        assert store.first_started.wait(10)
        rest = [pool.submit(write, i) for i in range(1, 9)]
        while len(commit._queued) < 8:  # the eight wait behind the first group's commit
            threading.Event().wait(0.001)
        release.set()
        for future in [first, *rest]:
            future.result(10)
    assert len(store.groups) == 2 and store.groups[0] == [0] and sorted(store.groups[1]) == list(range(1, 9))  # type: ignore[type-var]
    assert sorted(returned) == [(i, True) for i in range(9)]


def test_a_group_is_at_most_max_group_and_the_rest_are_led_after() -> None:
    release = threading.Event()
    store = Store(hold_first=release)
    commit = GroupCommit(store.write_many, max_group=3)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(commit.submit, 0)
        assert store.first_started.wait(10)
        rest = [pool.submit(commit.submit, i) for i in range(1, 8)]
        while len(commit._queued) < 7:
            threading.Event().wait(0.001)
        release.set()
        for future in [first, *rest]:
            future.result(10)
    assert store.groups[0] == [0] and all(len(group) <= 3 for group in store.groups)
    assert sorted(store.committed) == list(range(8)), "every write committed once"  # type: ignore[type-var]
    assert len(store.groups) == 1 + 3, "the seven that queued went in groups of 3, 3 and 1"


def test_a_failed_commit_is_every_writers_error_and_the_next_group_is_unaffected() -> None:
    release = threading.Event()
    store = Store(hold_first=release, fail_on="bad")
    commit = GroupCommit(store.write_many)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(commit.submit, "first")
        assert store.first_started.wait(10)
        together = [pool.submit(commit.submit, item) for item in ("bad", "innocent")]
        while len(commit._queued) < 2:
            threading.Event().wait(0.001)
        release.set()
        first.result(10)
        for future in together:
            with pytest.raises(RuntimeError, match="went away"):
                future.result(10)
    commit.submit("innocent")  # tried again by its caller, as the worker does through an outage
    assert store.committed == ["first", "innocent"]
