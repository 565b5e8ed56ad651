"""The Twilio channel: WhatsApp and SMS, one adapter with two address forms.

WhatsApp senders are "whatsapp:+91…", SMS senders "+91…"; everything else is shared:
parsing the form Twilio posts (once webhooks/twilio.py has verified its signature),
laying a message out (whatsapp_text.py, sms_text.py), and sending through the REST API
(POST /2010-04-01/Accounts/{sid}/Messages.json) with the official `twilio` library.
Replies go through the outbox (PROVIDERS.md §B3).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.channels.base import (
    DOCUMENT,
    PHOTO,
    VOICE,
    Ignored,
    InboundMessage,
    Malformed,
    MediaRef,
    NeedsFallback,
    OutgoingDocument,
    OutgoingMessage,
    PermanentError,
    RecipientOptedOut,
    SendError,
    SendResult,
    TemporaryError,
)
from bot.channels.sms_text import sms_bodies
from bot.channels.whatsapp_text import render_whatsapp, whatsapp_requests
from bot.outbox.template_keys import (
    WhatsAppTemplate,
    dlt_key,
    find_whatsapp_template,
    load_sms_templates,
    load_whatsapp_templates,
)
from bot.platform.config import Settings
from bot.platform.phones import e164
from bot.platform.ratelimit import Limit, RateLimiter

log = logging.getLogger(__name__)

WHATSAPP = "whatsapp"
SMS = "sms"
WHATSAPP_PREFIX = "whatsapp:"
STATUS_PATH = "/webhooks/twilio/status"

# Twilio error codes (https://www.twilio.com/docs/api/errors/<code>, PROVIDERS.md §B4).
ERR_AUTHENTICATE = 20003  # bad Account SID or Auth Token
ERR_TOO_MANY_REQUESTS = 20429  # "never processed and is always safe to retry"
ERR_INVALID_TO = 21211
ERR_REGION_NOT_ENABLED = 21408
ERR_UNSUBSCRIBED = 21610  # the recipient replied STOP
ERR_CANNOT_ROUTE = 21612
ERR_NOT_MOBILE = 21614  # a landline (India: not logged, not charged)
ERR_BODY_TOO_LONG = 21617
ERR_OUTSIDE_WINDOW = 63016  # WhatsApp outside the 24 h window: use a template

# Message statuses as the SDK lists them (rest/api/v2010/account/message/__init__.py).
MESSAGE_STATUSES = frozenset({
    "queued", "sending", "sent", "failed", "delivered", "undelivered", "receiving",
    "received", "accepted", "scheduled", "read", "partially_delivered", "canceled",
})

# The REST request's timeout (seconds): the worker must not hang on a slow API.
HTTP_TIMEOUT_S = 10

# Message ids: "SM"/"MM" and 32 hex digits; the checks only keep junk out of the dedupe key.
_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")
_ERROR_CODE = re.compile(r"^[0-9A-Za-z]{1,40}$")
# Digit runs long enough to be phone numbers, for redacting provider error messages.
_PHONE_LIKE = re.compile(r"\+?\d[\d ()-]{6,}\d")


# --- logs ---------------------------------------------------------------------------------


def mask(address: str | None) -> str:
    """Return an address for logs: the country code and the last 4 digits (+91******4567)."""
    if not address:
        return "-"
    prefix, _, number = address.rpartition(":")
    prefix = prefix + ":" if prefix else ""
    if len(number) <= 7:
        return prefix + "*" * len(number)
    return prefix + number[:3] + "*" * (len(number) - 7) + number[-4:]


def redact(text: str) -> str:
    """Return provider text with anything that looks like a phone number masked."""
    return _PHONE_LIKE.sub(lambda m: mask(re.sub(r"[^\d+]", "", m.group())), text)


# --- inbound ------------------------------------------------------------------------------


def _one(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    return value if isinstance(value, str) else None


def parse_inbound(channel: str, params: Mapping[str, Any]) -> InboundMessage | Ignored:
    """Return a verified webhook's form as a message, or why it is ignored; raise Malformed."""
    sid = _one(params, "MessageSid") or _one(params, "SmsSid")  # SmsSid: the deprecated twin
    if not sid:
        raise Malformed("no MessageSid")
    if not _SID.match(sid):
        raise Malformed("MessageSid is not a message id")
    sender = (_one(params, "From") or "").strip()
    if not sender:
        raise Malformed("no From")
    if channel == WHATSAPP:
        if not sender.lower().startswith(WHATSAPP_PREFIX):
            return Ignored("From is not a WhatsApp address")
        phone = e164(sender[len(WHATSAPP_PREFIX):].strip())
        if phone is None:
            # A WhatsApp business-scoped user id ("whatsapp:IN.208…") carries no number to
            # reply to or to link with an SMS identity.
            return Ignored("WhatsApp sender without a phone number")
        address = WHATSAPP_PREFIX + phone
    else:
        if sender.lower().startswith(WHATSAPP_PREFIX):
            return Ignored("a WhatsApp address on the SMS webhook")
        phone = e164(sender)
        if phone is None:
            return Ignored("SMS sender is not a phone number")
        address = phone
    # PostgreSQL refuses NUL in text; the rest of such a message is real.
    body = (_one(params, "Body") or "").replace("\x00", "")
    kind, choice, media = "text", None, ()
    if _count(_one(params, "NumMedia")) > 0:
        kind, media = "media", _media(params)
    elif _one(params, "Latitude") or _one(params, "Longitude"):
        kind = "location"
    elif pressed := (_one(params, "ButtonPayload") or _one(params, "ListId")):
        # A reply button's id (ButtonPayload) or a list item's (ListId): the choice key it was
        # sent with (bot/channels/whatsapp_content.py); its title also arrives as Body. A key
        # from an older question is not among those offered now: the flow asks again.
        kind, choice = "choice", pressed.replace("\x00", "")[:64]
    return InboundMessage(
        channel=channel,
        address=address,
        provider_id=sid,
        text=body,
        choice=choice,
        kind=kind,
        channel_phone=phone,
        media=media,
    )


