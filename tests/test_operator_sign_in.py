"""Operators sign in to the dashboard: the login form, wrong passwords and throttling, the session's age
and end, the form token, the next page and forged cookies. The real app, the real login form and
dashboard, both databases, en and hi.
"""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.platform.i18n import Catalogs
from bot.runtime import Services
from bot.services import operators
from bot.store.db import Database
from flows.messages import tn as mark_plural
from tests.operator_auth_helpers import (  # noqa: F401  (fixtures)
    ENDED,
    LANGS,
    WRONG,
    app,
    build_app,
    choose,
    client,
    login_redirect,
    make_services,
    text_in,
)
from tests.operators import LOGIN, add_operator, form_token, sign_in, signed_in


def test_a_visitor_is_sent_to_sign_in_and_comes_back(services: Services, client: FlaskClient) -> None:
    assert login_redirect(client.get("/dashboard", query_string={"from": "2026-11-01"})) == {"next": ["/dashboard?from=2026-11-01"]}
    password = add_operator(services, "coord")
    response = sign_in(client, "coord", password, next_path="/dashboard?from=2026-11-01")
    assert (response.status_code, response.location) == (302, "/dashboard?from=2026-11-01")


@pytest.mark.parametrize("lang", LANGS)
def test_a_printed_credential_signs_in_and_opens_the_dashboard(services: Services, client: FlaskClient, lang: str) -> None:
    choose(client, lang)
    page = client.get(LOGIN).get_data(as_text=True)
    assert text_in(services, "Sign in to the dashboard", lang) in page
    assert text_in(services, "Operator name", lang) in page and text_in(services, "Password", lang) in page
    password = add_operator(services, "Coord")
    response = sign_in(client, "COORD ", password)
    assert (response.status_code, response.location) == (302, "/dashboard")
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    html = dashboard.get_data(as_text=True)
    assert '<span class="who">coord</span>' in html
    assert text_in(services, "Sign out", lang) in html
    with services.db.read() as session:
        [listed] = operators.list_operators(session)
    assert listed.username == "coord" and listed.last_login_at is not None


@pytest.mark.parametrize("lang", LANGS)
def test_a_wrong_password_and_an_unknown_name_get_the_same_401(services: Services, client: FlaskClient, lang: str) -> None:
    choose(client, lang)
    add_operator(services, "coord")
    pages = []
    for username in ("coord", "nobody"):
        response = sign_in(client, username, "wrong-password")
        assert response.status_code == 401
        html = response.get_data(as_text=True)
        assert text_in(services, WRONG, lang) in html
        assert f'value="{username}"' in html  # the name stays in the field
        pages.append(html.replace(f'value="{username}"', "").replace(form_token(html), ""))
    assert pages[0] == pages[1]
    assert login_redirect(client.get("/dashboard"))  # still signed out


def test_an_empty_form_or_a_huge_password_is_a_401_not_an_error(services: Services, client: FlaskClient) -> None:
    add_operator(services, "coord")
    assert sign_in(client, "", "").status_code == 401
    assert sign_in(client, "coord", "x" * 10_000).status_code == 401


@pytest.mark.both_databases
@pytest.mark.parametrize("lang", LANGS)
def test_failed_sign_ins_for_one_name_are_throttled(services: Services, client: FlaskClient, lang: str) -> None:
    choose(client, lang)
    password = add_operator(services, "coord")
    for _ in range(10):
        assert sign_in(client, "coord", "wrong-password").status_code == 401
    refused = sign_in(client, "coord", password)  # even the right password waits
    assert refused.status_code == 429
    assert 14 * 60 <= int(refused.headers["Retry-After"]) <= 15 * 60
    expected = services.catalogs.translate(mark_plural(
        "Too many failed sign-ins. Please try again in {count} minute.",
        "Too many failed sign-ins. Please try again in {count} minutes.", 15), lang)
    assert expected in refused.get_data(as_text=True)
    assert login_redirect(client.get("/dashboard"))


@pytest.mark.both_databases
def test_failed_sign_ins_from_one_address_are_throttled_across_names(services: Services, client: FlaskClient) -> None:
    password = add_operator(services, "coord")
    for attempt in range(30):
        assert sign_in(client, f"guess-{attempt}", "wrong-password").status_code == 401
    assert sign_in(client, "coord", password).status_code == 429
    other_address = build_app(services).test_client()
    other_address.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    assert sign_in(other_address, "coord", password).status_code == 302


@pytest.mark.both_databases
@pytest.mark.parametrize("lang", LANGS)
def test_a_session_older_than_the_shift_has_ended(services: Services, client: FlaskClient, lang: str) -> None:
    choose(client, lang)
    signed_in(client, services)
    assert client.get("/dashboard").status_code == 200
    with client.session_transaction("/dashboard") as cookie_session:  # signed in 12 hours and a minute ago
        cookie_session["at"] = time.time() - 12 * 3600 - 60
    query = login_redirect(client.get("/dashboard"))
    assert query == {"next": ["/dashboard"], "ended": ["1"]}
    page = client.get(LOGIN, query_string=query).get_data(as_text=True)
    assert text_in(services, ENDED, lang) in page
    assert login_redirect(client.get("/dashboard")) == {"next": ["/dashboard"]}  # signed out now


