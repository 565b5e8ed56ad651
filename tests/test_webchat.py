"""The web channel's HTTP contract, as tables: POST a message, poll the replies, and what is refused.

Everything goes through the real app (`webhooks.create_app`) on the real database; the
outbox worker is drained by hand, since tests have no background worker.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

import webhooks
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.store.db import Database
from bot.store.models import Identity, OutboxMessage, OutboxStatus

API = "/api/chat/{user}/messages"
ONE_MB = 1024 * 1024
_users = itertools.count(1)


def _has_devanagari(text: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" for ch in text)


class WebUser:
    """One web chat user, talking to the app only over HTTP."""

    def __init__(self, services: Services, client: FlaskClient, user: str | None = None):
        self.services = services
        self.client = client
        self.user = user or f"web-{next(_users)}"
        self.cursor = ""

    @property
    def url(self) -> str:
        return API.format(user=self.user)

    def post(self, **body: Any) -> dict[str, Any]:
        """POST a JSON body; assert the 202 and return the JSON answer."""
        response = self.client.post(self.url, json=body)
        assert response.status_code == 202, (body, response.status_code, response.get_data(as_text=True))
        assert response.is_json
        return response.get_json()

    def poll(self) -> list[dict[str, Any]]:
        """Let the worker send, then GET the messages after our cursor and move the cursor on."""
        self.services.worker.drain()
        response = self.client.get(self.url, query_string={"after": self.cursor})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        self.cursor = body["cursor"]
        return body["messages"]

    def say(self, text: str | None = None, choice: str | None = None) -> list[dict[str, Any]]:
        """Send text or a choice and return the bot's answer."""
        body: dict[str, Any] = {"text": text} if choice is None else {"choice": choice}
        answer = self.post(**body)
        assert answer["status"] != "duplicate"
        return self.poll()


@pytest.fixture
def app(services: Services):  # type: ignore[no-untyped-def]
    return webhooks.create_app(services, local_demo=True)


@pytest.fixture
def client(app) -> FlaskClient:  # type: ignore[no-untyped-def]
    return app.test_client()


def _assert_json_error(response: Any, status: int | tuple[int, ...]) -> None:
    expected = (status,) if isinstance(status, int) else status
    assert response.status_code in expected, (response.status_code, response.get_data(as_text=True))
    assert response.is_json, response.headers.get("Content-Type")
    body = response.get_json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body


# --- POST and GET: the happy path ---------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"text": "hello"}, id="text"),
        pytest.param({"text": "hello", "id": "client-1"}, id="text-with-client-id"),
        pytest.param({"choice": "en"}, id="choice"),
    ],
)
def test_post_is_accepted_with_status_and_id(services, client, body: dict[str, Any]) -> None:
    response = client.post(API.format(user="acc-1"), json=body)
    assert response.status_code == 202
    answer = response.get_json()
    assert answer["status"] == "accepted", answer
    assert isinstance(answer["id"], str) and answer["id"]


@pytest.mark.both_databases
def test_poll_returns_each_message_once_per_cursor(services, client) -> None:
    user = WebUser(services, client, "poller")
    answer = user.post(text="hello")
    assert isinstance(answer["id"], str) and answer["id"]
    services.worker.drain()

    first = client.get(API.format(user="poller"), query_string={"after": ""})
    assert first.status_code == 200 and first.is_json
    body = first.get_json()
    assert set(body) == {"messages", "cursor", "role", "lang", "chat"}
    assert (body["role"], body["lang"], body["chat"]) == ("patient", "en", "poller")
    messages, cursor = body["messages"], body["cursor"]
    assert isinstance(cursor, str) and cursor
    # The greeting, then the language question with its two buttons.
    assert len(messages) == 2
    assert "Namaste" in messages[0]["text"]
    assert messages[1]["text"] == "Which language would you like to use?"
    assert messages[1]["choices"] == [{"key": "en", "label": "English"}, {"key": "hi", "label": "हिन्दी"}]
    for message in messages:
        assert set(message) == {"id", "text", "choices", "at", "emergency"} and message["emergency"] is False
        assert isinstance(message["id"], str) and isinstance(message["text"], str) and message["text"]
        assert all(set(c) == {"key", "label"} and all(isinstance(v, str) and v for v in c.values()) for c in message["choices"])
        at = dt.datetime.fromisoformat(message["at"])
        assert at.tzinfo is not None
        assert abs(dt.datetime.now(dt.UTC) - at) < dt.timedelta(minutes=5)
    ids = [m["id"] for m in messages]
    assert len(set(ids)) == len(ids)
    assert [m["at"] for m in messages] == sorted(m["at"] for m in messages)

    # With the cursor: nothing new, and the cursor stays where it was.
    again = client.get(API.format(user="poller"), query_string={"after": cursor}).get_json()
    assert again == {"messages": [], "cursor": cursor, "role": "patient", "lang": "en", "chat": "poller"}
    # Without one (or with "after" left out): the same messages again — reading consumes nothing.
    assert client.get(API.format(user="poller"), query_string={"after": ""}).get_json() == body
    assert client.get(API.format(user="poller")).get_json() == body
    # A cursor taken after the first message gives only the second.
    middle = client.get(API.format(user="poller"), query_string={"after": ids[0]}).get_json()
    assert [m["id"] for m in middle["messages"]] == ids[1:]
    assert middle["cursor"] == cursor

    # The next answer's messages come after the cursor, and only they.
    user.cursor = cursor
    later = user.say(choice="en")
    assert later and not {m["id"] for m in later} & set(ids)
    assert "Do you agree?" in later[-1]["text"]
    assert user.poll() == []


