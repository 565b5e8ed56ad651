"""The web chat API's token (TELEOPD_WEB_TOKEN): required when set, absent when not.

With a token every /api/chat request carries it, as `Authorization: Bearer <token>` or as the
HttpOnly, SameSite=Strict cookie the page sets after `/?token=<token>`; anything else is a 401
with a JSON error and touches nothing. Without a token the API stays open (loopback only).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.models import Identity, InboundMessage
from bot.services import Services, build_services
from tests.test_cli import assert_one_line_error, run
from webhooks import create_app
from webhooks.webchat import COOKIE

TOKEN = "operator-token-0123456789"
API = "/api/chat/asha/messages"


@pytest.fixture
def guarded(db, catalogs) -> Services:  # type: ignore[no-untyped-def]
    """Return services with a web token configured."""
    return build_services(Settings(database_url=db.url, web_token=TOKEN), db=db, catalogs=catalogs)


def _count(services: Services, model) -> int:  # type: ignore[no-untyped-def]
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


WRONG_HEADERS = [
    pytest.param({}, id="none"),
    pytest.param(_bearer(""), id="empty"),
    pytest.param(_bearer(TOKEN[:-1]), id="prefix"),
    pytest.param(_bearer(TOKEN + "x"), id="longer"),
    pytest.param(_bearer(TOKEN.upper()), id="case"),
    pytest.param({"Authorization": TOKEN}, id="no-scheme"),
    pytest.param({"Authorization": f"Basic {TOKEN}"}, id="basic"),
    pytest.param({"Authorization": f"bearer  {TOKEN}"}, id="two-spaces"),
    pytest.param(_bearer(TOKEN[:-1] + "é"), id="non-ascii"),
    pytest.param({"Cookie": f"{COOKIE}={TOKEN}"}, id="raw-token-as-cookie"),
    pytest.param({"Cookie": f"{COOKIE}=0"}, id="forged-cookie"),
]


@pytest.mark.parametrize("headers", WRONG_HEADERS)
def test_without_the_token_the_api_answers_401_and_does_nothing(guarded: Services, headers: dict[str, str]) -> None:
    client = create_app(guarded).test_client()
    posted = client.post(API, json={"text": "hello"}, headers=headers)
    fetched = client.get(API, headers=headers)
    for response in (posted, fetched):
        assert response.status_code == 401, response.get_data(as_text=True)
        assert response.is_json and "token" in response.get_json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _count(guarded, InboundMessage) == _count(guarded, Identity) == 0


def test_a_bearer_token_opens_the_api(guarded: Services) -> None:
    client = create_app(guarded).test_client()
    posted = client.post(API, json={"text": "hello"}, headers=_bearer(TOKEN))
    assert posted.status_code == 202, posted.get_json()
    guarded.worker.drain()
    fetched = client.get(API, headers=_bearer(TOKEN))
    assert fetched.status_code == 200
    assert "Which language would you like to use?" in fetched.get_json()["messages"][-1]["text"]


@pytest.mark.parametrize(("lang", "greeting"), [("en", "Which language would you like to use?"), ("hi", "आप किस भाषा में बात करना चाहेंगे?")])
def test_opening_the_page_with_the_token_sets_a_strict_cookie_that_opens_the_api(guarded: Services, lang: str, greeting: str) -> None:
    client = create_app(guarded).test_client()
    opened = client.get("/", query_string={"token": TOKEN, "lang": lang, "user": "asha"})
    assert opened.status_code == 302
    # The token leaves the address bar; the other parameters stay.
    assert "token" not in opened.headers["Location"] and f"lang={lang}" in opened.headers["Location"]
    cookie = opened.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    page = client.get(opened.headers["Location"])
    assert page.status_code == 200 and b"chat.js" in page.data and b"data-msg-auth" in page.data
    posted = client.post(API, json={"text": "नमस्ते" if lang == "hi" else "hello"})
    assert posted.status_code == 202
    guarded.worker.drain()
    texts = [m["text"] for m in client.get(API).get_json()["messages"]]
    assert texts and greeting in texts[-1], texts


def test_a_wrong_token_on_the_page_sets_no_cookie(guarded: Services) -> None:
    client = create_app(guarded).test_client()
    opened = client.get("/", query_string={"token": "not-the-operator-token"})
    assert opened.status_code == 401 and "Set-Cookie" not in opened.headers
    assert client.post(API, json={"text": "hello"}).status_code == 401


def test_the_page_and_its_files_are_served_without_the_token(guarded: Services) -> None:
    client = create_app(guarded).test_client()
    for path in ("/", "/?lang=hi", "/static/chat.js", "/static/chat.css"):
        assert client.get(path).status_code == 200, path
    # The page knows what to say on a 401, in both languages.
    assert "operator’s token" in client.get("/?lang=en").get_data(as_text=True)
    assert "संचालक" in client.get("/?lang=hi").get_data(as_text=True)


def test_without_a_token_configured_the_api_stays_open(services: Services) -> None:
    client = create_app(services).test_client()
    assert client.post(API, json={"text": "hello"}).status_code == 202
    services.worker.drain()
    assert client.get(API).get_json()["messages"]
    # A token in the address is meaningless then: the page is just served, no cookie.
    page = client.get("/", query_string={"token": TOKEN})
    assert page.status_code == 200 and "Set-Cookie" not in page.headers


def test_serve_beyond_loopback_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    done = run(tmp_path, "serve", "--host", "0.0.0.0", "--port", "0", TELEOPD_DATABASE_URL=f"sqlite:///{tmp_path / 't.db'}")
    assert_one_line_error(done, "TELEOPD_WEB_TOKEN", "0.0.0.0")
