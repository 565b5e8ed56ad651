"""The local web channel: a chat page at / and its JSON API.

POST /api/chat/<user>/messages  {"text": ...} or {"choice": key} [, "id": client id] → 202
GET  /api/chat/<user>/messages?after=<cursor> → {"messages": [...], "cursor": "..."}

With TELEOPD_WEB_TOKEN set, every /api/chat request carries the token: as
`Authorization: Bearer <token>`, or as the cookie the page sets once the operator has opened
`/?token=<token>`. Without it the API is open, and `teleopd serve` keeps it on loopback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.dispatch import Result

blueprint = Blueprint("webchat", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

# A chat message longer than this is not a message; the flows cut what they keep far shorter.
MAX_TEXT_CHARS = 20_000
# Client message ids become part of the dedupe key: plain ASCII only (PostgreSQL refuses
# NUL in text, and a lone surrogate cannot be encoded at all).
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
# The cookie holds a digest of the token, not the token: a copied cookie opens only this API.
COOKIE = "teleopd_web"
BEARER = "Bearer "


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
    lang = request.args.get("lang") or current_app.extensions["teleopd"].settings.default_language
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
    return render_template("chat.html", lang="hi" if lang == "hi" else "en", api_base="")


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
    """Return the user's messages after a cursor."""
    user = _user(user)
    cursor = local.parse_cursor(request.args.get("after"))
    if cursor is None:
        abort(400, description='"after" must be a cursor returned by this API')
    messages, next_cursor = local.messages_after(current_app.extensions["teleopd"].db, user, cursor)
    return jsonify(messages=[m.to_json() for m in messages], cursor=str(next_cursor))
