"""A fake Telegram Bot API server on loopback, for tests and benchmarks.

It speaks the Bot API's HTTP shape (https://core.telegram.org/bots/api#making-requests):
POST /bot<token>/<method> with form-encoded, JSON or query parameters, answered with
{"ok": true, "result": ...} or {"ok": false, "error_code": ..., "description": ...,
"parameters": {...}}. It answers getMe, sendMessage, sendDocument (a multipart upload), answerCallbackQuery, setWebhook,
deleteWebhook, getWebhookInfo and getUpdates, records every request, and fails on demand.

    with FakeTelegram() as fake:
        bot = Bot(token, base_url=fake.base_url)
        fake.fail_next(2, status=429, retry_after=3)

Run it alone for benchmarks: python -m tests.fakes.telegram_api --port 8081

The HTTP side (the server, its request handler and the /_fake/ controls) is in
tests/fakes/telegram_http.py.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from tests.fakes.telegram_http import _error, _Handler, _Server

MAX_TEXT = 4096
MAX_CAPTION = 1024  # sendDocument's caption
MAX_CALLBACK_BYTES = 64
DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass(frozen=True)
class Request:
    """One request as it reached the fake."""

    method: str
    token: str
    params: dict[str, Any]
    at: float  # time.monotonic()
    wall: float  # time.time()
    status: int = 200


@dataclass
class _Failure:
    status: int
    remaining: int | None = None  # None: until `until`
    until: float | None = None  # time.monotonic()
    retry_after: int | None = None
    description: str | None = None
    methods: frozenset[str] = frozenset({"sendMessage"})


@dataclass
class _State:
    requests: list[Request] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    unknown_chats: set[str] = field(default_factory=set)
    updates: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)


class FakeTelegram:
    """A Bot API server on 127.0.0.1 that records requests and fails as it is told to."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", latency: float = 0.0, max_poll_wait: float = 0.5,
                 tokens: Iterable[str] | None = None):
        self.host, self.port = host, port
        self.latency = latency  # seconds added to every answer
        self.max_poll_wait = max_poll_wait  # a long poll waits at most this long, whatever its timeout
        self.tokens = frozenset(tokens) if tokens is not None else None  # None: any token is valid
        self._state = _State()
        self._lock = threading.Condition()
        self._message_ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle

    def start(self) -> FakeTelegram:
        """Start serving in a daemon thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        # A short poll interval, as the fake Twilio's: shutdown() waits for the serving loop to look up
        # (half a second by default, at the end of every test that ran a fake).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-telegram", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            self._lock.notify_all()

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Return the base URL for `Bot(base_url=...)` and TELEOPD_TELEGRAM_API_URL (the token follows it)."""
        return f"http://{self.host}:{self.port}/bot"

    # --- programming failures and updates

    def fail_next(self, count: int, status: int = 500, retry_after: int | None = None, description: str | None = None,
                  methods: Iterable[str] = ("sendMessage",)) -> None:
        """Answer the next `count` calls of these methods with an error (429 takes retry_after)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._state.failures.append(_Failure(status, remaining=count, retry_after=retry_after, description=description, methods=frozenset(methods)))

    def fail_for(self, seconds: float, status: int = 500, methods: Iterable[str] = ("sendMessage",)) -> None:
        """Answer every call of these methods with an error for a while."""
        with self._lock:
            self._state.failures.append(_Failure(status, until=time.monotonic() + seconds, methods=frozenset(methods)))

    def block(self, *chat_ids: int | str) -> None:
        """Make these chats answer 403 "bot was blocked by the user"."""
        with self._lock:
            self._state.blocked.update(str(c) for c in chat_ids)

    def forget_chat(self, *chat_ids: int | str) -> None:
        """Make these chats answer 400 "chat not found"."""
        with self._lock:
            self._state.unknown_chats.update(str(c) for c in chat_ids)

    def queue_update(self, *updates: dict[str, Any]) -> None:
        """Queue updates for getUpdates."""
        with self._lock:
            self._state.updates.extend(updates)
            self._lock.notify_all()

    def reset(self) -> None:
        """Forget requests, failures, updates and the webhook."""
        with self._lock:
            self._state = _State()

    # --- what happened

    def requests(self, method: str | None = None) -> list[Request]:
        """Return the requests received, in order of arrival (of one method, if given)."""
        with self._lock:
            return [r for r in self._state.requests if method is None or r.method == method]

    def sent(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Return the parameters of every sendMessage accepted (to one chat, if given)."""
        return [
            r.params for r in self.requests("sendMessage")
            if r.status == 200 and (chat_id is None or str(r.params.get("chat_id")) == str(chat_id))
        ]

    def messages_per_chat(self) -> Counter[str]:
        """Return how many messages each chat was sent (accepted sendMessage calls)."""
        return Counter(str(p.get("chat_id")) for p in self.sent())

    def max_per_second(self, chat_id: int | str | None = None, method: str = "sendMessage") -> int:
        """Return the most requests of a method that arrived in any sliding 1-second window."""
        times = sorted(
            r.at for r in self.requests(method) if chat_id is None or str(r.params.get("chat_id")) == str(chat_id)
        )
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    def max_per_second_any_chat(self) -> int:
        """Return the most sendMessage calls one chat got in any sliding 1-second window."""
        chats = {str(r.params.get("chat_id")) for r in self.requests("sendMessage")}
        return max((self.max_per_second(chat) for chat in chats), default=0)

    def stats(self) -> dict[str, Any]:
        """Return the counts a benchmark checks, as JSON."""
        calls = self.requests("sendMessage")
        return {
            "send_requests": len(calls),
            "sent": sum(1 for r in calls if r.status == 200),
            "messages_per_chat": dict(self.messages_per_chat()),
            "max_per_second": self.max_per_second(),
            "max_per_second_per_chat": self.max_per_second_any_chat(),
            "answered_callbacks": len(self.requests("answerCallbackQuery")),
        }

    @property
    def webhook(self) -> dict[str, Any]:
        """Return the webhook as last set (empty when none)."""
        with self._lock:
            return dict(self._state.webhook)

    # --- the API

    def handle(self, method: str, token: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one API call: (HTTP status, JSON body)."""
        now = time.monotonic()
        if self.tokens is not None and token not in self.tokens:
            status, body = 401, _error(401, "Unauthorized")
        else:
            status, body = self._answer(method, params, now)
        with self._lock:
            self._state.requests.append(Request(method, token, params, now, time.time(), status))
        return status, body

    def _answer(self, method: str, params: dict[str, Any], now: float) -> tuple[int, dict[str, Any]]:
        failure = self._take_failure(method, now)
        if failure is not None:
            description = failure.description or DESCRIPTIONS.get(failure.status, "Error").format(retry_after=failure.retry_after)
            return failure.status, _error(failure.status, description, retry_after=failure.retry_after)
        if method == "getUpdates":
            return self._get_updates(params)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return 404, _error(404, "Not Found")
        return handler(params)

    def _take_failure(self, method: str, now: float) -> _Failure | None:
        with self._lock:
            for failure in list(self._state.failures):
                if failure.until is not None and now >= failure.until:
                    self._state.failures.remove(failure)
                    continue
                if method not in failure.methods:
                    continue
                if failure.remaining is not None:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._state.failures.remove(failure)
                return failure
        return None

    def _api_getMe(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return _ok({"id": 123456, "is_bot": True, "first_name": "teleopd test", "username": "teleopd_test_bot",
                    "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False})

    def _api_sendMessage(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id, text = str(params.get("chat_id", "")), params.get("text")
        with self._lock:
            blocked, unknown = chat_id in self._state.blocked, chat_id in self._state.unknown_chats
        if blocked:
            return 403, _error(403, DESCRIPTIONS[403])
        if unknown or not chat_id.lstrip("-").isdigit():
            return 400, _error(400, DESCRIPTIONS[400])
        if not isinstance(text, str) or not text.strip():
            return 400, _error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
            return 400, _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []) if isinstance(markup, dict) else []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES:
                    return 400, _error(400, "Bad Request: BUTTON_DATA_INVALID")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": {"id": 123456, "is_bot": True, "first_name": "teleopd test", "username": "teleopd_test_bot"},
            "chat": {"id": int(chat_id), "first_name": "Patient", "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return _ok(message)

    def _api_sendDocument(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        # An upload arrives as a multipart file; a file_id or URL as a string (not served here).
        chat_id, document = str(params.get("chat_id", "")), params.get("document")
        if not chat_id.lstrip("-").isdigit():
            return 400, _error(400, DESCRIPTIONS[400])
        if not isinstance(document, dict) or not document.get("content"):
            return 400, _error(400, "Bad Request: there is no document in the request")
        caption = params.get("caption")
        if isinstance(caption, str) and len(caption.encode("utf-16-le")) // 2 > MAX_CAPTION:
            return 400, _error(400, "Bad Request: message caption is too long")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": {"id": 123456, "is_bot": True, "first_name": "teleopd test", "username": "teleopd_test_bot"},
            "chat": {"id": int(chat_id), "first_name": "Patient", "type": "private"},
            "date": int(time.time()),
            "document": {"file_id": f"DOC{next(self._message_ids)}", "file_unique_id": "u", "file_name": document.get("filename"),
                         "mime_type": document.get("content_type"), "file_size": len(document["content"])},
            **({"caption": caption} if caption else {}),
        }
        return _ok(message)

    def documents(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Return the parameters of every sendDocument accepted (to one chat, if given); the file is params["document"]."""
        return [
            r.params for r in self.requests("sendDocument")
            if r.status == 200 and (chat_id is None or str(r.params.get("chat_id")) == str(chat_id))
        ]

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not params.get("callback_query_id"):
            return 400, _error(400, "Bad Request: query is too old and response timeout expired or query id is invalid")
        return _ok(True)

    def _api_setWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        url = params.get("url", "")
        with self._lock:
            self._state.webhook = dict(params) if url else {}
        return _ok(True, description="Webhook was set" if url else "Webhook was deleted")

    def _api_deleteWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self._state.webhook = {}
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                self._state.updates.clear()
        return _ok(True, description="Webhook was deleted")

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            hook, pending = self._state.webhook, len(self._state.updates)
        return _ok({"url": hook.get("url", ""), "has_custom_certificate": False, "pending_update_count": pending})

    def _get_updates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset, limit, timeout = _number(params.get("offset"), 0), _number(params.get("limit"), 100), _number(params.get("timeout"), 0)
        deadline = time.monotonic() + min(timeout, self.max_poll_wait)
        with self._lock:
            if self._state.webhook:
                # Telegram: getUpdates and webhooks are mutually exclusive.
                return 409, _error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
            while True:
                # Telegram: an offset confirms every update before it.
                self._state.updates = [u for u in self._state.updates if u["update_id"] >= offset]
                if self._state.updates or time.monotonic() >= deadline or self._server is None:
                    return _ok(self._state.updates[: max(limit, 1)])
                self._lock.wait(max(deadline - time.monotonic(), 0.0))

    # --- files users sent (media in): getFile, and the download path /file/bot<token>/<file_path>

    @property
    def _files(self) -> dict[str, tuple[str, str, bytes]]:
        """file_id → (file_unique_id, file_path, bytes), made on first use."""
        return self.__dict__.setdefault("_files_by_id", {})  # type: ignore[no-any-return]

    def add_file(self, data: bytes) -> tuple[str, str]:
        """Put a file on the fake, as if a user had sent it; return its file_id and file_unique_id."""
        with self._lock:
            n = len(self._files) + 1
            file_id, unique = f"AgAC-file-{n}", f"AQAD-unique-{n}"
            self._files[file_id] = (unique, f"photos/file_{n}.jpg", data)
        return file_id, unique

    def _api_getFile(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        # Telegram: getFile returns a File whose file_path is then downloaded from
        # https://api.telegram.org/file/bot<token>/<file_path> (https://core.telegram.org/bots/api#getfile).
        with self._lock:
            found = self._files.get(str(params.get("file_id", "")))
        if found is None:
            return 400, _error(400, "Bad Request: invalid file_id")
        unique, path, data = found
        return _ok({"file_id": params["file_id"], "file_unique_id": unique, "file_size": len(data), "file_path": path})

    def file_bytes(self, token: str, path: str) -> bytes | None:
        """Return the bytes at a file_path (None for an unknown path or token)."""
        if self.tokens is not None and token not in self.tokens:
            return None
        with self._lock:
            return next((data for _unique, p, data in self._files.values() if p == path), None)


def _number(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _ok(result: Any, description: str | None = None) -> tuple[int, dict[str, Any]]:
    return 200, {"ok": True, "result": result, **({"description": description} if description else {})}


def main(argv: list[str] | None = None) -> int:
    """Serve the fake until interrupted."""
    parser = argparse.ArgumentParser(description="A fake Telegram Bot API server on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    parser.add_argument("--no-gc", action="store_true",
                        help="no garbage collector pauses (they stall every request in flight, and its arrival time)")
    args = parser.parse_args(argv)
    if args.no_gc:
        gc.disable()
    fake = FakeTelegram(port=args.port, host=args.host, latency=args.latency_ms / 1000).start()
    print(f"fake Telegram Bot API at {fake.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
