"""A fake Twilio REST API on 127.0.0.1: Messages.json as the real one answers it, with failures on demand; Calls.json too (fake.calls()).

    with FakeTwilio(account_sid, auth_token) as fake:
        client.api.base_url = fake.url
        ...
        fake.requests            # every Messages.json request: form params and arrival times
        fake.fail_next(2, 429)   # the next two requests get 429 / 20429
        fake.fail_recipient("+919000000001", 21610)
        client.content.base_url = fake.url   # the Content API too: fake.content (tests/fakes/twilio_content.py)

Run alone for benchmarks: python -m tests.fakes.twilio_api --port 8089 [--account-sid AC… --auth-token …]
and read or steer it over HTTP: GET /_fake/stats (request count, counts per recipient, max
requests per From in any 1-second window), GET /_fake/arrivals (every request: [To, From,
at, wall, status], `at` on the fake's monotonic clock), POST /_fake/reset, POST /_fake/fail with JSON
{"next": N, "status": 429} or {"seconds": S, "status": 503} or {"to": "+91…", "code": 21610}.

Response shapes follow the Message resource (https://www.twilio.com/docs/messaging/api/message-resource)
and Twilio's error body ({"code", "message", "more_info", "status"}).
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

from tests.fakes.http_server import FakeProviderServer
from tests.fakes.twilio_calls import CALLS, create_call
from tests.fakes.twilio_content import ContentStore
from tests.fakes.twilio_media import MediaStore

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json$")

# Error codes the fake can answer with, and their HTTP status and message.
ERRORS = {
    20003: (401, "Authenticate"),
    20429: (429, "Too Many Requests"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21612: (400, "The 'To' phone number is not currently reachable via SMS or MMS."),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    63016: (400, "Failed to send freeform message because you are outside the allowed window. Please use a Template."),
    20500: (500, "Internal Server Error"),
    20503: (503, "Service Unavailable"),
}
_STATUS_CODE = {429: 20429, 500: 20500, 503: 20503}


@dataclass(frozen=True)
class Recorded:
    """One Messages.json request as it reached the fake."""

    params: dict[str, str]
    at: float  # time.monotonic()
    wall: float  # time.time()
    status: int  # what the fake answered
    sid: str | None


@dataclass
class _Failure:
    status: int
    code: int
    remaining: int | None = None  # None: until `until`
    until: float | None = None
    after: int = 0  # requests let through before this failure starts


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Recorded] = field(default_factory=list)
    failures: deque[_Failure] = field(default_factory=deque)
    recipients: dict[str, int] = field(default_factory=dict)
    messages: dict[str, dict[str, object]] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)  # accepted Calls.json requests (tests/fakes/twilio_calls.py)
    media: MediaStore = field(default_factory=MediaStore)  # inbound messages' files (tests/fakes/twilio_media.py)


class FakeTwilio:
    """A Twilio REST API stand-in: a ThreadingHTTPServer on 127.0.0.1 (port 0 picks a free one)."""

    def __init__(self, account_sid: str, auth_token: str, port: int = 0, host: str = "127.0.0.1", body_limit: int = 1600):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.body_limit = body_limit
        self.state = _State()
        self.content = ContentStore(account_sid)  # the Content API (tests/fakes/twilio_content.py)
        self._server = FakeProviderServer((host, port), _handler(self))
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Return the base URL to give the twilio Client (client.api.base_url)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        """Serve in a background thread."""
        # A short poll interval: shutdown() waits for the serving loop to look up.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- programming failures -------------------------------------------------------------

    def fail_next(self, count: int, status: int = 429, code: int | None = None, after: int = 0) -> None:
        """Answer the next `count` requests (after letting `after` through) with an error (429 → 20429, 500, 503)."""
        with self.state.lock:
            self.state.failures.append(_Failure(status, code or _STATUS_CODE.get(status, status), remaining=count, after=after))

    def fail_for(self, seconds: float, status: int = 429, code: int | None = None) -> None:
        """Answer every request with an error for a span of time from now."""
        with self.state.lock:
            self.state.failures.append(_Failure(status, code or _STATUS_CODE.get(status, status), until=time.monotonic() + seconds))

    def fail_recipient(self, to: str, code: int) -> None:
        """Refuse every message to one recipient with a Twilio error (21610, 21211, 21614, 63016, …)."""
        with self.state.lock:
            self.state.recipients[to] = code

    def reset(self) -> None:
        """Forget requests and programmed failures."""
        with self.state.lock:
            self.state.requests.clear()
            self.state.failures.clear()
            self.state.recipients.clear()
            self.state.messages.clear()
            self.state.calls.clear()
        self.content.reset()

    # --- what was asked -------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        """Return every Messages.json request so far, in arrival order."""
        with self.state.lock:
            return list(self.state.requests)

    def sent(self) -> list[dict[str, str]]:
        """Return the params of the requests that were accepted (201)."""
        return [r.params for r in self.requests if r.status == 201]

    def counts_by_recipient(self) -> Counter[str]:
        """Return how many requests reached the fake per To."""
        return Counter(r.params.get("To", "") for r in self.requests)

    def stats(self) -> dict[str, object]:
        """Return what benchmarks read: totals, counts per recipient, the peak rate per From."""
        requests = self.requests
        senders = sorted({r.params.get("From", "") for r in requests})
        return {
            "requests": len(requests),
            "accepted": sum(r.status == 201 for r in requests),
            "by_status": dict(Counter(str(r.status) for r in requests)),
            "counts_by_recipient": dict(self.counts_by_recipient()),
            "max_per_second_by_from": {s: self.max_per_second(s) for s in senders},
        }

    def arrivals(self) -> list[list[object]]:
        """Return every Messages.json request as [To, From, at, wall, status], in arrival order."""
        return [[r.params.get("To", ""), r.params.get("From", ""), r.at, r.wall, r.status] for r in self.requests]

    def max_per_second(self, from_: str | None = None, window: float = 1.0) -> int:
        """Return the most requests from one From (or this From) in any sliding window of `window` seconds (one by default)."""
        by_from: dict[str, list[float]] = {}
        for r in self.requests:
            by_from.setdefault(r.params.get("From", ""), []).append(r.at)
        best = 0
        for sender, times in by_from.items():
            if from_ is not None and sender != from_:
                continue
            times.sort()
            start = 0
            for end, t in enumerate(times):
                while t - times[start] >= window:
                    start += 1
                best = max(best, end - start + 1)
        return best

    # --- status callbacks -----------------------------------------------------------------

    def status_form(self, sid: str, status: str, error_code: str | None = None) -> dict[str, str]:
        """Return the form of a status callback for a message the fake accepted (or any sid)."""
        with self.state.lock:
            message = dict(self.state.messages.get(sid, {}))
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": str(message.get("from", "")),
            "To": str(message.get("to", "")),
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
        }
        if error_code is not None:
            form["ErrorCode"] = error_code
        return form

    def signature(self, url: str, form: dict[str, str]) -> str:
        """Return the X-Twilio-Signature Twilio would send for a form posted to a URL."""
        return RequestValidator(self.auth_token).compute_signature(url, form)

    def deliver_status(self, sid: str, status: str, error_code: str | None = None, url: str | None = None) -> int:
        """POST a signed status callback to the message's StatusCallback (or `url`); return the HTTP status."""
        with self.state.lock:
            target = url or str(self.state.messages.get(sid, {}).get("status_callback") or "")
        if not target:
            raise ValueError(f"no StatusCallback for {sid}")
        form = self.status_form(sid, status, error_code)
        request = urllib.request.Request(
            target, data=urlencode(form).encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": self.signature(target, form)},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback in tests
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    # --- answering ------------------------------------------------------------------------

    def calls(self) -> list[dict[str, str]]:
        """Return the params of the Calls.json requests accepted (To, From, Twiml, …)."""
        with self.state.lock:
            return list(self.state.calls)

    def add_media(self, data: bytes, content_type: str) -> str:
        """Keep an inbound message's file; return its MediaUrl (fetched with basic auth)."""
        with self.state.lock:
            return self.state.media.add(self.url, self.account_sid, len(self.state.media.files) + 1, data, content_type)

    def media_fetches(self) -> list[tuple[str, bool]]:
        """Return every fetch of a media URL: its path, and whether it carried the account's credentials."""
        with self.state.lock:
            return list(self.state.media.fetches)

    def _answer(self, path: str, auth: str | None, body: bytes) -> tuple[int, dict[str, object]]:
        call = CALLS.match(path)
        if call is not None and call.group(1) == self.account_sid and self._authorized(auth):
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            status, payload = create_call(self.account_sid, params)
            with self.state.lock:
                self.state.calls.extend([params] if status == 201 else [])
            return status, payload
        match = _MESSAGES.match(path)
        if match is None:
            return 404, _error(20404, 404, "The requested resource was not found")
        if match.group(1) != self.account_sid or not self._authorized(auth):
            return 401, _error(20003, 401, "Authenticate")
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        now, wall = time.monotonic(), time.time()
        status, payload = self._decide(params, now)
        sid = payload.get("sid") if status == 201 else None
        with self.state.lock:
            self.state.requests.append(Recorded(params, now, wall, status, sid))  # type: ignore[arg-type]
            if sid:
                self.state.messages[str(sid)] = {**payload, "status_callback": params.get("StatusCallback")}
        return status, payload

    def _content(self, method: str, raw_path: str, auth: str | None, body: bytes) -> tuple[int, object]:
        """Answer a Content API request (content.twilio.com, pointed here by the client's content.base_url)."""
        if not self._authorized(auth):
            return 401, _error(20003, 401, "Authenticate")
        path, _, query = raw_path.partition("?")
        return self.content.answer(method, path, query, body, self.url)

    def _authorized(self, auth: str | None) -> bool:
        if not auth or not auth.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(password, self.auth_token)

    def _decide(self, params: dict[str, str], now: float) -> tuple[int, dict[str, object]]:
        with self.state.lock:
            while self.state.failures:
                failure = self.state.failures[0]
                if failure.after > 0:
                    failure.after -= 1
                    break
                if failure.remaining is not None and failure.remaining > 0:
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self.state.failures.popleft()
                    return failure.status, _error(failure.code, failure.status, ERRORS.get(failure.code, (0, "error"))[1])
                if failure.until is not None and now < failure.until:
                    return failure.status, _error(failure.code, failure.status, ERRORS.get(failure.code, (0, "error"))[1])
                self.state.failures.popleft()
            code = self.state.recipients.get(params.get("To", ""))
        if code is not None:
            status, message = ERRORS.get(code, (400, "error"))
            return status, _error(code, status, message)
        if not params.get("To") or not params.get("From"):
            return 400, _error(21604, 400, "A 'To' and a 'From' phone number are required.")
        body = params.get("Body", "")
        if not body and not params.get("ContentSid") and not params.get("MediaUrl"):
            return 400, _error(21602, 400, "Message body is required.")
        if len(body.encode("utf-16-le")) // 2 > self.body_limit:
            return 400, _error(21617, 400, ERRORS[21617][1])
        refused = self.content.check_message(params) if params.get("ContentSid") else None
        if refused is not None:
            return refused
        return 201, self._message(params)

    def _message(self, params: dict[str, str]) -> dict[str, object]:
        from bot.channels.sms_text import segments

        sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        body = params.get("Body", "")
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": params.get("From"),
            "messaging_service_sid": params.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(segments(body) if body else 1),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": params.get("To"),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }


def _error(code: int, status: int, message: str) -> dict[str, object]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


def _control(fake: FakeTwilio, path: str, body: bytes) -> tuple[int, dict[str, object]]:
    """Steer the fake over HTTP (benchmarks that run it as a separate process)."""
    try:
        order = json.loads(body or b"{}")
        if path == "/_fake/reset":
            fake.reset()
        elif path == "/_fake/fail" and "next" in order:
            fake.fail_next(int(order["next"]), int(order.get("status", 429)), order.get("code"))
        elif path == "/_fake/fail" and "seconds" in order:
            fake.fail_for(float(order["seconds"]), int(order.get("status", 429)), order.get("code"))
        elif path == "/_fake/fail" and "to" in order:
            fake.fail_recipient(str(order["to"]), int(order["code"]))
        else:
            return 404, {"error": "unknown control"}
    except (ValueError, KeyError, TypeError) as exc:
        return 400, {"error": str(exc)}
    return 200, {"ok": True}


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.split("?", 1)[0] == "/_fake/stats":
                self._reply(200, fake.stats())
            elif self.path.split("?", 1)[0] == "/_fake/arrivals":
                self._reply(200, fake.arrivals())  # type: ignore[arg-type]
            elif (media := fake.state.media.answer(self.path.split("?", 1)[0], fake._authorized(self.headers.get("Authorization")))) is not None:
                status, data, content_type = media
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif self.path.startswith("/v1/Content"):
                self._reply(*fake._content("GET", self.path, self.headers.get("Authorization"), b""))  # type: ignore[arg-type]
            else:
                self._reply(404, _error(20404, 404, "The requested resource was not found"))

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            if path.startswith("/_fake/"):
                self._reply(*_control(fake, path, body))
                return
            if path.startswith("/v1/Content"):
                self._reply(*fake._content("POST", self.path, self.headers.get("Authorization"), body))  # type: ignore[arg-type]
                return
            self._reply(*fake._answer(path, self.headers.get("Authorization"), body))

        def do_DELETE(self) -> None:  # noqa: N802
            self._reply(*fake._content("DELETE", self.path, self.headers.get("Authorization"), b""))  # type: ignore[arg-type]

        def _reply(self, status: int, payload: dict[str, object] | list[object] | None) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet in tests
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve the fake until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--account-sid", default="AC" + "0" * 32)
    parser.add_argument("--auth-token", default="f" * 32)
    parser.add_argument("--no-gc", action="store_true",
                        help="no garbage collector pauses (they stall every request in flight, and its arrival time)")
    args = parser.parse_args(argv)
    if args.no_gc:
        gc.disable()
    fake = FakeTwilio(args.account_sid, args.auth_token, port=args.port)
    print(f"fake Twilio API on {fake.url} (account {args.account_sid})", flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()


if __name__ == "__main__":
    main()
