"""Engines and sessions for SQLite (the embedded default) and PostgreSQL (the shared database)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

# The PostgreSQL notification channel a commit that queued outbox rows signals on.
OUTBOX_CHANNEL = "teleopd_outbox"

# How long a SQLite writer waits for the lock before giving up: long enough to ride out
# another process's transaction, short enough that a stuck one shows as an error.
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Set in a write session's info by a transaction that erased personal data: once it has
# committed, SQLite's write-ahead log, which still holds the pages as they were, is folded
# into the database file and emptied (bot/services/erasure.py).
CHECKPOINT_AFTER_COMMIT = "teleopd_checkpoint"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for a database URL, with the settings each database needs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    """Turns on WAL and a busy timeout, and makes writing transactions take the lock at BEGIN.

    WAL lets readers go on while one writer writes (sqlite.org/wal.html). pysqlite's own
    transaction handling is turned off so that we emit BEGIN ourselves: a transaction that
    will write starts with BEGIN IMMEDIATE, taking the write lock up front, so two of them
    queue at the lock instead of failing with "database is locked" on upgrade. That lock is
    also what serialises one person's messages on SQLite, where SELECT … FOR UPDATE is
    silently dropped. Recipe: SQLAlchemy docs, "Serializable isolation / Savepoints /
    Transactional DDL" for pysqlite.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One engine and the two kinds of session the runtime uses."""

    def __init__(self, url: str, **engine_kwargs: Any):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # Notifications are per database, not per schema: runs sharing one (tests) set their own.
        self.outbox_channel = OUTBOX_CHANNEL
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        writer_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine
        self._writer = sessionmaker(writer_engine, expire_on_commit=False)
        self._write_lock = threading.RLock()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Open a transaction that will write; commit on success, roll back on error."""
        if not self.is_sqlite:
            with self._writer.begin() as session:
                yield session
            return
        # SQLite has one writer at a time. Threads of this process queue here, handed the
        # lock the moment it is free, instead of at SQLite's busy handler, which sleeps and
        # polls (1, 2, 5, 10 … 100 ms): with 8 web threads and the worker that sleeping, not
        # the work, set the pace (bench/webhook_load.py --sqlite). Other processes still
        # wait at the database's own lock (BEGIN IMMEDIATE, busy timeout).
        with self._write_lock, self._writer.begin() as session:
            yield session
        if session.info.get(CHECKPOINT_AFTER_COMMIT):
            self.checkpoint()

    def checkpoint(self) -> bool:
        """Fold SQLite's write-ahead log into the database file and empty it; return False if readers kept it from finishing.

        Outside any transaction and the process's write lock: TRUNCATE waits (busy timeout)
        for readers still on older pages, and a checkpoint left unfinished is tried again by
        the next erasure or its scrub an hour later.
        """
        if not self.is_sqlite:
            return True
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            cursor.close()
        finally:
            connection.close()
        if busy:
            log.warning("the write-ahead log could not be emptied now: readers are still on older pages")
        return not busy

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Open a read-only session."""
        with self._reader() as session:
            yield session

    def notify_outbox(self, session: Session) -> None:
        """Tell listening workers, when this transaction commits, that outbox rows are due.

        PostgreSQL delivers a NOTIFY at COMMIT, and not at all on ROLLBACK, so a worker never
        wakes for rows it cannot see yet (https://www.postgresql.org/docs/current/sql-notify.html).
        SQLite has no such thing: its worker runs in the same process and is woken by an Event.
        """
        if not self.is_sqlite:
            session.execute(text(f"NOTIFY {self.outbox_channel}"))

    def listen_outbox(self, wake: threading.Event, stop: threading.Event, reconnect_s: float = 1.0) -> None:
        """Set `wake` whenever a transaction queued outbox rows, until `stop` (PostgreSQL; run on a thread).

        The worker still polls when idle, so a lost connection (a database restart) only
        slows replies down to the poll until this loop has connected again.
        """
        if self.is_sqlite:
            return
        while not stop.is_set():
            try:
                connection = self.engine.raw_connection()
                try:
                    raw = connection.driver_connection
                    raw.autocommit = True
                    raw.execute(f"LISTEN {self.outbox_channel}")
                    wake.set()  # rows queued while nobody listened
                    while not stop.is_set():
                        for _ in raw.notifies(timeout=reconnect_s, stop_after=1):
                            wake.set()
                finally:
                    connection.invalidate()  # never back to the pool in LISTEN mode
            except Exception as exc:  # the database is away: try again shortly
                log.warning("outbox listener: %s; polling until it reconnects", type(exc).__name__)
                stop.wait(reconnect_s)

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
