"""Operators sign in to the dashboard: the real app, the real login form and dashboard, both databases, en and hi."""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import webhooks
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.services import operators
from bot.store.db import Database
from bot.store.models import AppSecret, OperatorSession
from flows.messages import t as mark
from flows.messages import tn as mark_plural
from tests.conftest import PRODUCTION_PASSWORD_HASH
from tests.operators import LOGIN, add_operator, form_token, sign_in, signed_in

LANGS = ["en", "hi"]
WRONG = "That name and password do not match. Check them and try again."
ENDED = "Your session has ended, please sign in again."


def build_app(services: Services) -> Flask:
    app = webhooks.create_app(services)
    assert "dashboard" in app.blueprints  # webhooks/operators/dashboard.py, the blueprint the guard protects
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
    return services.catalogs.translate(mark(msgid, **params), lang)  # type: ignore[no-any-return]


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


def set_cookie(response, name: str) -> str:  # type: ignore[no-untyped-def]
    """Return the Set-Cookie header that sets one cookie."""
    [header] = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(name + "=")]
    return header  # type: ignore[no-any-return]


def test_the_cookie_is_http_only_lax_scoped_and_secure_over_https(services: Services, client: FlaskClient) -> None:
    password = add_operator(services, "coord")
    signed = sign_in(client, "coord", password)
    plain = set_cookie(signed, "teleopd_operator")
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Path=/dashboard" in plain and "Expires=" in plain
    assert "Secure" not in plain
    known = set_cookie(signed, "teleopd_known_browser")
    assert "HttpOnly" in known and "SameSite=Strict" in known and "Path=/dashboard/login" in known and "Secure" not in known
    secure_client = build_app(services).test_client()
    page = secure_client.get(LOGIN, base_url="https://opd.example.in")
    assert "Secure" in set_cookie(page, "teleopd_operator")


def test_other_pages_never_get_the_operator_cookie(client: FlaskClient) -> None:
    for path in ("/", "/api/chat/web-1/messages"):
        response = client.get(path)
        assert all(not header.startswith("teleopd_operator=") for header in response.headers.getlist("Set-Cookie")), path


@pytest.mark.both_databases
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
    with caplog.at_level(logging.INFO, logger="webhooks.operators.auth"):
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


# bot/services/operators.py itself


@pytest.mark.both_databases
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


def test_only_a_scrypt_hash_is_stored(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # At the production cost, which the rest of the suite lowers (tests/conftest.py).
    monkeypatch.setattr(operators, "PASSWORD_HASH_METHOD", PRODUCTION_PASSWORD_HASH)
    assert PRODUCTION_PASSWORD_HASH.startswith("scrypt:") and int(PRODUCTION_PASSWORD_HASH.split(":")[1]) >= 2**15
    with db.write() as session:
        operator, password = operators.add_operator(session, "coord")
        assert operator.password_hash.startswith(PRODUCTION_PASSWORD_HASH + "$") and password not in operator.password_hash
        assert operators.verify(session, "coord", password) is not None


@pytest.mark.both_databases
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


@pytest.mark.both_databases
def test_the_shared_key_is_made_once(db: Database) -> None:
    keys = {operators.shared_secret_key(db) for _ in range(3)}
    assert len(keys) == 1
    with db.read() as session:
        assert len(session.scalars(select(AppSecret)).all()) == 1


def test_the_signed_in_helper_returns_the_stored_name(services: Services, client: FlaskClient) -> None:
    assert signed_in(client, services, "Coord") == "coord"
    assert client.get("/dashboard").status_code == 200



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
