"""Tests for bot.platform.config: defaults, valid and invalid values, cross checks, status lines."""

from __future__ import annotations

import dataclasses

import pytest

from bot.platform.config import Settings, SettingsError
from bot.platform.settings_table import SETTINGS

TOKEN = "123456789:AAHd8Qx-Z_kL0pQrStUvWxYz0123456789ab"
SECRET = "wh_secret-Token42"
SID = "AC" + "0123456789abcdef" * 2
AUTH = "a1b2c3d4" * 4
WEB = "web-chat-token-0123456789"
PASSWORD = "hunter2pw"
PUBLIC = "https://teleopd.example.org"
WA = "whatsapp:+14155238886"

TWILIO = {
    "TWILIO_ACCOUNT_SID": SID,
    "TWILIO_AUTH_TOKEN": AUTH,
    "TELEOPD_PUBLIC_URL": PUBLIC,
}

ALL_VARS = [
    "TELEOPD_DATABASE_URL", "TELEOPD_PUBLIC_URL", "TELEOPD_TELEGRAM_TOKEN",
    "TELEOPD_TELEGRAM_SECRET", "TELEOPD_TELEGRAM_API_URL", "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN", "TELEOPD_TWILIO_WHATSAPP_FROM", "TELEOPD_TWILIO_SMS_FROM",
    "TELEOPD_TWILIO_API_URL", "TELEOPD_REDIS_URL", "TELEOPD_VIDEO_BASE_URL",
    "TELEOPD_WEB_TOKEN", "TELEOPD_DEFAULT_LANGUAGE", "TELEOPD_LOG_LEVEL",
    "TELEOPD_LOG_FORMAT", "TELEOPD_METRICS_TOKEN", "TELEOPD_SECRET_KEY", "TELEOPD_OPERATOR_SESSION_HOURS",
    "TELEOPD_TRUSTED_PROXIES",
]


def test_defaults_with_an_empty_environment():
    s = Settings.from_env({})
    assert s == Settings()
    assert s.database_url == "sqlite:///teleopd.db"
    assert s.is_sqlite
    assert s.public_url is None
    assert s.telegram_token is None and s.telegram_secret is None
    assert s.telegram_api_url == "https://api.telegram.org/bot"
    assert s.twilio_account_sid is None and s.twilio_auth_token is None
    assert s.twilio_whatsapp_from is None and s.twilio_sms_from is None
    assert s.twilio_api_url is None and s.redis_url is None
    assert s.video_base_url == "https://meet.jit.si/"
    assert s.default_language == "en"
    assert s.log_level == "INFO"
    assert not (s.telegram_enabled or s.whatsapp_enabled or s.sms_enabled)


def test_empty_and_blank_strings_count_as_unset():
    env = {name: "" for name in ALL_VARS} | {"TELEOPD_LOG_LEVEL": "   "}
    assert Settings.from_env(env) == Settings()


def test_reads_os_environ_at_call_time(monkeypatch):
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEOPD_DEFAULT_LANGUAGE", "hi")
    assert Settings.from_env().default_language == "hi"


def test_settings_are_immutable():
    s = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.log_level = "DEBUG"  # type: ignore[misc]


