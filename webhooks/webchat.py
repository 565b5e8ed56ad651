"""The local web channel: a chat page at / and its JSON API.

POST /api/chat/<user>/messages  {"text": ...} or {"choice": key} [, "id": client id] → 202
GET  /api/chat/<user>/messages?after=<cursor> → {"messages": [...], "cursor": "..."}
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.dispatch import Result

blueprint = Blueprint("webchat", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

# A chat message longer than this is not a message; the flows cut what they keep far shorter.
MAX_TEXT_CHARS = 20_000
# Client message ids become part of the dedupe key: plain ASCII only (PostgreSQL refuses
# NUL in text, and a lone surrogate cannot be encoded at all).
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


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
    return render_template("chat.html", lang="hi" if lang == "hi" else "en", api_base="")


@blueprint.post("/api/chat/<user>/messages")
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


@blueprint.get("/api/chat/<user>/messages")
def get_messages(user: str):  # type: ignore[no-untyped-def]
    """Return the user's messages after a cursor."""
    user = _user(user)
    cursor = local.parse_cursor(request.args.get("after"))
    if cursor is None:
        abort(400, description='"after" must be a cursor returned by this API')
    messages, next_cursor = local.messages_after(current_app.extensions["teleopd"].db, user, cursor)
    return jsonify(messages=[m.to_json() for m in messages], cursor=str(next_cursor))
