"""What every HTML page shares: the page language and catalog text in Jinja templates.

Templates call ``t("Waiting")`` / ``t("{count} waiting", count=n)`` exactly as flows do, so
`pybabel extract -F babel.cfg -k t …` finds their strings (babel.cfg's jinja2 section) and
tests/test_catalogs.py holds them to the same rules. Numbers given to ``t`` or to the
``number`` filter are grouped the Indian way (1,23,456) in both languages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g, render_template, request

from bot.platform.i18n import format_number
from flows.engine import LANGUAGES
from flows.messages import Text
from flows.messages import t as mark
from flows.messages import tn as mark_plural
from flows.steps.onboarding import LANGUAGE_CHOICES, consent_notice

# A ?lang= choice is remembered for a year, per browser.
LANG_COOKIE = "teleopd_lang"
LANG_COOKIE_SECONDS = 365 * 24 * 3600


def page_language() -> str:
    """Return the language of this request's page: ?lang=, then the cookie, then the browser's, then the default."""
    if "page_lang" in g:
        return g.page_lang  # type: ignore[no-any-return]
    asked = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked not in LANGUAGES:
        asked = request.accept_languages.best_match(LANGUAGES) if request.accept_languages else None
    if asked not in LANGUAGES:
        asked = current_app.extensions["teleopd"].settings.default_language
    g.page_lang = asked if asked in LANGUAGES else "en"
    return g.page_lang  # type: ignore[no-any-return]


@contextmanager
def in_language(lang: str) -> Iterator[None]:
    """Render t(), tn() and number() in another language while the block runs (a page that
    also carries its words in the other language, for its script to switch to)."""
    before = page_language()
    g.page_lang = lang
    try:
        yield
    finally:
        g.page_lang = before


def t(msgid: str | Text, **params: Any) -> str:
    """Return a catalog message in the page's language (a Text as is, a msgid marked here)."""
    message = msgid if isinstance(msgid, Text) else mark(msgid, **params)
    return current_app.extensions["teleopd"].catalogs.translate(message, page_language())  # type: ignore[no-any-return]


def tn(singular: str, plural: str, count: int, **params: Any) -> str:
    """Return a plural catalog message in the page's language."""
    return current_app.extensions["teleopd"].catalogs.translate(mark_plural(singular, plural, count, **params), page_language())  # type: ignore[no-any-return]


def number(value: int | float | None, dash: str = "–") -> str:
    """Return a number grouped the Indian way (80,33,029); a dash for no value."""
    return dash if value is None else format_number(value, page_language())


def remember_language(response: Any) -> Any:
    """Keep a ?lang= choice in a cookie so the next page opens in it."""
    asked = request.args.get("lang")
    if asked in LANGUAGES and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=LANG_COOKIE_SECONDS, samesite="Lax", secure=request.is_secure)
    return response


def privacy() -> str:
    """GET /privacy: the full consent notice in the reader's language (?lang=, cookie, browser), with links to the others.

    The consent SMS carries only the essentials and points here (flows/steps/onboarding.py
    consent_question_sms); the chat channels show the same notice before the consent question.
    """
    lang = page_language()
    catalogs = current_app.extensions["teleopd"].catalogs
    notice = [line for line in catalogs.translate(consent_notice().text, lang).split("\n") if line.strip()]
    names = {choice.key: catalogs.format_value(choice.label, choice.key) for choice in LANGUAGE_CHOICES}
    languages = [(code, names.get(code, code)) for code in LANGUAGES]
    return render_template("privacy.html", notice=notice, languages=languages)


def install(app: Flask) -> None:
    """Give every template t(), tn(), the page language and the number filter; serve /privacy."""
    app.jinja_env.globals.update(t=t, tn=tn, page_language=page_language)
    app.jinja_env.filters["number"] = number
    app.after_request(remember_language)
    app.add_url_rule("/privacy", "privacy", privacy, methods=["GET"])
