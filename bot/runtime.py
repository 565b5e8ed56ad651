"""The composition root: builds the runtime's parts once, for the web app and the worker alike."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.channels.base import ChannelAdapter
from bot.channels.local import LocalChannel, LocalSmsChannel
from bot.dispatch import Dispatcher
from bot.media.fetcher import MediaFetcher
from bot.media.links import MediaLinks
from bot.media.sources import MediaSource, TelegramFiles, TwilioMedia
from bot.media.storage import FolderStorage, Storage
from bot.outbox.documents import Documents, KeptFiles
from bot.outbox.timers import TimerRunner
from bot.outbox.worker import OutboxWorker
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.platform.ratelimit import RateLimiter
from bot.services.broadcast_sender import BroadcastSender
from bot.services.calls import timer_handlers as call_handlers
from bot.services.erasure import TIMER_HANDLERS as ERASURE_TIMER_HANDLERS
from bot.services.inbox import TIMER_HANDLERS as INBOX_TIMER_HANDLERS
from bot.services.media import MediaLimits
from bot.services.operators import shared_secret_key
from bot.services.pings import TIMER_HANDLERS as PING_TIMER_HANDLERS
from bot.services.prescriptions import Prescriptions
from bot.services.reminders import ReminderPolicy
from bot.services.reminders import timer_handlers as reminder_handlers
from bot.store.db import Database


@dataclass
class Services:
    """Everything a process of teleopd needs, wired together."""

    settings: Settings
    db: Database
    catalogs: Catalogs
    channels: dict[str, ChannelAdapter]
    dispatcher: Dispatcher
    worker: OutboxWorker
    timers: TimerRunner
    # Send rates shared by every worker (through Redis when TELEOPD_REDIS_URL is set).
    limiter: RateLimiter
    # Set by the dispatcher after a commit that queued messages; an in-process worker waits on it.
    outbox_signal: threading.Event = field(default_factory=threading.Event)
    # Fetches the photos, documents and voice notes webhooks recorded (bot/media/fetcher.py).
    media: MediaFetcher | None = None
    # E-prescriptions: their PDFs and signed links, for the worker and GET /rx/<link>.
    prescriptions: Prescriptions | None = None
    # Expands and queues the broadcasts being sent, paced (bot/services/broadcast_sender.py).
    broadcasts: BroadcastSender | None = None

    def close(self) -> None:
        """Close the provider clients (their connections and event loops) and the database pool."""
        for adapter in self.channels.values():
            close = getattr(adapter, "close", None)
            if close is not None:
                close()
        self.db.dispose()

    def start_background(self, stop: threading.Event, *, send: bool = True, listen: bool = False) -> Background:
        """Start the threads that work beside a request loop: timers, and the outbox worker.

        `send` runs the outbox worker in a thread (`teleopd serve`, `teleopd telegram poll`);
        `teleopd worker` runs it in its own main thread instead. `listen` wakes the worker on
        PostgreSQL's NOTIFY from the web processes' commits (bot/store/db.py listen_outbox).
        """
        targets: list[tuple[str, Callable[..., object], tuple[object, ...]]] = [("timers", self.timers.run, (stop,))]
        if self.media is not None:
            targets.append(("media-fetcher", self.media.run, (stop,)))
        if self.broadcasts is not None:
            targets.append(("broadcasts", self.broadcasts.run, (stop,)))
        if send:
            targets.append(("outbox-worker", self.worker.run, (stop, self.outbox_signal)))
        if listen:
            targets.append(("outbox-listener", self.db.listen_outbox, (self.outbox_signal, stop)))
        threads = [threading.Thread(target=target, args=args, name=name, daemon=True) for name, target, args in targets]
        for thread in threads:
            thread.start()
        return Background(stop, self.outbox_signal, threads)


@dataclass
class Background:
    """The background threads of one process, stopped together."""

    stop: threading.Event
    outbox_signal: threading.Event
    threads: list[threading.Thread]

    def join(self, timeout: float = 5) -> None:
        """Stop the threads (waking a worker that waits for messages) and wait for them."""
        self.stop.set()
        self.outbox_signal.set()
        for thread in self.threads:
            if thread.is_alive():
                thread.join(timeout=timeout)


def channel_registry(settings: Settings, limiter: RateLimiter) -> dict[str, ChannelAdapter]:
    """Return the adapter of every channel that is on (an explicit registry)."""
    channels: dict[str, ChannelAdapter] = {LocalChannel.name: LocalChannel()}
    # The provider adapters are imported here, when their channel is on: a process without
    # them (the worker of a clinic on the web chat, the CLI commands) never loads python-telegram-bot or twilio.
    if settings.telegram_enabled:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel.from_settings(settings, limiter)
    if settings.whatsapp_enabled or settings.sms_enabled:
        from bot.channels.twilio import TwilioChannel

        for name, enabled in (("whatsapp", settings.whatsapp_enabled), ("sms", settings.sms_enabled)):
            if enabled:
                channels[name] = TwilioChannel.from_settings(settings, name, limiter)
    if settings.voice_enabled and settings.twilio_voice_from is not None:
        from bot.channels.voice import VoiceChannel

        # "The doctor is ready" as a phone call, for patients who asked for one (bot/services/voice.py).
        channels[VoiceChannel.name] = VoiceChannel.from_settings(settings, limiter)
    if not settings.sms_enabled:
        # Walk-in patients booked by health workers get SMS; until Twilio SMS is configured a
        # local stand-in takes them, so their texts still go through the outbox.
        channels[LocalSmsChannel.name] = LocalSmsChannel()
    return channels


def media_fetcher(settings: Settings, db: Database, channels: dict[str, ChannelAdapter], links: MediaLinks,
                  limits: MediaLimits, signal: threading.Event) -> MediaFetcher:
    """Return the media fetcher, with a source for each channel that is on and carries files."""
    sources: dict[str, MediaSource] = {}
    telegram = channels.get("telegram")
    if telegram is not None:
        sources["telegram"] = TelegramFiles(telegram)  # type: ignore[arg-type]
    if settings.twilio_account_sid and settings.twilio_auth_token:
        twilio = TwilioMedia(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_url or "https://api.twilio.com")
        sources.update({name: twilio for name in ("whatsapp", "sms") if name in channels})
    return MediaFetcher(db, sources, media_storage(settings), links, limits, outbox_signal=signal)


def media_storage(settings: Settings) -> Storage:
    """Return where patients' files are kept: an S3-compatible bucket (s3://…) or a folder."""
    if settings.media_storage.startswith("s3://"):
        # boto3 is loaded only where object storage is configured.
        from bot.media.s3 import S3Storage

        return S3Storage(settings.media_storage, settings.media_s3_endpoint)
    return FolderStorage(settings.media_storage)


