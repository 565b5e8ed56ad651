"""A real browser for the tests: Debian's Chromium, driven by Playwright.

Chromium comes from Debian's packages (`apt-get install chromium`; .ci/run installs it) and
Playwright's Python client drives it through `executable_path`, so no browser is downloaded
(Playwright's own download needs a CDN this kind of machine cannot reach). Where no Chromium
can be had, the browser tests are skipped with the reason printed in the summary (`-ra`), so
the README's test command still runs everything else; CI sets TELEOPD_TEST_REQUIRE_CHROMIUM=1,
and there a missing Chromium fails them instead.

What a screenshot must show is checked in pixels and in what the browser reports it drew:
- Devanagari: the browser's own account of the fonts it drew a node with
  (CDP CSS.getPlatformFontsForNode) names a Devanagari font, and the pixels hold a
  headline, the shirorekha, the horizontal stroke a Devanagari word hangs from; boxes for
  missing glyphs ("tofu") and Latin letters have nothing like it.
- A chart: each SVG bar the page drew shows up in the screenshot in its fill colour.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

CHROMIUM_ENV = "TELEOPD_TEST_CHROMIUM"
REQUIRE_ENV = "TELEOPD_TEST_REQUIRE_CHROMIUM"
# The headline of a Devanagari word spans most of it (0.63 for "डैशबोर्ड", whose matras
# overhang its ends; 1.0 for "नमस्ते"); Latin words and missing-glyph boxes stay under 0.2.
HEADLINE = 0.45
INSTALL_HINT = "install Debian's Chromium (as root: apt-get install -y chromium) or set TELEOPD_TEST_CHROMIUM to a Chromium binary"


def chromium_path() -> str:
    """Return the Chromium binary to drive; without one, skip saying how to get it (fail where it is required)."""
    found = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"no Chromium, and {REQUIRE_ENV} is set: {INSTALL_HINT}", pytrace=False)
        pytest.skip(f"browser tests need Chromium: {INSTALL_HINT}")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session (each test opens its own contexts)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
        launched = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


# --- waiting, and the pages' Content-Security-Policy --------------------------------------------


def sign_in(page: Any, base: str, username: str, password: str, next_path: str) -> None:
    """Sign an operator in on the dashboard's sign-in page and wait for the page it sends them on to."""
    page.goto(f"{base}/dashboard/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def wait_until(page: Any, expression: str, arg: Any = None, timeout_s: float = 15.0) -> None:
    """Wait until a JavaScript expression (or a function of arg) is true in the page.

    Playwright's wait_for_function evaluates its predicate with eval inside the page, which
    the pages' Content-Security-Policy forbids (no 'unsafe-eval'); page.evaluate goes
    through the DevTools protocol, which the policy does not govern.
    """
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s} s: {expression}")
        page.wait_for_timeout(50)


def record_policy_violations(context: Any) -> list[str]:
    """Return a list that fills with every Content-Security-Policy violation the context's pages report."""
    violations: list[str] = []
    context.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    return violations


# --- what the pixels show -------------------------------------------------------------------


def _ink(image: Image.Image, threshold: int = 90) -> tuple[list[list[bool]], int, int]:
    """Return which pixels differ from the image's background colour (its most common one)."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    loaded = rgb.load()
    pixels = [loaded[x, y] for y in range(height) for x in range(width)]
    background = max(set(pixels), key=pixels.count)
    mask = [[sum(abs(a - b) for a, b in zip(pixels[y * width + x], background, strict=True)) > threshold for x in range(width)]
            for y in range(height)]
    return mask, width, height


def headline_ratio(png: bytes) -> float:
    """Return the longest horizontal run of ink in one row over the width of all the ink.

    A Devanagari word hangs from its headline, one stroke along the top of the whole word,
    so for one word the ratio is near 1. Boxes drawn for missing glyphs, or a Latin word,
    have no stroke longer than about one letter: a fraction of the word.
    """
    mask, width, height = _ink(Image.open(io.BytesIO(png)))
    columns = [x for x in range(width) if any(mask[y][x] for y in range(height))]
    if not columns:
        return 0.0
    longest = 0
    for y in range(height):
        run = 0
        for x in range(width):
            run = run + 1 if mask[y][x] else 0
            longest = max(longest, run)
    return longest / (columns[-1] - columns[0] + 1)


def fonts_drawn(page: Any, selector: str) -> dict[str, int]:
    """Return the fonts Chromium drew a node's text with, and how many glyphs of each."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        assert node, f"no element {selector!r}"
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return {font["familyName"]: int(font["glyphCount"]) for font in fonts}
    finally:
        cdp.detach()


def shows_devanagari(page: Any, selector: str) -> tuple[bool, str]:
    """Return whether an element holding one Devanagari word is drawn as Devanagari, and why not."""
    fonts = fonts_drawn(page, selector)
    devanagari = {name: n for name, n in fonts.items() if "devanagari" in name.lower() and n > 0}
    if not devanagari:
        return False, f"drawn with {fonts}, none of them a Devanagari font"
    ratio = headline_ratio(page.locator(selector).first.screenshot())
    if ratio < HEADLINE:
        return False, f"no headline in the pixels (longest stroke {ratio:.0%} of the word)"
    return True, f"drawn with {devanagari}, headline {ratio:.0%} of the word"


def _rgb(css: str) -> tuple[int, int, int]:
    """Return (r, g, b) of a computed CSS colour 'rgb(r, g, b)'."""
    inside = css[css.index("(") + 1:css.index(")")]
    r, g, b = (int(float(part)) for part in inside.replace("/", " ").replace(",", " ").split()[:3])
    return r, g, b


def bars_drawn(page: Any, chart_selector: str, tolerance: int = 24) -> tuple[int, int, int]:
    """Return (bars in the chart's SVG, pixels of the bars' colour in a screenshot, pixels the bars cover).

    The bars are the chart's <rect>s with a non-zero area that are not its background.
    """
    chart = page.locator(chart_selector).first
    bars = chart.evaluate(
        """svg => Array.from(svg.querySelectorAll('rect')).map(r => {
             const box = r.getBoundingClientRect();
             return {fill: getComputedStyle(r).fill, w: box.width, h: box.height};
           }).filter(b => b.w >= 1 && b.h >= 1 && b.fill && b.fill !== 'none')"""
    )
    whole = chart.bounding_box()
    assert whole is not None, f"{chart_selector} is not on screen"
    # A rect as big as the whole chart is its background, not a bar.
    bars = [b for b in bars if b["w"] * b["h"] < 0.9 * whole["width"] * whole["height"]]
    if not bars:
        return 0, 0, 0
    colours = {_rgb(b["fill"]) for b in bars}
    image = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
    loaded = image.load()
    every = (loaded[x, y] for y in range(image.height) for x in range(image.width))
    hits = sum(1 for p in every if any(sum(abs(a - b) for a, b in zip(p, c, strict=True)) <= tolerance for c in colours))
    return len(bars), hits, int(sum(b["w"] * b["h"] for b in bars))
