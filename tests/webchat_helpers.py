"""Shared by the web channel's HTTP tests: the API's path, a web chat user talking to the app only over
HTTP, the app and its test client, and the check of a JSON error. The fixtures here are used by being
imported.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask.testing import FlaskClient

import webhooks
from bot.runtime import Services

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
