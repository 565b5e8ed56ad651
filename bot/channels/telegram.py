"""The Telegram channel: parse updates, give messages their Telegram form, send them.

Inbound, the webhook (webhooks/telegram.py) and `teleopd telegram poll` both hand each raw
update to `handle_update`, which parses it with python-telegram-bot's `Update.de_json` and
dispatches it. Outbound, `TelegramChannel` sends through one `telegram.Bot` driven from one
long-lived event loop in a daemon thread: PTB is asyncio and the outbox worker is not, and
one Bot reused across `asyncio.run()` calls fails once a connection was kept alive
(PROVIDERS.md §A2).

Telegram rules applied here are cited where they are applied; the Bot API reference is
https://core.telegram.org/bots/api.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import (
    ChatType,
    InlineKeyboardButtonLimit,
    InlineKeyboardMarkupLimit,
    MessageLimit,
)
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

from bot.channels import splitting
from bot.channels.base import (
    Ignored,
    InboundMessage,
    Malformed,
    OutgoingChoice,
    OutgoingMessage,
    PermanentError,
    RateLimited,
    RecipientOptedOut,
    SendError,
    SendResult,
    TemporaryError,
)
from bot.platform.phones import e164
from bot.platform.ratelimit import Limit, RateLimiter
from bot.services.identities import set_opted_out

if TYPE_CHECKING:
    from bot.platform.config import Settings
    from bot.runtime import Services

log = logging.getLogger(__name__)

NAME = "telegram"
# The update kinds we handle; `teleopd telegram set-webhook` and `poll` ask for these only.
# Edited messages are asked for so that they can be answered 200 and logged as ignored.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Telegram: 4096 characters per message, https://core.telegram.org/bots/api#sendmessage
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
# Telegram: callback_data is 1-64 bytes, https://core.telegram.org/bots/api#inlinekeyboardbutton
MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
# PTB's limits for an inline keyboard: 100 buttons, 8 to a row.
MAX_BUTTONS = InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER
MAX_PER_ROW = InlineKeyboardMarkupLimit.BUTTONS_PER_ROW
# Labels up to this long sit two to a row on a phone; longer ones get a row each.
SHORT_LABEL = 16
# Put before the share-contact button's words (from the catalogs): a symbol every reader knows.
CONTACT_BUTTON_LABEL = "📱"

# Kinds of message content we cannot read; the flows answer them kindly (kind reply).
# `venue` before `location`: a venue carries a location too.
MEDIA_KINDS = (
    "photo", "sticker", "voice", "video", "video_note", "audio", "animation", "document",
    "venue", "location", "dice", "poll", "game", "story",
)
# Telegram: getMe, sendMessage and answerCallbackQuery answer within these; long polls get
# their own client whose read timeout is the poll's timeout plus this.
READ_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 30.0
# A first part whose chat opens within this long waits for it in the thread; longer, it is deferred.
CHAT_HOLD_S = 0.05
# Later parts of a split message wait this long at most for the chat's 1 message a second.
PART_WAIT_S = 5.0
_INT64 = 2**63

T = TypeVar("T")


# --- Inbound -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MembershipChange:
    """The user blocked the bot (kicked it) or let it back in (my_chat_member)."""

    address: str
    opted_out: bool
    at: dt.datetime


@dataclass(frozen=True)
class UpdateOutcome:
    """What became of one update, as the webhook answers it."""

    status: str  # handled, duplicate, ignored
    reason: str | None = None

    def to_json(self) -> dict[str, str]:
        """Return the webhook's JSON answer."""
        return {"status": self.status, **({"reason": self.reason} if self.reason else {})}


def handle_update(services: Services, data: object) -> UpdateOutcome:
    """Parse one raw update and act on it: dispatch a message, record a block, or ignore it.

    Raises Malformed for a body that is not a Telegram update.
    """
    parsed = parse_update(data)
    update_id = data["update_id"]  # type: ignore[index]  # checked by parse_update
    if isinstance(parsed, Ignored):
        log.info("telegram update %s ignored: %s", update_id, parsed.reason)
        return UpdateOutcome("ignored", parsed.reason)
    if isinstance(parsed, MembershipChange):
        set_opted_out(services.db, NAME, parsed.address, parsed.opted_out, parsed.at)
        return UpdateOutcome("handled", "blocked" if parsed.opted_out else "unblocked")
    outcome = services.dispatcher.dispatch(parsed)
    return UpdateOutcome(outcome.result.value)


def parse_update(data: object) -> InboundMessage | MembershipChange | Ignored:
    """Return what a raw update means to us, or raise Malformed."""
    if not isinstance(data, dict):
        raise Malformed("an update is a JSON object")
    update_id = _int(data.get("update_id"), "update_id")
    try:
        update = Update.de_json(data, bot=None)
    except Exception as exc:  # PTB raises TypeError, KeyError, ValueError… on a bad shape
        raise Malformed(f"not a Telegram update ({type(exc).__name__})") from None
    try:
        if update.message is not None:
            return _from_message(update.message, update_id)
        if update.callback_query is not None:
            return _from_callback(update, update_id)
        if update.my_chat_member is not None:
            return _from_membership(update)
    except (AttributeError, TypeError, ValueError) as exc:  # fields of the wrong type
        raise Malformed(f"not a Telegram update ({exc.__class__.__name__})") from None
    kinds = [key for key in data if key != "update_id"]
    if not kinds:
        return Ignored("no update kind")
    if kinds[0] not in Update.ALL_TYPES:
        return Ignored("unknown update kind")
    return Ignored(kinds[0].replace("_", " "))


