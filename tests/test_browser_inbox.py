"""The coordinators' inbox in a real browser: a web-chat patient asks for a person, a coordinator signs in,
takes the chat over, replies and hands it back, and the patient reads each step in their chat.
One `teleopd serve` (the local demo, SQLite); Debian's Chromium through Playwright (tests/browser.py).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.services import operators
from bot.store.db import Database
from tests.browser import sign_in
from tests.serving import ServeProcess, served_copy

pytestmark = pytest.mark.slow

USER = "inbox-patient"
WAIT_S = 20.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[tuple[Database, ServeProcess]]:
    """`teleopd serve` on loopback, its inbox answered round the clock (the test does not hang on the hour)."""
    with served_copy(tmp_path_factory.mktemp("inbox-page"), sqlite_template, TELEOPD_INBOX_OPENS_HOUR="0", TELEOPD_INBOX_CLOSES_HOUR="24") as served:
        yield served


def _say(server: ServeProcess, text: str) -> None:
    request = urllib.request.Request(
        f"{server.base}/api/chat/{USER}/messages", data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 202


def _heard(server: ServeProcess, words: str) -> list[str]:
    """Wait until the patient's chat shows a message with these words; return every message's text."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{server.base}/api/chat/{USER}/messages", timeout=10) as answer:
            texts = [message["text"] for message in json.load(answer)["messages"]]
        if any(words in text for text in texts):
            return texts
        time.sleep(0.1)
    raise AssertionError(f"the patient never read {words!r}: {texts[-3:]}")


def test_a_coordinator_takes_a_chat_over_replies_and_hands_it_back_in_the_browser(served: tuple[Database, ServeProcess], browser: Any) -> None:
    db, server = served
    _say(server, "hello")
    _say(server, "talk to a person")
    _heard(server, "person from our team")
    with db.write() as session:
        _, password = operators.add_operator(session, "asha", role="coordinator")

    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in(page, server.base, "asha", password, "/dashboard/inbox")
        assert "Asked for a person" in page.locator("#inbox").inner_text()
        page.click("#inbox tbody a")
        assert "talk to a person" in page.locator("#conversation").inner_text()

        page.click("#take button")
        _heard(server, "now answering you")
        page.fill("#reply-text", "Namaste, main Asha hoon. Batayiye?")
        page.click("#reply button")
        _heard(server, "Namaste, main Asha hoon. Batayiye?")

        _say(server, "mujhe kal ka token chahiye")
        deadline = time.monotonic() + WAIT_S
        while "mujhe kal ka token chahiye" not in page.locator("#conversation").inner_text() and time.monotonic() < deadline:
            page.reload()
        assert page.locator("#conversation li[data-by=patient]").filter(has_text="mujhe kal ka token chahiye").count() == 1

        page.click("#hand-back button")
        _heard(server, "answering you again")
        page.goto(f"{server.base}/dashboard/inbox?lang=hi")
        assert "इनबॉक्स" in page.locator("h1").inner_text()
    finally:
        context.close()
