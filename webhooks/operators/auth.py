"""Operators sign in to the dashboard: the login form, sign-out, and the guard on every dashboard page.

The session is Flask's signed cookie, scoped to /dashboard and only ever opened there (the
webhooks and the web chat never read or send it). It holds the operator's id, their
session epoch, the key of their sign-in's row in operator_sessions and the time they
signed in, and every dashboard request checks them against the database and
TELEOPD_OPERATOR_SESSION_HOURS: the cookie's own expiry is only the browser's side, and a
copied cookie must not outlive the shift, a sign-out, a password reset or the operator's
removal.

An operator's role (bot/services/operators.py ROLES) is checked here for every dashboard
page: a viewer's POST (any form but sign-out) is refused with 403, and g.operator_role and
g.operator_state tell the pages what the operator may see (a state-bound one: that state's).

Every form POST under /dashboard carries the session's csrf_token() (field "csrf", or the
X-CSRF-Token header for scripts); without it the answer is 400.

Failed sign-ins are throttled with the `limits` library in the runtime's rate-limit storage
(Redis when configured, so every web process counts together). A browser that has signed
in as an operator before carries a signed "known browser" cookie naming them (OWASP's
device cookies): its failures count against that browser alone, so the right password
from it still signs in while strangers hammer the name. Any other browser's failures count
per name and per client address (TELEOPD_TRUSTED_PROXIES says whose X-Forwarded-For to
believe), and past the limit it waits, even with the right password.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from bot.runtime import Services
from bot.services import operators
from webhooks.pages import t, tn

log = logging.getLogger(__name__)

blueprint = Blueprint("operator_auth", __name__, url_prefix="/dashboard")

PREFIX = "/dashboard"
# The blueprints whose every page needs a signed-in operator (the dashboard's, the inbox's).
GUARDED_BLUEPRINTS = ("dashboard", "inbox")
# Failed sign-ins allowed in 15 minutes for one name, and from one address, to browsers not
# known for that name. An OPD hub's coordinators may share one public address, so it gets
# room for a few people mistyping. A known browser has its own allowance.
FAILURES_PER_NAME: RateLimitItem = RateLimitItemPerMinute(10, 15)
FAILURES_PER_ADDRESS: RateLimitItem = RateLimitItemPerMinute(30, 15)
FAILURES_PER_KNOWN_BROWSER: RateLimitItem = RateLimitItemPerMinute(10, 15)
# The "this browser signed in as these operators before" cookie: read only by the login
# form, kept a season, naming the few operators who share a hub's computer.
KNOWN_BROWSER_COOKIE = "teleopd_known_browser"
KNOWN_BROWSER_SALT = "teleopd-known-browser"
KNOWN_BROWSER_DAYS = 90
KNOWN_BROWSER_NAMES = 5
# Longer than any generated password by far; a longer one is not hashed (scrypt on a big body costs).
MAX_PASSWORD_LENGTH = 256
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
# Web processes on other machines stamp sign-ins by their own clocks: a sign-in up to this
# far "in the future" is clock skew, not a forged cookie (which the signature stops anyway).
CLOCK_SKEW_SECONDS = 300


class OperatorSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, opened only under /dashboard, keyed by the shared secret."""

    def open_session(self, app: Flask, request: Any) -> Any:
        if not _under_dashboard(request.path):
            return self.session_class()  # empty and unsigned: never stored, never sent
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> Any:
        _secret_key(app)
        return super().get_signing_serializer(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request.is_secure or super().get_cookie_secure(app))


def install(app: Flask) -> None:
    """Give the app the operator session, the login pages and the guard on the dashboard blueprint."""
    settings = _services(app).settings
    if settings.secret_key:
        app.secret_key = settings.secret_key
    app.session_interface = OperatorSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="teleopd_operator",
        SESSION_COOKIE_PATH=PREFIX,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=session_lifetime(app),
    )
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.register_blueprint(blueprint)
    app.before_request(protect)


def _services(app: Flask | None = None) -> Services:
    return (app or current_app).extensions["teleopd"]  # type: ignore[no-any-return]


def _secret_key(app: Flask) -> str:
    """Return the key that signs the operators' cookies, fetching the shared one the first time."""
    if not app.secret_key:
        # TELEOPD_SECRET_KEY unset: the key generated once and kept in the database.
        app.secret_key = operators.shared_secret_key(_services(app).db)
    return str(app.secret_key)


def session_lifetime(app: Flask | None = None) -> dt.timedelta:
    """Return how long a sign-in lasts (TELEOPD_OPERATOR_SESSION_HOURS)."""
    return dt.timedelta(hours=_services(app).settings.operator_session_hours)


