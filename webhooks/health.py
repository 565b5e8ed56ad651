"""GET /healthz: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Report whether this process can reach the database."""
    services = current_app.extensions["teleopd"]
    try:
        services.db.ping()
    except Exception as exc:  # any failure to answer means "not healthy"
        log.warning("health check: database error %s", type(exc).__name__)
        return jsonify(status="unavailable", database="error"), 503
    return jsonify(status="ok", database="ok")
