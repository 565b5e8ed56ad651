"""The local web channel: a chat page at / and its JSON API.

POST /api/chat/<user>/messages  {"text": ...} or {"choice": key} [, "id": client id] → 202
GET  /api/chat/<user>/messages?after=<cursor>[&wait=<seconds>] → {"messages": [...], "cursor": "...", "role": ...}

`wait` makes the GET a long poll: it answers as soon as there is a message after the cursor,
or with none after `wait` seconds (a number, 0-25; more is cut to 25, anything else is a
400). Without `wait` it answers at once, and so it does on a server that runs one request
per process at a time (wsgi.multithread false: gunicorn's sync workers), and when the
process already holds as many long polls as it may (create_app's `long_polls`, half of
`teleopd serve`'s threads): a waiting chat must never take the threads webhooks need, and
the page polls again shortly. `role` is the user's role (patient, doctor, health_worker),
null before their first message.

With TELEOPD_WEB_TOKEN set, every /api/chat request carries the token: as
`Authorization: Bearer <token>`, or as the cookie the page sets once the operator has opened
`/?token=<token>`. Without it the API is open, and `teleopd serve` keeps it on loopback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.dispatch import Result
from webhooks.pages import page_language, t

blueprint = Blueprint("webchat", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

# A chat message longer than this is not a message; the flows cut what they keep far shorter.
MAX_TEXT_CHARS = 20_000
# Client message ids become part of the dedupe key: plain ASCII only (PostgreSQL refuses
# NUL in text, and a lone surrogate cannot be encoded at all).
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
# The cookie holds a digest of the token, not the token: a copied cookie opens only this API.
COOKIE = "teleopd_web"
BEARER = "Bearer "
# A long poll holds one of `teleopd serve`'s threads: 25 s stays under the idle timeouts of
# common proxies (often 30-60 s) and waitress's channel_timeout (120 s).
MAX_WAIT_S = 25.0
WAIT = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,3})?$")
# Long polls one process holds at once unless create_app is told otherwise (`teleopd serve`
# tells it half its threads; gunicorn's sync workers hold none anyway).
DEFAULT_LONG_POLLS = 4
# The page's roles (?role=), each its own conversation in one browser: the suffix of the
# user id the page derives from its stored base id (web-abc123, web-abc123.doctor, …).
ROLES = {"patient": "", "doctor": ".doctor", "health_worker": ".hw"}
# The word the bot takes before an enrolment code (flows/conversation.py ENROL): in Hindi,
# so that a doctor who enrols from the Hindi page is answered in Hindi.
ENROL_WORD = {"en": "enroll", "hi": "नामांकन"}


class LongPolls:
    """Places for long polls in one process: a poll that finds none answers at once."""

    def __init__(self, places: int) -> None:
        self._places = threading.BoundedSemaphore(places) if places > 0 else None

    @contextmanager
    def place(self) -> Iterator[bool]:
        """Hold a place while the block runs, if one is free; yield whether one was."""
        held = self._places is not None and self._places.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                self._places.release()  # type: ignore[union-attr]


def install(app: Any, long_polls: int) -> None:
    """Register the web chat on an app, holding at most `long_polls` long polls at once."""
    app.extensions["teleopd.long_polls"] = LongPolls(long_polls)
    app.register_blueprint(blueprint)


def _web_token() -> str | None:
    return current_app.extensions["teleopd"].settings.web_token  # type: ignore[no-any-return]


def _cookie_value(token: str) -> str:
    return hmac.new(token.encode("ascii"), b"teleopd web chat cookie", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    """Compare in constant time; bytes, since compare_digest refuses non-ASCII str."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def _authorised(token: str) -> bool:
    header = request.headers.get("Authorization", "")
    if header.startswith(BEARER) and _same(header[len(BEARER):], token):
        return True
    return _same(request.cookies.get(COOKIE, ""), _cookie_value(token))


@blueprint.before_request
def _check_web_token():  # type: ignore[no-untyped-def]
    """Refuse an API call without the configured token (the page and its files stay public)."""
    token = _web_token()
    if token is None or request.endpoint not in ("webchat.post_message", "webchat.get_messages"):
        return None
    if _authorised(token):
        return None
    response = jsonify(error="this chat needs the operator's token: open the chat page with ?token=… once")
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="teleopd web chat"'
    return response


def _user(user: str) -> str:
    if not local.valid_user_id(user):
        abort(400, description="user ids are 1-64 characters of letters, digits and . _ @ -")
    return user


