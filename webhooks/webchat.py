"""The web channel: a chat page at / and its JSON API.

A chat is a secret the server issues (bot/services/webchats.py); the page keeps it in an HttpOnly
cookie, one per role, and the API addresses "my chat" by that cookie, never by an id in
the URL:

POST   /api/my-chat/<role>/messages  {"text": ...} or {"choice": key} [, "id": client id] → 202 {"status", "id", "chat"}
GET    /api/my-chat/<role>/messages?after=<cursor>[&wait=<seconds>] → {"messages": [...], "cursor", "role", "lang", "chat"}
DELETE /api/my-chat/<role> → 204: the chat ends for good and the cookie goes ("new chat")

<role> is the page's role (patient, doctor, health_worker): each is its own chat in one
browser, and a doctor's desk is such a chat plus the doctor's enrolment code. The first
POST opens the chat and sets its cookie; a GET before that answers no messages and
`"chat": null`. A cookie whose chat was revoked gets a 401 and is cleared, so the next
message opens a new chat.

On the local demo (create_app(local_demo=True): `teleopd serve` on loopback) any user id
works as well, for scripts, `curl` and the page's `/?user=`:

POST /api/chat/<user>/messages, GET /api/chat/<user>/messages — the same bodies.

Anywhere else these two answer 403. On the demo they still refuse a request that came from
another machine or through a proxy (X-Forwarded-For, Forwarded): a loopback server behind
a public proxy is not a local demo.

`wait` makes the GET a long poll: it answers as soon as there is a message after the cursor,
or with none after `wait` seconds (a number, 0-25; more is cut to 25, anything else is a
400). Without `wait` it answers at once, and so it does on a server that runs one request
per process at a time (wsgi.multithread false: gunicorn's sync workers), and when the
process already holds as many long polls as it may (create_app's `long_polls`, half of
`teleopd serve`'s threads): a waiting chat must never take the threads webhooks need, and
the page polls again shortly. `role` is the chat's role (patient, doctor, health_worker)
and `lang` its conversation's language (en, hi), both null before its first message.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.dispatch import Result
from bot.inbound import receive
from bot.runtime import Services
from bot.services import webchats
from flows.engine import LANGUAGES
from webhooks import chat_requests
from webhooks.chat_requests import DEMO_STAFF_SUFFIXES, MAX_WAIT_S, ROLES, Said
from webhooks.pages import in_language, page_language, t

# What tests and gunicorn.conf.py import from here; what a request may carry is checked in
# webhooks/chat_requests.py.
__all__ = [
    "COOKIE_PREFIX", "DEFAULT_LONG_POLLS", "DEMO_STAFF_SUFFIXES", "ENROL_WORD", "MAX_WAIT_S", "ROLES", "LongPolls", "blueprint",
    "install", "limit_long_polls", "long_polls_for",
]

blueprint = Blueprint("webchat", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

# Long polls one process holds at once unless create_app is told otherwise (`teleopd serve`
# tells it half its threads, gunicorn.conf.py half a gthread worker's; gunicorn's sync
# workers hold none anyway).
DEFAULT_LONG_POLLS = 4
# The chat cookie of a role is "teleopd_chat_<role>", sent only to that role's API.
COOKIE_PREFIX = "teleopd_chat_"
# A chat outlives a browser restart for a month (a doctor's desk across shifts); "new chat"
# or an operator ends it sooner.
COOKIE_SECONDS = 30 * 24 * 3600
# The demo's routes, which take any user id.
DEMO_ENDPOINTS = ("webchat.post_message", "webchat.get_messages")
# The word the bot takes before an enrolment code (flows/steps/enrolment.py): in Hindi,
# so that a doctor who enrols from the Hindi page is answered in Hindi. Romanised Hindi (a
# chat switched to it) types the Latin word.
ENROL_WORD = {"en": "enroll", "hi": "नामांकन", "hi-Latn": "enroll"}


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


@dataclass(frozen=True)
class WebChatSetup:
    """How one app serves the web chat."""

    local_demo: bool
    long_polls: LongPolls


def install(app: Any, *, local_demo: bool, long_polls: int) -> None:
    """Register the web chat on an app: the demo's open API only when told it is the local demo."""
    app.extensions["teleopd.webchat"] = WebChatSetup(local_demo, LongPolls(long_polls))
    app.register_blueprint(blueprint)


def long_polls_for(threads: int) -> int:
    """Return how many long polls a server of this many threads may hold: half.

    The other half answer webhooks (Twilio gives up after 15 s) and /healthz; the chat
    tabs beyond the cap are answered at once and poll again shortly.
    """
    return threads // 2