VALID = [
    ("sqlite-relative", {"TELEOPD_DATABASE_URL": "sqlite:///data/opd.db"},
     "database_url", "sqlite:///data/opd.db"),
    ("sqlite-absolute", {"TELEOPD_DATABASE_URL": "sqlite:////var/lib/teleopd/opd.db"},
     "database_url", "sqlite:////var/lib/teleopd/opd.db"),
    ("postgresql+psycopg-kept",
     {"TELEOPD_DATABASE_URL": "postgresql+psycopg://opd:pw@db:5432/opd"},
     "database_url", "postgresql+psycopg://opd:pw@db:5432/opd"),
    ("public-url-trailing-slash-stripped", {"TELEOPD_PUBLIC_URL": "https://opd.example.in/"},
     "public_url", "https://opd.example.in"),
    ("public-url-http-with-port-and-path",
     {"TELEOPD_PUBLIC_URL": "http://127.0.0.1:8000/teleopd/"},
     "public_url", "http://127.0.0.1:8000/teleopd"),
    ("telegram-token", {"TELEOPD_TELEGRAM_TOKEN": TOKEN, "TELEOPD_TELEGRAM_SECRET": SECRET},
     "telegram_token", TOKEN),
    ("telegram-token-surrounding-space-stripped",
     {"TELEOPD_TELEGRAM_TOKEN": f" {TOKEN}\n", "TELEOPD_TELEGRAM_SECRET": SECRET},
     "telegram_token", TOKEN),
    ("telegram-secret", {"TELEOPD_TELEGRAM_SECRET": SECRET}, "telegram_secret", SECRET),
    ("telegram-secret-256-chars", {"TELEOPD_TELEGRAM_SECRET": "a" * 256},
     "telegram_secret", "a" * 256),
    ("telegram-secret-16-chars", {"TELEOPD_TELEGRAM_SECRET": "Z" * 16}, "telegram_secret", "Z" * 16),
    # The bot sends and `teleopd telegram poll` receives without one; only the webhook needs it.
    ("telegram-token-without-secret", {"TELEOPD_TELEGRAM_TOKEN": TOKEN}, "telegram_secret", None),
    ("telegram-api-url", {"TELEOPD_TELEGRAM_API_URL": "http://127.0.0.1:8081/bot"},
     "telegram_api_url", "http://127.0.0.1:8081/bot"),
    ("twilio-sid", TWILIO | {"TELEOPD_TWILIO_SMS_FROM": "TELOPD"},
     "twilio_account_sid", SID),
    ("twilio-auth-token", TWILIO | {"TELEOPD_TWILIO_SMS_FROM": "TELOPD"},
     "twilio_auth_token", AUTH),
    ("whatsapp-from-prefixed", TWILIO | {"TELEOPD_TWILIO_WHATSAPP_FROM": WA},
     "twilio_whatsapp_from", WA),
    ("whatsapp-from-bare-number", TWILIO | {"TELEOPD_TWILIO_WHATSAPP_FROM": "+14155238886"},
     "twilio_whatsapp_from", WA),
    ("whatsapp-from-spaced-indian-number",
     TWILIO | {"TELEOPD_TWILIO_WHATSAPP_FROM": "WhatsApp:+91 98765 43210"},
     "twilio_whatsapp_from", "whatsapp:+919876543210"),
    ("sms-from-e164", TWILIO | {"TELEOPD_TWILIO_SMS_FROM": "+91-98765-43210"},
     "twilio_sms_from", "+919876543210"),
    ("sms-from-dlt-header", TWILIO | {"TELEOPD_TWILIO_SMS_FROM": "ESNJVN"},
     "twilio_sms_from", "ESNJVN"),
    ("sms-from-11-char-sender-id", TWILIO | {"TELEOPD_TWILIO_SMS_FROM": "TeleOPD2024"},
     "twilio_sms_from", "TeleOPD2024"),
    ("twilio-api-url", {"TELEOPD_TWILIO_API_URL": "http://127.0.0.1:9000/"},
     "twilio_api_url", "http://127.0.0.1:9000"),
    ("redis", {"TELEOPD_REDIS_URL": "redis://localhost:6379/0"},
     "redis_url", "redis://localhost:6379/0"),
    ("rediss-with-password", {"TELEOPD_REDIS_URL": f"rediss://:{PASSWORD}@cache:6380/1"},
     "redis_url", f"rediss://:{PASSWORD}@cache:6380/1"),
    ("redis-unix-socket", {"TELEOPD_REDIS_URL": "unix:///run/redis.sock"},
     "redis_url", "unix:///run/redis.sock"),
    ("video-base-url-slash-added", {"TELEOPD_VIDEO_BASE_URL": "https://meet.example.in/rooms"},
     "video_base_url", "https://meet.example.in/rooms/"),
    ("video-base-url-slash-kept", {"TELEOPD_VIDEO_BASE_URL": "https://meet.example.in/"},
     "video_base_url", "https://meet.example.in/"),
    ("language-hi", {"TELEOPD_DEFAULT_LANGUAGE": "hi"}, "default_language", "hi"),
    ("language-case-insensitive", {"TELEOPD_DEFAULT_LANGUAGE": "HI"}, "default_language", "hi"),
    ("log-level-debug", {"TELEOPD_LOG_LEVEL": "DEBUG"}, "log_level", "DEBUG"),
    ("log-level-case-insensitive", {"TELEOPD_LOG_LEVEL": "warning"}, "log_level", "WARNING"),
    ("log-format-default-by-the-terminal", {}, "log_format", None),
    ("log-format-json", {"TELEOPD_LOG_FORMAT": "JSON"}, "log_format", "json"),
    ("log-format-text", {"TELEOPD_LOG_FORMAT": "Text"}, "log_format", "text"),
    ("metrics-token", {"TELEOPD_METRICS_TOKEN": "metrics-token-0123456789"}, "metrics_token", "metrics-token-0123456789"),
    ("metrics-token-default-open", {}, "metrics_token", None),
    ("inbound-per-minute-default", {}, "inbound_per_minute", 30),
    ("inbound-per-minute-set", {"TELEOPD_INBOUND_PER_MINUTE": "60"}, "inbound_per_minute", 60),
    ("secret-key-default-kept-in-database", {}, "secret_key", None),
    ("secret-key-set", {"TELEOPD_SECRET_KEY": "k" * 32}, "secret_key", "k" * 32),
    ("operator-session-hours-default-a-shift", {}, "operator_session_hours", 12.0),
    ("operator-session-hours-whole", {"TELEOPD_OPERATOR_SESSION_HOURS": "8"}, "operator_session_hours", 8.0),
    ("operator-session-hours-fraction", {"TELEOPD_OPERATOR_SESSION_HOURS": "0.5"}, "operator_session_hours", 0.5),
    ("operator-session-hours-a-week", {"TELEOPD_OPERATOR_SESSION_HOURS": "168"}, "operator_session_hours", 168.0),
    ("trusted-proxies-default-none", {}, "trusted_proxies", 0),
    ("trusted-proxies-one", {"TELEOPD_TRUSTED_PROXIES": "1"}, "trusted_proxies", 1),
]


