"""POST /webhooks/telegram: verify the secret header, have the adapter parse the update, receive it.

Answers (DESIGN.md, HTTP): 200 {"status": "handled" | "duplicate" | "ignored"}; 400 for a
body that is not a Telegram update; 403 for a missing or wrong secret; 404 when Telegram is
off or has no webhook secret (`teleopd telegram poll` needs none). Replies go through the outbox; nothing is sent from here.
"""

from __future__ import annotations

import hmac
import json

from flask import Blueprint, abort, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.channels import telegram
from bot.channels.base import Malformed
from bot.inbound import receive
from bot.platform import metrics

blueprint = Blueprint("telegram", __name__)

# Telegram: setWebhook's secret_token comes back in this header on every call,
# https://core.telegram.org/bots/api#setwebhook
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _reject(status: int, description: str):  # type: ignore[no-untyped-def]
    """Count a refused update (403 forbidden, 400 malformed) and answer with its status."""
    metrics.count_rejected(telegram.NAME, status)
    abort(status, description=description)


def verify_secret(given: str, secret: str) -> bool:
    """Tell whether the header holds our secret, in constant time.

    Bytes, since a header may hold what compare_digest refuses as str.
    """
    return hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode("utf-8"))


@blueprint.post("/webhooks/telegram")
def telegram_update():  # type: ignore[no-untyped-def]
    """Handle one update Telegram delivers to the webhook."""
    services = current_app.extensions["teleopd"]
    settings = services.settings
    if not settings.telegram_webhook_enabled:  # no secret: nothing could prove a call is Telegram's
        abort(404)
    # Checked before the body is read.
    if not verify_secret(request.headers.get(SECRET_HEADER, ""), settings.telegram_secret):
        _reject(403, "wrong or missing secret token")
    if request.mimetype != "application/json":
        _reject(400, "an update is sent as application/json")
    try:
        data = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the parser's depth
        _reject(400, "the body is not JSON")
    except RequestEntityTooLarge:
        metrics.count_rejected(telegram.NAME, 413)
        raise
    try:
        parsed = telegram.parse_update(data)
    except Malformed as exc:
        _reject(400, str(exc))
    receipt = receive(services.dispatcher, telegram.NAME, parsed, f"update {data['update_id']}")  # an int: parse_update checked it
    return jsonify(receipt.to_json())
