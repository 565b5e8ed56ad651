"""A worker in another process wakes at the commit that queued rows (PostgreSQL LISTEN/NOTIFY).

SQLite has no notifications: there the worker runs in the web process and is woken by an
Event, and listen_outbox returns at once.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from bot.store.db import Database

# The database is what is tested here: PostgreSQL's LISTEN/NOTIFY, and SQLite's listen_outbox that returns at once.
pytestmark = pytest.mark.both_databases


def _listening(db: Database, sender: Database) -> tuple[threading.Event, threading.Event, threading.Thread]:
    # A channel of this test's own: other test runs on the same PostgreSQL notify too.
    db.outbox_channel = sender.outbox_channel = f"teleopd_test_{uuid.uuid4().hex}"
    wake, stop = threading.Event(), threading.Event()
    listener = threading.Thread(target=db.listen_outbox, args=(wake, stop), kwargs={"reconnect_s": 0.2}, daemon=True)
    listener.start()
    return wake, stop, listener


def test_a_commit_that_queued_rows_wakes_the_listener_and_a_rollback_does_not(db) -> None:  # type: ignore[no-untyped-def]
    listener_db = Database(db.url)  # its own pool, as in a separate `teleopd worker`
    wake, stop, listener = _listening(listener_db, db)
    try:
        if db.is_sqlite:
            listener.join(timeout=2)
            assert not listener.is_alive() and not wake.is_set()
            return
        assert wake.wait(5), "the listener wakes once when it starts listening"
        wake.clear()
        time.sleep(0.2)

        class Undone(Exception):
            pass

        try:
            with db.write() as session:
                db.notify_outbox(session)
                raise Undone
        except Undone:
            pass
        assert not wake.wait(0.5), "a rolled-back transaction signals nothing"

        with db.write() as session:
            db.notify_outbox(session)
        assert wake.wait(5), "the commit wakes the listener"
    finally:
        stop.set()
        listener.join(timeout=5)
        listener_db.dispose()
    assert not listener.is_alive()


def test_a_message_answered_by_the_dispatcher_wakes_a_worker_elsewhere(db, catalogs) -> None:  # type: ignore[no-untyped-def]
    from bot.channels import local
    from bot.channels.base import InboundMessage
    from bot.platform.config import Settings
    from bot.runtime import build_services

    services = build_services(Settings(database_url=db.url), db=db, catalogs=catalogs)
    if db.is_sqlite:  # the worker is in this process: the dispatcher's Event is its wake-up
        services.dispatcher.dispatch(InboundMessage(channel=local.NAME, address="asha", provider_id="asha:1", text="hello"))
        assert services.outbox_signal.is_set()
        return
    listener_db = Database(db.url)
    wake, stop, listener = _listening(listener_db, db)
    try:
        assert wake.wait(5)
        wake.clear()
        for user, text in (("asha", "hello"), ("ramesh", "नमस्ते")):
            services.dispatcher.dispatch(InboundMessage(channel=local.NAME, address=user, provider_id=f"{user}:1", text=text))
            assert wake.wait(5), f"the reply to {text!r} wakes the worker"
            wake.clear()
    finally:
        stop.set()
        listener.join(timeout=5)
        listener_db.dispose()
