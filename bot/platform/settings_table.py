"""The settings table: for each setting, its environment variable, parser, an example and its rule.

Settings.from_env (bot/platform/config.py) walks SETTINGS in order and reports the first
value that breaks its row's rule as "<VARIABLE> must <rule>", the rule's {got} filled with
the value as the row shows it: quoted and shortened, a URL with its password masked, or a
secret described without being revealed (its length and common mistakes).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///teleopd.db"
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_VIDEO_BASE_URL = "https://meet.jit.si/"
# The service's default language (a new user's, until they choose): English or Hindi only.
# Romanised Hindi (flows/engine.py LANGUAGES "hi-Latn") is a person's choice for a phone that
# cannot show Devanagari, offered when they write it by SMS; as a default it would send Latin
# Hindi to every smartphone user, who reads Devanagari.
LANGUAGES = ("en", "hi")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("json", "text")
# More hops than this is a typing mistake, not a deployment.
MAX_TRUSTED_PROXIES = 5

# Telegram bot token as issued by @BotFather: the bot's numeric id, ':', then the secret part.
_TELEGRAM_TOKEN_RE = re.compile(r"[0-9]+:[A-Za-z0-9_-]{30,}")
# Telegram Bot API setWebhook secret_token: "1-256 characters. Only characters A-Z, a-z,
# 0-9, _ and - are allowed." (https://core.telegram.org/bots/api#setwebhook). Telegram takes
# one character; we ask for 16 (over 90 bits), since the secret is all that stands between
# the webhook and anyone who can post an update.
TELEGRAM_SECRET_MIN = 16
_TELEGRAM_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{%d,256}" % TELEGRAM_SECRET_MIN)
# Twilio Account SID: "AC" followed by 32 hexadecimal characters (34 in all); API key SIDs
# start with "SK" and are not accepted here (https://www.twilio.com/docs/glossary/what-is-a-sid).
_TWILIO_SID_RE = re.compile(r"AC[0-9a-fA-F]{32}")
# Twilio Auth Token: 32 hexadecimal characters (Twilio Console, Account Info).
_TWILIO_TOKEN_RE = re.compile(r"[0-9a-fA-F]{32}")
# Twilio alphanumeric sender ID: up to 11 characters, at least one letter; Indian DLT
# headers are 6 letters (TRAI TCCCPR 2018). We accept 3-11 of A-Z a-z 0-9.
_SENDER_ID_RE = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9]{3,11}")
# An E.164-looking number before phonenumbers checks it: '+', then digits and the usual
# separators (no vanity letters such as +1800FLOWERS).
_PHONE_RE = re.compile(r"\+[0-9][0-9 ().-]*")
# A bearer token travels in an HTTP header: visible ASCII, no spaces.
_ACCESS_TOKEN_RE = re.compile(r"[\x21-\x7e]{16,}")
# The session signing key: long enough that guessing it is hopeless.
_SECRET_KEY_RE = re.compile(r"[\x21-\x7e]{32,}")
# Hours as plain decimal digits (no exponents, inf or nan, which float() would take).
_HOURS_RE = re.compile(r"[0-9]{1,3}(\.[0-9]{1,4})?|\.[0-9]{1,4}")

_EXAMPLE_PHONE = "+14155238886"
_PHONE_RULE = "be an E.164 phone number with country code such as {example}, got {got}"
_MAX_SHOWN = 80


class SettingsError(Exception):
    """Report one configuration problem as a single human-readable line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.splitlines()))


def mask_url(value: str) -> str:
    """Return value with any password in its user-info or query replaced by '***'."""
    masked = re.sub(r"(?i)((?:^|[?&;])password=)[^&;#]*", r"\1***", value)
    if "@" not in masked:
        return masked
    scheme, sep, rest = masked.partition("://")
    prefix = scheme + sep if sep else ""
    if not sep:
        rest = masked
    userinfo, _, hostpart = rest.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    if not colon:
        return masked
    return f"{prefix}{user}:***@{hostpart}"


