"""The screenshot checks of tests/browser.py tell Devanagari and a chart from what they are not."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import (
    HEADLINE,
    bars_drawn,
    fonts_drawn,
    headline_ratio,
    shows_devanagari,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
FONT = "font: 32px 'Served Devanagari', sans-serif; display: inline-block; padding: 4px"


def _served_font() -> str:
    """Return an @font-face for the Devanagari font the pages serve, so no system font is needed."""
    data = base64.b64encode((ROOT / "webhooks/static/fonts/NotoSansDevanagari-Regular.ttf").read_bytes()).decode()
    return f"<style>@font-face {{ font-family: 'Served Devanagari'; src: url(data:font/ttf;base64,{data}); }}</style>"


def _show(page: Any, word: str) -> None:
    page.set_content(f"<meta charset=utf-8>{_served_font()}<span id=w style=\"{FONT}\">{word}</span>")
    page.evaluate("document.fonts.ready")


@pytest.fixture
def page(browser: Any) -> Any:
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("word", ["डैशबोर्ड", "परामर्श", "नमस्ते"])
def test_a_devanagari_word_is_seen_as_devanagari(page: Any, word: str) -> None:
    _show(page, word)
    ok, why = shows_devanagari(page, "#w")
    assert ok, why


@pytest.mark.parametrize("word", ["Dashboard", "Consultations", "\u0378\u0379\u0380\u0381\u0382"])  # unassigned: boxes
def test_latin_letters_and_missing_glyph_boxes_are_not(page: Any, word: str) -> None:
    _show(page, word)
    ok, why = shows_devanagari(page, "#w")
    assert not ok, why
    assert headline_ratio(page.locator("#w").screenshot()) < HEADLINE


def test_bars_of_an_svg_chart_are_found_in_the_pixels(page: Any) -> None:
    page.set_content(
        "<svg id=c width=300 height=120 xmlns='http://www.w3.org/2000/svg'>"
        "<rect width=300 height=120 fill='#ffffff'/>"
        "<rect x=10 y=20 width=40 height=100 fill='#0b5c8a'/><rect x=70 y=60 width=40 height=60 fill='#0b5c8a'/></svg>"
    )
    bars, hits, area = bars_drawn(page, "#c")
    assert bars == 2
    assert area == 40 * 100 + 40 * 60
    assert hits >= 0.9 * area


def test_a_chart_with_no_bars_has_none(page: Any) -> None:
    page.set_content("<svg id=c width=300 height=120 xmlns='http://www.w3.org/2000/svg'><rect width=300 height=120 fill='#fff'/>"
                     "<text x=10 y=60>No consultations</text></svg>")
    assert bars_drawn(page, "#c") == (0, 0, 0)


# --- the pages themselves, on a machine with no Devanagari system font -----------------------


@pytest.fixture
def served_pages(tmp_path: Path, catalogs: Any) -> Any:
    """Serve the real app (SQLite, the local demo) on a loopback port for the browser; yield its base URL."""
    import threading

    from werkzeug.serving import make_server

    from bot.platform.config import Settings
    from bot.runtime import build_services
    from bot.store.db import Database
    from bot.store.migrate import upgrade
    from webhooks import create_app

    database = Database(f"sqlite:///{tmp_path / 'pages.db'}")
    upgrade(database.url, database.engine)
    services = build_services(Settings(database_url=database.url), db=database, catalogs=catalogs)
    server = make_server("127.0.0.1", 0, create_app(services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        database.dispose()


@pytest.mark.parametrize(("path", "selectors"), [
    # The chat's chrome: the Send button, a quick phrase, the language link (item 14 of issue 13).
    ("/?lang=hi", ["#send", "#quick-phrases button.phrase", ".langs a[lang=hi]"]),
    # The operators' pages: the sign-in heading and button, bold and regular faces both.
    ("/dashboard/login?lang=hi", ["h1", "button[type=submit]"]),
])
def test_the_pages_draw_hindi_with_the_font_they_serve(page: Any, served_pages: str, path: str, selectors: list[str]) -> None:
    """Hindi is drawn with the served Noto Sans Devanagari, whatever fonts the machine has."""
    page.goto(served_pages + path)
    page.evaluate("document.fonts.ready")
    for selector in selectors:
        found = page.locator(selector)
        assert found.count() >= 1, f"{path}: no {selector}"
        assert re.search("[\u0900-\u097f]", found.first.inner_text()), f"{path}: {selector} holds no Devanagari"
        drawn = fonts_drawn(page, selector)
        assert any("devanagari" in name.lower() for name in drawn), f"{path}: {selector} drawn with {drawn}"
