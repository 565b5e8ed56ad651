"""GET /healthz: the database decides the answer; Redis and the worker's heartbeat are reported, on both databases."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from flask.testing import FlaskClient

from bot.outbox.heartbeat import BEAT_EVERY, STALE_AFTER, Heartbeat, worker_health
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.store.db import Database
from bot.store.models import WorkerHeartbeat, utcnow
from webhooks import create_app

# The database is what is tested here: the health check's query and the workers' heartbeat rows (upserts, ages).
pytestmark = pytest.mark.both_databases

REDIS_URL = os.environ.get("TELEOPD_TEST_REDIS_URL", "")
# Nothing listens on port 1: a Redis that is down answers at once with "connection refused".
REDIS_DOWN = "redis://127.0.0.1:1/0"


@pytest.fixture
def client(services: Services) -> FlaskClient:
    return create_app(services).test_client()


class Clock:
    """A clock the test moves."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def test_no_worker_yet_is_reported_and_the_answer_is_still_200(client: FlaskClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "status": "ok", "database": "ok", "redis": "off", "worker": "none", "worker_heartbeat_age_seconds": None,
    }


def test_the_age_of_the_last_heartbeat_is_reported_and_a_stale_one_does_not_make_it_503(services: Services, client: FlaskClient) -> None:
    clock = Clock(utcnow() - dt.timedelta(seconds=20))
    Heartbeat(services.db, clock, name="host-a:1").beat()
    fresh = client.get("/healthz").get_json()
    assert (fresh["worker"], fresh["status"]) == ("ok", "ok")
    assert 19 <= fresh["worker_heartbeat_age_seconds"] <= 30
    with services.db.write() as session:  # the worker stopped beating two minutes ago
        session.get(WorkerHeartbeat, "host-a:1").beat_at = utcnow() - STALE_AFTER - dt.timedelta(seconds=60)
    stale = client.get("/healthz")
    assert stale.status_code == 200  # the web process still takes messages in: it stays in the load balancer
    assert stale.get_json()["worker"] == "stale" and stale.get_json()["worker_heartbeat_age_seconds"] >= 120


def test_the_newest_of_several_workers_counts(services: Services) -> None:
    now = utcnow()
    Heartbeat(services.db, Clock(now - dt.timedelta(hours=2)), name="old-host:7").beat()
    Heartbeat(services.db, Clock(now - dt.timedelta(seconds=5)), name="new-host:8").beat()
    health = worker_health(services.db, now)
    assert health.status == "ok" and health.age_seconds == pytest.approx(5, abs=0.01)
    assert health.last_beat is not None and health.last_beat.tzinfo is not None


def test_a_worker_beats_once_every_interval_and_forgets_workers_gone_a_day(services: Services) -> None:
    start = utcnow()
    Heartbeat(services.db, Clock(start - dt.timedelta(days=2)), name="gone:1").beat()
    clock = Clock(start)
    beat = Heartbeat(services.db, clock, name="here:2")
    assert beat.beat() is True
    clock.now = start + BEAT_EVERY / 2
    assert beat.beat() is False  # not yet: no write on every pass of the loop
    clock.now = start + BEAT_EVERY
    assert beat.beat() is True
    with services.db.read() as session:
        rows = {row.worker: row for row in session.query(WorkerHeartbeat)}
    assert set(rows) == {"here:2"}  # the worker gone two days was cleared
    assert rows["here:2"].beat_at == start + BEAT_EVERY and rows["here:2"].started_at == start


def test_redis_down_is_reported_and_the_answer_is_still_200(db: Database, catalogs: Catalogs) -> None:
    services = build_services(Settings(database_url=db.url, redis_url=REDIS_DOWN), db=db, catalogs=catalogs)
    answer = create_app(services).test_client().get("/healthz")
    assert answer.status_code == 200
    assert (answer.get_json()["status"], answer.get_json()["redis"]) == ("ok", "error")


def test_redis_that_answers_is_reported_ok(db: Database, catalogs: Catalogs) -> None:
    services = build_services(Settings(database_url=db.url, redis_url=REDIS_URL), db=db, catalogs=catalogs)
    assert create_app(services).test_client().get("/healthz").get_json()["redis"] == "ok"


if not REDIS_URL:  # only with a Redis to talk to (TELEOPD_TEST_REDIS_URL)
    del test_redis_that_answers_is_reported_ok


def test_a_database_that_does_not_answer_is_503_whatever_else(tmp_path, catalogs: Catalogs) -> None:  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'teleopd.db'}")
    try:
        services = build_services(Settings(database_url=db.url), db=db, catalogs=catalogs)
        answer = create_app(services).test_client().get("/healthz")
    finally:
        db.dispose()
    assert answer.status_code == 503
    assert answer.get_json() == {
        "status": "unavailable", "database": "error", "redis": "off", "worker": None, "worker_heartbeat_age_seconds": None,
    }
