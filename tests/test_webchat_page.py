"""The web chat as a demo: the page. Its language from the catalogs, Devanagari input and font, the role
switch, and language links that keep the role and the user.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient

from tests.webchat_push_helpers import (
    LANGS,
    PAGE_WORDS,
    _nfc,
    client,  # noqa: F401  (fixtures)
)
from webhooks.webchat import ENROL_WORD, ROLES

# --- the page ---------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The elements of a page by id, and every element's attributes and text."""

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[list[str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text: list[str] = []
        self.elements.append((tag, {k: v or "" for k, v in attrs}, text))
        if tag not in ("input", "link", "meta", "br"):
            self._open.append(text)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for text in self._open:
            text.append(data)

    def by_id(self, element_id: str) -> tuple[str, dict[str, str], str]:
        found = [(tag, attrs, "".join(text).strip()) for tag, attrs, text in self.elements if attrs.get("id") == element_id]
        assert len(found) == 1, f"#{element_id}: {len(found)} elements"
        return found[0]

    def all(self, **attrs: str) -> list[tuple[str, dict[str, str], str]]:
        return [
            (tag, a, " ".join("".join(text).split()))
            for tag, a, text in self.elements
            if all(a.get(k) == v or (v == "*" and k in a) for k, v in attrs.items())
        ]


def _page(client: FlaskClient, query: str) -> _Page:
    response = client.get("/" + query)
    assert response.status_code == 200 and response.mimetype == "text/html"
    return _Page(response.get_data(as_text=True))


@pytest.mark.parametrize("lang", LANGS)
def test_the_page_speaks_its_language_from_the_catalogs(client, lang: str) -> None:
    phrases, role_names, enrol_label, send = _nfc(PAGE_WORDS[lang])
    page = _page(client, f"?lang={lang}")
    assert [text for _, _, text in page.all(**{"data-phrase": "*"})] == phrases
    assert [a["data-phrase"] for _, a, _ in page.all(**{"data-phrase": "*"})] == phrases
    assert [text for tag, _, text in page.all(**{"data-role": "*"}) if tag == "a"] == role_names
    assert page.by_id("enrol-label")[2] == enrol_label
    assert page.by_id("send")[2] == send
    assert page.by_id("role-label")[2] == role_names[0]


@pytest.mark.parametrize("lang", LANGS)
def test_the_input_takes_devanagari_as_typed(client, lang: str) -> None:
    _, attrs, _ = _page(client, f"?lang={lang}").by_id("text")
    assert attrs["lang"] == lang
    assert (attrs["inputmode"], attrs["autocapitalize"], attrs["spellcheck"]) == ("text", "off", "false")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("query", "role"), [
    ("", "patient"),
    ("&role=patient", "patient"),
    ("&role=doctor", "doctor"),
    ("&role=health_worker", "health_worker"),
    ("&role=admin", "patient"),
    ("&role=%3Cscript%3E", "patient"),
])
def test_the_role_switch(client, lang: str, query: str, role: str) -> None:
    page = _page(client, f"?lang={lang}{query}")
    _, body, _ = page.by_id("role-label")
    assert body["data-role"] == role
    bodies = page.all(**{"data-api": "*"})
    # Each role is its own chat: its own API (and cookie).
    assert len(bodies) == 1 and bodies[0][1]["data-api"] == f"/api/my-chat/{role}/messages" and bodies[0][1]["data-role"] == role
    assert bodies[0][1]["data-chat-end"] == f"/api/my-chat/{role}"
    assert bodies[0][1]["data-enrol-word"] == ENROL_WORD[lang]
    links = [(a["data-role"], a["href"], "aria-current" in a) for tag, a, _ in page.all(**{"data-role": "*"}) if tag == "a"]
    assert [name for name, _, _ in links] == list(ROLES)
    for name, href, current in links:
        # Switching role keeps the tab's language.
        assert f"role={name}" in href and f"lang={lang}" in href, href
        assert current == (name == role)
    # The enrolment form is there for the script to show while a doctor or health worker is not enrolled.
    assert "hidden" in page.by_id("enrol")[1]
    assert page.by_id("enrol-code")[0] == "input"
    # The quick phrases are a patient's; a doctor or health worker has the bot's buttons.
    assert ("hidden" in page.by_id("quick-phrases")[1]) == (role != "patient")


def test_the_page_links_the_devanagari_font_and_uses_it(client) -> None:
    page = _page(client, "?lang=hi")
    sheets = [a["href"] for tag, a, _ in page.all(rel="stylesheet")]
    assert sheets[0].endswith("/static/fonts.css") and sheets[1].endswith("/static/chat.css")
    css = client.get("/static/chat.css").get_data(as_text=True)
    assert re.search(r"font-family:\s*var\(--font-ui\)", css)
    assert "Noto Sans Devanagari" in client.get("/static/fonts.css").get_data(as_text=True)


@pytest.mark.parametrize("lang", LANGS)
def test_the_language_links_keep_the_role_and_the_user(client, lang: str) -> None:
    page = _page(client, f"?lang={lang}&role=doctor&user=asha")
    links = {a["data-lang"]: a["href"] for _, a, _ in page.all(**{"data-lang": "*"})}
    assert set(links) == {"en", "hi"}
    for code, href in links.items():
        assert f"lang={code}" in href and "role=doctor" in href and "user=asha" in href
