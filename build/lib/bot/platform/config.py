"""Read teleopd's settings from the environment once, check them, and keep them immutable.

Every problem is reported as a SettingsError whose message is one line naming the
variable, what is wrong and what is expected. Secret values (tokens, auth tokens,
webhook secrets, passwords inside URLs) never appear in a message or in repr().
Nothing is read at import time: call Settings.from_env() at start.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import phonenumbers
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["Settings", "SettingsError"]

DEFAULT_DATABASE_URL = "sqlite:///teleopd.db"
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_VIDEO_BASE_URL = "https://meet.jit.si/"
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
_MAX_SHOWN = 80


class SettingsError(Exception):
    """Report one configuration problem as a single human-readable line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.splitlines()))


def _mask_url(value: str) -> str:
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


def _shown(value: str) -> str:
    """Quote a (non-secret) value for a message: escaped onto one line and shortened."""
    if len(value) > _MAX_SHOWN:
        value = value[: _MAX_SHOWN - 1] + "…"
    return repr(value)


def _access_token(env: Mapping[str, str], name: str) -> str | None:
    """Return a bearer token setting (16+ visible ASCII characters, no spaces), or None when unset."""
    token = _get(env, name)
    if token is not None and not _ACCESS_TOKEN_RE.fullmatch(token):
        raise SettingsError(f"{name} must be at least 16 visible ASCII characters without spaces, got {_hidden(token)}")
    return token


def _hidden(value: str, *, prefix: int = 0) -> str:
    """Describe a secret value without revealing it: its length and common mistakes."""
    text = f"a hidden value of {len(value)} characters"
    if prefix and len(value) > prefix:
        text += f" starting with {value[:prefix]!r}"
    if value and (value[0] in "'\"" or value[-1] in "'\""):
        text += " (remove the quotes around it)"
    elif any(ch.isspace() for ch in value):
        text += " (it contains whitespace)"
    return text


def _get(environ: Mapping[str, str], name: str) -> str | None:
    """Return the variable stripped of surrounding whitespace, or None when unset or empty."""
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _http_url(name: str, value: str, example: str) -> str:
    """Check that value is an http(s) URL with a host and no query or fragment."""
    problem = SettingsError(
        f"{name} must be an http(s) URL such as {example}, got {_shown(_mask_url(value))}"
    )
    if any(ch.isspace() for ch in value):
        raise problem
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise problem from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise problem
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise SettingsError(
            f"{name} must not have a query or fragment (such as {example}), "
            f"got {_shown(_mask_url(value))}"
        )
    if parts.username is not None or parts.password is not None:
        raise SettingsError(
            f"{name} must not contain user:password@ (such as {example}), "
            f"got {_shown(_mask_url(value))}"
        )
    return value


def _database_url(value: str) -> str:
    """Check a database URL and rewrite postgres:// and postgresql:// to psycopg 3."""
    name = "TELEOPD_DATABASE_URL"
    expected = (
        f"{name} must be sqlite:///path/to/file.db or postgresql://user:password@host/dbname"
    )
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise SettingsError(
            f"{expected}, got {_shown(_mask_url(value))}, which is not a valid database URL"
        ) from None
    driver = url.drivername.lower()
    if driver in ("sqlite", "sqlite+pysqlite"):
        database = url.database or ""
        in_memory = (
            database in ("", ":memory:")
            or database.startswith("file::memory:")
            or url.query.get("mode") == "memory"
        )
        if in_memory:
            raise SettingsError(
                f"{name} must name an SQLite file such as sqlite:///teleopd.db, "
                f"not an in-memory database (web and worker processes must share it), "
                f"got {_shown(value)}"
            )
        return value
    if driver in ("postgres", "postgresql", "postgresql+psycopg"):
        # psycopg 3 is the PostgreSQL driver teleopd ships (pyproject: psycopg[binary]).
        _scheme, _, rest = value.partition("://")
        return "postgresql+psycopg://" + rest
    raise SettingsError(
        f"{expected} (SQLite or PostgreSQL with psycopg 3), got {_shown(_mask_url(value))}"
    )