def _wait_seconds(value: str | None) -> float:
    """Return how long a GET may wait, 0 without `wait`; a wait that is no number is a 400."""
    if value is None:
        return 0.0
    if not WAIT.match(value):
        abort(400, description=f'"wait" must be a number of seconds from 0 to {MAX_WAIT_S:g}')
    return min(float(value), MAX_WAIT_S)


def _json_body() -> Any:
    """Return the request's JSON body, or None when it is not JSON we can read."""
    if not request.is_json:
        return None
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the parser's depth
        return None


@blueprint.get("/")
def chat_page():  # type: ignore[no-untyped-def]
    """Serve the chat page."""
    token = _web_token()
    given = request.args.get("token")
    if token is not None and given is not None:
        if not _same(given, token):
            abort(401, description="wrong token")
        # Set the cookie, then take the token out of the address bar (and the history).
        kept = {k: v for k, v in request.args.items() if k != "token"}
        response: Response = redirect(url_for("webchat.chat_page", **kept))  # type: ignore[assignment]
        response.set_cookie(COOKIE, _cookie_value(token), httponly=True, samesite="Strict", secure=request.is_secure, path="/")
        return response
    role = request.args.get("role")
    lang = page_language()
    return render_template(
        "chat.html",
        api_base="",
        role=role if role in ROLES else "patient",
        roles=ROLES,
        role_names=_role_names(),
        enrol_word=ENROL_WORD.get(lang, ENROL_WORD["en"]),
        quick_phrases=[t("hello"), t("I have fever for 3 days"), t("status")],
    )


def _role_names() -> dict[str, str]:
    """Return each role's name in the page's language."""
    return {"patient": t("Patient"), "doctor": t("Doctor"), "health_worker": t("Health worker")}


# The API's routes do not merge "//": werkzeug would answer a user id with a "/" in it
# ("/api/chat/0//messages") with a 308 to another URL instead of a plain 404.
@blueprint.post("/api/chat/<user>/messages", merge_slashes=False)
def post_message(user: str):  # type: ignore[no-untyped-def]
    """Accept one message from a web chat user and handle it."""
    user = _user(user)
    body = _json_body()
    if not isinstance(body, dict):
        abort(400, description='send a JSON object: {"text": "..."} or {"choice": "..."}')
    text, choice, client_id = body.get("text"), body.get("choice"), body.get("id")
    if (text is None) == (choice is None):
        abort(400, description='send exactly one of "text" or "choice"')
    if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT_CHARS):
        abort(400, description=f'"text" must be a string of at most {MAX_TEXT_CHARS} characters')
    if choice is not None and (not isinstance(choice, str) or not 0 < len(choice) <= 64):
        abort(400, description='"choice" must be a choice key (a short string)')
    if client_id is not None and (not isinstance(client_id, str) or not CLIENT_ID.match(client_id)):
        abort(400, description='"id" must be 1-100 characters of letters, digits and . _ : -')
    provider_id = f"{user}:{client_id}" if client_id else f"{user}:{uuid.uuid4()}"
    message = InboundMessage(
        channel=local.NAME,
        address=user,
        provider_id=provider_id,
        text=text or "",
        choice=choice,
        kind="choice" if choice is not None else "text",
    )
    outcome = current_app.extensions["teleopd"].dispatcher.dispatch(message)
    status = "duplicate" if outcome.result is Result.DUPLICATE else "accepted"
    return jsonify(status=status, id=provider_id), 202


@blueprint.get("/api/chat/<user>/messages", merge_slashes=False)
def get_messages(user: str):  # type: ignore[no-untyped-def]
    """Return the user's messages after a cursor, waiting up to `wait` seconds for one."""
    user = _user(user)
    cursor = local.parse_cursor(request.args.get("after"))
    if cursor is None:
        abort(400, description='"after" must be a cursor returned by this API')
    wait_s = _wait_seconds(request.args.get("wait"))
    if not request.environ.get("wsgi.multithread", False):
        # One request at a time per process (gunicorn's sync workers, as in the Procfile):
        # a waiting chat would hold the whole process, webhooks and all. Answer at once;
        # the page then polls every few seconds instead.
        wait_s = 0.0
    db = current_app.extensions["teleopd"].db
    with current_app.extensions["teleopd.long_polls"].place() as placed:
        messages, next_cursor = local.wait_for_messages(db, user, cursor, wait_s if placed else 0.0)
    return jsonify(messages=[m.to_json() for m in messages], cursor=str(next_cursor), role=local.role_of_user(db, user))