def build_services(settings: Settings, db: Database | None = None, catalogs: Catalogs | None = None) -> Services:
    """Build the database, catalogs, dispatcher and worker for these settings."""
    db = db or Database(settings.database_url)
    catalogs = catalogs or Catalogs()
    limiter = RateLimiter(settings.redis_url)
    channels = channel_registry(settings, limiter)
    signal = threading.Event()
    # Signed with TELEOPD_SECRET_KEY, or the key kept in the database (read on first use).
    links = MediaLinks(settings.public_url or "", lambda: settings.secret_key or shared_secret_key(db))
    limits = MediaLimits(settings.media_max_mb * 1024 * 1024, settings.media_max_per_visit)
    reminders = ReminderPolicy.from_settings(settings)
    dispatcher = Dispatcher(
        db, catalogs, default_language=settings.default_language, outbox_signal=signal,
        video_base_url=settings.video_base_url, call_window=dt.timedelta(seconds=settings.call_window_seconds),
        danger_escalation_minutes=settings.danger_escalation_minutes,
        follow_up_grace=dt.timedelta(minutes=settings.follow_up_grace_minutes),
        inbound_per_minute=settings.inbound_per_minute, limiter=limiter, public_url=settings.public_url,
        voice_calls=settings.voice_enabled and settings.twilio_voice_from is not None,
        media_limits=limits, media_links=links, reminders=reminders,
        inbox_hours=(settings.inbox_opens_hour, settings.inbox_closes_hour),
        advisories_per_month=settings.advisories_per_month,
    )
    prescriptions = Prescriptions(db, catalogs, settings.public_url, settings.secret_key)
    media = media_fetcher(settings, db, channels, links, limits, signal)
    # The doctor's notice of a patient's file carries the file (bot/outbox/documents.py).
    documents = Documents(prescriptions, KeptFiles(db, media.storage, links))
    worker = OutboxWorker(
        db, catalogs, channels, claim_timeout=dt.timedelta(seconds=settings.claim_timeout_seconds), documents=documents,
    )
    timers = TimerRunner(
        db, {**call_handlers(reminders), **ERASURE_TIMER_HANDLERS, **PING_TIMER_HANDLERS, **reminder_handlers(reminders),
        **INBOX_TIMER_HANDLERS}, outbox_signal=signal,
    )
    broadcasts = BroadcastSender(
        db, settings.broadcast_per_second, settings.quiet_hours, outbox_signal=signal, per_month=settings.advisories_per_month,
    )
    return Services(
        settings, db, catalogs, channels, dispatcher, worker, timers, limiter, signal, media, prescriptions=prescriptions, broadcasts=broadcasts,
    )
