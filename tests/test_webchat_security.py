"""Who may use the web chat API.

Beyond the local demo (the app gunicorn builds, `teleopd serve` off loopback) a chat is a
secret of 256 bits the server issues with the chat's first message, kept by the page in an
HttpOnly cookie and stored only as a hash; the API finds "my chat" by that cookie. The
any-user-id API (`/api/chat/<user>/messages`) answers 403 there, so nobody reads a
doctor's desk or acts as the doctor by naming the desk's id. A doctor's web desk is a chat
plus the doctor's enrolment code. "new chat" and `teleopd webchat revoke` end a chat for
good. On the local demo any user id works, from this machine and through no proxy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.cli.main import main as teleopd
from bot.runtime import Services
from bot.services.enrolment import add_doctor
from bot.store.models import InboundMessage, WebChat
from tests.helpers import LocalUser
from tests.serving import ServeProcess, free_port
from webhooks import create_app
from webhooks.webchat import COOKIE_PREFIX, ENROL_WORD

LANGS = ["en", "hi"]
HELLO = {"en": "hello", "hi": "नमस्ते"}
LANGUAGE_QUESTION = {"en": "Which language would you like to use?", "hi": "आप किस भाषा में बात करना चाहेंगे?"}
WELCOME = {"en": "Welcome, Dr. Anita Sharma.", "hi": "स्वागत है, डॉ. Anita Sharma।"}
MY_CHAT = "/api/my-chat/{role}/messages"


def _inbound_count(services: Services) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage)) or 0


def _secret(client: FlaskClient, role: str = "patient") -> str | None:
    cookie = client.get_cookie(COOKIE_PREFIX + role, path=f"/api/my-chat/{role}")
    return None if cookie is None else cookie.value


def _say(services: Services, client: FlaskClient, text: str, role: str = "patient") -> dict[str, Any]:
    """Send a text from the page's chat of a role; return the chat's messages after the worker sent the replies."""
    posted = client.post(MY_CHAT.format(role=role), json={"text": text})
    assert posted.status_code == 202, posted.get_data(as_text=True)
    services.worker.drain()
    fetched = client.get(MY_CHAT.format(role=role))
    assert fetched.status_code == 200, fetched.get_data(as_text=True)
    return fetched.get_json()  # type: ignore[no-any-return]


def _doctor_code(services: Services) -> str:
    with services.db.write() as session:
        _, code = add_doctor(session, "Anita Sharma", [])
    return code


# --- beyond the local demo, no chat is opened by naming it ----------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_beyond_the_local_demo_a_doctors_desk_cannot_be_read_or_used_by_its_id(services: Services, lang: str) -> None:
    """The tester's finding: under gunicorn anyone could read a doctor's desk and POST "next" as the doctor."""
    desk = LocalUser(services, "desk-1")
    assert WELCOME[lang] in desk.say(f"{ENROL_WORD[lang]} {_doctor_code(services)}").all_text
    before = _inbound_count(services)
    client = create_app(services).test_client()
    read = client.get("/api/chat/desk-1/messages", query_string={"after": ""})
    acted = client.post("/api/chat/desk-1/messages", json={"text": "next" if lang == "en" else "अगला"})
    for response in (read, acted):
        assert response.status_code == 403 and response.is_json, response.get_data(as_text=True)
        assert "chat page" in response.get_json()["error"]
    assert _inbound_count(services) == before
    assert desk.receive().texts == []


def test_the_app_gunicorn_builds_is_not_the_local_demo(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Procfile's `webhooks:create_app()`, from the environment alone."""
    monkeypatch.setenv("TELEOPD_DATABASE_URL", services.db.url)
    try:
        client = create_app().test_client()
        assert client.post("/api/chat/asha/messages", json={"text": "hello"}).status_code == 403
        assert client.get("/api/chat/asha/messages").status_code == 403
        assert client.get("/").status_code == 200
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "teleopd"]:
            root.removeHandler(handler)
    assert _inbound_count(services) == 0


# --- a chat is a secret the server issues ---------------------------------------------------


