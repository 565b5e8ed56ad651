"""Worker heartbeats: each worker process notes in the database when it last went round its loop.

The database is the one place every web process and worker shares, so GET /healthz on any
web process can say how long ago some worker was last alive. A worker beats every
BEAT_EVERY while it runs, busy or idle; none for STALE_AFTER means no worker is sending.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from bot.store.db import Database
from bot.store.models import WorkerHeartbeat, utcnow

BEAT_EVERY = dt.timedelta(seconds=15)
# Four beats missed: a worker busy with a slow provider still beats (the beat is taken
# between claims), so this long without one means it is gone or stuck.
STALE_AFTER = dt.timedelta(seconds=60)
# Rows of workers gone this long are cleared by the next beat.
FORGET_AFTER = dt.timedelta(days=1)


def worker_name() -> str:
    """Return this process's name among the workers: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


class Heartbeat:
    """Notes that this worker is alive, at most once every BEAT_EVERY."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime] = utcnow, name: str | None = None):
        self.db = db
        self.clock = clock
        self.name = name or worker_name()
        self.started_at = clock()
        self._last: dt.datetime | None = None

    def beat(self) -> bool:
        """Write the heartbeat if the last one is BEAT_EVERY old; return whether it was written."""
        now = self.clock()
        if self._last is not None and now - self._last < BEAT_EVERY:
            return False
        with self.db.write() as session:
            row = session.get(WorkerHeartbeat, self.name)
            if row is None:
                session.add(WorkerHeartbeat(worker=self.name, started_at=self.started_at, beat_at=now))
                session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - FORGET_AFTER))
            else:
                row.beat_at = now
        self._last = now
        return True


@dataclass(frozen=True)
class WorkerHealth:
    """How long ago the last worker beat, as GET /healthz reports it."""

    last_beat: dt.datetime | None
    now: dt.datetime

    @property
    def age_seconds(self) -> float | None:
        """Return the seconds since the newest beat, None when no worker ever beat."""
        return None if self.last_beat is None else max(0.0, (self.now - self.last_beat).total_seconds())

    @property
    def status(self) -> str:
        """Return "ok" (a worker beat lately), "stale" (not for STALE_AFTER) or "none" (never)."""
        if self.last_beat is None:
            return "none"
        return "ok" if self.now - self.last_beat <= STALE_AFTER else "stale"


def worker_health(db: Database, now: dt.datetime | None = None) -> WorkerHealth:
    """Return when any worker last beat."""
    with db.read() as session:
        last = session.scalar(select(func.max(WorkerHeartbeat.beat_at)))
    return WorkerHealth(last, now or utcnow())