# Twilio: "NumMedia: the number of media items associated with your message"; each is
# MediaUrl{N} with MediaContentType{N}, N from 0; WhatsApp sends at most 10
# (https://www.twilio.com/docs/messaging/guides/webhook-request). A URL is fetched later
# with the account's credentials (bot/media/sources.py), never here.
MAX_MEDIA = 10


def _media(params: Mapping[str, Any]) -> tuple[MediaRef, ...]:
    """Return the photos, PDF documents and voice notes a message carries (a video, a vCard: none)."""
    refs = []
    for index in range(min(_count(_one(params, "NumMedia")), MAX_MEDIA)):
        url = (_one(params, f"MediaUrl{index}") or "").strip()
        mime = (_one(params, f"MediaContentType{index}") or "").strip().lower()[:100]
        kind = PHOTO if mime.startswith("image/") else VOICE if mime.startswith("audio/") else DOCUMENT if mime == "application/pdf" else None
        if kind is not None and url.startswith(("https://", "http://")) and len(url) <= 1000:
            refs.append(MediaRef(kind, url, url, mime))
    return tuple(refs)


def _count(value: str | None) -> int:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 4 else 0


@dataclass(frozen=True)
class StatusUpdate:
    """A status callback: which message, its new status, and Twilio's error code if any."""

    provider_id: str
    status: str
    error_code: str | None


# Twilio's WhatsApp media: images up to 5 MB (PROVIDERS.md §B, the Messages API's media_url;
# https://www.twilio.com/docs/whatsapp/guidance-whatsapp-media-messages), while a patient's
# photo may be kept up to TELEOPD_MEDIA_MAX_MB: a bigger one goes as its link only.
MAX_WHATSAPP_IMAGE_BYTES = 5 * 1024 * 1024


def whatsapp_can_fetch(document: OutgoingDocument) -> bool:
    """Return whether Twilio can fetch a document for WhatsApp: a public URL, and an image within its size."""
    if not document.url.startswith(("https://", "http://")):
        return False  # without TELEOPD_PUBLIC_URL the link is a path Twilio cannot fetch
    return not (document.mime_type.startswith("image/") and (document.size or 0) > MAX_WHATSAPP_IMAGE_BYTES)


