"""The voice channel: Twilio Programmable Voice calls, in and out, as TwiML.

In: Twilio POSTs a call's form to webhooks/voice.py (signed like the messaging webhooks);
`parse_call` reads it and the webhook answers with TwiML built here (`speak`, `reject`).
Out: "the doctor is ready" for a patient who asked to be phoned goes through the outbox like
any message; `VoiceChannel.send` places the call with the Calls API and the TwiML inline
(`client.calls.create(to=, from_=, twiml=)`): the message said twice, its choices as keys.

Twilio facts (PROVIDERS.md "Added 2026-12"; https://www.twilio.com/docs/voice/twiml/say,
/gather, /reject): `<Say language voice>` needs a voice that speaks the language, or it
fails: Amazon Polly's Aditi is bilingual, Indian English (en-IN) and Hindi (hi-IN).
`<Gather input="dtmf" numDigits="1" action=…>` POSTs `Digits` to its action; when no key
comes it falls through to the next verb. `<Reject reason="busy">` ends a call unanswered,
so the caller pays nothing: how Indian missed-call numbers work.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from bot.channels.base import Malformed, OutgoingMessage, PermanentError, SendResult
from bot.channels.twilio import HTTP_TIMEOUT_S, classify, mask
from bot.platform.config import Settings
from bot.platform.phones import e164
from bot.platform.ratelimit import Limit, RateLimiter

log = logging.getLogger(__name__)

VOICE = "voice"
VOICE_PATH = "/webhooks/twilio/voice"
# The voice and its language tag, by the language spoken (flows/steps/voice.py spoken_language).
VOICES = {"hi": ("hi-IN", "Polly.Aditi"), "en": ("en-IN", "Polly.Aditi")}
# Seconds Twilio waits for a key before falling through to the words after the Gather.
GATHER_TIMEOUT_S = 8
# The Calls API refuses inline TwiML over 4,000 characters (error 32018,
# https://www.twilio.com/docs/api/errors/32018).
MAX_TWIML_CHARS = 4000
# The Calls API's rate: Twilio queues outbound calls at the account's CPS, 1 a second by default.
CALLS_PER_SECOND = 1
_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_DEVANAGARI = re.compile(r"[\u0900-\u097F]")
_CHOICE_KEY = re.compile(r"^[a-z_]{1,20}:[0-9]{1,12}$")
# The query parameters of a Gather's action (ours: Twilio signs the URL it calls, query included).
# TURN_PARAM counts the answers of one call, so the same key pressed again later is a new answer
# and only Twilio retrying the very same request is a repeat (bot/services/voice.py).
STAGE_PARAM, KEYS_PARAM, TURN_PARAM = "stage", "keys", "n"
KEY_SEPARATOR = "|"


@dataclass(frozen=True)
class VoiceCall:
    """A voice webhook's form: which call, the person on it, our number, and the key pressed."""

    sid: str
    # The patient's number (From of a call in; To of a call we placed), E.164, or None when withheld.
    caller: str | None
    # Our number on the call (the voice line or the missed-call number), E.164 when it is one.
    line: str | None
    digits: str | None
    outbound: bool