def test_nothing_is_shown_before_the_worker_sends(services, client) -> None:
    user = WebUser(services, client)
    user.post(text="hello")
    response = client.get(user.url, query_string={"after": ""}).get_json()
    assert response["messages"] == []
    assert len(user.poll()) == 2


# --- choices move the conversation on ------------------------------------------------------

# (choice pressed, what the next message must look like)
CHOICE_CASES = [
    pytest.param("en", lambda m: "Do you agree?" in m["text"] and not _has_devanagari(m["text"]), id="english"),
    pytest.param("hi", lambda m: "क्या आप सहमत हैं?" in m["text"] and _has_devanagari(m["choices"][0]["label"]), id="hindi-devanagari"),
]


@pytest.mark.parametrize(("choice", "looks_right"), CHOICE_CASES)
def test_choice_from_the_previous_message_moves_on(services, client, choice: str, looks_right) -> None:  # type: ignore[no-untyped-def]
    user = WebUser(services, client)
    question = user.say("hello")[-1]
    assert choice in [c["key"] for c in question["choices"]]
    consent = user.say(choice=choice)
    assert looks_right(consent[-1]), consent
    assert [c["key"] for c in consent[-1]["choices"]] == ["agree", "decline"]
    name = user.say(choice="agree")
    expected = "What is your full name?" if choice == "en" else "आपका पूरा नाम क्या है?"
    assert expected in name[-1]["text"]


@pytest.mark.parametrize(
    "choice",
    [
        pytest.param("hi", id="button-of-an-earlier-question"),
        pytest.param("no-such-key", id="unknown-key"),
        pytest.param("edit_name", id="button-of-a-later-question"),
    ],
)
def test_a_choice_not_offered_now_asks_the_current_question_again(services, client, choice: str) -> None:
    user = WebUser(services, client)
    user.say("hello")
    user.say(choice="en")  # now at consent
    answer = user.say(choice=choice)
    assert "That button belongs to an earlier question." in answer[0]["text"]
    assert "Do you agree?" in answer[-1]["text"]
    assert "What is your full name?" in user.say(choice="agree")[-1]["text"]


# --- emergencies ----------------------------------------------------------------------------

# (first message, its language, the emergency reply, the number(s) it gives)
EMERGENCIES = [
    pytest.param("I have severe chest pain", "en", "Call 108 now for an ambulance", ("108", "112"), id="en-chest-pain"),
    pytest.param("सीने में तेज़ दर्द है", "hi", "तुरंत 108 पर कॉल करके एम्बुलेंस बुलाएँ", ("108", "112"), id="hi-chest-pain"),
    pytest.param("I want to kill myself", "en", "Tele-MANAS on 14416", ("14416", "112"), id="en-self-harm"),
    pytest.param("mujhe marna hai, khud ko khatam karna chahta hoon", "en", "Tele-MANAS on 14416", ("14416",), id="romanised-self-harm"),
]


@pytest.mark.parametrize(("text", "lang", "advice", "numbers"), EMERGENCIES)
def test_an_emergency_reply_comes_first_and_is_marked_as_one(services, client, text: str, lang: str, advice: str, numbers: tuple[str, ...]) -> None:
    user = WebUser(services, client)
    shown = user.say(text)
    assert advice in shown[0]["text"] and all(number in shown[0]["text"] for number in numbers), shown[0]
    assert shown[0]["emergency"] is True
    # The greeting and the language question after it are ordinary messages.
    assert [m["emergency"] for m in shown[1:]] == [False] * (len(shown) - 1) and len(shown) > 1
    assert _has_devanagari(shown[0]["text"]) == (lang == "hi")


# --- duplicates -----------------------------------------------------------------------------


@pytest.mark.both_databases
@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param({"text": "hello", "id": "m-1"}, {"text": "hello", "id": "m-1"}, id="same-body"),
        pytest.param({"text": "hello", "id": "m-1"}, {"text": "something else", "id": "m-1"}, id="same-id-other-text"),
        pytest.param({"choice": "en", "id": "c-7"}, {"choice": "en", "id": "c-7"}, id="choice"),
    ],
)
def test_same_client_id_twice_is_handled_once(services, client, first: dict[str, Any], second: dict[str, Any]) -> None:
    user = WebUser(services, client)
    if "choice" in first:
        user.say("hello")
    one = user.post(**first)
    assert one["status"] != "duplicate"
    shown = user.poll()
    assert shown
    two = user.post(**second)
    assert two["status"] == "duplicate"
    assert two["id"] == one["id"]
    assert user.poll() == []
    with services.db.read() as session:
        rows = session.scalars(select(OutboxMessage.id).where(OutboxMessage.address == user.user)).all()
    assert len(rows) == len(shown) + (2 if "choice" in first else 0)