def parse_status(params: Mapping[str, Any]) -> StatusUpdate | Ignored:
    """Return a verified status callback's form as an update, or why it is ignored; raise Malformed."""
    sid = _one(params, "MessageSid")
    status = (_one(params, "MessageStatus") or "").strip().lower()
    if not sid or not _SID.match(sid):
        raise Malformed("no MessageSid")
    if not status:
        raise Malformed("no MessageStatus")
    if status not in MESSAGE_STATUSES:
        # Twilio adds vocabulary now and then; an unknown status is not worth a 400.
        return Ignored("unknown message status")
    code = (_one(params, "ErrorCode") or "").strip()
    return StatusUpdate(sid, status, code if _ERROR_CODE.match(code) else None)


# --- sending ------------------------------------------------------------------------------


def classify(exc: Exception) -> SendError:
    """Map a failed REST request to the worker's vocabulary (retryable, permanent, opted out)."""
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return TemporaryError(f"twilio unreachable: {type(exc).__name__}", code="connection")
    status = int(getattr(exc, "status", 0) or 0)
    code = getattr(exc, "code", None)
    text = redact(str(getattr(exc, "msg", "") or getattr(exc, "title", "") or type(exc).__name__))
    described = f"twilio {status} {code}: {text}"
    if status == 429 or code == ERR_TOO_MANY_REQUESTS:
        return TemporaryError(described, code=str(code or status))
    if status >= 500 or status == 0:
        return TemporaryError(described, code=str(code or status))
    if code == ERR_UNSUBSCRIBED:
        return RecipientOptedOut(described, code=str(code))
    if code == ERR_OUTSIDE_WINDOW:
        return NeedsFallback(described, code=str(code))
    if status in (401, 403) or code == ERR_AUTHENTICATE:
        log.error("twilio refused our credentials (%s %s): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN", status, code)
        return PermanentError(described, code=str(code or status))
    return PermanentError(described, code=str(code or status))


# Progress of messages sent in several parts, by outbox id, so a retry after a failure in
# part 3 sends parts 3… and not the first two again. In-process only: a retry in another
# process starts over (at worst a part is repeated, never lost).
_MAX_PARTIAL = 10_000