def _one(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    return value.strip() if isinstance(value, str) else None


def parse_call(params: Mapping[str, Any]) -> VoiceCall:
    """Return a verified voice webhook's form as a call; raise Malformed without a CallSid.

    Twilio's voice request parameters: CallSid, From, To, Direction ("inbound",
    "outbound-api", …), and Digits on a Gather's action
    (https://www.twilio.com/docs/voice/twiml#request-parameters).
    """
    sid = _one(params, "CallSid") or ""
    if not _SID.fullmatch(sid):
        raise Malformed("no CallSid")
    outbound = (_one(params, "Direction") or "inbound").startswith("outbound")
    them, us = (_one(params, "To"), _one(params, "From")) if outbound else (_one(params, "From"), _one(params, "To"))
    digits = _one(params, "Digits")
    # One key is asked for; anything else (a '#', a long string) is no answer to it.
    digits = digits if digits and len(digits) == 1 and digits in "0123456789*#" else None
    return VoiceCall(sid=sid, caller=e164(them or ""), line=e164(us or ""), digits=digits, outbound=outbound)


def action_url(base: str, stage: str | None, keys: Sequence[str] = (), turn: int = 0) -> str:
    """Return a Gather's action: the voice webhook, with the stage its key answers (or a placed call's choices) and the answer's number."""
    query = {
        **({STAGE_PARAM: stage} if stage else {}),
        **({KEYS_PARAM: KEY_SEPARATOR.join(keys)} if keys else {}),
        **({TURN_PARAM: str(turn)} if turn else {}),
    }
    return f"{base}{VOICE_PATH}?{urlencode(query)}"


def chosen_key(keys: str | None, digits: str | None) -> str | None:
    """Return the choice a key picked in a call we placed: 1 the first, 2 the second, … (None: no such choice).

    Choice keys are shaped like a button's ("join:7"); anything else in the URL is not ours.
    """
    choices = [k for k in (keys or "").split(KEY_SEPARATOR) if k]
    if not digits or not digits.isascii() or not digits.isdigit() or not 1 <= int(digits) <= len(choices):
        return None
    chosen = choices[int(digits) - 1]
    return chosen if _CHOICE_KEY.fullmatch(chosen) else None


def _say(node: VoiceResponse | Gather, text: str, lang: str) -> None:
    language, voice = VOICES.get(lang, VOICES["en"])
    node.say(text, voice=voice, language=language)


def speak(lines: Sequence[tuple[str, str]], action: str | None = None, silence: Sequence[tuple[str, str]] = ()) -> str:
    """Return TwiML saying (text, language) lines; with an action, inside a Gather of one key, then the silence lines."""
    response = VoiceResponse()
    if action is None:
        for text, lang in lines:
            _say(response, text, lang)
        response.hangup()
        return str(response)
    gather = response.gather(input="dtmf", num_digits=1, action=action, method="POST", timeout=GATHER_TIMEOUT_S)
    for text, lang in lines:
        _say(gather, text, lang)
    for text, lang in silence:
        _say(response, text, lang)
    response.hangup()
    return str(response)


def reject() -> str:
    """Return TwiML refusing a call unanswered ("busy"): the caller is not charged."""
    response = VoiceResponse()
    response.reject(reason="busy")
    return str(response)


def language_of(text: str) -> str:
    """Return the language a message is in, for its voice: Hindi when written in Devanagari."""
    return "hi" if _DEVANAGARI.search(text) else "en"


def render_call(message: OutgoingMessage, base: str) -> str:
    """Return the TwiML of a call we place: the message twice (said once more, for a listener who missed it), one key.

    Said once when twice would pass the Calls API's 4,000 characters; raise PermanentError when even once does.
    """
    lang = language_of(message.text)
    keys = [c.key for c in message.choices]
    action = action_url(base, None, keys) if keys else None
    for times in (2, 1):
        twiml = speak([(message.text, lang)] * times, action)
        if len(twiml) <= MAX_TWIML_CHARS:
            return twiml
    raise PermanentError(f"the call's TwiML is over {MAX_TWIML_CHARS} characters", code="32018")


class VoiceChannel:
    """The voice number as a channel adapter: a message is a phone call that speaks it."""

    name = VOICE

    def __init__(self, client: Client, from_: str, public_url: str, limiter: RateLimiter, cps: int = CALLS_PER_SECOND):
        self.client = client
        self.from_ = from_
        self.public_url = public_url
        self.limiter = limiter
        self.cps = cps

    @classmethod
    def from_settings(cls, settings: Settings, limiter: RateLimiter | None = None) -> VoiceChannel:
        """Build the voice channel from the settings (voice must be on)."""
        if settings.twilio_account_sid is None or settings.twilio_auth_token is None or settings.twilio_voice_from is None:
            raise ValueError("the voice channel needs Twilio credentials and TELEOPD_TWILIO_VOICE_FROM")
        client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=TwilioHttpClient(timeout=HTTP_TIMEOUT_S))
        if settings.twilio_api_url:
            client.api.base_url = settings.twilio_api_url  # tests: a fake API
        return cls(client, settings.twilio_voice_from, settings.public_url or "", limiter or RateLimiter())

    def render(self, message: OutgoingMessage) -> list[str]:
        """Return the TwiML this channel sends for a message."""
        return [render_call(message, self.public_url)]

    def send(self, address: str, message: OutgoingMessage, outbox_id: int) -> SendResult:
        """Place one call that speaks the message, or raise a SendError."""
        if not message.text.strip():
            raise PermanentError("nothing to say: empty message", code="empty")
        twiml = render_call(message, self.public_url)
        self.limiter.acquire(Limit(f"twilio:voice:{self.from_}", self.cps))
        try:
            call = self.client.calls.create(to=address, from_=self.from_, twiml=twiml)
        except (TwilioException, requests.RequestException) as exc:
            error = classify(exc)
            log.warning("voice: call to %s failed: %s", mask(address), error)
            raise error from None
        log.info("voice: outbox %s to %s placed as %s", outbox_id, mask(address), call.sid)
        return SendResult(provider_id=str(call.sid), status="queued", detail={"twiml_bytes": str(len(twiml.encode()))})

    def close(self) -> None:
        """Release the HTTP connection pool."""
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()