@pytest.mark.both_databases
def test_client_ids_are_per_user(services, client) -> None:
    a, b = WebUser(services, client), WebUser(services, client)
    assert a.post(text="hello", id="same")["status"] != "duplicate"
    assert b.post(text="hello", id="same")["status"] != "duplicate"
    assert len(a.poll()) == 2 and len(b.poll()) == 2


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


# --- users are separate ---------------------------------------------------------------------


def test_two_users_do_not_see_each_others_messages(services, client) -> None:
    asha, ravi = WebUser(services, client, "asha"), WebUser(services, client, "ravi")
    asha_first = asha.say("hello")
    ravi_first = ravi.say("नमस्ते")
    asha_second = asha.say(choice="en")
    ravi_second = ravi.say(choice="hi")

    asha_all = client.get(asha.url).get_json()["messages"]
    ravi_all = client.get(ravi.url).get_json()["messages"]
    assert [m["id"] for m in asha_all] == [m["id"] for m in asha_first + asha_second]
    assert [m["id"] for m in ravi_all] == [m["id"] for m in ravi_first + ravi_second]
    assert not {m["id"] for m in asha_all} & {m["id"] for m in ravi_all}
    # Each one's language choice is their own.
    assert not any(_has_devanagari(m["text"]) for m in asha_second)
    assert all(_has_devanagari(m["text"]) for m in ravi_second)
    # Another user's cursor shows nothing of theirs either.
    assert client.get(asha.url, query_string={"after": ravi.cursor}).get_json()["messages"] == [
        m for m in asha_all if int(m["id"]) > int(ravi.cursor)
    ]
    assert client.get(API.format(user="nobody")).get_json()["messages"] == []


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
    assert carried and set(json.loads(carried.group(1))) == {"en", "hi"}
    own_words = re.sub(r'<a [^>]*lang="hi"[^>]*>हिन्दी</a>', "", html.replace(carried.group(0), ""))
    assert _has_devanagari(own_words) == (lang == "hi")
    # The page talks to its own chat's API, which the server names.
    assert 'data-api="/api/my-chat/patient/messages"' in html
    script = client.get("/static/chat.js")
    assert script.status_code == 200 and "dataset.api" in script.get_data(as_text=True)


# --- odd texts get a re-ask, and the conversation goes on -----------------------------------

ODD_TEXTS = [
    pytest.param("दर्द और बुखार " * 715, id="10000-chars-devanagari"),
    pytest.param("a" * 10_000, id="10000-chars-latin"),
    pytest.param("😀🤒🏥👍🏽🇮🇳", id="emoji-only"),
    pytest.param("\u0000\u0000\u0000", id="only-nul-bytes"),
    pytest.param("ab\u0000c\u0000", id="text-with-nul-bytes"),
    pytest.param("Hello नमस्ते مرحبا Привет 你好", id="mixed-scripts"),
    pytest.param("", id="empty-string"),
    pytest.param("   \t\n  ", id="whitespace-only"),
    pytest.param("\u200b\ufeff\u202e", id="invisibles-only"),
]

# Where the odd text is sent: (how to get there, does the last message show the question, the next valid answer, what it leads to)
POSITIONS = {
    "first-message": ([], lambda m: [c["key"] for c in m["choices"]] == ["en", "hi"], {"choice": "en"}, "Do you agree?"),
    "language": (
        [{"text": "hello"}],
        lambda m: m["text"] == "Which language would you like to use?",
        {"text": "English"},
        "Do you agree?",
    ),
    "age": (
        [{"text": "hello"}, {"choice": "en"}, {"choice": "agree"}, {"text": "Asha"}],
        lambda m: "How old are you, Asha?" in m["text"],
        {"text": "34"},
        "Are you female, male or other?",
    ),
}


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("odd", ODD_TEXTS)
def test_odd_text_gets_a_question_and_the_conversation_goes_on(services, client, odd: str, position: str) -> None:
    before, is_the_question, valid, leads_to = POSITIONS[position]
    user = WebUser(services, client)
    for body in before:
        user.say(**body)
    answer = user.post(text=odd)
    assert answer["status"] != "duplicate"
    shown = user.poll()
    assert shown, "the bot must always answer"
    assert "?" in shown[-1]["text"]
    assert is_the_question(shown[-1]), shown
    nxt = user.say(**valid)
    assert leads_to in nxt[-1]["text"], nxt
    with services.db.read() as session:
        statuses = set(session.scalars(select(OutboxMessage.status).where(OutboxMessage.address == user.user)))
    assert statuses == {OutboxStatus.SENT}
