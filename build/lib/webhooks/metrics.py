"""GET /metrics: Prometheus's text format (bot/platform/metrics.py).

The metrics hold no personal data (counts by channel, OPD codes), but on a public host they
still say how busy the service is: when TELEOPD_METRICS_TOKEN is set, a scrape must send
"Authorization: Bearer <token>" (401 otherwise). Unset, /metrics answers only a scraper on
this machine: a request from a loopback address that no proxy forwarded (403 otherwise),
which is the local demo and a Prometheus beside the app.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

from flask import Blueprint, Response, abort, current_app, request

from bot.platform import metrics

log = logging.getLogger(__name__)
blueprint = Blueprint("metrics", __name__)

# A reverse proxy on this machine reaches us from loopback too; these headers say it
# forwarded someone else's request (most proxies add at least one of them).
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded", "X-Forwarded-Host")


def from_this_machine() -> bool:
    """Tell whether the request came straight from a loopback address, not through a proxy."""
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
    return loopback and not any(name in request.headers for name in FORWARDING_HEADERS)


@blueprint.get("/metrics")
def scrape():  # type: ignore[no-untyped-def]
    """Answer a Prometheus scrape."""
    services = current_app.extensions["teleopd"]
    token = services.settings.metrics_token
    if token is None and not from_this_machine():
        log.warning("a /metrics scrape from %s refused: without TELEOPD_METRICS_TOKEN only this machine may scrape", request.remote_addr)
        abort(403, description="/metrics answers this machine only; set TELEOPD_METRICS_TOKEN to scrape it from elsewhere")
    if token is not None:
        given = request.headers.get("Authorization", "")
        scheme, _, credentials = given.partition(" ")
        # Constant time, in bytes: a header may hold what compare_digest refuses as str.
        if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.strip().encode("utf-8", "replace"), token.encode("utf-8")):
            abort(401, description="send Authorization: Bearer <TELEOPD_METRICS_TOKEN>")
    return Response(metrics.exposition(services.db), content_type=metrics.CONTENT_TYPE_LATEST)
