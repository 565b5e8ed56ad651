"""The voice line's webhook: Twilio Programmable Voice calls, answered with TwiML.

POST /webhooks/twilio/voice — a call to the voice number (set as the number's "A call comes
in" webhook in the Twilio console), the action of each Gather (`?stage=…`), and the one key
of a call we placed (`?keys=join:7|leave:7`, bot/channels/voice.py). A call to the
missed-call number (TELEOPD_TWILIO_MISSED_CALL_NUMBER, the same webhook) is rejected
unanswered, free for the caller, and the status goes by SMS.

The signature is checked as for messages (webhooks/twilio.py): unsigned or badly signed is
403 before anything is read; a Gather's action URL carries our query, which Twilio signs with
the rest. After that every answer is TwiML (text/xml), also for a form we cannot use: a caller
hears a kind sentence, never an error page. What is said for which key is flows/steps/voice.py;
the database side bot/services/voice.py; the TwiML bot/channels/voice.py.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from bot.channels import voice as voice_channel
from bot.channels.base import Malformed
from bot.channels.twilio import WHATSAPP_PREFIX, mask
from bot.platform import metrics
from bot.platform.config import Settings
from bot.runtime import Services
from bot.services.voice import answer_call, missed_call
from flows.messages import Text, t
from flows.steps import voice
from webhooks.twilio import _verified_form

log = logging.getLogger(__name__)

blueprint = Blueprint("voice", __name__, url_prefix="/webhooks/twilio")


def _services() -> Services:
    return current_app.extensions["teleopd"]  # type: ignore[no-any-return]


def _twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _both(text: Text) -> Response:
    """Say one sentence in Hindi and in English, then hang up: for a caller whose language we cannot know."""
    catalogs = _services().catalogs
    return _twiml(voice_channel.speak([(catalogs.translate(text, lang), lang) for lang in ("hi", "en")]))


def booking_number(settings: Settings) -> str | None:
    """Return the number a caller can book through, said to them digit by digit: the SMS number, else WhatsApp's."""
    if settings.twilio_sms_from and settings.twilio_sms_from.startswith("+"):
        return settings.twilio_sms_from
    if settings.twilio_whatsapp_from:
        return settings.twilio_whatsapp_from.removeprefix(WHATSAPP_PREFIX)
    return None


def _stage(raw: str | None) -> str:
    """Return the stage a Gather's action names, or the start for anything else."""
    kind, _, rest = (raw or voice.START).partition(":")
    if kind == voice.CANCEL and rest.isascii() and rest.isdigit() and len(rest) <= 12:
        return f"{kind}:{rest}"
    return kind if kind in (voice.START, voice.MENU, voice.LANGUAGE) else voice.START


def _turn(raw: str | None) -> int:
    """Return which answer of the call this is (0 for the call itself)."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) <= 4 else 0


@blueprint.post("/voice")
def call():  # type: ignore[no-untyped-def]
    """Answer a call, a Gather's key, or a missed call."""
    services = _services()
    settings = services.settings
    if not settings.voice_enabled:
        abort(404)
    try:
        form = _verified_form()
    except HTTPException as exc:  # 403 unsigned or forged, 400 not a form
        metrics.count_rejected(voice_channel.VOICE, exc.code or 400)
        raise
    try:
        incoming = voice_channel.parse_call(form.to_dict(flat=True))
    except Malformed as exc:
        log.warning("voice webhook: %s", exc)
        return _both(t("Sorry, something went wrong with this call. Please call again."))
    missed = bool(settings.twilio_missed_call_number) and incoming.line == settings.twilio_missed_call_number and not incoming.outbound
    if incoming.caller is None:
        # A missed call stays unanswered, free, even when there is no number to text back.
        return _twiml(voice_channel.reject()) if missed else _both(
            t("Sorry, we cannot see your phone number. Please call from a mobile phone without hiding your number, or ask your health worker.")
        )
    now = dt.datetime.now(dt.UTC)
    try:
        if missed:
            if missed_call(services.db, incoming.sid, incoming.caller, now, settings.default_language):
                services.outbox_signal.set()
            log.info("voice: missed call %s from %s, status sent by SMS", incoming.sid, mask(incoming.caller))
            return _twiml(voice_channel.reject())
        keys = request.args.get(voice_channel.KEYS_PARAM)
        turn = _turn(request.args.get(voice_channel.TURN_PARAM))
        if keys is not None:
            stage, key = voice.CALL, voice_channel.chosen_key(keys, incoming.digits)
        else:
            stage, key = _stage(request.args.get(voice_channel.STAGE_PARAM)), incoming.digits
        answered = answer_call(
            services.db, incoming.sid, incoming.caller, stage, key, now, booking_number(settings),
            can_ring=settings.twilio_voice_from is not None, turn=turn,
        )
    except (OperationalError, InterfaceError) as exc:
        log.error("voice: database unavailable: %s", type(exc).__name__)
        return _both(t("Sorry, the service is busy. Please call again in a few minutes."))
    if answered.queued:
        services.outbox_signal.set()
    spoken = answered.spoken
    catalogs = services.catalogs
    lines = [(catalogs.translate(said.text, said.language), said.language) for said in spoken.lines]
    silence = [(catalogs.translate(said.text, said.language), said.language) for said in spoken.silence]
    action = None
    if spoken.gather == voice.CALL:
        action = voice_channel.action_url(settings.public_url or "", None, (keys or "").split(voice_channel.KEY_SEPARATOR), turn + 1)
    elif spoken.gather is not None:
        action = voice_channel.action_url(settings.public_url or "", spoken.gather, turn=turn + 1)
    return _twiml(voice_channel.speak(lines, action, silence))