def limit_long_polls(app: Any, threads: int) -> None:
    """Let an app served by this many threads hold long_polls_for(threads) long polls at once."""
    setup = getattr(app, "extensions", {}).get("teleopd.webchat")  # not a gunicorn boot-error app
    if setup is not None:
        app.extensions["teleopd.webchat"] = replace(setup, long_polls=LongPolls(long_polls_for(threads)))


def _setup() -> WebChatSetup:
    return current_app.extensions["teleopd.webchat"]  # type: ignore[no-any-return]


def _services() -> Services:
    return current_app.extensions["teleopd"]  # type: ignore[no-any-return]


@blueprint.before_request
def _open_api_only_on_the_local_demo():  # type: ignore[no-untyped-def]
    """Refuse the demo's any-user-id API unless this is the local demo, asked from this machine."""
    if request.endpoint not in DEMO_ENDPOINTS:
        return None
    if _setup().local_demo and chat_requests.from_this_machine():
        return None
    return jsonify(error="chats by user id are open only on the local demo; open the chat page, which gives this browser its own chat"), 403


def _handle(address: str, said: Said, opened_as: str | None) -> Response:
    """Hand one message of a chat to the dispatcher; return the 202 answer."""
    provider_id = f"{address}:{said.client_id}" if said.client_id else f"{address}:{uuid.uuid4()}"
    message = InboundMessage(
        channel=local.NAME,
        address=address,
        provider_id=provider_id,
        text=said.text or "",
        choice=said.choice,
        kind="choice" if said.choice is not None else "text",
        opened_as=opened_as,
    )
    receipt = receive(_services().dispatcher, local.NAME, message, provider_id)
    status = "duplicate" if receipt.status == Result.DUPLICATE else "accepted"
    response = jsonify(status=status, id=provider_id, chat=address)
    response.status_code = 202
    return response


def _messages(address: str) -> Response:
    """Return a chat's messages after the request's cursor, waiting up to its `wait` for one."""
    cursor = chat_requests.cursor()
    wait_s = chat_requests.wait_seconds(request.args.get("wait"))
    if not request.environ.get("wsgi.multithread", False):
        # One request at a time per process (gunicorn's sync workers, as in the Procfile):
        # a waiting chat would hold the whole process, webhooks and all. Answer at once;
        # the page then polls every few seconds instead.
        wait_s = 0.0
    db = _services().db
    with _setup().long_polls.place() as placed:
        messages, next_cursor = local.wait_for_messages(db, address, cursor, wait_s if placed else 0.0)
    role, lang = local.chat_state(db, address)
    return jsonify(messages=[m.to_json() for m in messages], cursor=str(next_cursor), role=role, lang=lang, chat=address)


# --- the page -------------------------------------------------------------------------------


@blueprint.get("/")
def chat_page():  # type: ignore[no-untyped-def]
    """Serve the chat page: its own chat for the role, or on the local demo a chosen ?user=."""
    role = request.args.get("role")
    role = role if role in ROLES else "patient"
    user = request.args.get("user")
    if _setup().local_demo and user is not None and local.valid_user_id(user):
        api, end = url_for("webchat.get_messages", user=user), ""
    else:
        user = None
        api, end = url_for("webchat.get_my_messages", role=role), url_for("webchat.end_my_chat", role=role)
    # What the page's own links keep (the language links): the role and a demo's ?user=, nothing else.
    kept = {name: value for name, value in (("role", request.args.get("role")), ("user", user)) if value is not None}
    words = {}
    for lang in LANGUAGES:
        with in_language(lang):
            words[lang] = _page_words()
    return render_template(
        "chat.html", api=api, end_chat=end, user=user, kept=kept, local_demo=_setup().local_demo, role=role, roles=ROLES,
        words=words[page_language()], all_words=words,
    )


def _page_words() -> dict[str, Any]:
    """Return the page's own words in the page's language.

    The template shows them; the page carries them in every language, so that its script
    can switch them when the chat's language changes, without a reload.
    """
    demo = _setup().local_demo
    return {
        "roles": {"patient": t("Patient"), "doctor": t("Doctor"), "health_worker": t("Health worker")},
        "subtitle": t("Online OPD — local demo chat") if demo else t("Online OPD"),
        "hint_title": t("Try both sides"),
        "hint": t("Book as a patient here. Then, in a second tab, switch to Doctor and enter the code that {command} printed.",
                  command="“teleopd demo”"),
        "chat": t("Chat"),
        "language": t("Language"),
        "role": t("Role"),
        "new_chat": t("new chat"),
        "noscript": t("This chat needs JavaScript. In a terminal, run {command} instead.", command="“teleopd chat”"),
        "enrol_label": t("Enter the code your coordinator gave you"),
        "enrol": t("Enrol"),
        "enrol_word": ENROL_WORD[page_language()],
        "messages": t("Messages"),
        "empty": t("Say “hi” to start."),
        "quick_phrases": t("Quick phrases"),
        "phrases": [t("hello"), t("I have fever for 3 days"), t("status")],
        "your_message": t("Your message"),
        "placeholder": t("Type a message"),
        "send": t("Send"),
        "emergency": t("Emergency"),
        "open_pdf": t("Open the PDF"),  # a patient's document on the doctor's desk
        # The status line and the role label.
        "lost": t("Connection lost — retrying…"),
        "failed": t("Message not sent — please try again."),
        "ended": t("This chat has ended: write to start a new one."),
        "not_enrolled": t("not enrolled yet"),
        "code_invalid": t("A code is 4 to 20 letters and digits."),
    }


