"""What a request to the web chat's API may carry, checked: the message, the user or role in the URL, the cursor and the wait.

Each check answers a bad request with a 400 (or a 404 for a role that does not exist)
saying what is wrong, before anything is stored. webhooks/webchat.py serves the routes.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

from flask import abort, request

from bot.channels import local

# A chat message longer than this is not a message; the flows cut what they keep far shorter.
MAX_TEXT_CHARS = 20_000
# Client message ids become part of the dedupe key: plain ASCII only (PostgreSQL refuses
# NUL in text, and a lone surrogate cannot be encoded at all).
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
# A long poll holds one of `teleopd serve`'s threads: 25 s stays under the idle timeouts of
# common proxies (often 30-60 s) and waitress's channel_timeout (120 s).
MAX_WAIT_S = 25.0
WAIT = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,3})?$")
# The page's roles (?role=), each its own chat (and cookie) in one browser.
ROLES = ("patient", "doctor", "health_worker")
# On the local demo, a user id made for a staff tab ends in its role's suffix (web-abc.doctor).
DEMO_STAFF_SUFFIXES = {".doctor": "doctor", ".hw": "health_worker"}
# Headers a proxy adds: the demo's open API refuses a request carrying one.
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def from_this_machine() -> bool:
    """Tell whether a request came straight from this machine, through no proxy."""
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def checked_user(user: str) -> str:
    """Return a local demo user id from the URL, or answer 400."""
    if not local.valid_user_id(user):
        abort(400, description="user ids are 1-64 characters of letters, digits and . _ @ -")
    return user


def checked_role(role: str) -> str:
    """Return a page role from the URL, or answer 404: there is no such chat."""
    if role not in ROLES:
        abort(404, description=f"no such role: the roles are {', '.join(ROLES)}")
    return role


def wait_seconds(value: str | None) -> float:
    """Return how long a GET may wait, 0 without `wait`; a wait that is no number is a 400."""
    if value is None:
        return 0.0
    if not WAIT.match(value):
        abort(400, description=f'"wait" must be a number of seconds from 0 to {MAX_WAIT_S:g}')
    return min(float(value), MAX_WAIT_S)


def json_body() -> Any:
    """Return the request's JSON body, or None when it is not JSON we can read."""
    if not request.is_json:
        return None
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the parser's depth
        return None


@dataclass(frozen=True)
class Said:
    """One message a web chat sent, checked."""

    text: str | None
    choice: str | None
    client_id: str | None


def said() -> Said:
    """Return the message in the request's body, or answer 400 saying what is wrong with it."""
    body = json_body()
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
    return Said(text, choice, client_id)


def cursor() -> int:
    """Return the request's cursor ("after"), 0 without one; anything this API did not return is a 400."""
    value = local.parse_cursor(request.args.get("after"))
    if value is None:
        abort(400, description='"after" must be a cursor returned by this API')
    return value


def opened_as(role: str) -> str | None:
    """Return the staff role a tab was opened as, None for a patient's.

    It grants nothing: an unenrolled staff tab is asked for its code instead of registering
    as a patient (flows/steps/enrolment.py).
    """
    return None if role == "patient" else role


def demo_opened_as(user: str) -> str | None:
    """Return the staff role a local demo user id was made for (its suffix), None for a patient's."""
    return next((role for suffix, role in DEMO_STAFF_SUFFIXES.items() if user.endswith(suffix)), None)
