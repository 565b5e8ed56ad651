"""`teleopd telegram set-webhook URL` and `teleopd telegram poll`.

Registered in bot/cli/main.py's parser with ``add_telegram_parser(commands)``.

- set-webhook: production. Tells Telegram to POST updates to URL (our /webhooks/telegram)
  with the configured secret in X-Telegram-Bot-Api-Secret-Token.
- poll: development, without a public https URL. Deletes the webhook, long-polls getUpdates
  and takes each update the webhook's way (the adapter parses it, bot/inbound.py
  receives it), with the outbox worker and timers running in this process, until Ctrl-C or
  SIGTERM.

Like every command module, this one imports what a command needs when it runs (the
adapter, the database, the web app's receive), so that `teleopd --help` and the other
commands do not load them (bot/cli/__init__.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import threading
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from bot.channels.base import Malformed, SendError
from bot.cli.common import CommandError, open_services
from bot.platform.config import Settings
from bot.platform.logs import log_context, new_request_id

log = logging.getLogger("teleopd")

# Telegram: a long poll's timeout in seconds; it answers at once when an update is there.
DEFAULT_POLL_TIMEOUT = 30
# After a failed getUpdates (network trouble, a 5xx), wait this long before the next.
POLL_BACKOFF_S = 2.0
# --idle-exit waits for messages due this soon (a chat's next message waits a second).
IDLE_HORIZON_S = 5.0


def add_telegram_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the `telegram` command to the `teleopd` subcommands (an argparse subparsers action)."""
    telegram = commands.add_parser("telegram", help="the Telegram channel: set the webhook, or poll for development")
    sub = telegram.add_subparsers(title="telegram commands", metavar="TELEGRAM_COMMAND")
    hook = sub.add_parser("set-webhook", help="tell Telegram to send updates to URL (https, ports 443, 80, 88 or 8443)")
    hook.add_argument("url", help="the public https URL of /webhooks/telegram")
    hook.set_defaults(handler=cmd_set_webhook)
    poll = sub.add_parser("poll", help="delete the webhook and long-poll for updates, with the worker in this process")
    poll.add_argument("--timeout", type=int, default=DEFAULT_POLL_TIMEOUT, help=f"long-poll seconds (default {DEFAULT_POLL_TIMEOUT})")
    # For tests and scripts: stop after this many updates, or once a poll finds none and the
    # outbox has nothing more to send soon.
    poll.add_argument("--max-updates", type=int, default=None, help=argparse.SUPPRESS)
    poll.add_argument("--idle-exit", action="store_true", help=argparse.SUPPRESS)
    poll.set_defaults(handler=cmd_poll)
    return telegram


def _require_telegram(settings: Settings, *, webhook: bool) -> None:
    """Refuse in one line unless the bot token is set, and for the webhook its secret too."""
    if not settings.telegram_enabled:
        needed = "TELEOPD_TELEGRAM_TOKEN and TELEOPD_TELEGRAM_SECRET" if webhook else "TELEOPD_TELEGRAM_TOKEN"
        raise CommandError(f"telegram is off: set {needed}")
    if webhook and not settings.telegram_webhook_enabled:
        raise CommandError(
            "the webhook needs TELEOPD_TELEGRAM_SECRET (16-256 characters A-Z a-z 0-9 _ -, e.g. from: openssl rand -hex 32), "
            "which Telegram sends back on every call"
        )


def _webhook_url(url: str) -> str:
    """Return the URL if Telegram can call it, or raise CommandError saying why not."""
    # Loaded when the command runs (bot/cli/__init__.py says why): python-telegram-bot is large.
    from telegram.constants import SUPPORTED_WEBHOOK_PORTS

    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError:
        raise CommandError(f"not a URL: {url!r}") from None
    # Telegram: webhooks are https only, on ports 443, 80, 88 or 8443,
    # https://core.telegram.org/bots/api#setwebhook
    if parts.scheme != "https" or not parts.hostname:
        raise CommandError(f"Telegram calls https URLs only, such as https://teleopd.example.org/webhooks/telegram, not {url!r}")
    if port not in SUPPORTED_WEBHOOK_PORTS:
        raise CommandError(f"Telegram calls ports {', '.join(map(str, SUPPORTED_WEBHOOK_PORTS))} only, not {port}")
    return url


