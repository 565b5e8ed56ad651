"""GET /healthz: 200 when the database answers, 503 when it does not; Redis and the worker reported.

    {"status": "ok" | "unavailable", "database": "ok" | "error",
     "redis": "ok" | "error" | "off", "worker": "ok" | "stale" | "none",
     "worker_heartbeat_age_seconds": 3.2 | null}

Only the database decides the status (and the code). This process takes webhooks and chat
messages in with the database alone: Redis only shares rate limits, and a worker that is
down (or not started yet) delays replies but loses none, since they wait in the outbox. A
load balancer must keep sending to a web process that can take messages in, so a Redis
error or a stale worker is reported ("redis", "worker": "stale" after
bot/heartbeat.STALE_AFTER without a beat, "none" if no worker ever beat) for monitoring to
alert on, with 200: a 503 would take every web process out at once for a fault none of them has.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify

from bot.outbox.heartbeat import worker_health

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


def _redis_status(services) -> str:  # type: ignore[no-untyped-def]
    """Return "off" without Redis, else whether it answers."""
    if not services.limiter.shared:
        return "off"
    try:
        answered = services.limiter.storage.check()
    except Exception as exc:  # any failure to answer is "error"
        log.warning("health check: redis error %s", type(exc).__name__)
        return "error"
    if not answered:
        log.warning("health check: redis does not answer")
    return "ok" if answered else "error"


@blueprint.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Report whether this process can reach the database, and how Redis and the worker are."""
    services = current_app.extensions["teleopd"]
    redis = _redis_status(services)
    try:
        services.db.ping()
        worker = worker_health(services.db)
    except Exception as exc:  # any failure to answer means "not healthy"
        log.warning("health check: database error %s", type(exc).__name__)
        return jsonify(status="unavailable", database="error", redis=redis, worker=None, worker_heartbeat_age_seconds=None), 503
    age = worker.age_seconds
    return jsonify(
        status="ok", database="ok", redis=redis, worker=worker.status,
        worker_heartbeat_age_seconds=None if age is None else round(age, 1),
    )