@pytest.mark.parametrize(("env", "attr", "expected"), [c[1:] for c in VALID],
                         ids=[c[0] for c in VALID])
def test_valid_values(env, attr, expected):
    assert getattr(Settings.from_env(env), attr) == expected


# (id, environment, variable the message must name, secret the message must not contain)
INVALID = [
    ("db-mysql", {"TELEOPD_DATABASE_URL": f"mysql://opd:{PASSWORD}@db/opd"},
     "TELEOPD_DATABASE_URL", PASSWORD),
    ("db-psycopg2-driver", {"TELEOPD_DATABASE_URL": f"postgresql+psycopg2://u:{PASSWORD}@h/d"},
     "TELEOPD_DATABASE_URL", PASSWORD),
    ("db-garbage", {"TELEOPD_DATABASE_URL": "not a database"}, "TELEOPD_DATABASE_URL", None),
    ("db-garbage-with-password", {"TELEOPD_DATABASE_URL": f"postgres//u:{PASSWORD}@h/d"},
     "TELEOPD_DATABASE_URL", PASSWORD),
    ("db-bad-port", {"TELEOPD_DATABASE_URL": f"postgres://u:{PASSWORD}@h:port/d"},
     "TELEOPD_DATABASE_URL", PASSWORD),
    ("db-sqlite-memory", {"TELEOPD_DATABASE_URL": "sqlite:///:memory:"},
     "TELEOPD_DATABASE_URL", None),
    ("db-sqlite-no-path", {"TELEOPD_DATABASE_URL": "sqlite://"}, "TELEOPD_DATABASE_URL", None),
    ("public-url-ftp", {"TELEOPD_PUBLIC_URL": "ftp://x"}, "TELEOPD_PUBLIC_URL", None),
    ("public-url-no-scheme", {"TELEOPD_PUBLIC_URL": "teleopd.example.org"},
     "TELEOPD_PUBLIC_URL", None),
    ("public-url-no-host", {"TELEOPD_PUBLIC_URL": "https://"}, "TELEOPD_PUBLIC_URL", None),
    ("public-url-query", {"TELEOPD_PUBLIC_URL": "https://x.org/?a=1"},
     "TELEOPD_PUBLIC_URL", None),
    ("public-url-fragment", {"TELEOPD_PUBLIC_URL": "https://x.org/#top"},
     "TELEOPD_PUBLIC_URL", None),
    ("public-url-bad-port", {"TELEOPD_PUBLIC_URL": "https://x.org:99999"},
     "TELEOPD_PUBLIC_URL", None),
    ("public-url-credentials", {"TELEOPD_PUBLIC_URL": f"https://admin:{PASSWORD}@x.org"},
     "TELEOPD_PUBLIC_URL", PASSWORD),
    ("public-url-newline", {"TELEOPD_PUBLIC_URL": "https://x.org\nhttps://y.org"},
     "TELEOPD_PUBLIC_URL", None),
    ("telegram-token-no-colon", {"TELEOPD_TELEGRAM_TOKEN": TOKEN.replace(":", "")},
     "TELEOPD_TELEGRAM_TOKEN", TOKEN.replace(":", "")),
    ("telegram-token-too-short", {"TELEOPD_TELEGRAM_TOKEN": TOKEN[:25]},
     "TELEOPD_TELEGRAM_TOKEN", TOKEN[:25]),
    ("telegram-token-quoted", {"TELEOPD_TELEGRAM_TOKEN": f'"{TOKEN}"'},
     "TELEOPD_TELEGRAM_TOKEN", TOKEN),
    ("telegram-secret-too-long", {"TELEOPD_TELEGRAM_SECRET": "s" * 257},
     "TELEOPD_TELEGRAM_SECRET", "s" * 257),
    ("telegram-secret-bad-characters", {"TELEOPD_TELEGRAM_SECRET": "my secret!pass"},
     "TELEOPD_TELEGRAM_SECRET", "my secret!pass"),
    ("telegram-secret-15-chars", {"TELEOPD_TELEGRAM_SECRET": "s3cret-webhook1"},
     "TELEOPD_TELEGRAM_SECRET", "s3cret-webhook1"),
    ("telegram-secret-1-char", {"TELEOPD_TELEGRAM_SECRET": "Z"}, "TELEOPD_TELEGRAM_SECRET", None),
    ("telegram-api-url-not-http", {"TELEOPD_TELEGRAM_API_URL": "api.telegram.org/bot"},
     "TELEOPD_TELEGRAM_API_URL", None),
    ("twilio-sid-api-key", {"TWILIO_ACCOUNT_SID": "SK" + "0" * 32},
     "TWILIO_ACCOUNT_SID", "SK" + "0" * 32),
    ("twilio-sid-short", {"TWILIO_ACCOUNT_SID": "AC1234"}, "TWILIO_ACCOUNT_SID", "AC1234"),
    ("twilio-auth-token-31-hex", {"TWILIO_AUTH_TOKEN": AUTH[:31]},
     "TWILIO_AUTH_TOKEN", AUTH[:31]),
    ("twilio-auth-token-not-hex", {"TWILIO_AUTH_TOKEN": "z" * 32},
     "TWILIO_AUTH_TOKEN", "z" * 32),
    ("whatsapp-from-no-plus", {"TELEOPD_TWILIO_WHATSAPP_FROM": "whatsapp:14155238886"},
     "TELEOPD_TWILIO_WHATSAPP_FROM", None),
    ("whatsapp-from-too-short", {"TELEOPD_TWILIO_WHATSAPP_FROM": "+123"},
     "TELEOPD_TWILIO_WHATSAPP_FROM", None),
    ("whatsapp-from-vanity-letters", {"TELEOPD_TWILIO_WHATSAPP_FROM": "+1800FLOWERS"},
     "TELEOPD_TWILIO_WHATSAPP_FROM", None),
    ("sms-from-sender-id-too-long", {"TELEOPD_TWILIO_SMS_FROM": "TELEOPDINDIA"},
     "TELEOPD_TWILIO_SMS_FROM", None),
    ("sms-from-sender-id-too-short", {"TELEOPD_TWILIO_SMS_FROM": "OP"},
     "TELEOPD_TWILIO_SMS_FROM", None),
    ("sms-from-digits-without-plus", {"TELEOPD_TWILIO_SMS_FROM": "919876543210"},
     "TELEOPD_TWILIO_SMS_FROM", None),
    ("sms-from-whatsapp-address", {"TELEOPD_TWILIO_SMS_FROM": WA},
     "TELEOPD_TWILIO_SMS_FROM", None),
    ("sms-from-impossible-number", {"TELEOPD_TWILIO_SMS_FROM": "+1"},
     "TELEOPD_TWILIO_SMS_FROM", None),
    ("twilio-api-url-not-http", {"TELEOPD_TWILIO_API_URL": "ws://127.0.0.1:9000"},
     "TELEOPD_TWILIO_API_URL", None),
    ("redis-wrong-scheme", {"TELEOPD_REDIS_URL": f"http://:{PASSWORD}@localhost:6379"},
     "TELEOPD_REDIS_URL", PASSWORD),
    ("redis-unix-without-path", {"TELEOPD_REDIS_URL": "unix://"}, "TELEOPD_REDIS_URL", None),
    ("video-base-url-no-scheme", {"TELEOPD_VIDEO_BASE_URL": "meet.jit.si"},
     "TELEOPD_VIDEO_BASE_URL", None),
    # Retired: one shared token opened every web chat; each chat is now a secret of its own.
    ("web-token-retired", {"TELEOPD_WEB_TOKEN": WEB}, "TELEOPD_WEB_TOKEN", WEB),
    ("web-token-retired-short", {"TELEOPD_WEB_TOKEN": "short-token"}, "TELEOPD_WEB_TOKEN", "short-token"),
    ("language-unknown", {"TELEOPD_DEFAULT_LANGUAGE": "fr"}, "TELEOPD_DEFAULT_LANGUAGE", None),
    ("log-level-unknown", {"TELEOPD_LOG_LEVEL": "verbose"}, "TELEOPD_LOG_LEVEL", None),
    ("log-format-unknown", {"TELEOPD_LOG_FORMAT": "xml"}, "TELEOPD_LOG_FORMAT", None),
    ("metrics-token-too-short", {"TELEOPD_METRICS_TOKEN": "short-metrics"}, "TELEOPD_METRICS_TOKEN", "short-metrics"),
    ("trusted-proxies-word", {"TELEOPD_TRUSTED_PROXIES": "yes"}, "TELEOPD_TRUSTED_PROXIES", None),
    ("trusted-proxies-negative", {"TELEOPD_TRUSTED_PROXIES": "-1"}, "TELEOPD_TRUSTED_PROXIES", None),
    ("trusted-proxies-too-many", {"TELEOPD_TRUSTED_PROXIES": "6"}, "TELEOPD_TRUSTED_PROXIES", None),
    # Cross checks.
    ("twilio-sid-without-token", {"TWILIO_ACCOUNT_SID": SID, "TELEOPD_TWILIO_SMS_FROM": "TELOPD",
                                  "TELEOPD_PUBLIC_URL": PUBLIC},
     "TWILIO_AUTH_TOKEN", None),
    ("twilio-token-without-sid", {"TWILIO_AUTH_TOKEN": AUTH, "TELEOPD_TWILIO_SMS_FROM": "TELOPD",
                                  "TELEOPD_PUBLIC_URL": PUBLIC},
     "TWILIO_ACCOUNT_SID", AUTH),
    ("twilio-from-without-credentials", {"TELEOPD_TWILIO_WHATSAPP_FROM": WA},
     "TWILIO_ACCOUNT_SID", None),
    ("twilio-credentials-without-from", {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": AUTH,
                                         "TELEOPD_PUBLIC_URL": PUBLIC},
     "TELEOPD_TWILIO_WHATSAPP_FROM", AUTH),
    ("twilio-without-public-url", {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": AUTH,
                                   "TELEOPD_TWILIO_WHATSAPP_FROM": WA},
     "TELEOPD_PUBLIC_URL", AUTH),
    ("inbound-per-minute-zero", {"TELEOPD_INBOUND_PER_MINUTE": "0"}, "TELEOPD_INBOUND_PER_MINUTE", None),
    ("inbound-per-minute-word", {"TELEOPD_INBOUND_PER_MINUTE": "many"}, "TELEOPD_INBOUND_PER_MINUTE", None),
    ("secret-key-too-short", {"TELEOPD_SECRET_KEY": "short-secret-key"}, "TELEOPD_SECRET_KEY", "short-secret-key"),
    ("secret-key-with-spaces", {"TELEOPD_SECRET_KEY": "a secret key of many words, far too guessable"},
     "TELEOPD_SECRET_KEY", "a secret key of many words, far too guessable"),
    ("operator-session-hours-zero", {"TELEOPD_OPERATOR_SESSION_HOURS": "0"}, "TELEOPD_OPERATOR_SESSION_HOURS", None),
    ("operator-session-hours-negative", {"TELEOPD_OPERATOR_SESSION_HOURS": "-1"}, "TELEOPD_OPERATOR_SESSION_HOURS", None),
    ("operator-session-hours-over-a-week", {"TELEOPD_OPERATOR_SESSION_HOURS": "169"}, "TELEOPD_OPERATOR_SESSION_HOURS", None),
    ("operator-session-hours-word", {"TELEOPD_OPERATOR_SESSION_HOURS": "a shift"}, "TELEOPD_OPERATOR_SESSION_HOURS", None),
    ("operator-session-hours-infinite", {"TELEOPD_OPERATOR_SESSION_HOURS": "inf"}, "TELEOPD_OPERATOR_SESSION_HOURS", None),
]