# --- my chat, by its cookie -----------------------------------------------------------------


def _cookie(role: str) -> str:
    return COOKIE_PREFIX + role


def _cookie_path(role: str) -> str:
    return url_for("webchat.end_my_chat", role=role)


def _secure() -> bool:
    """Tell whether cookies must be https-only: on https, or behind a TLS proxy of an https public URL."""
    public_url = _services().settings.public_url or ""
    return request.is_secure or public_url.startswith("https://")


def _forget(response: Response, role: str) -> None:
    response.delete_cookie(_cookie(role), path=_cookie_path(role), secure=_secure(), httponly=True, samesite="Strict")


def _my_chat(role: str) -> str | None:
    """Return the address of this browser's chat for a role, None before it has one.

    A cookie of a chat that was revoked, or of none at all, is answered 401 and cleared.
    """
    secret = request.cookies.get(_cookie(role))
    if secret is None:
        return None
    address = webchats.address_for(_services().db, secret)
    if address is None:
        response = jsonify(error="this chat has ended: send a message to start a new one")
        response.status_code = 401
        _forget(response, role)
        abort(response)
    return address


@blueprint.post("/api/my-chat/<role>/messages")
def post_my_message(role: str):  # type: ignore[no-untyped-def]
    """Accept one message of this browser's chat, opening the chat (and setting its cookie) on the first."""
    role = chat_requests.checked_role(role)
    said = chat_requests.said()  # checked before a chat is opened: a bad request opens none
    address = _my_chat(role)
    opened = None
    if address is None:
        opened = webchats.open_chat(_services().db)
        address = opened.address
    response = _handle(address, said, chat_requests.opened_as(role))
    if opened is not None:
        response.set_cookie(
            _cookie(role), opened.secret, max_age=COOKIE_SECONDS, path=_cookie_path(role),
            secure=_secure(), httponly=True, samesite="Strict",
        )
    return response


@blueprint.get("/api/my-chat/<role>/messages")
def get_my_messages(role: str):  # type: ignore[no-untyped-def]
    """Return this browser's chat's messages after a cursor, waiting up to `wait` seconds for one."""
    role = chat_requests.checked_role(role)
    address = _my_chat(role)
    if address is None:
        # No chat yet: nothing can arrive for it, so there is nothing to wait for either.
        chat_requests.wait_seconds(request.args.get("wait"))
        return jsonify(messages=[], cursor=str(chat_requests.cursor()), role=None, lang=None, chat=None)
    return _messages(address)


@blueprint.delete("/api/my-chat/<role>")
def end_my_chat(role: str):  # type: ignore[no-untyped-def]
    """End this browser's chat for a role: its secret is revoked and its cookie cleared."""
    role = chat_requests.checked_role(role)
    secret = request.cookies.get(_cookie(role))
    if secret is not None:
        address = webchats.address_for(_services().db, secret)
        if address is not None:
            webchats.revoke(_services().db, address)
    response = Response(status=204)
    _forget(response, role)
    return response


# --- the local demo: any user id ------------------------------------------------------------


# The API's routes do not merge "//": werkzeug would answer a user id with a "/" in it
# ("/api/chat/0//messages") with a 308 to another URL instead of a plain 404.
@blueprint.post("/api/chat/<user>/messages", merge_slashes=False)
def post_message(user: str):  # type: ignore[no-untyped-def]
    """Accept one message from a local demo chat user and handle it."""
    user = chat_requests.checked_user(user)
    return _handle(user, chat_requests.said(), chat_requests.demo_opened_as(user))


@blueprint.get("/api/chat/<user>/messages", merge_slashes=False)
def get_messages(user: str):  # type: ignore[no-untyped-def]
    """Return a local demo chat user's messages after a cursor, waiting up to `wait` seconds for one."""
    return _messages(chat_requests.checked_user(user))
