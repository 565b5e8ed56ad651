"""Operators sign in to the dashboard: the real app, the real login form and dashboard, both databases, en and hi."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import webhooks
from bot import operators
from bot.config import Settings
from bot.db import Database
from bot.i18n import Catalogs
from bot.models import AppSecret
from bot.services import Services, build_services
from flows.messages import t as mark
from flows.messages import tn as mark_plural
from tests.operators import LOGIN, add_operator, form_token, sign_in, signed_in

LANGS = ["en", "hi"]
WRONG = "That name and password do not match. Check them and try again."
ENDED = "Your session has ended, please sign in again."


def build_app(services: Services) -> Flask:
    app = webhooks.create_app(services)
    assert "dashboard" in app.blueprints  # webhooks/dashboard.py, the blueprint the guard protects
    return app


def make_services(db: Database, catalogs: Catalogs, **settings: object) -> Services:
    return build_services(Settings(database_url=db.url, inbound_per_minute=1000, **settings), db=db, catalogs=catalogs)  # type: ignore[arg-type]


@pytest.fixture
def app(services: Services) -> Flask:
    return build_app(services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def text_in(services: Services, msgid: str, lang: str, **params: object) -> str:
    """The catalog's text for a message, as a page in that language shows it."""
    return services.catalogs.render(mark(msgid, **params), lang)  # type: ignore[no-any-return]


def choose(client: FlaskClient, lang: str) -> None:
    """Pick the page language the way a visitor does (?lang=, remembered in a cookie)."""
    assert client.get(LOGIN, query_string={"lang": lang}).status_code == 200


