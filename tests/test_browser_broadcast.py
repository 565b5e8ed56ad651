"""The Broadcasts page in a real browser: a coordinator of Uttar Pradesh writes an advisory in English and
Hindi for their state, sees the count and the Hindi preview, sends it, and the opted-in patients read it
in their chats; patients of another state do not. One `teleopd serve` (the local demo, SQLite);
Debian's Chromium through Playwright (tests/browser.py).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.channels import local
from bot.services import operators
from bot.store.db import Database
from tests.browser import sign_in
from tests.serving import ServeProcess, served_copy
from tests.test_broadcast_sending import seed

pytestmark = pytest.mark.slow

ADVISORY = {"en": "Polio drops for children under five this Sunday at every PHC.", "hi": "इस रविवार हर पीएचसी पर पाँच साल से छोटे बच्चों को पोलियो की दवा पिलाई जाएगी।"}
WAIT_S = 20.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[tuple[Database, ServeProcess]]:
    """`teleopd serve` on loopback with advisories on, sent at once (no approval, no quiet hours)."""
    with served_copy(
        tmp_path_factory.mktemp("broadcast-page"), sqlite_template,
        TELEOPD_ADVISORIES_PER_MONTH="4", TELEOPD_BROADCAST_APPROVAL_ABOVE="1000", TELEOPD_QUIET_HOURS="off",
    ) as served:
        yield served


def _chat(server: ServeProcess, user: str) -> list[str]:
    with urllib.request.urlopen(f"{server.base}/api/chat/{user}/messages", timeout=10) as answer:
        return [message["text"] for message in json.load(answer)["messages"]]


def test_a_state_coordinator_writes_previews_and_sends_an_advisory_in_the_browser(served: tuple[Database, ServeProcess], browser: Any) -> None:
    db, server = served
    seed(db, 2, prefix="up", channel=local.NAME, state="IN-UP", language="hi")
    seed(db, 1, prefix="bihar", channel=local.NAME, state="IN-BR", language="hi")
    with db.write() as session:
        _, password = operators.add_operator(session, "meera", role="coordinator", state="UP")

    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in(page, server.base, "meera", password, "/dashboard/broadcasts")
        page.fill("textarea[name=text_en]", ADVISORY["en"])
        page.fill("textarea[name=text_hi]", ADVISORY["hi"])
        page.fill("input[name=states]", "up")
        page.click(".broadcast-form button[type=submit]")
        page.wait_for_url(re.compile(r"/dashboard/broadcasts/\d+"))
        assert page.locator("dd[data-figure=audience]").inner_text().strip() == "2"  # Uttar Pradesh's two, not Bihar's
        assert ADVISORY["hi"] in page.locator("#preview-hi").inner_text()
        page.click("form[action*='/send'] button")

        deadline = time.monotonic() + WAIT_S
        while not all(any(ADVISORY["hi"] in text for text in _chat(server, f"up-{n}")) for n in range(2)):
            assert time.monotonic() < deadline, [_chat(server, f"up-{n}") for n in range(2)]
            time.sleep(0.2)
        assert not any(ADVISORY["hi"] in text for text in _chat(server, "bihar-0"))
        page.goto(page.url.split("?")[0] + "?lang=hi")
        assert "सामूहिक संदेश" in page.locator("h1").inner_text()
    finally:
        context.close()
