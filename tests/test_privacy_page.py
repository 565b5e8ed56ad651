"""GET /privacy: the full consent notice in the reader's language, the page the consent SMS points to."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

import webhooks
from bot.platform.i18n import Catalogs
from bot.runtime import Services
from flows.engine import LANGUAGES
from flows.steps.onboarding import consent_notice


@pytest.fixture
def client(services: Services) -> FlaskClient:
    return webhooks.create_app(services).test_client()


def _text(page: str) -> str:
    """Return a page's visible words, tags gone and entities read."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_shows_the_whole_consent_notice_in_the_language_asked(client: FlaskClient, catalogs: Catalogs, lang: str) -> None:
    response = client.get(f"/privacy?lang={lang}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    notice = catalogs.translate(consent_notice().text, lang)
    for line in filter(str.strip, notice.split("\n")):
        assert " ".join(line.split()) in _text(page), line
    # STOP and the way to delete one's data are on it, as the SMS promises.
    assert "STOP" in page
    others = [code for code in LANGUAGES if code != lang]
    assert all(f'hreflang="{code}"' in page for code in others), "a link to the notice in every other language"


def test_a_browser_that_prefers_hindi_gets_hindi(client: FlaskClient, catalogs: Catalogs) -> None:
    page = client.get("/privacy", headers={"Accept-Language": "hi-IN,hi;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="hi">' in page
    assert catalogs.translate(consent_notice().text, "hi").split("\n")[0] in _text(page)


def test_the_page_differs_by_language(client: FlaskClient) -> None:
    english, hindi = (client.get(f"/privacy?lang={lang}").get_data(as_text=True) for lang in ("en", "hi"))
    assert "Before we begin" in english and "Before we begin" not in hindi
    assert re.search("[\u0900-\u097f]", hindi)