@pytest.mark.parametrize(("env", "variable", "secret"), [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_invalid_values(env, variable, secret):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert message.startswith(variable + " ")
    assert "\n" not in message and "\r" not in message
    assert " must " in message
    if secret is not None:
        assert secret not in message


def test_public_url_message_is_exact():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"TELEOPD_PUBLIC_URL": "ftp://x"})
    assert str(caught.value) == (
        "TELEOPD_PUBLIC_URL must be an http(s) URL such as https://teleopd.example.org, "
        "got 'ftp://x'"
    )


def test_database_password_is_masked_not_dropped():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"TELEOPD_DATABASE_URL": f"mysql://opd:{PASSWORD}@db/opd"})
    assert "mysql://opd:***@db/opd" in str(caught.value)


def test_a_short_telegram_secret_is_refused_with_the_rule_and_a_way_to_make_one():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"TELEOPD_TELEGRAM_TOKEN": TOKEN, "TELEOPD_TELEGRAM_SECRET": "s3cret"})
    message = str(caught.value)
    assert message.startswith("TELEOPD_TELEGRAM_SECRET must be 16-256 characters A-Z a-z 0-9 _ -")
    assert "openssl rand -hex 32" in message and "6 characters" in message and "s3cret" not in message


def test_twilio_without_public_url_says_why():
    env = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": AUTH, "TELEOPD_TWILIO_SMS_FROM": "X1Y"}
    with pytest.raises(SettingsError, match="signature"):
        Settings.from_env(env)