def cmd_set_webhook(settings: Settings, args: argparse.Namespace) -> int:
    """Register the webhook URL with Telegram, with our secret and the update kinds we handle."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.channels.telegram import ALLOWED_UPDATES, TelegramChannel
    from bot.platform.ratelimit import RateLimiter

    _require_telegram(settings, webhook=True)
    url = _webhook_url(args.url)
    assert settings.telegram_secret is not None
    channel = TelegramChannel.from_settings(settings, RateLimiter())
    try:
        channel.set_webhook(url, settings.telegram_secret, ALLOWED_UPDATES)
    except SendError as exc:
        raise CommandError(f"Telegram refused the webhook: {exc}") from exc
    finally:
        channel.close()
    print(f"webhook of bot {channel.bot_id} set to {url} for {', '.join(ALLOWED_UPDATES)} updates, with the secret token")
    return 0


def cmd_poll(settings: Settings, args: argparse.Namespace) -> int:
    """Poll Telegram for updates and handle them here, with the worker, until stopped."""
    _require_telegram(settings, webhook=False)  # polling needs no webhook secret
    if not 0 <= args.timeout <= 50:
        raise CommandError("--timeout takes a number of seconds from 0 to 50")
    services = open_services(settings)
    channel = services.channels["telegram"]
    stop = threading.Event()
    previous = _on_signals(stop)
    background = None
    try:
        try:
            channel.delete_webhook()  # Telegram: getUpdates does not work while a webhook is set
        except SendError as exc:
            raise CommandError(f"cannot delete the webhook: {exc}") from exc
        background = services.start_background(stop)  # the timers and the outbox worker, in threads
        log.info("polling Telegram for updates (Ctrl-C to stop)")
        handled = poll_updates(services, channel, stop, timeout=args.timeout, max_updates=args.max_updates, idle_exit=args.idle_exit)
        log.info("handled %d updates", handled)
    finally:
        stop.set()
        if background is not None:
            background.join()
        _restore_signals(previous)
    channel.close()
    return 0


def poll_updates(
    services: Any, channel: Any, stop: threading.Event, timeout: int = DEFAULT_POLL_TIMEOUT,
    max_updates: int | None = None, idle_exit: bool = False,
) -> int:
    """Long-poll getUpdates and take each update the webhook's way (parse, then receive); return how many."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.channels.telegram import ALLOWED_UPDATES, NAME, parse_update
    from bot.inbound import receive
    from bot.platform.metrics import count_rejected

    offset: int | None = None
    handled = 0
    while not stop.is_set() and (max_updates is None or handled < max_updates):
        try:
            updates = channel.get_updates(offset, timeout, ALLOWED_UPDATES, stop=stop)
        except SendError as exc:
            if not exc.retryable:
                log.error("getUpdates failed: %s", exc)
                break
            log.warning("getUpdates failed, trying again: %s", exc)
            stop.wait(exc.retry_after or POLL_BACKOFF_S)
            continue
        if not updates and idle_exit and _outbox_settled(services):
            break
        for update in updates:
            update_id = update.get("update_id")
            if isinstance(update_id, int):
                # Telegram: a later getUpdates with a higher offset confirms this update.
                offset = update_id + 1 if offset is None else max(offset, update_id + 1)
            # Each update gets a request id, as a webhook call does, for every line it logs.
            with log_context(request_id=new_request_id()):
                try:
                    receipt = receive(services.dispatcher, NAME, parse_update(update), f"update {update_id}")
                except Malformed as exc:
                    count_rejected(NAME, 400)
                    log.warning("telegram update %s not understood: %s", update_id, exc)
                    continue
                except Exception:  # one update must not end the poll; its retry would repeat it
                    log.exception("telegram update %s failed", update_id)
                    continue
                log.debug("telegram update %s: %s", update_id, receipt.status)
            handled += 1
            if max_updates is not None and handled >= max_updates:
                break
    if offset is not None:
        try:
            channel.get_updates(offset, 0, ALLOWED_UPDATES, limit=1)  # confirm what was handled
        except SendError as exc:
            log.warning("could not confirm the last updates (they will be seen again, and deduplicated): %s", exc)
    return handled


def _outbox_settled(services: Any) -> bool:
    """Tell whether no Telegram message is waiting to be sent within the next few seconds."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.channels.telegram import NAME
    from bot.store.models import OutboxMessage, OutboxStatus, utcnow

    soon = utcnow() + dt.timedelta(seconds=IDLE_HORIZON_S)
    with services.db.read() as session:
        waiting = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.channel == NAME,
                OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
                OutboxMessage.due_at <= soon,
            )
        )
    return not waiting


def _on_signals(stop: threading.Event) -> dict[int, Any]:
    """Make SIGINT and SIGTERM stop the poll; return the handlers they had."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda *_: stop.set())
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