def shown(value: str) -> str:
    """Quote a (non-secret) value for a message: escaped onto one line and shortened."""
    if len(value) > _MAX_SHOWN:
        value = value[: _MAX_SHOWN - 1] + "…"
    return repr(value)


def shown_url(value: str) -> str:
    """Quote a URL for a message, its password masked."""
    return shown(mask_url(value))


def hidden(value: str, *, prefix: int = 0) -> str:
    """Describe a secret value without revealing it: its length and common mistakes."""
    text = f"a hidden value of {len(value)} characters"
    if prefix and len(value) > prefix:
        text += f" starting with {value[:prefix]!r}"
    if value and (value[0] in "'\"" or value[-1] in "'\""):
        text += " (remove the quotes around it)"
    elif any(ch.isspace() for ch in value):
        text += " (it contains whitespace)"
    return text


def _hidden_sid(value: str) -> str:
    return hidden(value, prefix=2)  # "AC" or "SK" tells an Account SID from an API key's


def get(environ: Any, name: str) -> str | None:
    """Return the variable stripped of surrounding whitespace, or None when unset or empty."""
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


@dataclass(frozen=True)
class Setting:
    """One row of the table: a setting, where it comes from, how it is read, an example, its rule."""

    field: str | None  # the Settings field it fills; None for a variable that is only checked
    env: str
    parse: Callable[[str, Setting], Any]  # the stripped value → the setting, or SettingsError
    example: str
    rule: str  # what the value must be: "<env> must <rule>", with {got} and {example} filled in
    show: Callable[[str], str] = shown  # how a refused value appears in the message

    def refuse(self, value: str, rule: str | None = None) -> SettingsError:
        """Return the error for a value that breaks the rule (or another rule of this row's)."""
        text = (rule or self.rule).format(got=self.show(value), example=self.example)
        return SettingsError(f"{self.env} must {text}")


# --- parsers: each takes the stripped value and its row -------------------------------------------


def _matching(pattern: re.Pattern[str]) -> Callable[[str, Setting], str]:
    def parse(value: str, row: Setting) -> str:
        if not pattern.fullmatch(value):
            raise row.refuse(value)
        return value

    return parse


def _whole(low: int, high: int) -> Callable[[str, Setting], int]:
    """Return a parser of a whole number from low to high, in ASCII digits."""

    def parse(value: str, row: Setting) -> int:
        if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
            raise row.refuse(value)
        return int(value)

    return parse


def _one_of(options: tuple[str, ...], case: Callable[[str], str]) -> Callable[[str, Setting], str]:
    def parse(value: str, row: Setting) -> str:
        if case(value) not in options:
            raise row.refuse(value)
        return case(value)

    return parse