def _under_dashboard(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def csrf_token() -> str:
    """Return this session's form token, making one the first time (a Jinja global)."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    """Refuse (400) a form that does not carry this session's token."""
    sent = request.form.get("csrf") or request.headers.get(CSRF_HEADER) or ""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        log.warning("operator form without the session's token: %s %s", request.method, request.path)
        abort(400)


@dataclass(frozen=True)
class SignedIn:
    """Whose session this is, or that it has ended."""

    username: str | None  # None: the session ended (too old, password reset, operator removed)
    role: str = operators.VIEWER
    state_code: str | None = None
    operator_id: int | None = None


def signed_in() -> SignedIn | None:
    """Return the session's operator while the sign-in counts; None when nobody signed in."""
    operator_id, epoch, key, at = session.get("op"), session.get("epoch"), session.get("sid"), session.get("at")
    if not isinstance(operator_id, int):
        return None
    if not isinstance(epoch, int) or not isinstance(key, str) or not isinstance(at, (int, float)):
        return SignedIn(None)
    age = time.time() - at
    if age < -CLOCK_SKEW_SECONDS or age > session_lifetime().total_seconds():
        return SignedIn(None)
    with _services().db.read() as db_session:
        operator = operators.session_operator(db_session, operator_id, epoch, key)
    if operator is None:
        return SignedIn(None)
    return SignedIn(operator.username, operator.role, operator.state_code, operator.id)


def protect() -> Response | None:
    """Before every request: dashboard pages need a signed-in operator; dashboard forms need the token."""
    if request.blueprint not in (*GUARDED_BLUEPRINTS, "operator_auth"):
        return None
    if request.method not in SAFE_METHODS and request.endpoint != "operator_auth.login":
        _check_csrf()  # the login form checks its own, after it knows the page to show
    if request.blueprint not in GUARDED_BLUEPRINTS:
        return None
    state = signed_in()
    wanted = _here() if request.method in SAFE_METHODS else None
    if state is None:
        return redirect(url_for("operator_auth.login", next=wanted))
    if state.username is None:
        log.info("operator session ended: signed in too long ago, or reset or removed since")
        _sign_out()
        return redirect(url_for("operator_auth.login", next=wanted, ended=1))
    g.operator, g.operator_role, g.operator_state, g.operator_id = state.username, state.role, state.state_code, state.operator_id
    if request.method not in SAFE_METHODS and state.role not in operators.ACTING_ROLES:
        log.warning("operator %s (%s) refused: %s %s", state.username, state.role, request.method, request.path)
        abort(403)
    return None


def _here() -> str:
    """Return this request's local path and query, to come back to after signing in."""
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


def safe_next(value: str | None) -> str:
    """Return a local path to go to after signing in; anything else (another site) is the dashboard."""
    default = PREFIX
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 0x20 or ch == "\\" for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _sign_out() -> None:
    """Forget the sign-in; keep a fresh form token so the login form still works."""
    session.clear()
    csrf_token()


def _limiter() -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(_services().limiter.storage)


@dataclass(frozen=True)
class KnownBrowser:
    """This browser's id and the operators who signed in on it, newest first."""

    browser_id: str
    usernames: tuple[str, ...]


def _known_browser_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret_key(current_app), salt=KNOWN_BROWSER_SALT)


def known_browser() -> KnownBrowser | None:
    """Return what this browser's signed cookie says about it, or None (no cookie, forged, too old)."""
    raw = request.cookies.get(KNOWN_BROWSER_COOKIE)
    if not raw:
        return None
    try:
        data = _known_browser_serializer().loads(raw, max_age=KNOWN_BROWSER_DAYS * 86400)
    except BadSignature:  # SignatureExpired is one too
        return None
    if not isinstance(data, dict):
        return None
    browser_id, usernames = data.get("b"), data.get("n")
    if not isinstance(browser_id, str) or not isinstance(usernames, list) or not all(isinstance(n, str) for n in usernames):
        return None
    return KnownBrowser(browser_id, tuple(usernames))


def _remember_browser(response: Response, username: str) -> None:
    """Set the known-browser cookie so this browser's own mistakes alone count against it next time."""
    known = known_browser()
    browser_id = known.browser_id if known is not None else secrets.token_urlsafe(16)
    usernames = [username, *(name for name in (known.usernames if known else ()) if name != username)][:KNOWN_BROWSER_NAMES]
    response.set_cookie(
        KNOWN_BROWSER_COOKIE, _known_browser_serializer().dumps({"b": browser_id, "n": usernames}),
        max_age=KNOWN_BROWSER_DAYS * 86400, path=url_for("operator_auth.login"),
        secure=request.is_secure, httponly=True, samesite="Strict",
    )


