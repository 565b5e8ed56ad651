"""The HTTP side of the fake Telegram Bot API (tests/fakes/telegram_api.py): what it serves on loopback.

POST or GET /bot<token>/<method> with form-encoded, multipart (uploads), JSON or query parameters goes to
FakeTelegram.handle and is answered as the Bot API answers; /_fake/<action> serves the fake's
own controls (stats, arrivals, reset, fail, block) to a benchmark running it as a process.
"""

from __future__ import annotations

import email.policy
import json
import time
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.http_server import FakeProviderServer

if TYPE_CHECKING:
    from tests.fakes.telegram_api import FakeTelegram

# Parameters the Bot API takes as JSON-serialised objects inside a form.
JSON_PARAMS = frozenset({"reply_markup", "allowed_updates", "reply_parameters", "link_preview_options", "entities"})


def _error(code: int, description: str, retry_after: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Return a multipart/form-data body's fields (how files are uploaded, sendDocument): text as str, a file as
    {"filename", "content_type", "content"}."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        content = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            fields[str(name)] = {"filename": part.get_filename(), "content_type": part.get_content_type(), "content": content}
        else:
            fields[str(name)] = content.decode(part.get_content_charset() or "utf-8")
    return fields


class _Server(FakeProviderServer):
    block_on_close = False  # idle keep-alive connections must not hold up stop()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTelegram
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API (PTB reuses connections)
    timeout = 30

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self._serve()

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if len(segments) == 2 and segments[0] == "_fake":
            self._control(segments[1], body)
            return
        if len(segments) >= 3 and segments[0] == "file" and segments[1].startswith("bot"):
            self._file(segments[1][3:], "/".join(segments[2:]))  # a file's download (getFile)
            return
        if len(segments) != 2 or not segments[0].startswith("bot"):
            self._reply(404, _error(404, "Not Found"))
            return
        token, method = segments[0][3:], segments[1]
        params = self._params(parts.query, body)
        if params is None:
            self._reply(400, _error(400, "Bad Request: invalid parameters"))
            return
        status, answer = self.fake.handle(method, token, params)
        if self.fake.latency:
            time.sleep(self.fake.latency)
        self._reply(status, answer)

    def _control(self, action: str, body: bytes) -> None:
        """Serve the fake's own controls, for a benchmark running it as a process:
        GET /_fake/stats, GET /_fake/arrivals (every sendMessage: [chat_id, at, wall, status],
        `at` on this process's monotonic clock), POST /_fake/reset,
        POST /_fake/fail {"count", "status", "retry_after"} or {"seconds", "status"},
        POST /_fake/block {"chat_ids": [...]}."""
        fake = self.fake
        try:
            args = json.loads(body) if body else {}
        except ValueError:
            args = None
        if not isinstance(args, dict):
            self._reply(400, _error(400, "Bad Request: send a JSON object"))
            return
        if action == "stats":
            result: Any = fake.stats()
        elif action == "arrivals":
            result = [[str(r.params.get("chat_id")), r.at, r.wall, r.status] for r in fake.requests("sendMessage")]
        elif action == "fail" and "seconds" in args:
            fake.fail_for(float(args["seconds"]), status=int(args.get("status", 500)))
            result = True
        elif action == "reset":
            fake.reset()
            result = True
        elif action == "fail":
            fake.fail_next(int(args.get("count", 1)), status=int(args.get("status", 500)), retry_after=args.get("retry_after"))
            result = True
        elif action == "block":
            fake.block(*args.get("chat_ids", ()))
            result = True
        else:
            self._reply(404, _error(404, "Not Found"))
            return
        self._reply(200, {"ok": True, "result": result})

    def _params(self, query: str, body: bytes) -> dict[str, Any] | None:
        params: dict[str, Any] = dict(parse_qsl(query))
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if content_type == "application/json" and body:
                params.update(json.loads(body))
                return params
            if content_type == "application/x-www-form-urlencoded":
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            if content_type == "multipart/form-data":
                params.update(_multipart(self.headers.get("Content-Type") or "", body))
            for name in JSON_PARAMS & params.keys():
                if isinstance(params[name], str):
                    params[name] = json.loads(params[name])
        except ValueError:
            return None
        return params

    def _file(self, token: str, path: str) -> None:
        """Serve a file's bytes at /file/bot<token>/<file_path>, as the Bot API does after getFile."""
        data = self.fake.file_bytes(token, path)
        if data is None:
            self._reply(404, _error(404, "Not Found"))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # request lines carry the bot token

