"""Twilio webhooks: inbound WhatsApp and SMS messages, and outbound status callbacks.

POST /webhooks/twilio/whatsapp, /webhooks/twilio/sms — form-encoded inbound messages
POST /webhooks/twilio/status — status callbacks of the messages we sent

Every route has one shape: the channel is on (404); the call carries a signature (403),
checked before anything of the body is looked at; the body is a form (400) and parses
(400); the signature is Twilio's over our public URL and every parameter (403). Only then
does the adapter (bot/channels/twilio.py) parse the form, and the result goes on: a
message to bot/inbound.py `receive`, a status to bot/outbox/delivery.py
`record_status`. The answer is empty TwiML: replies go through the outbox (PROVIDERS.md §B3).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from bot.channels import twilio
from bot.channels.base import Ignored, Malformed
from bot.inbound import receive
from bot.outbox import delivery
from bot.platform import metrics
from bot.runtime import Services

log = logging.getLogger(__name__)

blueprint = Blueprint("twilio", __name__, url_prefix="/webhooks/twilio")

FORM = "application/x-www-form-urlencoded"
SIGNATURE_HEADER = "X-Twilio-Signature"


def verify_signature(auth_token: str, url: str, params: Any, signature: str | None) -> bool:
    """Tell whether a webhook was signed by Twilio with this account's Auth Token.

    Twilio signs the exact URL it called (query string included) followed by every POST
    parameter sorted by name; RequestValidator also tries the URL with and without :443/:80
    and compares in constant time (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
    """
    if not signature:
        return False
    return RequestValidator(auth_token).validate(url, params, signature)  # type: ignore[no-any-return]


def _services() -> Services:
    return current_app.extensions["teleopd"]  # type: ignore[no-any-return]


def _twiml() -> Response:
    """Return empty TwiML: Twilio expects TwiML, and an empty body has drawn error 11200."""
    return Response(str(MessagingResponse()), mimetype="text/xml")


def _public_url() -> str:
    """Return the URL Twilio called: the public base URL and the path with its query.

    Behind a TLS-terminating proxy Flask sees http://127.0.0.1:8000/…, which is not what
    Twilio signed; the configured public URL is. Flask's full_path ends in "?" when there is
    no query, which Twilio's URL does not.
    """
    path = request.full_path
    if path.endswith("?") and not request.query_string:
        path = path[:-1]
    return _services().settings.public_url + path  # type: ignore[operator]


def _verified_form() -> MultiDict[str, str]:
    """Return the request's form once its signature checks out; abort 400/403 otherwise."""
    settings = _services().settings
    # An unsigned request is refused before anything about its body is looked at.
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        abort(403, description="missing X-Twilio-Signature")
    if request.mimetype != FORM:
        abort(400, description=f"expected {FORM}")
    try:
        raw = request.get_data(cache=True).decode("utf-8")
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw), errors="strict")
    except ValueError:  # UnicodeDecodeError included
        abort(400, description="the body is not a form")
    form = MultiDict(pairs)
    if not verify_signature(settings.twilio_auth_token or "", _public_url(), form, signature):
        log.warning("twilio webhook %s: bad signature", request.path)
        abort(403, description="bad X-Twilio-Signature")
    return form


def _inbound(channel: str) -> Response:
    services = _services()
    enabled = services.settings.whatsapp_enabled if channel == twilio.WHATSAPP else services.settings.sms_enabled
    if not enabled:
        abort(404)
    try:
        form = _verified_form()
        parsed = twilio.parse_inbound(channel, form.to_dict(flat=True))
    except Malformed as exc:
        metrics.count_rejected(channel, 400)
        abort(400, description=str(exc))
    except HTTPException as exc:  # refused by _verified_form: 403 forbidden, 400/413 malformed
        metrics.count_rejected(channel, exc.code or 400)
        raise
    receive(services.dispatcher, channel, parsed, _ref(form))
    return _twiml()


def _ref(form: Mapping[str, str]) -> str:
    """Name a call in the log: its MessageSid and its sender, masked."""
    return f"{form.get('MessageSid') or form.get('SmsSid')} from {twilio.mask(form.get('From'))}"


@blueprint.post("/whatsapp")
def whatsapp():  # type: ignore[no-untyped-def]
    """Handle an inbound WhatsApp message."""
    return _inbound(twilio.WHATSAPP)


@blueprint.post("/sms")
def sms():  # type: ignore[no-untyped-def]
    """Handle an inbound SMS."""
    return _inbound(twilio.SMS)


@blueprint.post("/status")
def status():  # type: ignore[no-untyped-def]
    """Record a status callback of a message we sent."""
    services = _services()
    if not (services.settings.whatsapp_enabled or services.settings.sms_enabled):
        abort(404)
    form = _verified_form()
    try:
        update = twilio.parse_status(form.to_dict(flat=True))
    except Malformed as exc:
        abort(400, description=str(exc))
    if isinstance(update, Ignored):
        log.info("twilio status for %s ignored (%s)", form.get("MessageSid"), update.reason)
        return _twiml()
    result = delivery.record_status(services.db, update.provider_id, update.status, update.error_code, dt.datetime.now(dt.UTC))
    log.info("twilio status %s %s%s: %s", update.provider_id, update.status, f" ({update.error_code})" if update.error_code else "", result)
    return _twiml()