def _phone(name: str, value: str) -> str:
    """Return an E.164 number ('+' and digits) or raise naming the variable."""
    problem = SettingsError(
        f"{name} must be an E.164 phone number with country code such as {_EXAMPLE_PHONE}, "
        f"got {_shown(value)}"
    )
    if not _PHONE_RE.fullmatch(value):
        raise problem
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise problem from None
    if not phonenumbers.is_possible_number(number):
        raise problem
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class Settings:
    """Hold teleopd's checked configuration; build it with Settings.from_env()."""

    database_url: str = DEFAULT_DATABASE_URL
    public_url: str | None = None
    telegram_token: str | None = None
    telegram_secret: str | None = None
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_sms_from: str | None = None
    twilio_api_url: str | None = None
    redis_url: str | None = None
    video_base_url: str = DEFAULT_VIDEO_BASE_URL
    default_language: str = "en"
    log_level: str = "INFO"
    # JSON lines for a log collector; text for reading on a terminal (bot/platform/logs.py). None
    # (unset): text when the log goes to a terminal, JSON otherwise.
    log_format: str | None = None
    # When set, GET /metrics asks for "Authorization: Bearer <token>" (a public host).
    metrics_token: str | None = None
    # How long a called patient has to answer before one reminder, and again before a
    # no-show (eSanjeevani's own window is 120 s).
    call_window_seconds: int = 120
    # Send rates (PROVIDERS.md §A5, §B7): Telegram's ~30 messages/s per bot; each Twilio
    # sender's MPS as configured on the account (10 for WhatsApp, 1 for an SMS long code).
    telegram_mps: int = 30
    twilio_whatsapp_mps: int = 10
    twilio_sms_mps: int = 1
    # JSON files mapping a message's template key (`teleopd templates`) to an approved
    # WhatsApp template {"content_sid": "HX…", "variables": ["name", …]} and to the DLT
    # template id an Indian SMS must carry (TRAI TCCCPR 2018).
    whatsapp_templates_file: str | None = None
    sms_templates_file: str | None = None
    # How long a claimed outbox row may stay unsent before another worker takes it over (the
    # worker holding it is taken for dead): long enough for a slow provider, short enough
    # that a crash does not hold a patient's message for long.
    claim_timeout_seconds: int = 300
    # How many messages one identity may send in a minute before it is asked to slow down
    # (one notice, then silence until the rate falls): a stuck key or a script must not
    # flood the outbox, and 30 is far above a person's fastest tap, tap, type.
    inbound_per_minute: int = 30
    # Signs the operators' session cookie. When unset, a random key is generated once and
    # kept in the database (bot/services/operators.py shared_secret_key), so every web process and
    # every restart signs and reads the same cookies; set it to rotate the key by hand.
    secret_key: str | None = None
    # How long an operator stays signed in to the dashboard: one OPD shift.
    operator_session_hours: float = 12.0
    # How many reverse proxies (load balancer, nginx) stand in front of the web processes and
    # set X-Forwarded-For/-Proto/-Host. 0: none, the headers are ignored (anyone could send
    # them); behind one, each client's own address is what sign-in throttling counts.
    trusted_proxies: int = 0

    _SECRET_FIELDS = ("telegram_token", "telegram_secret", "twilio_auth_token", "metrics_token", "secret_key")

    def __repr__(self) -> str:
        """Show the settings with secrets and URL passwords masked."""
        parts = []
        for field_name in self.__dataclass_fields__:
            value = getattr(self, field_name)
            if value is not None and field_name in self._SECRET_FIELDS:
                shown = "'***'"
            elif isinstance(value, str) and field_name.endswith("_url"):
                shown = repr(_mask_url(value))
            else:
                shown = repr(value)
            parts.append(f"{field_name}={shown}")
        return f"Settings({', '.join(parts)})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every setting, raising SettingsError on the first problem."""
        env = os.environ if environ is None else environ

        database_url = _database_url(_get(env, "TELEOPD_DATABASE_URL") or DEFAULT_DATABASE_URL)

        public_url = _get(env, "TELEOPD_PUBLIC_URL")
        if public_url is not None:
            public_url = _http_url(
                "TELEOPD_PUBLIC_URL", public_url, "https://teleopd.example.org"
            ).rstrip("/")

        telegram_token = _get(env, "TELEOPD_TELEGRAM_TOKEN")
        if telegram_token is not None and not _TELEGRAM_TOKEN_RE.fullmatch(telegram_token):
            raise SettingsError(
                "TELEOPD_TELEGRAM_TOKEN must be a bot token from @BotFather: digits, ':', "
                "then at least 30 characters A-Z a-z 0-9 _ -, "
                f"got {_hidden(telegram_token)}"
            )

        telegram_secret = _get(env, "TELEOPD_TELEGRAM_SECRET")
        if telegram_secret is not None and not _TELEGRAM_SECRET_RE.fullmatch(telegram_secret):
            raise SettingsError(
                f"TELEOPD_TELEGRAM_SECRET must be {TELEGRAM_SECRET_MIN}-256 characters A-Z a-z 0-9 _ - "
                "(Telegram's alphabet for setWebhook secret_token; at least 16 so it cannot be guessed), "
                f"for example the output of: openssl rand -hex 32; got {_hidden(telegram_secret)}"
            )

        telegram_api_url = _http_url(
            "TELEOPD_TELEGRAM_API_URL",
            _get(env, "TELEOPD_TELEGRAM_API_URL") or DEFAULT_TELEGRAM_API_URL,
            DEFAULT_TELEGRAM_API_URL,
        )

        sid = _get(env, "TWILIO_ACCOUNT_SID")
        if sid is not None and not _TWILIO_SID_RE.fullmatch(sid):
            raise SettingsError(
                "TWILIO_ACCOUNT_SID must be 'AC' followed by 32 hex digits (your Account "
                f"SID, not an API key SID), got {_hidden(sid, prefix=2)}"
            )

        auth_token = _get(env, "TWILIO_AUTH_TOKEN")
        if auth_token is not None and not _TWILIO_TOKEN_RE.fullmatch(auth_token):
            raise SettingsError(
                "TWILIO_AUTH_TOKEN must be the 32 hex digit Auth Token of the account, "
                f"got {_hidden(auth_token)}"
            )

        whatsapp_from = _get(env, "TELEOPD_TWILIO_WHATSAPP_FROM")
        if whatsapp_from is not None:
            number = whatsapp_from
            if number[:9].lower() == "whatsapp:":
                number = number[9:].strip()
            whatsapp_from = "whatsapp:" + _phone("TELEOPD_TWILIO_WHATSAPP_FROM", number)

        sms_from = _get(env, "TELEOPD_TWILIO_SMS_FROM")
        if sms_from is not None:
            if sms_from.startswith("+"):
                sms_from = _phone("TELEOPD_TWILIO_SMS_FROM", sms_from)
            elif not _SENDER_ID_RE.fullmatch(sms_from):
                raise SettingsError(
                    "TELEOPD_TWILIO_SMS_FROM must be an E.164 phone number such as "
                    f"{_EXAMPLE_PHONE} or an alphanumeric sender id of 3-11 letters and "
                    f"digits such as TELOPD, got {_shown(sms_from)}"
                )

        twilio_api_url = _get(env, "TELEOPD_TWILIO_API_URL")
        if twilio_api_url is not None:
            twilio_api_url = _http_url(
                "TELEOPD_TWILIO_API_URL", twilio_api_url, "https://api.twilio.com"
            ).rstrip("/")

        redis_url = _get(env, "TELEOPD_REDIS_URL")
        if redis_url is not None:
            try:
                redis_parts = urlsplit(redis_url)
            except ValueError:
                redis_parts = None
            ok = (
                redis_parts is not None
                and not any(ch.isspace() for ch in redis_url)
                and (
                    (redis_parts.scheme in ("redis", "rediss") and "://" in redis_url)
                    or (redis_parts.scheme == "unix" and bool(redis_parts.path))
                )
            )
            if not ok:
                raise SettingsError(
                    "TELEOPD_REDIS_URL must be a redis://, rediss:// or unix:// URL such as "
                    f"redis://localhost:6379/0, got {_shown(_mask_url(redis_url))}"
                )

        video_base_url = _http_url(
            "TELEOPD_VIDEO_BASE_URL",
            _get(env, "TELEOPD_VIDEO_BASE_URL") or DEFAULT_VIDEO_BASE_URL,
            DEFAULT_VIDEO_BASE_URL,
        )
        if not video_base_url.endswith("/"):
            video_base_url += "/"

        if _get(env, "TELEOPD_WEB_TOKEN") is not None:
            # Its one shared token opened every web chat; a chat is now a secret the server
            # issues per chat. Stop rather than ignore it: it may have been meant to keep
            # the web chat private, and the web chat is now open to the public.
            raise SettingsError(
                "TELEOPD_WEB_TOKEN must be unset: it is no longer used, since each web chat now has its "
                "own secret, issued by the server, and the chat page is open to anyone (README, Deploying)"
            )

        default_language = (_get(env, "TELEOPD_DEFAULT_LANGUAGE") or "en").lower()
        if default_language not in LANGUAGES:
            raise SettingsError(
                "TELEOPD_DEFAULT_LANGUAGE must be 'en' or 'hi', "
                f"got {_shown(env['TELEOPD_DEFAULT_LANGUAGE'].strip())}"
            )

        log_level = (_get(env, "TELEOPD_LOG_LEVEL") or "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise SettingsError(
                "TELEOPD_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, "
                f"got {_shown(env['TELEOPD_LOG_LEVEL'].strip())}"
            )

        log_format = _get(env, "TELEOPD_LOG_FORMAT")
        if log_format is not None:
            log_format = log_format.lower()
        if log_format is not None and log_format not in LOG_FORMATS:
            raise SettingsError(
                "TELEOPD_LOG_FORMAT must be 'json' (one JSON object a line) or 'text' (for a terminal), "
                f"got {_shown(env['TELEOPD_LOG_FORMAT'].strip())}"
            )

        metrics_token = _access_token(env, "TELEOPD_METRICS_TOKEN")

        window = _get(env, "TELEOPD_CALL_WINDOW_SECONDS") or "120"
        if not (window.isascii() and window.isdigit() and 10 <= int(window) <= 3600):
            raise SettingsError(
                "TELEOPD_CALL_WINDOW_SECONDS must be a whole number of seconds from 10 to 3600, "
                f"got {_shown(window)}"
            )

        rates = {}
        for var, default in (("TELEOPD_TELEGRAM_MPS", 30), ("TELEOPD_TWILIO_WHATSAPP_MPS", 10), ("TELEOPD_TWILIO_SMS_MPS", 1)):
            value = _get(env, var) or str(default)
            if not (value.isascii() and value.isdigit() and 1 <= int(value) <= 1000):
                raise SettingsError(f"{var} must be a whole number of messages a second from 1 to 1000, got {_shown(value)}")
            rates[var] = int(value)

        claim_timeout = _get(env, "TELEOPD_CLAIM_TIMEOUT_SECONDS") or "300"
        if not (claim_timeout.isascii() and claim_timeout.isdigit() and 5 <= int(claim_timeout) <= 3600):
            raise SettingsError(
                f"TELEOPD_CLAIM_TIMEOUT_SECONDS must be a whole number of seconds from 5 to 3600, got {_shown(claim_timeout)}"
            )

        per_minute = _get(env, "TELEOPD_INBOUND_PER_MINUTE") or "30"
        if not (per_minute.isascii() and per_minute.isdigit() and 5 <= int(per_minute) <= 1000):
            raise SettingsError(
                f"TELEOPD_INBOUND_PER_MINUTE must be a whole number of messages from 5 to 1000, got {_shown(per_minute)}"
            )

        secret_key = _get(env, "TELEOPD_SECRET_KEY")
        if secret_key is not None and not _SECRET_KEY_RE.fullmatch(secret_key):
            raise SettingsError(
                "TELEOPD_SECRET_KEY must be at least 32 visible ASCII characters without spaces "
                f"(for example the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'), got {_hidden(secret_key)}"
            )

        session_hours = _get(env, "TELEOPD_OPERATOR_SESSION_HOURS") or "12"
        if not _HOURS_RE.fullmatch(session_hours) or not 0 < float(session_hours) <= 168:
            raise SettingsError(
                "TELEOPD_OPERATOR_SESSION_HOURS must be a number of hours above 0 and at most 168 (a week), "
                f"such as 12 or 0.5, got {_shown(session_hours)}"
            )

        proxies = _get(env, "TELEOPD_TRUSTED_PROXIES") or "0"
        if not (proxies.isascii() and proxies.isdigit() and int(proxies) <= MAX_TRUSTED_PROXIES):
            raise SettingsError(
                f"TELEOPD_TRUSTED_PROXIES must be the number of reverse proxies in front of teleopd, 0 to {MAX_TRUSTED_PROXIES} "
                f"(1 behind one load balancer or nginx), got {_shown(proxies)}"
            )

        template_files = {}
        for var in ("TELEOPD_WHATSAPP_TEMPLATES", "TELEOPD_SMS_TEMPLATES"):
            path = _get(env, var)
            if path is not None and not os.path.isfile(path):
                raise SettingsError(f"{var} must name a JSON file of message templates, got {_shown(path)}, which is not a file")
            template_files[var] = path

        # Cross checks, in a fixed order. A Telegram token without a secret is allowed: the bot
        # sends and `teleopd telegram poll` receives; only the webhook needs the secret (it is
        # off without one, and says so at start).
        twilio_vars = {
            "TWILIO_ACCOUNT_SID": sid,
            "TWILIO_AUTH_TOKEN": auth_token,
            "TELEOPD_TWILIO_WHATSAPP_FROM": whatsapp_from,
            "TELEOPD_TWILIO_SMS_FROM": sms_from,
        }
        given = [var for var, value in twilio_vars.items() if value is not None]
        if given:
            for var in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
                if twilio_vars[var] is None:
                    raise SettingsError(
                        f"{var} must be set when {given[0]} is set "
                        "(Twilio needs both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)"
                    )
            if whatsapp_from is None and sms_from is None:
                raise SettingsError(
                    "TELEOPD_TWILIO_WHATSAPP_FROM or TELEOPD_TWILIO_SMS_FROM must be set "
                    "when Twilio credentials are set (the number or sender id to send from)"
                )
            if public_url is None:
                raise SettingsError(
                    "TELEOPD_PUBLIC_URL must be set when Twilio is configured, because "
                    "Twilio signatures are computed over the public URL it calls "
                    "(such as https://teleopd.example.org)"
                )

        return cls(
            database_url=database_url,
            public_url=public_url,
            telegram_token=telegram_token,
            telegram_secret=telegram_secret,
            telegram_api_url=telegram_api_url,
            twilio_account_sid=sid,
            twilio_auth_token=auth_token,
            twilio_whatsapp_from=whatsapp_from,
            twilio_sms_from=sms_from,
            twilio_api_url=twilio_api_url,
            redis_url=redis_url,
            video_base_url=video_base_url,
            default_language=default_language,
            log_level=log_level,
            log_format=log_format,
            metrics_token=metrics_token,
            call_window_seconds=int(window),
            telegram_mps=rates["TELEOPD_TELEGRAM_MPS"],
            twilio_whatsapp_mps=rates["TELEOPD_TWILIO_WHATSAPP_MPS"],
            twilio_sms_mps=rates["TELEOPD_TWILIO_SMS_MPS"],
            whatsapp_templates_file=template_files["TELEOPD_WHATSAPP_TEMPLATES"],
            sms_templates_file=template_files["TELEOPD_SMS_TEMPLATES"],
            claim_timeout_seconds=int(claim_timeout),
            inbound_per_minute=int(per_minute),
            secret_key=secret_key,
            operator_session_hours=float(session_hours),
            trusted_proxies=int(proxies),
        )

    @property
    def telegram_enabled(self) -> bool:
        """Tell whether the Telegram channel has a token (it sends, and `teleopd telegram poll` receives)."""
        return self.telegram_token is not None

    @property
    def telegram_webhook_enabled(self) -> bool:
        """Tell whether Telegram may call the webhook: a token and the secret that proves a call is Telegram's."""
        return self.telegram_token is not None and self.telegram_secret is not None

    @property
    def _twilio_credentials(self) -> bool:
        return self.twilio_account_sid is not None and self.twilio_auth_token is not None

    @property
    def whatsapp_enabled(self) -> bool:
        """Tell whether the WhatsApp channel (via Twilio) is configured."""
        return self._twilio_credentials and self.twilio_whatsapp_from is not None

    @property
    def sms_enabled(self) -> bool:
        """Tell whether the SMS channel (via Twilio) is configured."""
        return self._twilio_credentials and self.twilio_sms_from is not None

    @property
    def is_sqlite(self) -> bool:
        """Tell whether the database is an SQLite file."""
        return self.database_url.lower().startswith("sqlite")

    @property
    def redacted_database_url(self) -> str:
        """Return the database URL with its password masked, for logs."""
        return _mask_url(self.database_url)

    def channel_status_lines(self) -> list[str]:
        """Return one line per channel saying whether it is on, and why not when off."""
        if self.telegram_token is not None:
            bot_id = self.telegram_token.partition(":")[0]  # the public bot id, not the secret
            telegram = f"telegram: on (bot {bot_id}"
            if self.telegram_api_url != DEFAULT_TELEGRAM_API_URL:
                telegram += f", API {self.telegram_api_url}"
            if not self.telegram_webhook_enabled:
                telegram += "; webhook off: TELEOPD_TELEGRAM_SECRET not set, so updates come only through `teleopd telegram poll`"
            telegram += ")"
        else:
            telegram = "telegram: off (TELEOPD_TELEGRAM_TOKEN not set)"
        lines = [telegram]
        for channel, enabled, sender, var in (
            ("whatsapp", self.whatsapp_enabled, self.twilio_whatsapp_from,
             "TELEOPD_TWILIO_WHATSAPP_FROM"),
            ("sms", self.sms_enabled, self.twilio_sms_from, "TELEOPD_TWILIO_SMS_FROM"),
        ):
            if enabled:
                lines.append(f"{channel}: on (from {sender})")
            elif sender is None:
                lines.append(f"{channel}: off ({var} not set)")
            else:
                lines.append(f"{channel}: off (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN not set)")
        lines.append("local web chat and terminal chat: on")
        return lines
