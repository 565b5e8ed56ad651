"""Shared by the tests of the web chat as a demo: the API's path, the languages, the timing bounds, a
test client, a GET that is timed, a worker that drains once a request waits, and the words the page
shows in each language (also used by tests/test_browser_chat.py). The fixtures here are used by being
imported.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from typing import Any

import pytest
from flask.testing import FlaskClient

import webhooks
from bot.channels import local
from bot.runtime import Services

API = "/api/chat/{user}/messages"
LANGS = ["en", "hi"]
# Far longer than any wake takes, far shorter than the waits the requests ask for.
WOKEN_WITHIN_S = 8.0
LONG_WAIT_S = 20


@pytest.fixture
def client(services: Services) -> FlaskClient:
    return webhooks.create_app(services, local_demo=True).test_client()


def _get(client: FlaskClient, user: str, threaded: bool = True, **query: Any) -> tuple[dict[str, Any], float]:
    """GET a user's messages as a threaded server (waitress: `teleopd serve`) would pass the
    request on; return the JSON answer and how long the request took."""
    started = time.monotonic()
    response = client.get(API.format(user=user), query_string=query, environ_overrides={"wsgi.multithread": threaded})
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json(), elapsed


def _drain_once_someone_waits(services: Services, user: str) -> threading.Thread:
    """Start a thread that runs the worker as soon as a request waits for the user's messages."""

    def deliver() -> None:
        assert local.ARRIVALS.wait_for_reader(user, timeout=LONG_WAIT_S)
        services.worker.drain()

    thread = threading.Thread(target=deliver, daemon=True)
    thread.start()
    return thread


def _nfc(words: Any) -> Any:
    """Return strings as the catalogs hold them (NFC: ज़ is ज + nukta there)."""
    if isinstance(words, str):
        return unicodedata.normalize("NFC", words)
    return type(words)(_nfc(w) for w in words)


# (language, quick phrases, role names, enrolment label, send)
PAGE_WORDS = {
    "en": (["hello", "I have fever for 3 days", "status"], ["Patient", "Doctor", "Health worker"],
           "Enter the code your coordinator gave you", "Send"),
    "hi": (["नमस्ते", "मुझे 3 दिन से बुखार है", "स्थिति"], ["मरीज़", "डॉक्टर", "स्वास्थ्य कर्मी"],
           "आपके कोऑर्डिनेटर ने जो कोड दिया है, वह यहाँ डालें", "भेजें"),
}