def test_the_session_hours_setting_sets_the_limit(db: Database, catalogs: Catalogs) -> None:
    services = make_services(db, catalogs, operator_session_hours=0.5)
    app = build_app(services)
    client = app.test_client()
    signed_in(client, services)
    assert app.permanent_session_lifetime.total_seconds() == 1800
    with client.session_transaction("/dashboard") as cookie_session:
        cookie_session["at"] = time.time() - 25 * 60
    assert client.get("/dashboard").status_code == 200
    with client.session_transaction("/dashboard") as cookie_session:
        cookie_session["at"] = time.time() - 31 * 60
    assert "ended" in login_redirect(client.get("/dashboard"))


@pytest.mark.both_databases
def test_a_sign_in_stamped_by_a_clock_a_little_ahead_still_counts(services: Services, client: FlaskClient) -> None:
    signed_in(client, services)
    with client.session_transaction("/dashboard") as cookie_session:  # another web machine, 2 s ahead
        cookie_session["at"] = time.time() + 2
    assert client.get("/dashboard").status_code == 200
    with client.session_transaction("/dashboard") as cookie_session:  # a day ahead is no clock
        cookie_session["at"] = time.time() + 86400
    assert "ended" in login_redirect(client.get("/dashboard"))


@pytest.mark.parametrize("change", ["reset-password", "remove"])
def test_a_reset_or_a_removal_ends_the_sessions_signed_in_before(services: Services, app: Flask, change: str) -> None:
    laptop, phone = app.test_client(), app.test_client()
    password = add_operator(services, "coord")
    assert sign_in(laptop, "coord", password).status_code == 302
    with services.db.read() as session:
        [coord] = operators.list_operators(session)
    with services.db.write() as session:
        if change == "reset-password":
            password = operators.reset_password(session, "coord")[1]
        else:
            operators.remove_operator(session, "Coord")
    assert "ended" in login_redirect(laptop.get("/dashboard"))
    after = sign_in(phone, "coord", password)
    if change == "reset-password":
        assert after.status_code == 302 and phone.get("/dashboard").status_code == 200
    else:
        assert after.status_code == 401
    with services.db.read() as session:
        assert operators.current(session, coord.id, coord.session_epoch) is None


@pytest.mark.parametrize("lang", LANGS)
def test_signing_out_needs_the_form_token(services: Services, client: FlaskClient, lang: str) -> None:
    choose(client, lang)
    signed_in(client, services)
    token = form_token(client.get("/dashboard").get_data(as_text=True))
    for forged in ({}, {"csrf": "not-the-token"}):
        refused = client.post("/dashboard/logout", data=forged)
        assert refused.status_code == 400
        assert refused.mimetype == "text/html"
        assert text_in(services, "This form has expired", lang) in refused.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 200  # still signed in
    done = client.post("/dashboard/logout", data={"csrf": token})
    assert login_redirect(done) == {"signed_out": ["1"]}
    assert text_in(services, "You have signed out.", lang) in client.get(done.location).get_data(as_text=True)
    assert login_redirect(client.get("/dashboard")) == {"next": ["/dashboard"]}


def test_a_login_form_without_its_token_is_refused(services: Services, client: FlaskClient) -> None:
    password = add_operator(services, "coord")
    assert client.post(LOGIN, data={"username": "coord", "password": password}).status_code == 400
    assert login_redirect(client.get("/dashboard"))


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/dashboard", "/\\evil.example", "http:/evil.example",
    "javascript:alert(1)", "/dashboard\r\nSet-Cookie: x=1", "dashboard",
])
def test_next_must_be_a_local_path(services: Services, client: FlaskClient, target: str) -> None:
    password = add_operator(services, "coord")
    response = sign_in(client, "coord", password, next_path=target)
    assert (response.status_code, response.location) == (302, "/dashboard")


def test_a_tampered_cookie_counts_as_signed_out(services: Services, client: FlaskClient) -> None:
    signed_in(client, services)
    cookie = client.get_cookie("teleopd_operator", path="/dashboard")
    assert cookie is not None
    value = cookie.value
    forged = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    client.set_cookie("teleopd_operator", forged, path="/dashboard")
    assert login_redirect(client.get("/dashboard")) == {"next": ["/dashboard"]}


def test_a_forged_session_for_another_operator_needs_the_key(services: Services, db: Database, catalogs: Catalogs) -> None:
    """A cookie signed with another key (another install, a guessed key) is not a session here."""
    elsewhere = build_app(make_services(db, catalogs, secret_key="another-install-" + "k" * 32))
    stranger = elsewhere.test_client()
    signed_in(stranger, services)
    here = build_app(services).test_client()
    cookie = stranger.get_cookie("teleopd_operator", path="/dashboard")
    assert cookie is not None
    here.set_cookie("teleopd_operator", cookie.value, path="/dashboard")
    assert login_redirect(here.get("/dashboard")) == {"next": ["/dashboard"]}