def test_first_problem_in_declared_order_is_reported():
    env = {"TELEOPD_LOG_LEVEL": "loud", "TELEOPD_PUBLIC_URL": "ftp://x",
           "TELEOPD_DATABASE_URL": "mysql://h/d"}
    with pytest.raises(SettingsError, match="^TELEOPD_DATABASE_URL "):
        Settings.from_env(env)
    del env["TELEOPD_DATABASE_URL"]
    with pytest.raises(SettingsError, match="^TELEOPD_PUBLIC_URL "):
        Settings.from_env(env)


POSTGRES = [
    ("postgres", f"postgres://opd:{PASSWORD}@db:5432/opd",
     f"postgresql+psycopg://opd:{PASSWORD}@db:5432/opd"),
    ("postgresql", "postgresql://opd@db/opd?sslmode=require",
     "postgresql+psycopg://opd@db/opd?sslmode=require"),
    ("postgresql-unix-socket", "postgresql:///opd", "postgresql+psycopg:///opd"),
    ("postgresql+psycopg", "postgresql+psycopg://db/opd", "postgresql+psycopg://db/opd"),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in POSTGRES],
                         ids=[c[0] for c in POSTGRES])
def test_postgres_urls_use_psycopg3(raw, expected):
    s = Settings.from_env({"TELEOPD_DATABASE_URL": raw})
    assert s.database_url == expected
    assert not s.is_sqlite


