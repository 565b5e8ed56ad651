"""Logging for teleopd: JSON lines (text on a terminal), a request id on every line, secrets and phones masked.

configure_logging(settings) puts one handler on the root logger; its filters see every record
that reaches it, teleopd's and those propagated from httpx, telegram, twilio and urllib3:

- ContextFilter adds `request_id` (and any fields set with log_context()) to each record,
  so every line logged while one inbound message is handled carries the same id;
- RedactionFilter masks Telegram bot tokens (httpx logs the Bot API URL, token in its path,
  at INFO), Twilio credentials, the configured secrets, Authorization headers and phone
  numbers (the last 4 digits stay) in the message, its args, extra fields and exception text.

Nothing is configured at import time.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

__all__ = [
    "ContextFilter", "RedactionFilter", "build_handler", "configure_logging", "current_request_id",
    "log_context", "new_request_id", "redact", "sane_request_id",
]

LOG_FORMATS = ("json", "text")
REQUEST_ID_HEADER = "X-Request-Id"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = ("levelname", "name", "message", "request_id")

# The request id of the inbound message being handled, and further fields (an outbox row
# and its channel, for the worker) that every line logged meanwhile carries.
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("teleopd_request_id", default=None)
_fields: contextvars.ContextVar[Mapping[str, object]] = contextvars.ContextVar("teleopd_log_fields", default={})

# An id a caller (a proxy, a load balancer) sent that we take as it is: short, and safe to
# put in a log line and a response header.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

# Attributes every LogRecord has; anything else on a record came in through `extra`.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}

_MASK = "***"
# Telegram: a bot token is the bot's numeric id, ':' and the secret part
# (https://core.telegram.org/bots/api#authorizing-your-bot); httpx logs it inside
# https://api.telegram.org/bot<token>/<method>. The bot id is public and stays.
_TELEGRAM_TOKEN = r"(?P<bot>\d{5,}):[A-Za-z0-9_-]{30,}"
# Twilio: "AC" + 32 hex is the Account SID; paired with the Auth Token as user:password
# (HTTP basic auth, https://www.twilio.com/docs/usage/requests-to-twilio) the token goes.
_TWILIO_PAIR = r"(?P<sid>AC[0-9a-fA-F]{32}):[0-9a-fA-F]{32}"
# An Authorization header (or its dict entry, as clients log headers): the credentials go.
_AUTHORIZATION = r"(?P<auth>(?i:authorization)['\"]?\s*[:=]\s*['\"]?(?:(?i:basic|bearer|token)\s+)?)[^\s'\",}]+"
# A secret header of ours (Telegram's webhook secret) logged by name.
_SECRET_HEADER = r"(?P<secret_header>(?i:x-telegram-bot-api-secret-token)['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"
# Phone numbers: E.164 (+919876543210, also inside whatsapp:+91…), its URL-encoded form
# (%2B91…) and bare 10-digit Indian mobiles, which start with 6-9 (TRAI numbering plan).
_E164 = r"(?<![0-9A-Za-z_+%])(?P<plus>\+|%2[Bb])(?P<e164>\d{8,15})(?![0-9A-Za-z_])"
_INDIAN_MOBILE = r"(?<![0-9A-Za-z_+])(?P<mobile>[6-9]\d{9})(?![0-9A-Za-z_])"


def new_request_id() -> str:
    """Return a fresh request id: a uuid4 in hex."""
    return uuid.uuid4().hex


def sane_request_id(given: str | None) -> str:
    """Return the caller's request id when it is short and plain, else a new one."""
    if given and _SANE_REQUEST_ID.fullmatch(given):
        return given
    return new_request_id()


def current_request_id() -> str | None:
    """Return the request id of the message being handled in this context, if any."""
    return _request_id.get()


def set_request_id(request_id: str | None) -> contextvars.Token[str | None]:
    """Set the request id for this context; give the token to reset_request_id() when done."""
    return _request_id.set(request_id)


def reset_request_id(token: contextvars.Token[str | None]) -> None:
    """Restore the request id that was in force before set_request_id()."""
    _request_id.reset(token)


@contextlib.contextmanager
def log_context(request_id: str | None = None, **fields: object) -> Iterator[None]:
    """Within the block, every line logged in this thread carries request_id and fields."""
    id_token = _request_id.set(request_id) if request_id is not None else None
    fields_token = _fields.set({**_fields.get(), **fields}) if fields else None
    try:
        yield
    finally:
        if fields_token is not None:
            _fields.reset(fields_token)
        if id_token is not None:
            _request_id.reset(id_token)