def _from_message(message: Any, update_id: int) -> InboundMessage | Ignored:
    chat = message.chat
    if chat.type != ChatType.PRIVATE:
        return Ignored("group chat")
    address = str(_int(chat.id, "chat.id"))
    base = {"channel": NAME, "address": address, "provider_id": str(update_id), "can_share_contact": True}
    text = _text(message.text, "text")
    if text is not None:
        return InboundMessage(**base, text=text, kind="text")
    if message.contact is not None:
        return _from_contact(message, base)
    caption = _text(message.caption, "caption") or ""
    for kind in MEDIA_KINDS:
        if getattr(message, kind, None):
            # Text-less: the flows answer "I can only read text messages" and ask again.
            return InboundMessage(**base, text=caption, kind=kind)
    return Ignored("service message")


def _from_contact(message: Any, base: dict[str, Any]) -> InboundMessage:
    contact, sender = message.contact, message.from_user
    # Telegram: a contact is anyone's card; only the sender's own (user_id == from.id) is a
    # number Telegram vouches for (PROVIDERS.md §A4).
    own = sender is not None and contact.user_id is not None and contact.user_id == sender.id
    phone = _contact_e164(contact.phone_number) if own else None
    if phone is None:
        # Text-less, so the flow asks again for the patient's own number.
        return InboundMessage(**base, kind="contact_other")
    return InboundMessage(**base, kind="contact", contact_phone=phone)


def _from_callback(update: Update, update_id: int) -> InboundMessage | Ignored:
    query = update.callback_query
    assert query is not None
    data = _text(query.data, "callback_query.data")
    if data is None:
        return Ignored("callback without data")  # a game's button: not ours
    if query.message is not None:
        if query.message.chat.type != ChatType.PRIVATE:
            return Ignored("group chat")
        chat_id = query.message.chat.id
    else:
        # The message is inaccessible (too old, or an inline message): the user's own chat.
        chat_id = query.from_user.id
    if not isinstance(query.id, str) or not query.id:
        raise Malformed("callback_query.id is not a string")
    return InboundMessage(
        channel=NAME,
        address=str(_int(chat_id, "chat.id")),
        provider_id=str(update_id),
        choice=data,
        kind="choice",
        can_share_contact=True,
        # Telegram: clients show a progress bar until answerCallbackQuery is called,
        # https://core.telegram.org/bots/api#answercallbackquery
        ack={"callback_query_id": query.id},
    )


def _from_membership(update: Update) -> MembershipChange | Ignored:
    change = update.my_chat_member
    assert change is not None
    if change.chat.type != ChatType.PRIVATE:
        return Ignored("group chat")
    status = change.new_chat_member.status
    # Telegram: in a private chat the bot is "kicked" when the user blocks it and a "member"
    # again when they unblock it, https://core.telegram.org/bots/api#chatmemberupdated
    if status not in ("kicked", "member"):
        return Ignored(f"chat member {status}")
    at = change.date if isinstance(change.date, dt.datetime) else dt.datetime.now(dt.UTC)
    return MembershipChange(str(_int(change.chat.id, "chat.id")), opted_out=status == "kicked", at=at)


def _int(value: object, what: str) -> int:
    if type(value) is not int or not -_INT64 < value < _INT64:
        raise Malformed(f"{what} is not an integer")
    return value


def _text(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise Malformed(f"{what} is not a string")
    return value


def _contact_e164(number: object) -> str | None:
    """Return a shared contact's number in E.164: Telegram sends it international, sometimes without its "+"."""
    if not isinstance(number, str):
        return None
    digits = number.strip()
    return e164(digits if digits.startswith("+") else "+" + digits)


# --- Rendering -----------------------------------------------------------------------------

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True)
class Part:
    """One sendMessage: text and, on the last part only, the keyboard."""

    text: str
    markup: Markup | None = None


def render(message: OutgoingMessage) -> list[Part]:
    """Return a message as the sendMessage calls that carry it."""
    texts = split_text(message.text)
    if message.request_contact:
        markup: Markup | None = contact_keyboard(message.choices, message.contact_label)
    elif message.choices:
        markup = inline_keyboard(message.choices)
    else:
        # Stateless: a reply keyboard (the contact button) shown earlier goes away once a
        # message has no buttons of its own; without one this changes nothing.
        markup = ReplyKeyboardRemove()
    return [Part(text, markup if i == len(texts) - 1 else None) for i, text in enumerate(texts)]