def _throttle_keys(username: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    known = known_browser()
    if known is not None and username in known.usernames:
        # This browser signed in as them before: strangers' failures on the name do not lock
        # it out, and its own are limited by their own count.
        return [(FAILURES_PER_KNOWN_BROWSER, ("operator-login", "browser", known.browser_id))]
    return [
        (FAILURES_PER_NAME, ("operator-login", "name", username)),
        (FAILURES_PER_ADDRESS, ("operator-login", "address", request.remote_addr or "unknown")),
    ]


def _retry_after(username: str) -> float | None:
    """Return the seconds until this name and address may try again, or None when they may now."""
    limiter = _limiter()
    waits = []
    for item, keys in _throttle_keys(username):
        if not limiter.test(item, *keys):
            waits.append(limiter.get_window_stats(item, *keys).reset_time - time.time())
    return max(max(waits), 1.0) if waits else None


def _count_failure(username: str) -> None:
    limiter = _limiter()
    for item, keys in _throttle_keys(username):
        limiter.hit(item, *keys)


def _login_form(status: int = 200, *, username: str = "", error: str | None = None, notice: str | None = None) -> tuple[str, int]:
    page = render_template(
        "operator_login.html", username=username, error=error, notice=notice,
        next_path=safe_next(request.values.get("next")),
    )
    return page, status


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the sign-in form; check a name and password and start a session."""
    wanted = safe_next(request.values.get("next"))
    if request.method == "GET":
        state = signed_in()
        if state is not None and state.username is not None:
            return redirect(wanted)
        notice = None
        if request.args.get("ended"):
            notice = t("Your session has ended, please sign in again.")
        elif request.args.get("signed_out"):
            notice = t("You have signed out.")
        return _login_form(notice=notice)
    _check_csrf()
    username = operators.normal_username(request.form.get("username", ""))[:64]
    password = request.form.get("password", "")
    retry = _retry_after(username)
    if retry is not None:
        log.warning("operator sign-in refused: too many failed attempts (name or address)")
        return too_many_attempts(retry)
    operator, key = None, ""
    if username and password and len(password) <= MAX_PASSWORD_LENGTH:
        with _services().db.write() as db_session:
            operator = operators.verify(db_session, username, password)
            if operator is not None:
                key = operators.start_session(db_session, operator.id)
    if operator is None:
        _count_failure(username)
        log.warning("operator sign-in failed from %s", request.remote_addr)
        return _login_form(401, username=username, error=t("That name and password do not match. Check them and try again."))
    session.clear()
    session.permanent = True
    session.update(op=operator.id, epoch=operator.session_epoch, sid=key, at=time.time(), csrf=secrets.token_urlsafe(32))
    log.info("operator %s signed in", operator.username)
    response = redirect(wanted)
    _remember_browser(response, operator.username)
    return response


def too_many_attempts(retry_seconds: float) -> tuple[str, int, dict[str, str]]:
    """The 429 page: too many failed sign-ins, and in how many minutes to try again."""
    minutes = max(1, math.ceil(retry_seconds / 60))
    message = tn(
        "Too many failed sign-ins. Please try again in {count} minute.",
        "Too many failed sign-ins. Please try again in {count} minutes.",
        minutes,
    )
    page = render_template("operator_error.html", code=429, title=t("Please wait"), message=message, operator=None)
    return page, 429, {"Retry-After": str(math.ceil(retry_seconds))}


@blueprint.route("/logout", methods=["POST"])
def logout() -> Response:
    """End the session here and in the database (the form's token was checked by protect())."""
    state = signed_in()
    if state is not None and state.username is not None:
        log.info("operator %s signed out", state.username)
    key = session.get("sid")
    if isinstance(key, str):
        # Ended in the database, so a copy of this cookie (another tab, a stolen one) is no sign-in.
        with _services().db.write() as db_session:
            operators.end_session(db_session, key)
    _sign_out()
    return redirect(url_for("operator_auth.login", signed_out=1))


def error_page(error: HTTPException) -> tuple[str, int]:
    """Render an HTTP error under /dashboard as a page in the page's language."""
    code = error.code or 500
    titles = {
        400: (t("This form has expired"), t("The page was open too long or was sent from elsewhere. Go back, reload the page and try again.")),
        403: (t("Not allowed"), t("Your account cannot open this page.")),
        404: (t("Page not found"), t("There is no such page. Check the address, or go back to the dashboard.")),
        405: (t("Not allowed"), t("This page cannot be opened that way. Go back to the dashboard.")),
    }
    title, message = titles.get(code, (t("Something went wrong"), t("Please try again in a moment.")))
    return render_template("operator_error.html", code=code, title=title, message=message, operator=g.get("operator")), code