class TwilioChannel:
    """One Twilio sender — a WhatsApp number or an SMS number/sender id — as a channel adapter."""

    def __init__(
        self,
        name: str,
        client: Client,
        from_: str,
        status_callback: str | None,
        limiter: RateLimiter,
        mps: int,
        whatsapp_templates: Mapping[str, WhatsAppTemplate] | None = None,
        sms_templates: Mapping[str, str] | None = None,
    ):
        if name not in (WHATSAPP, SMS):
            raise ValueError(f"a Twilio channel is {WHATSAPP!r} or {SMS!r}, not {name!r}")
        self.name = name
        self.client = client
        self.from_ = from_
        self.status_callback = status_callback
        self.limiter = limiter
        self.mps = mps
        self.whatsapp_templates = dict(whatsapp_templates or {})
        self.sms_templates = dict(sms_templates or {})
        self._partial: OrderedDict[int, list[str]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, name: str, limiter: RateLimiter | None = None) -> TwilioChannel:
        """Build the WhatsApp or SMS channel from the settings (the channel must be on)."""
        if settings.twilio_account_sid is None or settings.twilio_auth_token is None:
            raise ValueError("Twilio credentials are not configured")
        from_ = settings.twilio_whatsapp_from if name == WHATSAPP else settings.twilio_sms_from
        if from_ is None:
            raise ValueError(f"no Twilio sender configured for {name}")
        client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token,
            http_client=TwilioHttpClient(timeout=HTTP_TIMEOUT_S),
        )
        if settings.twilio_api_url:
            client.api.base_url = settings.twilio_api_url  # tests and benchmarks: a fake API
        return cls(
            name,
            client,
            from_,
            status_callback=settings.public_url + STATUS_PATH if settings.public_url else None,
            limiter=limiter or RateLimiter(),
            mps=settings.twilio_whatsapp_mps if name == WHATSAPP else settings.twilio_sms_mps,
            whatsapp_templates=load_whatsapp_templates(settings.whatsapp_templates_file) if name == WHATSAPP else None,
            sms_templates=load_sms_templates(settings.sms_templates_file) if name == SMS else None,
        )

    def render(self, message: OutgoingMessage) -> list[str]:
        """Return the bodies this channel sends for a message."""
        if self.name == WHATSAPP:
            return render_whatsapp(message)
        return sms_bodies(message)

    def send(self, address: str, message: OutgoingMessage, outbox_id: int) -> SendResult:
        """Send one message, in as many Twilio messages as it takes, or raise a SendError."""
        detail: dict[str, str] = {}
        if self.name == WHATSAPP and not message.session_open:
            # One template per (message, language): a Hindi patient gets the Hindi one, or SMS.
            template = find_whatsapp_template(self.whatsapp_templates, message.template or "", message.language)
            if template is None:
                raise NeedsFallback("outside the WhatsApp 24 h window, no template for this message", code="no_template")
            values = dict(message.variables)
            missing = [v for v in template.variables if v not in values]
            if missing:
                log.error("WhatsApp template %s needs %s, which message %s does not have", template.content_sid, missing, message.template)
                raise NeedsFallback("WhatsApp template variables do not match the message", code="template_variables")
            # WhatsApp's template rules allow no line break, tab or run of spaces in a value
            # (Meta's template guidelines; https://www.twilio.com/docs/api/errors/63040): a
            # value (a doctor's advice may have lines) goes on one line.
            variables = json.dumps({str(n): " ".join(values[v].split()) for n, v in enumerate(template.variables, 1)}, ensure_ascii=False)
            requests_ = [{"content_sid": template.content_sid, "content_variables": variables}]
            detail["content_sid"] = template.content_sid
        else:
            if self.name == WHATSAPP:
                requests_ = whatsapp_requests(message, self.whatsapp_templates)
                contents = dict.fromkeys(r["content_sid"] for r in requests_ if "content_sid" in r)
                if contents:  # the buttons' or lists' content, for whoever reads the outbox row
                    detail["content_sid"] = ",".join(contents)
            else:
                requests_ = [{"body": body} for body in self.render(message)]
            if not requests_:
                raise PermanentError("nothing to send: empty message", code="empty")
            if self.name == WHATSAPP and message.document is not None and whatsapp_can_fetch(message.document):
                # Twilio fetches the file from a public URL, checks its Content-Type and takes PDFs
                # up to 16 MB, but sets no caption on a document
                # (https://www.twilio.com/docs/whatsapp/guidance-whatsapp-media-messages): the
                # text goes first, then the file in a message of its own. SMS carries the link
                # in its text instead (no MMS in India).
                requests_.append({"media_url": [message.document.url]})  # type: ignore[dict-item]
        if self.name == SMS and message.template:
            # Indian A2P SMS must match a DLT template (TRAI TCCCPR 2018), one per text: the
            # Hindi and English forms are two templates. Twilio's Messages API has no field for
            # the id (Twilio has the templates whitelisted with the carriers and the body must
            # match one), so the id is recorded for the operator; an Indian DLT provider behind
            # this same adapter contract would pass it with the request.
            dlt = self.sms_templates.get(dlt_key(message.template, message.language)) or self.sms_templates.get(message.template)
            if dlt is not None:
                detail["dlt_template_id"] = dlt
        sids = self._progress(outbox_id)
        for params in requests_[len(sids):]:
            sids.append(self._create(address, params))
        with self._lock:
            self._partial.pop(outbox_id, None)
        detail["parts"] = str(len(sids))
        if len(sids) > 1:
            detail["sids"] = ",".join(sids)
        log.info("%s: outbox %s to %s sent as %s (%d part(s))", self.name, outbox_id, mask(address), sids[0], len(sids))
        return SendResult(provider_id=sids[0], parts=len(sids), detail=detail)

    def _progress(self, outbox_id: int) -> list[str]:
        with self._lock:
            sids = self._partial.setdefault(outbox_id, [])
            self._partial.move_to_end(outbox_id)
            while len(self._partial) > _MAX_PARTIAL:
                self._partial.popitem(last=False)
            return sids

    def _create(self, address: str, params: dict[str, str]) -> str:
        """Make one REST request at this sender's rate; return the message sid."""
        self.limiter.acquire(Limit(f"twilio:{self.name}:{self.from_}", self.mps))
        kwargs: dict[str, Any] = {"to": address, "from_": self.from_, **params}
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            created = self.client.messages.create(**kwargs)
        except (TwilioException, requests.RequestException) as exc:
            error = classify(exc)
            log.warning("%s: send to %s failed: %s", self.name, mask(address), error)
            raise error from None
        return str(created.sid)

    def close(self) -> None:
        """Release the HTTP connection pool."""
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()
