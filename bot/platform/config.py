"""Read teleopd's settings from the environment once, check them, and keep them immutable.

Every problem is reported as a SettingsError whose message is one line naming the
variable, what is wrong and what is expected. Secret values (tokens, auth tokens,
webhook secrets, passwords inside URLs) never appear in a message or in repr().
Nothing is read at import time: call Settings.from_env() at start.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.platform.settings_table import (
    DEFAULT_DATABASE_URL,
    DEFAULT_TELEGRAM_API_URL,
    DEFAULT_VIDEO_BASE_URL,
    SETTINGS,
    SettingsError,
    get,
    mask_url,
)

__all__ = ["Settings", "SettingsError"]


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
    # The voice line: the number calls are placed from, and the missed-call number (webhooks/voice.py).
    twilio_voice_from: str | None = None
    twilio_missed_call_number: str | None = None
    twilio_api_url: str | None = None
    # Replaces https://content.twilio.com for `teleopd whatsapp sync` (tests: the fake API).
    twilio_content_api_url: str | None = None
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
    # How long a token with danger signs may wait uncalled before every on-duty doctor who can
    # see it (its OPD's, the round-the-clock OPDs') is pinged and the dashboard shows it (issue 16).
    danger_escalation_minutes: int = 10
    # How long a follow-up waits for its own doctor who is off duty (since they went off and
    # since its session began) before any doctor of the OPD may call it (bot/services/desk.py).
    follow_up_grace_minutes: int = 30
    # How long a coordinator's takeover of a chat may go unanswered before it returns to the
    # inbox's queue (bot/services/inbox.py), and the hours (India's, whole) the inbox is answered.
    inbox_takeover_minutes: int = 15
    inbox_opens_hour: int = 9
    inbox_closes_hour: int = 17
    # Reminders of a booked token (bot/services/reminders.py): the evening before its day (None:
    # off), minutes before a day OPD opens (0: off), a follow-up told as the doctor's, hours after
    # a call the patient never answered (0: off), and the quiet hours no reminder is sent in
    # (India's time; None: none).
    reminder_evening_at: dt.time | None = dt.time(18, 0)
    reminder_before_open_minutes: int = 60
    reminder_follow_up: bool = True
    reminder_missed_call_hours: int = 2
    quiet_hours: tuple[dt.time, dt.time] | None = (dt.time(21, 0), dt.time(8, 0))
    # Health advisories (broadcasts, bot/services/broadcasts.py): at most this many a month, as the
    # patients' own consent question says (0: advisories off, the question never asked); how
    # many a second a broadcast queues (each channel's own limit still applies at sending); the
    # segment size above which a second operator must approve one.
    advisories_per_month: int = 0
    broadcast_per_second: int = 10
    broadcast_approval_above: int = 500
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
    # Patients' photos, documents and voice notes: the folder they are kept in (relative to the
    # working directory), the largest one kept, and how many one visit keeps (bot/media/).
    media_storage: str = "media"
    # An S3-compatible service's URL, when TELEOPD_MEDIA_STORAGE is s3://… and the bucket is not AWS's.
    media_s3_endpoint: str | None = None
    media_max_mb: int = 10
    media_max_per_visit: int = 10

    _SECRET_FIELDS = ("telegram_token", "telegram_secret", "twilio_auth_token", "metrics_token", "secret_key")

    def __repr__(self) -> str:
        """Show the settings with secrets and URL passwords masked."""
        parts = []
        for field_name in self.__dataclass_fields__:
            value = getattr(self, field_name)
            if value is not None and field_name in self._SECRET_FIELDS:
                shown = "'***'"
            elif isinstance(value, str) and field_name.endswith("_url"):
                shown = repr(mask_url(value))
            else:
                shown = repr(value)
            parts.append(f"{field_name}={shown}")
        return f"Settings({', '.join(parts)})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every setting of the table (bot/platform/settings_table.py), raising SettingsError on the first problem."""
        env = os.environ if environ is None else environ
        values = {}
        for row in SETTINGS:
            value = get(env, row.env)
            if value is not None:
                parsed = row.parse(value, row)
                if row.field is not None:
                    values[row.field] = parsed
        _check_twilio(values)
        return cls(**values)

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
    def voice_enabled(self) -> bool:
        """Tell whether the voice line answers calls (Twilio credentials): placing calls also needs TELEOPD_TWILIO_VOICE_FROM."""
        return self._twilio_credentials and self.public_url is not None

    @property
    def is_sqlite(self) -> bool:
        """Tell whether the database is an SQLite file."""
        return self.database_url.lower().startswith("sqlite")

    @property
    def redacted_database_url(self) -> str:
        """Return the database URL with its password masked, for logs."""
        return mask_url(self.database_url)

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
        if self.twilio_voice_from is not None or self.twilio_missed_call_number is not None:
            # Said only when asked for: the voice line is an extra, not a channel every clinic runs.
            numbers = [f"calls from {self.twilio_voice_from}" if self.twilio_voice_from else "no calls placed (TELEOPD_TWILIO_VOICE_FROM not set)"]
            if self.twilio_missed_call_number:
                numbers.append(f"missed calls to {self.twilio_missed_call_number}")
            lines.append(f"voice: on ({'; '.join(numbers)}; calls in at /webhooks/twilio/voice)")
        lines.append("local web chat and terminal chat: on")
        return lines


def _check_twilio(values: dict[str, object]) -> None:
    """Check the Twilio settings together, in a fixed order.

    A Telegram token without a secret is allowed: the bot sends and `teleopd telegram poll`
    receives; only the webhook needs the secret (it is off without one, and says so at start).
    """
    twilio_vars = {
        "TWILIO_ACCOUNT_SID": values.get("twilio_account_sid"),
        "TWILIO_AUTH_TOKEN": values.get("twilio_auth_token"),
        "TELEOPD_TWILIO_WHATSAPP_FROM": values.get("twilio_whatsapp_from"),
        "TELEOPD_TWILIO_SMS_FROM": values.get("twilio_sms_from"),
    }
    voice_vars = {"TELEOPD_TWILIO_VOICE_FROM": values.get("twilio_voice_from"), "TELEOPD_TWILIO_MISSED_CALL_NUMBER": values.get("twilio_missed_call_number")}
    given = [var for var, value in {**twilio_vars, **voice_vars}.items() if value is not None]
    if not given:
        return
    for var in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        if twilio_vars[var] is None:
            raise SettingsError(
                f"{var} must be set when {given[0]} is set "
                "(Twilio needs both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)"
            )
    if twilio_vars["TELEOPD_TWILIO_WHATSAPP_FROM"] is None and twilio_vars["TELEOPD_TWILIO_SMS_FROM"] is None:
        raise SettingsError(
            "TELEOPD_TWILIO_WHATSAPP_FROM or TELEOPD_TWILIO_SMS_FROM must be set "
            "when Twilio credentials are set (the number or sender id to send from)"
        )
    if values.get("public_url") is None:
        raise SettingsError(
            "TELEOPD_PUBLIC_URL must be set when Twilio is configured, because "
            "Twilio signatures are computed over the public URL it calls "
            "(such as https://teleopd.example.org)"
        )
