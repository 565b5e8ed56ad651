"""POST /webhooks/telegram: verify the secret header, then parse, dedupe and dispatch one update.

Answers (DESIGN.md, HTTP): 200 {"status": "handled" | "duplicate" | "ignored"}; 400 for a
body that is not a Telegram update; 403 for a missing or wrong secret; 404 when Telegram is
off or has no webhook secret (`teleopd telegram poll` needs none). Replies go through the outbox; nothing is sent from here.
"""

from __future__ import annotations

import hmac
import json

from flask import Blueprint, abort, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.channels.base import Malformed
from bot.channels.telegram import NAME, SECRET_HEADER, handle_update
from bot.platform import metrics

blueprint = Blueprint("telegram", __name__)


def _reject(status: int, description: str):  # type: ignore[no-untyped-def]
    """Count a refused update (403 forbidden, 400 malformed) and answer with its status."""
    metrics.count_rejected(NAME, status)
    abort(status, description=description)


@blueprint.post("/webhooks/telegram")
def telegram_update():  # type: ignore[no-untyped-def]
    """Handle one update Telegram delivers to the webhook."""
    services = current_app.extensions["teleopd"]
    settings = services.settings
    if not settings.telegram_webhook_enabled:  # no secret: nothing could prove a call is Telegram's
        abort(404)
    # Telegram: setWebhook's secret_token comes back in this header on every call,
    # https://core.telegram.org/bots/api#setwebhook. Checked before the body is read, in
    # constant time; bytes, since a header may hold what compare_digest refuses as str.
    given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
    if not hmac.compare_digest(given, settings.telegram_secret.encode("utf-8")):
        _reject(403, "wrong or missing secret token")
    if request.mimetype != "application/json":
        _reject(400, "an update is sent as application/json")
    try:
        data = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the parser's depth
        _reject(400, "the body is not JSON")
    except RequestEntityTooLarge:
        metrics.count_rejected(NAME, 413)
        raise
    try:
        outcome = handle_update(services, data)
    except Malformed as exc:
        _reject(400, str(exc))
    if outcome.status == "ignored":  # handled and duplicate are counted by the dispatcher
        metrics.count_in(NAME, "ignored")
    return jsonify(outcome.to_json())