def login_redirect(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Assert a redirect to the login page; return its query."""
    assert response.status_code == 302, response.status_code
    target = urlsplit(response.location)
    assert target.path == LOGIN, response.location
    return parse_qs(target.query)


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


@pytest.mark.parametrize("lang", LANGS)
def test_failed_sign_ins_for_one_name_are_throttled(services: Services, client: FlaskClient, lang: str) -> None:
    choose(client, lang)
    password = add_operator(services, "coord")
    for _ in range(10):
        assert sign_in(client, "coord", "wrong-password").status_code == 401
    refused = sign_in(client, "coord", password)  # even the right password waits
    assert refused.status_code == 429
    assert 14 * 60 <= int(refused.headers["Retry-After"]) <= 15 * 60
    expected = services.catalogs.render(mark_plural(
        "Too many failed sign-ins. Please try again in {count} minute.",
        "Too many failed sign-ins. Please try again in {count} minutes.", 15), lang)
    assert expected in refused.get_data(as_text=True)
    assert login_redirect(client.get("/dashboard"))


def test_failed_sign_ins_from_one_address_are_throttled_across_names(services: Services, client: FlaskClient) -> None:
    password = add_operator(services, "coord")
    for attempt in range(30):
        assert sign_in(client, f"guess-{attempt}", "wrong-password").status_code == 401
    assert sign_in(client, "coord", password).status_code == 429
    other_address = build_app(services).test_client()
    other_address.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    assert sign_in(other_address, "coord", password).status_code == 302


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


def test_the_cookie_is_http_only_lax_scoped_and_secure_over_https(services: Services, client: FlaskClient) -> None:
    password = add_operator(services, "coord")
    plain = sign_in(client, "coord", password).headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Path=/dashboard" in plain and "Expires=" in plain
    assert "Secure" not in plain
    secure_client = build_app(services).test_client()
    page = secure_client.get(LOGIN, base_url="https://opd.example.in")
    assert "Secure" in page.headers["Set-Cookie"]


def test_other_pages_never_get_the_operator_cookie(client: FlaskClient) -> None:
    for path in ("/", "/api/chat/web-1/messages"):
        response = client.get(path)
        assert all(not header.startswith("teleopd_operator=") for header in response.headers.getlist("Set-Cookie")), path


def test_without_a_secret_key_every_process_shares_the_one_in_the_database(services: Services, db: Database, catalogs: Catalogs) -> None:
    first = build_app(services).test_client()
    signed_in(first, services)
    with db.read() as session:
        [stored] = session.scalars(select(AppSecret)).all()
    assert len(stored.value) >= 48
    second = build_app(make_services(db, catalogs)).test_client()  # another web process, or a restart
    cookie = first.get_cookie("teleopd_operator", path="/dashboard")
    assert cookie is not None
    second.set_cookie("teleopd_operator", cookie.value, path="/dashboard")
    assert second.get("/dashboard").status_code == 200
    assert operators.shared_secret_key(db) == stored.value


def test_a_secret_key_setting_is_used_and_nothing_is_stored(db: Database, catalogs: Catalogs) -> None:
    services = make_services(db, catalogs, secret_key="configured-" + "s" * 32)
    app = build_app(services)
    signed_in(app.test_client(), services)
    assert app.secret_key == "configured-" + "s" * 32
    with db.read() as session:
        assert session.scalars(select(AppSecret)).all() == []


@pytest.mark.parametrize("lang", LANGS)
def test_errors_under_dashboard_are_pages_and_json_elsewhere(services: Services, client: FlaskClient, lang: str) -> None:
    choose(client, lang)
    missing = client.get("/dashboard/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    html = missing.get_data(as_text=True)
    assert text_in(services, "Page not found", lang) in html and text_in(services, "Error {code}", lang, code=404) in html
    wrong_method = client.get("/dashboard/logout")
    assert wrong_method.status_code == 405 and wrong_method.mimetype == "text/html"
    assert text_in(services, "Not allowed", lang) in wrong_method.get_data(as_text=True)
    elsewhere = client.get("/no-such-page")
    assert elsewhere.status_code == 404 and elsewhere.is_json


def test_sign_ins_are_logged_without_passwords(services: Services, client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    password = add_operator(services, "coord")
    with caplog.at_level(logging.INFO, logger="webhooks.operator_auth"):
        sign_in(client, "coord", "my-wrong-guess")
        sign_in(client, "coord", password)
    lines = [record.getMessage() for record in caplog.records]
    assert any("sign-in failed" in line for line in lines), lines
    assert any("coord signed in" in line for line in lines), lines
    assert not any(password in line or "my-wrong-guess" in line for line in lines)


def test_a_signed_in_operator_skips_the_login_form(services: Services, client: FlaskClient) -> None:
    signed_in(client, services)
    response = client.get(LOGIN, query_string={"next": "/dashboard?lang=hi"})
    assert (response.status_code, response.location) == (302, "/dashboard?lang=hi")


# bot/operators.py itself


def test_operator_names_are_one_whatever_the_case_and_checked(db: Database) -> None:
    with db.write() as session:
        operator, password = operators.add_operator(session, " Coord.One ")
        assert operator.username == "coord.one"
        with pytest.raises(operators.OperatorError, match="already"):
            operators.add_operator(session, "COORD.ONE")
        for bad in ("", "two words", "-dash-first", "x" * 65, "नाम"):
            with pytest.raises(operators.OperatorError, match="1-64 letters"):
                operators.add_operator(session, bad)
        with pytest.raises(operators.OperatorError, match="no operator called"):
            operators.reset_password(session, "nobody")
        with pytest.raises(operators.OperatorError, match="no operator called"):
            operators.remove_operator(session, "nobody")
    with db.write() as session:
        assert operators.verify(session, "COORD.ONE", password) is not None
        assert operators.verify(session, "coord.one", password.upper()) is None
        assert operators.verify(session, "nobody", password) is None


def test_generated_passwords_are_four_groups_of_easy_characters() -> None:
    seen = {operators.new_password() for _ in range(200)}
    assert len(seen) == 200
    for password in seen:
        groups = password.split("-")
        assert [len(group) for group in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set(operators.PASSWORD_ALPHABET)
    assert not set("0o1li") & set(operators.PASSWORD_ALPHABET)


def test_only_a_scrypt_hash_is_stored(db: Database) -> None:
    with db.write() as session:
        operator, password = operators.add_operator(session, "coord")
        assert operator.password_hash.startswith("scrypt:") and password not in operator.password_hash


def test_a_removed_name_added_again_is_a_new_epoch(db: Database) -> None:
    with db.write() as session:
        first, _ = operators.add_operator(session, "coord")
        old_epoch = first.session_epoch
        operators.remove_operator(session, "coord")
        assert operators.list_operators(session) == []
        again, password = operators.add_operator(session, "coord")
        assert again.id == first.id and again.session_epoch == old_epoch + 2  # removed, then added
        assert operators.current(session, again.id, old_epoch) is None
        assert operators.verify(session, "coord", password) is not None


def test_the_shared_key_is_made_once(db: Database) -> None:
    keys = {operators.shared_secret_key(db) for _ in range(3)}
    assert len(keys) == 1
    with db.read() as session:
        assert len(session.scalars(select(AppSecret)).all()) == 1


def test_the_signed_in_helper_returns_the_stored_name(services: Services, client: FlaskClient) -> None:
    assert signed_in(client, services, "Coord") == "coord"
    assert client.get("/dashboard").status_code == 200

