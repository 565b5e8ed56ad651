"""Operators' cookies, keys and credentials: the cookie's flags, the shared secret key, errors and logs
under the dashboard, operator names, generated passwords and their stored hash. The real app, both
databases, en and hi.
"""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.platform.i18n import Catalogs
from bot.runtime import Services
from bot.services import operators
from bot.store.db import Database
from bot.store.models import AppSecret
from tests.conftest import PRODUCTION_PASSWORD_HASH
from tests.operator_auth_helpers import (  # noqa: F401  (fixtures)
    LANGS,
    app,
    build_app,
    choose,
    client,
    make_services,
    set_cookie,
    text_in,
)
from tests.operators import LOGIN, add_operator, sign_in, signed_in


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
