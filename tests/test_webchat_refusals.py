"""The web channel's HTTP contract, as tables: what is refused, odd but well-formed values, health while
the database is down, and the chat page.

Everything goes through the real app (`webhooks.create_app`) on the real database.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import webhooks
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import build_services
from bot.store.db import Database
from bot.store.models import Identity, OutboxMessage
from flows.engine import LANGUAGES
from tests.webchat_helpers import (  # noqa: F401  (fixtures)
    API,
    ONE_MB,
    _assert_json_error,
    _has_devanagari,
    app,
    client,
)

# --- what is refused ------------------------------------------------------------------------

GOOD_USER = API.format(user="someone")

# (method, path, request keyword arguments, expected status)
MALFORMED = [
    pytest.param("POST", GOOD_USER, {"data": "hello", "content_type": "application/json"}, 400, id="not-json"),
    pytest.param("POST", GOOD_USER, {"data": b'{"text": "\xff"}', "content_type": "application/json"}, 400, id="not-utf8"),
    pytest.param("POST", GOOD_USER, {"data": '{"text": "hi"', "content_type": "application/json"}, 400, id="truncated-json"),
    pytest.param("POST", GOOD_USER, {"data": '{"text": "hi"}', "content_type": "text/plain"}, 400, id="not-json-content-type"),
    pytest.param("POST", GOOD_USER, {"data": "text=hi", "content_type": "application/x-www-form-urlencoded"}, 400, id="form-encoded"),
    pytest.param("POST", GOOD_USER, {}, 400, id="no-body"),
    pytest.param("POST", GOOD_USER, {"json": ["hello"]}, 400, id="json-array"),
    pytest.param("POST", GOOD_USER, {"json": "hello"}, 400, id="json-string"),
    pytest.param("POST", GOOD_USER, {"json": 5}, 400, id="json-number"),
    pytest.param("POST", GOOD_USER, {"data": "null", "content_type": "application/json"}, 400, id="json-null"),
    pytest.param("POST", GOOD_USER, {"data": "[" * 10_000 + "]" * 10_000, "content_type": "application/json"}, 400, id="json-nested-10000-arrays"),
    pytest.param("POST", GOOD_USER, {"data": '{"a":' * 5000 + "1" + "}" * 5000, "content_type": "application/json"}, 400, id="json-nested-5000-objects"),
    pytest.param("POST", GOOD_USER, {"json": {"text": "hi", "choice": "en"}}, 400, id="text-and-choice"),
    pytest.param("POST", GOOD_USER, {"json": {}}, 400, id="neither"),
    pytest.param("POST", GOOD_USER, {"json": {"id": "x-1"}}, 400, id="only-an-id"),
    pytest.param("POST", GOOD_USER, {"json": {"message": "hi"}}, 400, id="unknown-field-only"),
    pytest.param("POST", GOOD_USER, {"json": {"text": 34}}, 400, id="text-number"),
    pytest.param("POST", GOOD_USER, {"json": {"text": ["hi"]}}, 400, id="text-list"),
    pytest.param("POST", GOOD_USER, {"json": {"text": None}}, 400, id="text-null"),
    pytest.param("POST", GOOD_USER, {"json": {"text": {"hi": 1}}}, 400, id="text-object"),
    pytest.param("POST", GOOD_USER, {"json": {"text": True}}, 400, id="text-bool"),
    pytest.param("POST", GOOD_USER, {"json": {"choice": ""}}, 400, id="choice-empty"),
    pytest.param("POST", GOOD_USER, {"json": {"choice": "k" * 65}}, 400, id="choice-65-chars"),
    pytest.param("POST", GOOD_USER, {"json": {"choice": "k" * 5000}}, 400, id="choice-5000-chars"),
    pytest.param("POST", GOOD_USER, {"json": {"choice": 1}}, 400, id="choice-number"),
    pytest.param("POST", GOOD_USER, {"json": {"choice": ["en"]}}, 400, id="choice-list"),
    pytest.param("POST", GOOD_USER, {"json": {"text": "hi", "id": "i" * 101}}, 400, id="id-101-chars"),
    pytest.param("POST", GOOD_USER, {"json": {"text": "hi", "id": "i" * 10_000}}, 400, id="id-10000-chars"),
    pytest.param("POST", GOOD_USER, {"json": {"text": "hi", "id": 17}}, 400, id="id-number"),
    pytest.param("POST", GOOD_USER, {"json": {"text": "hi", "id": ["x"]}}, 400, id="id-list"),
    pytest.param("POST", API.format(user="a%20b"), {"json": {"text": "hi"}}, 400, id="user-with-space"),
    pytest.param("POST", API.format(user="u" * 65), {"json": {"text": "hi"}}, 400, id="user-65-chars"),
    pytest.param("POST", API.format(user="सुनीता"), {"json": {"text": "hi"}}, 400, id="user-devanagari"),
    pytest.param("POST", API.format(user="m%C3%BCller"), {"json": {"text": "hi"}}, 400, id="user-latin-accent"),
    pytest.param("POST", API.format(user="a;b"), {"json": {"text": "hi"}}, 400, id="user-semicolon"),
    # A "/" ends the path segment, so "../x" never reaches the view: no route is 404, still JSON.
    pytest.param("POST", API.format(user="../x"), {"json": {"text": "hi"}}, (400, 404), id="user-dot-dot-slash"),
    pytest.param("POST", API.format(user="..%2Fx"), {"json": {"text": "hi"}}, (400, 404), id="user-encoded-slash"),
    pytest.param("GET", API.format(user="a%20b"), {}, 400, id="get-user-with-space"),
    pytest.param("GET", API.format(user="u" * 65), {}, 400, id="get-user-65-chars"),
    pytest.param("GET", API.format(user="सुनीता"), {}, 400, id="get-user-devanagari"),
    pytest.param("GET", API.format(user="../x"), {}, (400, 404), id="get-user-dot-dot-slash"),
    pytest.param("GET", GOOD_USER, {"query_string": {"after": "abc"}}, 400, id="cursor-letters"),
    pytest.param("GET", GOOD_USER, {"query_string": {"after": "-1"}}, 400, id="cursor-negative"),
    pytest.param("GET", GOOD_USER, {"query_string": {"after": "9" * 40}}, 400, id="cursor-huge"),
    pytest.param("GET", GOOD_USER, {"query_string": {"after": "1.5"}}, 400, id="cursor-decimal"),
    pytest.param("GET", GOOD_USER, {"query_string": {"after": " 1"}}, 400, id="cursor-space"),
    pytest.param("GET", GOOD_USER, {"query_string": {"after": "0x10"}}, 400, id="cursor-hex"),
    pytest.param("GET", GOOD_USER, {"query_string": {"after": "²"}}, 400, id="cursor-superscript-two"),
    pytest.param("GET", GOOD_USER, {"query_string": {"after": "١٢"}}, 400, id="cursor-arabic-indic-digits"),
    pytest.param("GET", GOOD_USER, {"query_string": {"after": "१२"}}, 400, id="cursor-devanagari-digits"),
    pytest.param("PUT", GOOD_USER, {"json": {"text": "hi"}}, 405, id="put-messages"),
    pytest.param("DELETE", GOOD_USER, {}, 405, id="delete-messages"),
    pytest.param("PATCH", GOOD_USER, {"json": {"text": "hi"}}, 405, id="patch-messages"),
    pytest.param("POST", "/healthz", {}, 405, id="post-healthz"),
    pytest.param("POST", "/", {}, 405, id="post-chat-page"),
    pytest.param("POST", GOOD_USER, {"data": '{"text": "' + "a" * (ONE_MB + 1) + '"}', "content_type": "application/json"}, 413, id="body-over-1mb"),
    pytest.param("POST", GOOD_USER, {"data": '{"text": "' + "ह" * (ONE_MB // 2) + '"}', "content_type": "application/json"}, 413, id="body-1.5mb-devanagari"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), MALFORMED)
def test_malformed_requests_get_a_json_error(services, client, method: str, path: str, kwargs: dict[str, Any], status) -> None:  # type: ignore[no-untyped-def]
    response = client.open(path, method=method, **kwargs)
    _assert_json_error(response, status)
    # Nothing was handled: no message was queued for anyone.
    services.worker.drain()
    with services.db.read() as session:
        assert session.scalars(select(OutboxMessage)).first() is None
        assert session.scalars(select(Identity)).first() is None


# Odd but well-formed values a sender can put in a request: any 2xx/4xx answer is fine, a 5xx is not.
ODD_BUT_WELL_FORMED = [
    pytest.param({"text": "hi", "id": "a\u0000b"}, id="id-with-nul"),
    pytest.param({"text": "hi", "id": "\ud800"}, id="id-lone-surrogate"),
    pytest.param({"text": "hi", "id": "आईडी-१"}, id="id-devanagari"),
    pytest.param({"text": "hi", "id": "😀" * 50}, id="id-emoji"),
    pytest.param({"choice": "\u0000"}, id="choice-nul"),
    pytest.param({"choice": "\ud800"}, id="choice-lone-surrogate"),
    pytest.param({"text": "\ud800abc"}, id="text-lone-surrogate"),
    pytest.param({"text": "hi", "extra": {"deep": [1, 2, {"x": None}]}}, id="unknown-extra-field"),
]


@pytest.mark.parametrize("body", ODD_BUT_WELL_FORMED)
def test_odd_values_never_cause_a_server_error(services, client, body: dict[str, Any]) -> None:
    # json.dumps keeps a lone surrogate as the escape "\ud800", which is valid JSON.
    response = client.post(GOOD_USER, data=json.dumps(body), content_type="application/json")
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json
    if response.status_code == 202:
        services.worker.drain()
        messages = client.get(GOOD_USER).get_json()["messages"]
        assert messages and "?" in messages[-1]["text"]


# --- health ---------------------------------------------------------------------------------


def test_healthz_ok_when_the_database_answers(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.is_json
    assert response.get_json()["status"] == "ok"


def _sqlite_file_replaced_by_a_directory(tmp_path: Path, template: Path) -> Database:
    path = tmp_path / "gone.db"
    shutil.copy(template, path)
    db = Database(f"sqlite:///{path}")
    db.ping()  # it answers before…
    db.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.mkdir()  # …and cannot be opened after
    return db


def _sqlite_in_a_missing_directory(tmp_path: Path, template: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'teleopd.db'}")


def _postgresql_on_a_closed_port(tmp_path: Path, template: Path) -> Database:
    return Database("postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2")


@pytest.mark.parametrize(
    "unavailable",
    [
        pytest.param(_sqlite_file_replaced_by_a_directory, id="sqlite-file-replaced-by-directory"),
        pytest.param(_sqlite_in_a_missing_directory, id="sqlite-missing-directory"),
        pytest.param(_postgresql_on_a_closed_port, id="postgresql-closed-port"),
    ],
)
def test_healthz_503_and_api_never_500_when_the_database_is_down(tmp_path, sqlite_template, catalogs: Catalogs, unavailable) -> None:  # type: ignore[no-untyped-def]
    db = unavailable(tmp_path, sqlite_template)
    try:
        services = build_services(Settings(database_url=db.url), db=db, catalogs=catalogs)
        client = webhooks.create_app(services, local_demo=True).test_client()
        health = client.get("/healthz")
        assert health.status_code == 503 and health.is_json
        assert health.get_json()["status"] != "ok"
        # The chat API says "briefly unavailable", never 500.
        _assert_json_error(client.post(API.format(user="u1"), json={"text": "hello"}), 503)
        _assert_json_error(client.get(API.format(user="u1")), 503)
    finally:
        db.dispose()


# --- the chat page --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "lang"),
    [
        pytest.param("", "en", id="default"),
        pytest.param("?lang=en", "en", id="english"),
        pytest.param("?lang=hi", "hi", id="hindi"),
        pytest.param("?lang=xx", "en", id="unknown-language"),
        pytest.param("?lang=%3Cscript%3E", "en", id="markup-in-lang"),
    ],
)
def test_chat_page(client, query: str, lang: str) -> None:
    response = client.get("/" + query)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert re.search(r'<script[^>]+src="[^"]*chat\.js"', html)
    assert 'id="messages"' in html and 'id="composer"' in html
    # The page's own words are in its language; a Hindi page has Devanagari, an English one
    # none but the name of the other language on its link (marked lang="hi") and the words
    # the script switches to should the chat turn Hindi (#page-words, every language).
    carried = re.search(r'<script id="page-words" type="application/json">(.*?)</script>', html, re.S)
    assert carried and set(json.loads(carried.group(1))) == set(LANGUAGES)
    own_words = re.sub(r'<a [^>]*lang="hi"[^>]*>हिन्दी</a>', "", html.replace(carried.group(0), ""))
    assert _has_devanagari(own_words) == (lang == "hi")
    # The page talks to its own chat's API, which the server names.
    assert 'data-api="/api/my-chat/patient/messages"' in html
    script = client.get("/static/chat.js")
    assert script.status_code == 200 and "dataset.api" in script.get_data(as_text=True)