def test_redacted_database_url_masks_the_password():
    s = Settings.from_env({"TELEOPD_DATABASE_URL": f"postgres://opd:{PASSWORD}@db/opd"})
    assert s.redacted_database_url == "postgresql+psycopg://opd:***@db/opd"
    assert Settings.from_env({}).redacted_database_url == "sqlite:///teleopd.db"


def test_repr_hides_secrets():
    env = TWILIO | {
        "TELEOPD_DATABASE_URL": f"postgres://opd:{PASSWORD}@db/opd",
        "TELEOPD_TELEGRAM_TOKEN": TOKEN, "TELEOPD_TELEGRAM_SECRET": SECRET,
        "TELEOPD_TWILIO_SMS_FROM": "TELOPD",
        "TELEOPD_REDIS_URL": f"redis://:{PASSWORD}@cache/0",
        "TELEOPD_METRICS_TOKEN": WEB + "-metrics",
        "TELEOPD_SECRET_KEY": WEB + "-session-signing",
    }
    text = repr(Settings.from_env(env))
    for secret in (TOKEN, SECRET, AUTH, WEB, PASSWORD, WEB + "-metrics", WEB + "-session-signing"):
        assert secret not in text
    assert "TELOPD" in text


FULL = TWILIO | {
    "TELEOPD_TELEGRAM_TOKEN": TOKEN, "TELEOPD_TELEGRAM_SECRET": SECRET,
    "TELEOPD_TWILIO_WHATSAPP_FROM": WA, "TELEOPD_TWILIO_SMS_FROM": "+14155550100",
}