def mask_digits(digits: str, keep_front: int = 0) -> str:
    """Return digits with all but the first keep_front and the last 4 starred."""
    hidden = len(digits) - keep_front - 4
    return digits[:keep_front] + "*" * max(hidden, 0) + digits[-4:] if hidden > 0 else "*" * len(digits)


class Redactor:
    """Mask secrets and phone numbers in text, with one compiled pattern."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        exact = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        parts = [_TELEGRAM_TOKEN, _TWILIO_PAIR, _AUTHORIZATION, _SECRET_HEADER]
        if exact:
            # After the token pattern, so the configured bot token reads "<bot id>:***" too.
            parts.insert(1, "(?P<exact>" + "|".join(re.escape(s) for s in exact) + ")")
        parts += [_E164, _INDIAN_MOBILE]
        self._pattern = re.compile("|".join(parts))
        # Most lines hold none of these: a cheap look for a digit or a secret first.
        self._maybe = re.compile(r"\d|(?i:authorization|secret-token)" + ("|" + "|".join(re.escape(s) for s in exact) if exact else ""))

    def __call__(self, text: str) -> str:
        """Return text with every secret and phone number masked."""
        if not self._maybe.search(text):
            return text
        return self._pattern.sub(self._replace, text)

    @staticmethod
    def _replace(match: re.Match[str]) -> str:
        groups = match.groupdict()
        if groups.get("exact"):
            return _MASK
        if groups["bot"]:
            return f"{groups['bot']}:{_MASK}"
        if groups["sid"]:
            return f"{groups['sid']}:{_MASK}"
        if groups["auth"] is not None:
            return groups["auth"] + _MASK
        if groups["secret_header"] is not None:
            return groups["secret_header"] + _MASK
        if groups["e164"]:
            # +91******3210: the country code (2 digits shown; enough for India's 91) and the last 4.
            return groups["plus"] + mask_digits(groups["e164"], keep_front=2)
        return mask_digits(groups["mobile"])


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return text with secrets and phone numbers masked (a one-off; handlers keep a Redactor)."""
    return Redactor(secrets)(text)


class ContextFilter(logging.Filter):
    """Add the request id and the log context's fields to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        for key, value in _fields.get().items():
            setattr(record, key, value)
        return True


class RedactionFilter(logging.Filter):
    """Mask secrets and phone numbers in a record before any formatter sees it."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.redactor = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_teleopd_redacted", False):
            return True
        redact_text = self.redactor
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: log what there is rather than lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact_text(message), None
        if record.exc_info:
            # Formatted once here, masked, and kept as text: formatters print exc_text.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and isinstance(value, str):
                setattr(record, key, redact_text(value))
        record._teleopd_redacted = True
        return True


class _UtcJsonFormatter(JsonFormatter):
    """One JSON object a line: time (ISO-8601 UTC), level, logger, message, request_id, extras."""

    def __init__(self) -> None:
        super().__init__(
            list(JSON_FIELDS),
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            reserved_attrs=[*sorted(_RECORD_ATTRS), "_teleopd_redacted"],
            json_ensure_ascii=False,  # Devanagari stays readable
        )


class _UtcTextFormatter(logging.Formatter):
    """A line for people: UTC time, level, logger, request id, message."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, defaults={"request_id": "-"})
        self.converter = time.gmtime

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return super().formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace("[None]", "[-]", 1)


def build_handler(stream: IO[str] | None = None, log_format: str = "json", secrets: Iterable[str | None] = ()) -> logging.Handler:
    """Return a stream handler that writes teleopd's log lines, masked, with their request ids."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactionFilter(secrets))
    handler.setFormatter(_UtcJsonFormatter() if log_format == "json" else _UtcTextFormatter())
    handler.set_name("teleopd")
    return handler


def settings_secrets(settings: Any) -> list[str | None]:
    """Return the secret values of the settings, to be masked wherever they appear."""
    return [getattr(settings, name, None) for name in settings._SECRET_FIELDS]


def chosen_format(log_format: str | None, stream: IO[str]) -> str:
    """Return the configured format, or when none is set: text on a terminal, JSON otherwise."""
    if log_format is not None:
        return log_format
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "json"


def configure_logging(settings: Any, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record, masked and with its request id, to stderr at the configured level.

    Called again (a second create_app() in one process), it replaces its own handler.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "teleopd"]:
        root.removeHandler(old)
    stream = stream if stream is not None else sys.stderr
    handler = build_handler(stream, chosen_format(settings.log_format, stream), settings_secrets(settings))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # Alembic talks at INFO about its plugins and contexts; teleopd says itself what it did
    # (`db upgrade` prints the revision), so only its warnings get through.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
