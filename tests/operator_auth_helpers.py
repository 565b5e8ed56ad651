"""Shared by the tests of operators signing in to the dashboard: the real app and a test client of it,
the catalogs' texts, the page language, the login redirect and the cookies a response sets.
The fixtures here are used by being imported.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

import webhooks
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.store.db import Database
from flows.messages import t as mark
from tests.operators import LOGIN

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


def set_cookie(response, name: str) -> str:  # type: ignore[no-untyped-def]
    """Return the Set-Cookie header that sets one cookie."""
    [header] = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(name + "=")]
    return header  # type: ignore[no-any-return]