STATUS = [
    ("nothing-configured", {}, [
        "telegram: off (TELEOPD_TELEGRAM_TOKEN not set)",
        "whatsapp: off (TELEOPD_TWILIO_WHATSAPP_FROM not set)",
        "sms: off (TELEOPD_TWILIO_SMS_FROM not set)",
        "local web chat and terminal chat: on",
    ]),
    ("everything-configured", FULL, [
        "telegram: on (bot 123456789)",
        "whatsapp: on (from whatsapp:+14155238886)",
        "sms: on (from +14155550100)",
        "local web chat and terminal chat: on",
    ]),
    ("telegram-without-webhook-secret", {"TELEOPD_TELEGRAM_TOKEN": TOKEN}, [
        "telegram: on (bot 123456789; webhook off: TELEOPD_TELEGRAM_SECRET not set, "
        "so updates come only through `teleopd telegram poll`)",
        "whatsapp: off (TELEOPD_TWILIO_WHATSAPP_FROM not set)",
        "sms: off (TELEOPD_TWILIO_SMS_FROM not set)",
        "local web chat and terminal chat: on",
    ]),
    ("whatsapp-only-with-fake-telegram-api",
     TWILIO | {"TELEOPD_TWILIO_WHATSAPP_FROM": "+14155238886",
               "TELEOPD_TELEGRAM_SECRET": SECRET,
               "TELEOPD_TELEGRAM_API_URL": "http://127.0.0.1:8081/bot"}, [
        "telegram: off (TELEOPD_TELEGRAM_TOKEN not set)",
        "whatsapp: on (from whatsapp:+14155238886)",
        "sms: off (TELEOPD_TWILIO_SMS_FROM not set)",
        "local web chat and terminal chat: on",
    ]),
]


@pytest.mark.parametrize(("env", "lines"), [c[1:] for c in STATUS], ids=[c[0] for c in STATUS])
def test_channel_status_lines(env, lines):
    s = Settings.from_env(env)
    assert s.channel_status_lines() == lines
    assert s.telegram_enabled == lines[0].startswith("telegram: on")
    assert s.telegram_webhook_enabled == (s.telegram_enabled and "webhook off" not in lines[0])
    assert s.whatsapp_enabled == lines[1].startswith("whatsapp: on")
    assert s.sms_enabled == lines[2].startswith("sms: on")
    for line in s.channel_status_lines():
        assert TOKEN not in line and AUTH not in line and SECRET not in line


def test_status_line_names_a_non_default_telegram_api():
    env = {"TELEOPD_TELEGRAM_TOKEN": TOKEN, "TELEOPD_TELEGRAM_SECRET": SECRET,
           "TELEOPD_TELEGRAM_API_URL": "http://127.0.0.1:8081/bot"}
    assert Settings.from_env(env).channel_status_lines()[0] == (
        "telegram: on (bot 123456789, API http://127.0.0.1:8081/bot)"
    )


def test_the_table_fills_every_setting_once_and_each_example_is_accepted(tmp_path):
    """bot/platform/settings_table.py: one row per field, and the example it shows is a value its rule takes."""
    fields = [row.field for row in SETTINGS if row.field is not None]
    assert sorted(fields) == sorted(Settings.__dataclass_fields__)
    assert len({row.env for row in SETTINGS}) == len(SETTINGS)
    for row in SETTINGS:
        if row.field is None:  # retired: any value is refused
            with pytest.raises(SettingsError, match=f"^{row.env} must "):
                row.parse(row.example or "x", row)
            continue
        example = str(tmp_path / row.example) if row.field.endswith("_file") else row.example
        if row.field.endswith("_file"):
            (tmp_path / row.example).write_text("{}")
        assert row.parse(example, row) is not None, row.env
        assert row.rule.startswith(("be ", "name ")), row.env
