"""Signing in to the dashboard in tests: an operator added through bot/services/operators.py, signed in through the real form."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from bot.runtime import Services
from bot.services import operators
from bot.store.db import Database

LOGIN = "/dashboard/login"
_CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def form_token(html: str) -> str:
    """Return the csrf token of the first form on a page."""
    found = _CSRF_RE.search(html)
    assert found, "no csrf field on the page"
    return found.group(1)


def add_operator(db_or_services: Database | Services, username: str) -> str:
    """Add an operator; return their generated password."""
    db = db_or_services.db if isinstance(db_or_services, Services) else db_or_services
    with db.write() as session:
        return operators.add_operator(session, username)[1]


def sign_in(client: FlaskClient, username: str, password: str, next_path: str | None = None):  # type: ignore[no-untyped-def]
    """Open the login form and send it; return the response to the POST."""
    query = {"next": next_path} if next_path else {}
    page = client.get(LOGIN, query_string=query)
    assert page.status_code == 200, page.status_code
    return client.post(LOGIN, query_string=query, data={"csrf": form_token(page.get_data(as_text=True)), "username": username, "password": password})


def signed_in(client: FlaskClient, db_or_services: Database | Services, username: str = "coord") -> str:
    """Add an operator and sign this client in as them through the login form; return the username."""
    password = add_operator(db_or_services, username)
    response = sign_in(client, username, password)
    assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:500])
    return operators.normal_username(username)