def _http_url(value: str, row: Setting) -> str:
    """Check that value is an http(s) URL with a host and no query or fragment."""
    if any(ch.isspace() for ch in value):
        raise row.refuse(value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise row.refuse(value) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise row.refuse(value)
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise row.refuse(value, "not have a query or fragment (such as {example}), got {got}")
    if parts.username is not None or parts.password is not None:
        raise row.refuse(value, "not contain user:password@ (such as {example}), got {got}")
    return value


def _base_url(value: str, row: Setting) -> str:
    """An http(s) URL that paths are added to: no trailing slash."""
    return _http_url(value, row).rstrip("/")


def _folder_url(value: str, row: Setting) -> str:
    """An http(s) URL that names are added to: one trailing slash."""
    url = _http_url(value, row)
    return url if url.endswith("/") else url + "/"


_CLOCK_RE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_OFF_WORDS = ("off", "no", "false", "0")
_ON_WORDS = ("on", "yes", "true", "1")


def _clock_time(value: str, row: Setting) -> dt.time:
    """A time of day in India's time, HH:MM on the 24-hour clock."""
    found = _CLOCK_RE.fullmatch(value)
    if found is None:
        raise row.refuse(value)
    return dt.time(int(found.group(1)), int(found.group(2)))


def _clock_time_or_off(value: str, row: Setting) -> dt.time | None:
    """A time of day (HH:MM, India's time), or "off"."""
    return None if value.lower() in _OFF_WORDS else _clock_time(value, row)


def _clock_span_or_off(value: str, row: Setting) -> tuple[dt.time, dt.time] | None:
    """Two times of day "HH:MM-HH:MM" (the span may cross midnight), or "off"."""
    if value.lower() in _OFF_WORDS:
        return None
    start, sep, end = value.partition("-")
    if not sep:
        raise row.refuse(value)
    span = _clock_time(start.strip(), row), _clock_time(end.strip(), row)
    if span[0] == span[1]:
        raise row.refuse(value)
    return span


def _on_off(value: str, row: Setting) -> bool:
    if value.lower() in _ON_WORDS:
        return True
    if value.lower() in _OFF_WORDS:
        return False
    raise row.refuse(value)


def _database_url(value: str, row: Setting) -> str:
    """Check a database URL and rewrite postgres:// and postgresql:// to psycopg 3."""
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise row.refuse(value, row.rule + ", got {got}, which is not a valid database URL") from None
    driver = url.drivername.lower()
    if driver in ("sqlite", "sqlite+pysqlite"):
        database = url.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:") or url.query.get("mode") == "memory"
        if in_memory:
            raise SettingsError(
                f"{row.env} must name an SQLite file such as sqlite:///teleopd.db, "
                f"not an in-memory database (web and worker processes must share it), "
                f"got {shown(value)}"
            )
        return value
    if driver in ("postgres", "postgresql", "postgresql+psycopg"):
        # psycopg 3 is the PostgreSQL driver teleopd ships (pyproject: psycopg[binary]).
        _scheme, _, rest = value.partition("://")
        return "postgresql+psycopg://" + rest
    raise row.refuse(value, row.rule + " (SQLite or PostgreSQL with psycopg 3), got {got}")


def _phone(value: str, row: Setting) -> str:
    """Return an E.164 number ('+' and digits) or raise naming the variable."""
    problem = row.refuse(value, _PHONE_RULE.replace("{example}", _EXAMPLE_PHONE))
    if not _PHONE_RE.fullmatch(value):
        raise problem
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise problem from None
    if not phonenumbers.is_possible_number(number):
        raise problem
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _whatsapp_from(value: str, row: Setting) -> str:
    """A WhatsApp sender, with or without "whatsapp:": the address Twilio sends from."""
    number = value[9:].strip() if value[:9].lower() == "whatsapp:" else value
    return "whatsapp:" + _phone(number, row)


def _sms_from(value: str, row: Setting) -> str:
    """An SMS sender: a phone number, or an alphanumeric sender id (a DLT header in India)."""
    if value.startswith("+"):
        return _phone(value, row)
    if not _SENDER_ID_RE.fullmatch(value):
        raise row.refuse(value)
    return value


def _redis_url(value: str, row: Setting) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:
        raise row.refuse(value) from None
    network = parts.scheme in ("redis", "rediss") and "://" in value
    socket = parts.scheme == "unix" and bool(parts.path)
    if any(ch.isspace() for ch in value) or not (network or socket):
        raise row.refuse(value)
    return value


def _retired(value: str, row: Setting) -> None:
    """A variable that is no longer read: stop rather than ignore what it may have been meant to do."""
    raise row.refuse(value)


def _hours(value: str, row: Setting) -> float:
    if not _HOURS_RE.fullmatch(value) or not 0 < float(value) <= 168:
        raise row.refuse(value)
    return float(value)


def _file(value: str, row: Setting) -> str:
    if not os.path.isfile(value):
        raise row.refuse(value)
    return value


# S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a
# letter or digit (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
_S3_URL_RE = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*'()/-]*)?")


def _media_storage(value: str, row: Setting) -> str:
    """A folder path (created on first use), or s3://bucket/prefix for S3-compatible object storage."""
    if value.startswith("s3://"):
        if not _S3_URL_RE.fullmatch(value) or "//" in value[5:]:
            raise row.refuse(value)
        return value
    if "://" in value or "\x00" in value:
        raise row.refuse(value)
    return value


_MPS_RULE = "be a whole number of messages a second from 1 to 1000, got {got}"
_TEMPLATES_RULE = "name a JSON file of message templates, got {got}, which is not a file"

# In the order they are checked (the first problem is the one reported). An unset or blank
# variable leaves the field at its default in Settings.
SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "TELEOPD_DATABASE_URL", _database_url, "postgresql://teleopd:password@db/teleopd",
            "be sqlite:///path/to/file.db or postgresql://user:password@host/dbname", shown_url),
    Setting("public_url", "TELEOPD_PUBLIC_URL", _base_url, "https://teleopd.example.org",
            "be an http(s) URL such as {example}, got {got}", shown_url),
    Setting("telegram_token", "TELEOPD_TELEGRAM_TOKEN", _matching(_TELEGRAM_TOKEN_RE), "123456789:" + "A" * 35,
            "be a bot token from @BotFather: digits, ':', then at least 30 characters A-Z a-z 0-9 _ -, got {got}", hidden),
    Setting("telegram_secret", "TELEOPD_TELEGRAM_SECRET", _matching(_TELEGRAM_SECRET_RE), "0123456789abcdef0123456789abcdef",
            f"be {TELEGRAM_SECRET_MIN}-256 characters A-Z a-z 0-9 _ - (Telegram's alphabet for setWebhook secret_token; "
            "at least 16 so it cannot be guessed), for example the output of: openssl rand -hex 32; got {got}", hidden),
    Setting("telegram_api_url", "TELEOPD_TELEGRAM_API_URL", _http_url, DEFAULT_TELEGRAM_API_URL,
            "be an http(s) URL such as {example}, got {got}", shown_url),
    Setting("twilio_account_sid", "TWILIO_ACCOUNT_SID", _matching(_TWILIO_SID_RE), "AC" + "0" * 32,
            "be 'AC' followed by 32 hex digits (your Account SID, not an API key SID), got {got}", _hidden_sid),
    Setting("twilio_auth_token", "TWILIO_AUTH_TOKEN", _matching(_TWILIO_TOKEN_RE), "0" * 32,
            "be the 32 hex digit Auth Token of the account, got {got}", hidden),
    Setting("twilio_whatsapp_from", "TELEOPD_TWILIO_WHATSAPP_FROM", _whatsapp_from, _EXAMPLE_PHONE, _PHONE_RULE),
    Setting("twilio_sms_from", "TELEOPD_TWILIO_SMS_FROM", _sms_from, "TELOPD",
            f"be an E.164 phone number such as {_EXAMPLE_PHONE} or an alphanumeric sender id of 3-11 letters and "
            "digits such as TELOPD, got {got}"),
    # The voice line (webhooks/voice.py): the number that places "the doctor is ready" calls;
    # and a number whose calls are rejected unanswered and answered by SMS (a missed call).
    Setting("twilio_voice_from", "TELEOPD_TWILIO_VOICE_FROM", _phone, "+911140000000", _PHONE_RULE),
    Setting("twilio_missed_call_number", "TELEOPD_TWILIO_MISSED_CALL_NUMBER", _phone, "+911140000001", _PHONE_RULE),
    Setting("twilio_api_url", "TELEOPD_TWILIO_API_URL", _base_url, "https://api.twilio.com",
            "be an http(s) URL such as {example}, got {got}", shown_url),
    Setting("twilio_content_api_url", "TELEOPD_TWILIO_CONTENT_API_URL", _base_url, "https://content.twilio.com",
            "be an http(s) URL such as {example}, got {got}", shown_url),
    Setting("redis_url", "TELEOPD_REDIS_URL", _redis_url, "redis://localhost:6379/0",
            "be a redis://, rediss:// or unix:// URL such as {example}, got {got}", shown_url),
    Setting("video_base_url", "TELEOPD_VIDEO_BASE_URL", _folder_url, DEFAULT_VIDEO_BASE_URL,
            "be an http(s) URL such as {example}, got {got}", shown_url),
    # Its one shared token opened every web chat; a chat is now a secret the server issues per
    # chat. It may have been meant to keep the web chat private, which is now open to the public.
    Setting(None, "TELEOPD_WEB_TOKEN", _retired, "",
            "be unset: it is no longer used, since each web chat now has its own secret, issued by the server, "
            "and the chat page is open to anyone (README, Deploying)"),
    Setting("default_language", "TELEOPD_DEFAULT_LANGUAGE", _one_of(LANGUAGES, str.lower), "hi", "be 'en' or 'hi', got {got}"),
    Setting("log_level", "TELEOPD_LOG_LEVEL", _one_of(LOG_LEVELS, str.upper), "DEBUG",
            "be one of DEBUG, INFO, WARNING, ERROR, got {got}"),
    Setting("log_format", "TELEOPD_LOG_FORMAT", _one_of(LOG_FORMATS, str.lower), "json",
            "be 'json' (one JSON object a line) or 'text' (for a terminal), got {got}"),
    Setting("metrics_token", "TELEOPD_METRICS_TOKEN", _matching(_ACCESS_TOKEN_RE), "metrics-token-0123456789",
            "be at least 16 visible ASCII characters without spaces, got {got}", hidden),
    Setting("call_window_seconds", "TELEOPD_CALL_WINDOW_SECONDS", _whole(10, 3600), "120",
            "be a whole number of seconds from 10 to 3600, got {got}"),
    Setting("danger_escalation_minutes", "TELEOPD_DANGER_ESCALATION_MINUTES", _whole(1, 240), "10",
            "be a whole number of minutes from 1 to 240, got {got}"),
    Setting("follow_up_grace_minutes", "TELEOPD_FOLLOW_UP_GRACE_MINUTES", _whole(0, 1440), "30",
            "be a whole number of minutes from 0 to 1440 (a day), got {got}"),
    Setting("inbox_takeover_minutes", "TELEOPD_INBOX_TAKEOVER_MINUTES", _whole(1, 240), "15",
            "be a whole number of minutes from 1 to 240, got {got}"),
    Setting("inbox_opens_hour", "TELEOPD_INBOX_OPENS_HOUR", _whole(0, 23), "9",
            "be a whole hour of India's day from 0 to 23, got {got}"),
    Setting("inbox_closes_hour", "TELEOPD_INBOX_CLOSES_HOUR", _whole(1, 24), "17",
            "be a whole hour of India's day from 1 to 24, got {got}"),
    # Reminders of a booked token (bot/services/reminders.py), each kind on or off.
    Setting("reminder_evening_at", "TELEOPD_REMINDER_EVENING_AT", _clock_time_or_off, "18:00",
            "be a time of day in India's time such as {example} (24-hour clock), or 'off', got {got}"),
    Setting("reminder_before_open_minutes", "TELEOPD_REMINDER_BEFORE_OPEN_MINUTES", _whole(0, 720), "60",
            "be a whole number of minutes from 0 (off) to 720, got {got}"),
    Setting("reminder_follow_up", "TELEOPD_REMINDER_FOLLOW_UP", _on_off, "on", "be 'on' or 'off', got {got}"),
    Setting("reminder_missed_call_hours", "TELEOPD_REMINDER_MISSED_CALL_HOURS", _whole(0, 48), "2",
            "be a whole number of hours from 0 (off) to 48, got {got}"),
    Setting("quiet_hours", "TELEOPD_QUIET_HOURS", _clock_span_or_off, "21:00-08:00",
            "be two times of day in India's time such as {example} (from-until, 24-hour clock), or 'off', got {got}"),
    # Health advisories (bot/services/broadcasts.py).
    Setting("advisories_per_month", "TELEOPD_ADVISORIES_PER_MONTH", _whole(0, 30), "4",
            "be a whole number of advisories from 0 (off: patients are never asked) to 30, got {got}"),
    Setting("broadcast_per_second", "TELEOPD_BROADCAST_PER_SECOND", _whole(1, 1000), "10",
            "be a whole number of messages a second from 1 to 1000, got {got}"),
    Setting("broadcast_approval_above", "TELEOPD_BROADCAST_APPROVAL_ABOVE", _whole(0, 100_000_000), "500",
            "be a whole number of patients (0: every broadcast needs a second operator), got {got}"),
    Setting("telegram_mps", "TELEOPD_TELEGRAM_MPS", _whole(1, 1000), "30", _MPS_RULE),
    Setting("twilio_whatsapp_mps", "TELEOPD_TWILIO_WHATSAPP_MPS", _whole(1, 1000), "10", _MPS_RULE),
    Setting("twilio_sms_mps", "TELEOPD_TWILIO_SMS_MPS", _whole(1, 1000), "1", _MPS_RULE),
    Setting("claim_timeout_seconds", "TELEOPD_CLAIM_TIMEOUT_SECONDS", _whole(5, 3600), "300",
            "be a whole number of seconds from 5 to 3600, got {got}"),
    Setting("inbound_per_minute", "TELEOPD_INBOUND_PER_MINUTE", _whole(5, 1000), "30",
            "be a whole number of messages from 5 to 1000, got {got}"),
    Setting("secret_key", "TELEOPD_SECRET_KEY", _matching(_SECRET_KEY_RE), "k" * 43,
            "be at least 32 visible ASCII characters without spaces (for example the output of: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'), got {got}", hidden),
    Setting("operator_session_hours", "TELEOPD_OPERATOR_SESSION_HOURS", _hours, "12",
            "be a number of hours above 0 and at most 168 (a week), such as 12 or 0.5, got {got}"),
    Setting("trusted_proxies", "TELEOPD_TRUSTED_PROXIES", _whole(0, MAX_TRUSTED_PROXIES), "1",
            f"be the number of reverse proxies in front of teleopd, 0 to {MAX_TRUSTED_PROXIES} "
            "(1 behind one load balancer or nginx), got {got}"),
    # Patients' photos, documents and voice notes (bot/media/): where they are kept, how big one
    # may be (Telegram lets bots download 20 MB at most), how many one visit keeps.
    Setting("media_storage", "TELEOPD_MEDIA_STORAGE", _media_storage, "/var/lib/teleopd/media",
            "be a folder path such as {example}, or s3://bucket/prefix with a valid bucket name, got {got}"),
    Setting("media_s3_endpoint", "TELEOPD_MEDIA_S3_ENDPOINT", _base_url, "https://objects.example.gov.in",
            "be an http(s) URL such as {example}, got {got}", shown_url),
    Setting("media_max_mb", "TELEOPD_MEDIA_MAX_MB", _whole(1, 20), "10",
            "be a whole number of megabytes from 1 to 20 (Telegram's limit for bots), got {got}"),
    Setting("media_max_per_visit", "TELEOPD_MEDIA_MAX_PER_VISIT", _whole(1, 50), "10",
            "be a whole number of files from 1 to 50, got {got}"),
    Setting("whatsapp_templates_file", "TELEOPD_WHATSAPP_TEMPLATES", _file, "whatsapp_templates.json", _TEMPLATES_RULE),
    Setting("sms_templates_file", "TELEOPD_SMS_TEMPLATES", _file, "sms_templates.json", _TEMPLATES_RULE),
)
