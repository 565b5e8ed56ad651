"""Sending to Telegram through python-telegram-bot, and PTB's errors mapped to SendError.

`TelegramChannel` sends from the outbox worker's threads through Bots that each live on a
long-lived event loop (bot/channels/telegram/loops.py says why, and why a few). It also
registers the webhook and long-polls getUpdates for `teleopd telegram`, which hands each
update to the same path as the webhook.

Telegram rules applied here are cited where they are applied; the Bot API reference is
https://core.telegram.org/bots/api.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import (
    OutgoingDocument,
    OutgoingMessage,
    PermanentError,
    RateLimited,
    RecipientOptedOut,
    SendError,
    SendResult,
    TemporaryError,
)
from bot.channels.telegram.loops import LOOPS, BotLoops
from bot.channels.telegram.parse import ALLOWED_UPDATES, NAME
from bot.channels.telegram.render import Part, render
from bot.platform.config import Settings
from bot.platform.ratelimit import Limit, RateLimiter

log = logging.getLogger(__name__)

# Telegram: getMe, sendMessage and answerCallbackQuery answer within these; long polls get
# their own client whose read timeout is the poll's timeout plus this.
READ_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 30.0
# The most connections one event loop's Bot keeps to the Bot API, one request each at a time.
# A pool opens connections only as requests need them, so a loop's pool holds about as many as
# the threads that use it (bot/channels/telegram/loops.py spreads them); the limit is as many as
# the outbox's Telegram lane has threads, so a slow Bot API never makes a send wait for a
# connection (pool_timeout) and fail for it.
CONNECTIONS = 32
# A first part whose chat opens within this long waits for it in the thread; longer, it is deferred.
CHAT_HOLD_S = 0.05
# Telegram: about one message a second in one chat (the FAQ below); rows put back for a chat are spaced so.
CHAT_PER_SECOND = 1
CHAT_SPACING_S = 1.0 / CHAT_PER_SECOND
# Later parts of a split message wait this long at most for the chat's 1 message a second.
PART_WAIT_S = 5.0
# A document's caption (sendDocument): at most 1024 characters; an upload may take longer than a text.
MAX_CAPTION = 1024
UPLOAD_TIMEOUT_S = 20.0
# sendPhoto takes photos of up to 10 MB (https://core.telegram.org/bots/api#sendphoto); a larger
# one goes as a document, as it came.
MAX_PHOTO_BYTES = 10 * 1024 * 1024

T = TypeVar("T")


def send_error(exc: TelegramError, token: str | None = None) -> SendError:
    """Return the SendError a PTB error means for the outbox worker, without the token in it."""
    text = str(exc)
    if token:
        # PTB's InvalidToken message quotes the token; an HTTP library's may quote the URL.
        text = text.replace(token, "<token>")
    if isinstance(exc, RetryAfter):
        # Telegram: 429 with parameters.retry_after, https://core.telegram.org/bots/faq
        return TemporaryError(f"Telegram flood control: {text}", code="429", retry_after=_retry_after_seconds(exc))
    if isinstance(exc, Forbidden):
        # "bot was blocked by the user", "user is deactivated": they cannot be reached.
        return RecipientOptedOut(text, code="403")
    if isinstance(exc, InvalidToken):
        log.error("Telegram refused the bot token: check TELEOPD_TELEGRAM_TOKEN (%s)", text)
        return PermanentError(f"channel configuration: {text}", code="invalid_token")
    if isinstance(exc, BadRequest):
        # "chat not found" (never started the bot, or a wrong id), "message is too long", …
        return PermanentError(text, code="400")
    if isinstance(exc, ChatMigrated):
        return PermanentError(text, code="chat_migrated")
    if isinstance(exc, TimedOut):
        return TemporaryError(text, code="timeout")
    if isinstance(exc, Conflict):
        return TemporaryError(text, code="409")
    if isinstance(exc, NetworkError):  # connection trouble and 5xx
        return TemporaryError(text, code="network")
    return TemporaryError(text, code="telegram")


def _retry_after_seconds(exc: RetryAfter) -> float:
    # PTB 22 gives an int (with a deprecation warning) or, with PTB_TIMEDELTA=true, a
    # timedelta. catch_warnings is process-wide; at worst another thread's warning is lost.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    return max(seconds, 1.0)


class TelegramChannel:
    """Sends messages and answers button presses through the Telegram Bot API."""

    name = NAME

    def __init__(
        self,
        token: str,
        limiter: RateLimiter,
        base_url: str = "https://api.telegram.org/bot",
        messages_per_second: int = 30,
        loops: int = LOOPS,
    ):
        self._token = token
        self._base_url = base_url
        self.limiter = limiter
        self.messages_per_second = messages_per_second
        self._loops = BotLoops(self._make_bot, loops)
        # Parts already sent of a split message whose later part failed: a retry goes on
        # from there instead of sending the first parts again (outbox id → parts, first id).
        self._progress: OrderedDict[int, tuple[int, str]] = OrderedDict()
        self._progress_lock = threading.Lock()  # the worker sends to several chats side by side

    @classmethod
    def from_settings(cls, settings: Settings, limiter: RateLimiter) -> TelegramChannel:
        """Return the channel for these settings (Telegram must be on)."""
        assert settings.telegram_token is not None
        return cls(settings.telegram_token, limiter, settings.telegram_api_url, settings.telegram_mps)

    @property
    def bot_id(self) -> str:
        """Return the bot's public numeric id (the part of the token before ':')."""
        return self._token.partition(":")[0]

    def send(self, address: str, message: OutgoingMessage, outbox_id: int) -> SendResult:
        """Send a message, split at Telegram's length limit, its keyboard on the last part."""
        chat_id = _chat_id(address)
        parts = render(message)
        if not parts:
            raise PermanentError("Telegram cannot send an empty message", code="empty")
        if message.document is not None and len(parts) == 1 and len(parts[0].text) <= MAX_CAPTION:
            # The text as the document's caption: one message, its buttons under the file.
            try:
                return self._send_document(chat_id, message.document, parts[0], patient=False)
            except PermanentError as exc:
                if not _text_can_go_alone(message.document, exc):
                    raise
                log.warning("Telegram refused a patient's file for chat %s (%s): its notice goes as text", chat_id, exc)
                # Now, waiting for the chat's turn: put back, the row would try the file again.
                self._acquire(chat_id, patient=True)
                sent = self._call(lambda bot: bot.send_message(chat_id, parts[0].text, reply_markup=parts[0].markup))
                return SendResult(provider_id=str(sent.message_id))
        self._started()  # getMe on first use, before a place at the rate limiter is taken
        with self._progress_lock:
            start, first_id = self._progress.pop(outbox_id, (0, ""))
        for index in range(start, len(parts)):
            try:
                self._acquire(chat_id, patient=index > start)
                sent = self._call(lambda bot, p=parts[index]: bot.send_message(chat_id, p.text, reply_markup=p.markup))
            except SendError:
                if index > 0:
                    self._remember(outbox_id, index, first_id)
                raise
            first_id = first_id or str(sent.message_id)
        if message.document is not None:  # a text too long for a caption goes first, then the file
            try:
                self._send_document(chat_id, message.document, None, patient=True)
            except SendError as exc:
                if isinstance(exc, PermanentError) and _text_can_go_alone(message.document, exc):
                    log.warning("Telegram refused a patient's file for chat %s (%s): its notice went as text", chat_id, exc)
                    return SendResult(provider_id=first_id, parts=len(parts))
                self._remember(outbox_id, len(parts), first_id)  # a retry sends the file only
                raise
            return SendResult(provider_id=first_id, parts=len(parts) + 1)
        return SendResult(provider_id=first_id, parts=len(parts))

    def _send_document(self, chat_id: int, document: OutgoingDocument, caption: Part | None, patient: bool) -> SendResult:
        """Upload a file (multipart/form-data) by the method that shows it best, with a caption and its buttons if given."""
        # Telegram: a caption is 0-1024 characters; bots upload files of up to 50 MB
        # (https://core.telegram.org/bots/api#senddocument).
        content = document.content()
        method, field = _upload_method(document, len(content))
        self._started()
        self._acquire(chat_id, patient=patient)
        sent = self._call(
            lambda bot: getattr(bot, method)(
                chat_id, **{field: content}, filename=document.filename,
                caption=caption.text if caption else None, reply_markup=caption.markup if caption else None,
                read_timeout=UPLOAD_TIMEOUT_S, write_timeout=UPLOAD_TIMEOUT_S,
            )
        )
        return SendResult(provider_id=str(sent.message_id))

    def acknowledge(self, address: str, payload: dict[str, Any]) -> None:
        """Answer a button press, so the user's client stops showing a progress bar."""
        query_id = payload.get("callback_query_id")
        if not isinstance(query_id, str) or not query_id:
            raise PermanentError("an ack without a callback_query_id", code="ack")
        # Not under the per-chat limit: it is no message, and the user waits on it.
        try:
            self._call(lambda bot: bot.answer_callback_query(query_id))
        except PermanentError as exc:
            if "query is too old" in str(exc) or "query id is invalid" in str(exc):
                # Telegram: a query can be answered for a short time only; the user has
                # long stopped waiting, and the replies still go.
                log.info("callback query for chat %s answered too late: %s", address, exc)
                return
            raise

    def set_webhook(self, url: str, secret: str, allowed_updates: Sequence[str] = ALLOWED_UPDATES) -> bool:
        """Point Telegram at our webhook URL (setWebhook)."""
        return self._call(
            lambda bot: bot.set_webhook(
                url, secret_token=secret, allowed_updates=list(allowed_updates), drop_pending_updates=False, max_connections=40
            )
        )

    def delete_webhook(self) -> bool:
        """Stop webhook delivery, keeping pending updates for getUpdates (deleteWebhook)."""
        return self._call(lambda bot: bot.delete_webhook(drop_pending_updates=False))

    def get_updates(
        self, offset: int | None, timeout: int, allowed_updates: Sequence[str] = ALLOWED_UPDATES,
        stop: threading.Event | None = None, limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Long-poll for updates (getUpdates) and return them as raw JSON objects.

        Returns early with nothing when `stop` is set.
        """
        future = self._submit(
            lambda bot: bot.get_updates(offset=offset, timeout=timeout, limit=limit, allowed_updates=list(allowed_updates))
        )
        deadline = time.monotonic() + timeout + CALL_TIMEOUT_S
        while True:
            try:
                updates = future.result(timeout=0.1)
                break
            except concurrent.futures.TimeoutError:
                if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
                    future.cancel()
                    return []
            except TelegramError as exc:
                raise self._error(exc) from exc
        return [update.to_dict() for update in updates]

    def close(self) -> None:
        """Close the HTTP clients and stop the event loops."""
        self._loops.close()

    def _acquire(self, chat_id: int, patient: bool) -> None:
        # Telegram: about 1 message a second in one chat and 30 a second in all,
        # https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
        limits = (Limit(f"telegram:chat:{chat_id}", CHAT_PER_SECOND), Limit("telegram:bot", self.messages_per_second))
        if not patient:
            # A chat whose second has been used: the row goes back to the outbox, due when
            # the chat's window opens, and this thread sends another chat's row meanwhile.
            # Waiting here instead held one of the lane's few threads for up to a second per
            # row, and a busy lane then sent ~8 messages a second (bench/webhook_load.py).
            wait = self.limiter.wait_for(limits[0])
            if wait > CHAT_HOLD_S:
                raise RateLimited("this chat's second is used", code="rate_limited", retry_after=wait, spacing=CHAT_SPACING_S)
        deadline = time.monotonic() + PART_WAIT_S
        while True:
            try:
                self.limiter.acquire(*limits)
                return
            except RateLimited as exc:
                # The first part goes back to the outbox; a later part waits its turn, since
                # the earlier parts already reached the user.
                wait = exc.retry_after or 0.05
                if not patient or time.monotonic() + wait > deadline:
                    raise
                time.sleep(wait)

    def _remember(self, outbox_id: int, sent_parts: int, first_id: str) -> None:
        with self._progress_lock:
            self._progress[outbox_id] = (sent_parts, first_id)
            while len(self._progress) > 1024:
                self._progress.popitem(last=False)

    def run(self, make: Callable[[Bot], Awaitable[T]], timeout: float = CALL_TIMEOUT_S) -> T:
        """Run a Bot API call on the channel's event loop (bot/media/sources.py fetches files so); raise SendError."""
        return self._call(make, timeout)

    def _call(self, make: Callable[[Bot], Awaitable[T]], timeout: float = CALL_TIMEOUT_S) -> T:
        """Run one Bot API call on the channel's event loop and wait for its result."""
        future = self._submit(make)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TemporaryError("Telegram did not answer in time", code="timeout") from None
        except TelegramError as exc:
            raise self._error(exc) from exc

    def _submit(self, make: Callable[[Bot], Awaitable[T]]) -> concurrent.futures.Future[T]:
        loop, bot = self._started()
        return asyncio.run_coroutine_threadsafe(make(bot), loop)  # type: ignore[arg-type]

    def _started(self) -> tuple[asyncio.AbstractEventLoop, Bot]:
        """Start this thread's event loop and Bot on first use (in this process) and check the token."""
        try:
            # initialize() calls getMe: a wrong token shows here, once a loop.
            return self._loops.started(CALL_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            raise TemporaryError("Telegram did not answer getMe in time", code="timeout") from None
        except TelegramError as exc:
            raise self._error(exc) from exc

    def _make_bot(self) -> Bot:
        _quiet_http_logs()
        return Bot(
            self._token,
            base_url=self._base_url,
            # Files are downloaded from <API host>/file/bot<token>/<file_path>
            # (https://core.telegram.org/bots/api#getfile), beside the API's /bot<token>/.
            base_file_url=file_base_url(self._base_url),
            request=HTTPXRequest(connection_pool_size=CONNECTIONS, read_timeout=READ_TIMEOUT_S, pool_timeout=5.0),
            get_updates_request=HTTPXRequest(connection_pool_size=2, read_timeout=READ_TIMEOUT_S),
        )

    def _error(self, exc: TelegramError) -> SendError:
        return send_error(exc, self._token)


def file_base_url(base_url: str) -> str:
    """Return the file download URL beside an API URL ("https://api.telegram.org/bot" → ".../file/bot")."""
    head, sep, _ = base_url.rstrip("/").rpartition("/bot")
    return f"{head}/file/bot" if sep else base_url.rstrip("/") + "/file/bot"


def _chat_id(address: str) -> int:
    try:
        return int(address)
    except ValueError:
        raise PermanentError("not a Telegram chat id", code="address") from None


def _quiet_http_logs() -> None:
    # httpx logs every request URL at INFO, and the bot token is in the URL's path; PTB logs
    # request parameters (message texts, phone numbers) at DEBUG.
    for name in ("httpx", "httpcore", "telegram"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


def _upload_method(document: OutgoingDocument, size: int) -> tuple[str, str]:
    """Return the Bot method and its file parameter for a document: a patient's photo or voice note shows as one.

    Telegram (https://core.telegram.org/bots/api#sendvoice): a voice message is an OGG file
    encoded with OPUS; sendAudio plays MP3 and M4A; anything else (AMR, a PDF) is a document.
    """
    if document.media_kind == "photo" and document.mime_type.startswith("image/") and size <= MAX_PHOTO_BYTES:
        return "send_photo", "photo"
    if document.mime_type == "audio/ogg":
        return "send_voice", "voice"
    if document.mime_type == "audio/mp4":
        return "send_audio", "audio"
    return "send_document", "document"


def _text_can_go_alone(document: OutgoingDocument, exc: PermanentError) -> bool:
    """Return whether a refused upload still lets its text go: a patient's file whose notice has its link.

    Telegram may refuse a file it cannot show as sent (a voice note that is Ogg but not Opus,
    a photo's dimensions): the doctor still gets the notice, whose link opens the file. Our
    own documents (an e-prescription) are the message: they fail as they are.
    """
    return document.media_kind is not None and not exc.opted_out
