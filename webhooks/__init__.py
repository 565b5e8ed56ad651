"""The web app: provider webhooks, the local web chat and health checks.

`create_app()` is the WSGI entry point (gunicorn 'webhooks:create_app()'); nothing is built
when this module is imported.
"""

from __future__ import annotations

import logging
import sys
import time

from flask import Flask, g, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from bot.platform import logs
from bot.platform.config import Settings, SettingsError
from bot.platform.logs import configure_logging
from bot.platform.metrics import observe_webhook
from bot.runtime import Services, build_services
from webhooks import health, media, pages, security, webchat
from webhooks import metrics as metrics_endpoint
from webhooks import prescriptions as prescription_pages
from webhooks import telegram as telegram_webhooks
from webhooks import twilio as twilio_webhooks
from webhooks import voice as voice_webhooks
from webhooks.operators import auth as operator_auth
from webhooks.operators import broadcasts as broadcast_pages  # noqa: F401  (its routes are the dashboard blueprint's)
from webhooks.operators import dashboard as dashboard_pages
from webhooks.operators import inbox as inbox_pages

log = logging.getLogger(__name__)

# Twilio's largest form and Telegram's largest update are far below this; a larger body is
# not a message (werkzeug answers 413).
MAX_BODY_BYTES = 256 * 1024


def create_app(
    services: Services | None = None,
    settings: Settings | None = None,
    *,
    local_demo: bool = False,
    long_polls: int | None = None,
) -> Flask:
    """Build the Flask app around the runtime's services.

    `local_demo` says the app is the local demo (`teleopd serve` on loopback): only then is
    the web chat API open to any user id; otherwise a chat is a secret the server issues
    (webhooks/webchat.py). `long_polls` caps the web chat's long polls held at once
    (webchat.DEFAULT_LONG_POLLS when None): below the server's threads, so webhooks and
    /healthz always find one.
    """
    if services is None:
        try:
            settings = settings or Settings.from_env()
        except SettingsError as exc:
            # Under gunicorn a traceback would bury the one line that matters. Exit status 3
            # is gunicorn's WORKER_BOOT_ERROR: the arbiter stops rather than restarting the
            # worker forever (gunicorn/arbiter.py).
            print(f"teleopd: {exc}", file=sys.stderr)
            raise SystemExit(3) from None
        # Under gunicorn nothing else sets up logging: JSON lines, masked, with request ids.
        configure_logging(settings)
        services = build_services(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Devanagari stays readable
    app.extensions["teleopd"] = services
    security.install(app, services.settings.trusted_proxies)
    pages.install(app)
    app.register_blueprint(health.blueprint)
    webchat.install(app, local_demo=local_demo, long_polls=webchat.DEFAULT_LONG_POLLS if long_polls is None else long_polls)
    app.register_blueprint(twilio_webhooks.blueprint)
    app.register_blueprint(voice_webhooks.blueprint)
    app.register_blueprint(telegram_webhooks.blueprint)
    app.register_blueprint(metrics_endpoint.blueprint)
    app.register_blueprint(dashboard_pages.blueprint)
    app.register_blueprint(inbox_pages.blueprint)
    app.register_blueprint(media.blueprint)
    app.register_blueprint(prescription_pages.blueprint)
    _track_requests(app)
    # After _track_requests: its guard's redirects and log lines then carry the request id.
    operator_auth.install(app)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        """Answer an HTTP error as a page under /dashboard (operators read it), as JSON elsewhere."""
        if request.path == "/dashboard" or request.path.startswith("/dashboard/"):
            return operator_auth.error_page(error)
        return jsonify(error=error.description or error.name), error.code

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):  # type: ignore[no-untyped-def]
        """Log a bug with its traceback; show the sender nothing but a short message."""
        if isinstance(error, (OperationalError, InterfaceError)):
            log.error("database unavailable: %s", type(error).__name__)
            return jsonify(error="the service is briefly unavailable, please retry"), 503
        log.exception("unhandled error")
        return jsonify(error="internal error"), 500

    return app


def _track_requests(app: Flask) -> None:
    """Give each request an id every log line carries, echoed in X-Request-Id; time the webhooks."""
    @app.before_request
    def start_request() -> None:
        g.request_id = logs.sane_request_id(request.headers.get(logs.REQUEST_ID_HEADER))
        g.request_id_token = logs.set_request_id(g.request_id)
        g.started = time.perf_counter()

    @app.after_request
    def finish_request(response):  # type: ignore[no-untyped-def]
        if "request_id" in g:
            response.headers[logs.REQUEST_ID_HEADER] = g.request_id
        if "started" in g and request.url_rule is not None and request.url_rule.rule.startswith("/webhooks/"):
            observe_webhook(request.url_rule.rule, time.perf_counter() - g.started)
        return response

    @app.teardown_request
    def end_request(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            logs.reset_request_id(token)