@pytest.mark.both_databases
@pytest.mark.parametrize("lang", LANGS)
def test_the_first_message_opens_a_chat_whose_secret_is_an_httponly_cookie_stored_hashed(services: Services, lang: str) -> None:
    client = create_app(services).test_client()
    # Before any message the page has no chat, and asking makes none.
    empty = client.get(MY_CHAT.format(role="patient"), query_string={"after": "", "wait": "5"})
    assert empty.status_code == 200 and empty.get_json() == {"messages": [], "cursor": "0", "role": None, "lang": None, "chat": None}
    posted = client.post(MY_CHAT.format(role="patient"), json={"text": HELLO[lang]})
    assert posted.status_code == 202
    cookie = posted.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_PREFIX}patient=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/api/my-chat/patient", "Max-Age="):
        assert attribute in cookie, cookie
    secret = _secret(client)
    assert secret is not None and len(base64.urlsafe_b64decode(secret + "=")) * 8 >= 128
    address = posted.get_json()["chat"]
    assert secret not in address
    services.worker.drain()
    body = client.get(MY_CHAT.format(role="patient"), query_string={"after": ""}).get_json()
    assert (body["chat"], body["role"], body["lang"]) == (address, "patient", lang)
    assert LANGUAGE_QUESTION[lang] in body["messages"][-1]["text"]
    # The database holds the secret's hash and nothing that opens the chat.
    with services.db.read() as session:
        chat = session.scalars(select(WebChat)).one()
    assert chat.address == address and chat.revoked_at is None
    assert chat.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr([chat.address, chat.secret_hash])


def test_each_browser_and_each_role_has_its_own_chat(services: Services) -> None:
    app = create_app(services)
    one, other = app.test_client(), app.test_client()
    mine = _say(services, one, "hello")
    assert mine["messages"]
    # Another browser sees nothing of it, even knowing its address.
    assert other.get(MY_CHAT.format(role="patient")).get_json()["chat"] is None
    other.set_cookie(COOKIE_PREFIX + "patient", mine["chat"], path="/api/my-chat/patient")
    assert other.get(MY_CHAT.format(role="patient")).status_code == 401
    # The same browser's doctor tab is a chat of its own.
    assert one.get(MY_CHAT.format(role="doctor")).get_json()["chat"] is None
    doctor_tab = _say(services, one, "hello", role="doctor")
    assert doctor_tab["chat"] != mine["chat"]
    assert one.get(MY_CHAT.format(role="nurse")).status_code == 404


@pytest.mark.parametrize("lang", LANGS)
def test_a_doctors_web_desk_is_the_chat_secret_and_the_enrolment_code(services: Services, lang: str) -> None:
    app = create_app(services)
    doctor, stranger = app.test_client(), app.test_client()
    desk = _say(services, doctor, f"{ENROL_WORD[lang]} {_doctor_code(services)}", role="doctor")
    assert desk["role"] == "doctor" and WELCOME[lang] in desk["messages"][0]["text"]
    # Without the desk's cookie, "next" from the doctor tab of another browser is a new patient's chat.
    other = _say(services, stranger, "next" if lang == "en" else "अगला", role="doctor")
    assert other["chat"] != desk["chat"] and other["role"] == "patient"
    # The desk's address is no key.
    stranger.set_cookie(COOKIE_PREFIX + "doctor", desk["chat"], path="/api/my-chat/doctor")
    assert stranger.post(MY_CHAT.format(role="doctor"), json={"text": "next"}).status_code == 401


def test_tokens_and_user_ids_in_the_address_open_nothing(services: Services) -> None:
    client = create_app(services).test_client()
    page = client.get("/", query_string={"token": "operator-token-0123456789", "user": "desk-1"})
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    html = page.get_data(as_text=True)
    assert 'data-api="/api/my-chat/patient/messages"' in html and "desk-1" not in html


# --- ending a chat --------------------------------------------------------------------------


