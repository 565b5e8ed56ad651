"""POST /webhooks/telegram: verify the secret header, then parse, dedupe and dispatch one update.

Answers (DESIGN.md, HTTP): 200 {"status": "handled" | "duplicate" | "ignored"}; 400 for a
body that is not a Telegram update; 403 for a missing or wrong secret; 404 when Telegram is
off. Replies go through the outbox; nothing is sent from here.
"""

from __future__ import annotations

import hmac
import json

from flask import Blueprint, abort, current_app, jsonify, request

from bot.channels.base import Malformed
from bot.channels.telegram import SECRET_HEADER, handle_update

blueprint = Blueprint("telegram", __name__)


@blueprint.post("/webhooks/telegram")
def telegram_update():  # type: ignore[no-untyped-def]
    """Handle one update Telegram delivers to the webhook."""
    services = current_app.extensions["teleopd"]
    settings = services.settings
    if not settings.telegram_enabled:
        abort(404)
    # Telegram: setWebhook's secret_token comes back in this header on every call,
    # https://core.telegram.org/bots/api#setwebhook. Checked before the body is read, in
    # constant time; bytes, since a header may hold what compare_digest refuses as str.
    given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
    if not hmac.compare_digest(given, settings.telegram_secret.encode("utf-8")):
        abort(403, description="wrong or missing secret token")
    if request.mimetype != "application/json":
        abort(400, description="an update is sent as application/json")
    try:
        data = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the parser's depth
        abort(400, description="the body is not JSON")
    try:
        outcome = handle_update(services, data)
    except Malformed as exc:
        abort(400, description=str(exc))
    return jsonify(outcome.to_json())