def inline_keyboard(choices: Sequence[OutgoingChoice]) -> InlineKeyboardMarkup | None:
    """Return choices as an inline keyboard, leaving out any Telegram would refuse."""
    buttons = []
    for choice in choices:
        size = len(choice.key.encode("utf-8"))
        if not 1 <= size <= MAX_CALLBACK_BYTES:
            # Telegram refuses the whole message for one bad button (BUTTON_DATA_INVALID):
            # drop the button, keep the message; the flows accept the label typed as text.
            log.error("choice key of %d bytes left out: Telegram takes 1-%d bytes of callback_data", size, MAX_CALLBACK_BYTES)
            continue
        if not choice.label.strip():
            log.error("choice %r left out: it has no label", choice.key[:MAX_CALLBACK_BYTES])
            continue
        buttons.append(InlineKeyboardButton(choice.label, callback_data=choice.key))
    if len(buttons) > MAX_BUTTONS:
        log.error("%d choices: only the first %d fit an inline keyboard", len(buttons), MAX_BUTTONS)
        buttons = buttons[:MAX_BUTTONS]
    if not buttons:
        return None
    per_row = 2 if all(len(b.text) <= SHORT_LABEL for b in buttons) else 1
    per_row = min(per_row, MAX_PER_ROW)
    return InlineKeyboardMarkup([buttons[i : i + per_row] for i in range(0, len(buttons), per_row)])


def contact_keyboard(choices: Sequence[OutgoingChoice], label: str = "") -> ReplyKeyboardMarkup:
    """Return a reply keyboard with the share-contact button and the choices as text buttons.

    A message has one keyboard, so the choices are text buttons here: pressing one sends its
    label, which the flows match like typed text.
    """
    # Telegram: request_contact works in private chats only; one_time_keyboard hides the
    # keyboard once used, https://core.telegram.org/bots/api#replykeyboardmarkup
    rows = [[KeyboardButton(f"{CONTACT_BUTTON_LABEL} {label}".strip(), request_contact=True)]]
    rows += [[KeyboardButton(c.label)] for c in choices[: MAX_BUTTONS - 1] if c.label.strip()]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a text into parts of at most `limit` UTF-16 units (Telegram counts entity
    offsets in them): at sentences, else lines, else words."""
    return splitting.split_text(text, limit)


# --- Sending -------------------------------------------------------------------------------


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
    ):
        self._token = token
        self._base_url = base_url
        self.limiter = limiter
        self.messages_per_second = messages_per_second
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._bot: Bot | None = None
        self._ready = False
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
        return SendResult(provider_id=first_id, parts=len(parts))

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
        """Close the HTTP clients and stop the event loop."""
        with self._lock:
            loop, thread, bot, ready = self._loop, self._thread, self._bot, self._ready
            self._loop = self._thread = self._bot = None
            self._ready = False
        if loop is None or self._pid != os.getpid():
            return
        if bot is not None and ready:
            try:
                asyncio.run_coroutine_threadsafe(bot.shutdown(), loop).result(5)
            except Exception:  # closing: nothing more to do with a failure
                log.warning("telegram client did not shut down cleanly", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)
        if not loop.is_running():
            loop.close()

    def _acquire(self, chat_id: int, patient: bool) -> None:
        # Telegram: about 1 message a second in one chat and 30 a second in all,
        # https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
        limits = (Limit(f"telegram:chat:{chat_id}", 1), Limit("telegram:bot", self.messages_per_second))
        if not patient:
            # A chat whose second has been used: the row goes back to the outbox, due when
            # the chat's window opens, and this thread sends another chat's row meanwhile.
            # Waiting here instead held one of the lane's few threads for up to a second per
            # row, and a busy lane then sent ~8 messages a second (bench/webhook_load.py).
            wait = self.limiter.wait_for(limits[0])
            if wait > CHAT_HOLD_S:
                raise RateLimited("this chat's second is used", code="rate_limited", retry_after=wait)
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
        """Start the event loop and the Bot on first use (in this process) and check the token."""
        with self._lock:
            if self._loop is None or self._pid != os.getpid():  # first use, or a forked child
                _quiet_http_logs()
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="telegram-loop", daemon=True)
                self._thread.start()
                self._pid = os.getpid()
                self._bot = Bot(
                    self._token,
                    base_url=self._base_url,
                    request=HTTPXRequest(connection_pool_size=32, read_timeout=READ_TIMEOUT_S, pool_timeout=5.0),
                    get_updates_request=HTTPXRequest(connection_pool_size=2, read_timeout=READ_TIMEOUT_S),
                )
                self._ready = False
            loop, bot = self._loop, self._bot
            assert bot is not None
            if not self._ready:
                # initialize() calls getMe: a wrong token shows here, once.
                try:
                    asyncio.run_coroutine_threadsafe(bot.initialize(), loop).result(CALL_TIMEOUT_S)
                except concurrent.futures.TimeoutError:
                    raise TemporaryError("Telegram did not answer getMe in time", code="timeout") from None
                except TelegramError as exc:
                    raise self._error(exc) from exc
                self._ready = True
            return loop, bot

    def _error(self, exc: TelegramError) -> SendError:
        return send_error(exc, self._token)


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
