"""GET /metrics: Prometheus's text format (bot/metrics.py).

The metrics hold no personal data (counts by channel, OPD codes), but on a public host they
still say how busy the service is: when TELEOPD_METRICS_TOKEN is set, a scrape must send
"Authorization: Bearer <token>" (401 otherwise); unset, /metrics is open.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request

from bot import metrics

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
def scrape():  # type: ignore[no-untyped-def]
    """Answer a Prometheus scrape."""
    services = current_app.extensions["teleopd"]
    token = services.settings.metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "")
        scheme, _, credentials = given.partition(" ")
        # Constant time, in bytes: a header may hold what compare_digest refuses as str.
        if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.strip().encode("utf-8", "replace"), token.encode("utf-8")):
            abort(401, description="send Authorization: Bearer <TELEOPD_METRICS_TOKEN>")
    return Response(metrics.exposition(services.db), content_type=metrics.CONTENT_TYPE_LATEST)