@pytest.mark.both_databases
@pytest.mark.parametrize("lang", LANGS)
def test_new_chat_revokes_the_chat_so_a_copy_of_its_cookie_opens_nothing(services: Services, lang: str) -> None:
    app = create_app(services)
    client = app.test_client()
    address = _say(services, client, HELLO[lang])["chat"]
    copied = _secret(client)
    assert copied is not None
    ended = client.delete("/api/my-chat/patient")
    assert ended.status_code == 204
    assert _secret(client) is None, "the cookie is cleared"
    before = _inbound_count(services)
    thief = app.test_client()
    thief.set_cookie(COOKIE_PREFIX + "patient", copied, path="/api/my-chat/patient")
    read = thief.get(MY_CHAT.format(role="patient"), query_string={"after": ""})
    assert read.status_code == 401 and read.is_json
    assert f"{COOKIE_PREFIX}patient=;" in read.headers["Set-Cookie"], "the dead cookie is cleared"
    thief.set_cookie(COOKIE_PREFIX + "patient", copied, path="/api/my-chat/patient")
    assert thief.post(MY_CHAT.format(role="patient"), json={"text": HELLO[lang]}).status_code == 401
    assert _inbound_count(services) == before
    # The next message from the page opens a new chat.
    assert _say(services, client, HELLO[lang])["chat"] not in (None, address)


def test_an_operator_revokes_a_lost_phones_doctor_desk(services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TELEOPD_DATABASE_URL", services.db.url)
    client = create_app(services).test_client()
    desk = _say(services, client, f"enroll {_doctor_code(services)}", role="doctor")["chat"]
    _say(services, create_app(services).test_client(), "hello")  # a patient's chat, listed without a name
    assert teleopd(["webchat", "list"]) == 0
    listed = capsys.readouterr().out
    assert any(desk in line and "doctor" in line and "Anita Sharma" in line for line in listed.splitlines()), listed
    assert listed.count("patient") == 1 and listed.count("Anita Sharma") == 1
    assert teleopd(["webchat", "revoke", desk]) == 0
    assert desk in capsys.readouterr().out
    assert client.post(MY_CHAT.format(role="doctor"), json={"text": "next"}).status_code == 401
    assert teleopd(["webchat", "list"]) == 0
    assert desk not in capsys.readouterr().out
    # Revoking it again is a one-line error.
    assert teleopd(["webchat", "revoke", desk]) == 2
    assert "no open web chat" in capsys.readouterr().err


# --- the local demo -------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    pytest.param({"X-Forwarded-For": "203.0.113.5"}, id="x-forwarded-for"),
    pytest.param({"Forwarded": "for=203.0.113.5"}, id="forwarded"),
    pytest.param({"X-Real-IP": "203.0.113.5"}, id="x-real-ip"),
])
def test_the_local_demo_refuses_its_open_api_through_a_proxy(services: Services, headers: dict[str, str]) -> None:
    """`teleopd serve` on loopback behind a public proxy is not a local demo."""
    client = create_app(services, local_demo=True).test_client()
    assert client.post("/api/chat/asha/messages", json={"text": "hello"}, headers=headers).status_code == 403
    assert client.get("/api/chat/asha/messages", headers=headers).status_code == 403
    assert client.get("/api/chat/asha/messages", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 403
    assert _inbound_count(services) == 0
    # From this machine, straight: open.
    assert client.post("/api/chat/asha/messages", json={"text": "hello"}).status_code == 202


def _post_status(url: str, body: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_serve_is_the_local_demo_on_loopback_only(tmp_path: Path, sqlite_template: Path) -> None:
    """`teleopd serve --host 0.0.0.0` starts (it used to want TELEOPD_WEB_TOKEN), with chats by secret only."""
    database = tmp_path / "teleopd.db"
    database.write_bytes(sqlite_template.read_bytes())  # the database is not what this is about: SQLite only
    env = {**os.environ, "TELEOPD_DATABASE_URL": f"sqlite:///{database}"}
    for host, status in (("127.0.0.1", 202), ("0.0.0.0", 403)):
        server = ServeProcess(env, free_port(), tmp_path / f"serve-{host}.log", args=("--host", host))
        try:
            assert _post_status(f"{server.base}/api/chat/asha/messages", {"text": "hello"}) == status, host
            assert _post_status(f"{server.base}/api/my-chat/patient/messages", {"text": "hello"}) == 202, host
        finally:
            server.stop()
