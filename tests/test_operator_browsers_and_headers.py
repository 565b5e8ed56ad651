"""Operators' known browsers, proxies, signing out for good, and the pages' headers. The real app, the
real login form and dashboard, both databases, en and hi.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.platform.i18n import Catalogs
from bot.runtime import Services
from bot.services import operators
from bot.store.db import Database
from bot.store.models import OperatorSession
from tests.operator_auth_helpers import (  # noqa: F401  (fixtures)
    ENDED,
    LANGS,
    app,
    build_app,
    choose,
    client,
    login_redirect,
    make_services,
    set_cookie,
    text_in,
)
from tests.operators import LOGIN, add_operator, form_token, sign_in, signed_in

# --- a known browser, proxies, signing out for good, the pages' headers ---------------------------


def sign_out(client: FlaskClient) -> None:
    """Sign out through the dashboard's form."""
    token = form_token(client.get("/dashboard").get_data(as_text=True))
    assert login_redirect(client.post("/dashboard/logout", data={"csrf": token})) == {"signed_out": ["1"]}


def client_at(app: Flask, address: str) -> FlaskClient:
    """Return a browser of its own at a client address."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


@pytest.mark.parametrize("lang", LANGS)
def test_strangers_hammering_a_name_do_not_lock_out_its_known_browser(services: Services, app: Flask, lang: str) -> None:
    laptop, stranger = client_at(app, "10.1.1.1"), client_at(app, "198.51.100.9")
    choose(stranger, lang)
    password = add_operator(services, "admin")
    assert sign_in(laptop, "admin", password).status_code == 302  # this browser is known for admin from now on
    sign_out(laptop)
    for _ in range(10):
        assert sign_in(stranger, "admin", "guess").status_code == 401
    refused = sign_in(stranger, "admin", password)  # an unknown browser waits, even with the password
    assert refused.status_code == 429
    assert text_in(services, "Please wait", lang) in refused.get_data(as_text=True)
    assert sign_in(client_at(app, "10.1.1.2"), "admin", password).status_code == 429  # a new browser of theirs too
    assert sign_in(laptop, "admin", password).status_code == 302  # the known one signs in
    assert laptop.get("/dashboard").status_code == 200


def test_a_known_browser_is_still_limited_by_its_own_mistakes(services: Services, app: Flask) -> None:
    laptop = client_at(app, "10.1.1.1")
    password = add_operator(services, "admin")
    assert sign_in(laptop, "admin", password).status_code == 302
    sign_out(laptop)
    for _ in range(10):
        assert sign_in(laptop, "admin", "guess").status_code == 401
    assert sign_in(laptop, "admin", password).status_code == 429
    # Its mistakes were its own: another browser is not locked out by them.
    assert sign_in(client_at(app, "10.1.1.2"), "admin", password).status_code == 302


def test_a_browser_known_for_one_name_is_a_stranger_to_another(services: Services, app: Flask) -> None:
    laptop, stranger = client_at(app, "10.1.1.1"), client_at(app, "198.51.100.9")
    coord_password, admin_password = add_operator(services, "coord"), add_operator(services, "admin")
    assert sign_in(laptop, "coord", coord_password).status_code == 302
    sign_out(laptop)
    for _ in range(10):
        assert sign_in(stranger, "admin", "guess").status_code == 401
    assert sign_in(laptop, "admin", admin_password).status_code == 429


def test_a_known_browser_cookie_signed_elsewhere_or_edited_is_ignored(services: Services, db: Database, catalogs: Catalogs, app: Flask) -> None:
    elsewhere = build_app(make_services(db, catalogs, secret_key="another-install-" + "k" * 32))
    password = add_operator(services, "admin")
    foreign = elsewhere.test_client()
    assert sign_in(foreign, "admin", password).status_code == 302
    cookie = foreign.get_cookie("teleopd_known_browser", path="/dashboard/login")
    assert cookie is not None
    stranger = client_at(app, "198.51.100.9")
    for _ in range(10):
        assert sign_in(stranger, "admin", "guess").status_code == 401
    for value in (cookie.value, cookie.value[:-2] + "xx"):
        carrier = client_at(app, "198.51.100.10")
        carrier.set_cookie("teleopd_known_browser", value, path="/dashboard/login")
        assert sign_in(carrier, "admin", password).status_code == 429


@pytest.mark.parametrize(("trusted", "separate"), [(1, True), (0, False)])
def test_behind_a_trusted_proxy_each_client_address_has_its_own_count(
    services: Services, db: Database, catalogs: Catalogs, trusted: int, separate: bool,
) -> None:
    """Behind one proxy every request comes from its address; X-Forwarded-For names the client, when trusted."""
    app = build_app(make_services(db, catalogs, trusted_proxies=trusted))
    password = add_operator(services, "coord")
    guesser, coordinator = client_at(app, "10.0.0.2"), client_at(app, "10.0.0.2")  # the proxy's address
    guesser.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    coordinator.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.20"
    for attempt in range(30):
        assert sign_in(guesser, f"guess-{attempt}", "wrong-password").status_code == 401
    assert sign_in(coordinator, "coord", password).status_code == (302 if separate else 429)


def test_a_trusted_proxy_says_the_request_was_https(services: Services, db: Database, catalogs: Catalogs) -> None:
    app = build_app(make_services(db, catalogs, trusted_proxies=1))
    page = app.test_client().get(LOGIN, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in set_cookie(page, "teleopd_operator")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    untrusted = build_app(services).test_client().get(LOGIN, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in set_cookie(untrusted, "teleopd_operator") and "Strict-Transport-Security" not in untrusted.headers


@pytest.mark.both_databases
@pytest.mark.parametrize("lang", LANGS)
def test_signing_out_ends_the_session_in_the_database_so_a_copied_cookie_is_no_sign_in(
    services: Services, app: Flask, client: FlaskClient, lang: str,
) -> None:
    choose(client, lang)
    signed_in(client, services)
    cookie = client.get_cookie("teleopd_operator", path="/dashboard")
    assert cookie is not None
    copy = app.test_client()
    choose(copy, lang)
    copy.set_cookie("teleopd_operator", cookie.value, path="/dashboard")
    assert copy.get("/dashboard").status_code == 200  # a copied cookie is the same sign-in…
    sign_out(client)
    query = login_redirect(copy.get("/dashboard"))  # …and signing out ended it, for the copy too
    assert query == {"next": ["/dashboard"], "ended": ["1"]}
    assert text_in(services, ENDED, lang) in copy.get(LOGIN, query_string=query).get_data(as_text=True)
    with services.db.read() as session:
        [row] = session.scalars(select(OperatorSession)).all()
    assert row.ended_at is not None


def test_signing_in_again_leaves_other_sign_ins_open_and_clears_ended_ones(services: Services, app: Flask) -> None:
    laptop, phone = app.test_client(), app.test_client()
    password = add_operator(services, "coord")
    assert sign_in(laptop, "coord", password).status_code == 302
    assert sign_in(phone, "coord", password).status_code == 302
    sign_out(laptop)
    assert phone.get("/dashboard").status_code == 200  # signing out on one device is that device only
    assert sign_in(laptop, "coord", password).status_code == 302
    with services.db.read() as session:
        rows = session.scalars(select(OperatorSession)).all()
    assert len(rows) == 2 and all(row.ended_at is None for row in rows)  # the ended one is gone


@pytest.mark.both_databases
@pytest.mark.parametrize("change", ["reset-password", "remove"])
def test_a_reset_or_a_removal_ends_the_sign_ins_in_the_database(services: Services, client: FlaskClient, change: str) -> None:
    signed_in(client, services)
    with services.db.write() as session:
        if change == "reset-password":
            operators.reset_password(session, "coord")
        else:
            operators.remove_operator(session, "coord")
    with services.db.read() as session:
        assert all(row.ended_at is not None for row in session.scalars(select(OperatorSession)))


def test_every_answer_carries_the_safety_headers(services: Services, client: FlaskClient) -> None:
    signed_in(client, services)
    for path in (LOGIN, "/dashboard", "/dashboard/no-such-page", "/", "/api/chat/web-1/messages", "/healthz", "/privacy"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
            assert directive in policy, (path, policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert "Strict-Transport-Security" not in headers, path  # plain http: a browser would ignore it
    assert "Strict-Transport-Security" in client.get(LOGIN, base_url="https://opd.example.in").headers


def test_the_chat_json_and_the_dashboard_pages_are_never_stored(services: Services, client: FlaskClient) -> None:
    signed_in(client, services)
    for path in ("/dashboard", LOGIN, "/dashboard/no-such-page", "/api/chat/web-1/messages"):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path
    assert client.post("/api/chat/web-1/messages", json={"text": "hello"}).headers.get("Cache-Control") == "no-store"
    # A chat beyond the local demo, found by its cookie, holds the same messages.
    assert client.post("/api/my-chat/patient/messages", json={"text": "hello"}).headers.get("Cache-Control") == "no-store"
    assert client.get("/api/my-chat/patient/messages").headers.get("Cache-Control") == "no-store"
    assert client.get("/dashboard/logout").headers.get("Cache-Control") == "no-store"  # a 405 page too


@pytest.mark.parametrize("lang", LANGS)
def test_the_operator_pages_need_no_inline_script_or_style(services: Services, client: FlaskClient, lang: str) -> None:
    """The Content-Security-Policy forbids inline code: every page's script and style come from files."""
    choose(client, lang)
    pages = [client.get(LOGIN), sign_in(client, "nobody", "wrong")]
    signed_in(client, services)
    pages += [client.get("/dashboard"), client.get("/dashboard/no-such-page")]
    for response in pages:
        html = response.get_data(as_text=True)
        assert "<style" not in html and " style=" not in html, response.request.path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), response.request.path
        assert not re.search(r"\son[a-z]+=", html), response.request.path  # no onclick= and the like
