"""Turn flows' messages into text in the user's language, from the gettext catalogs.

The catalogs are locales/<lang>/LC_MESSAGES/messages.po. A compiled messages.mo is used
when it is newer than its .po (after `pybabel compile`); otherwise the .po is compiled in
memory on first use, so a fresh clone works without a manual compile step.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

import locales
from bot.platform.clock import IST
from flows.engine import LANGUAGES
from flows.messages import ByLanguage, Lines, Text, TimeOfDay

DOMAIN = "messages"
# Babel locales for formatting: Indian English and Hindi both group digits the Indian way
# (42,23,054) and keep Latin digits (PROVIDERS.md §D).
# Romanised Hindi has CLDR's own locale, hi_Latn: Latin script only, months as in English
# ("30 September, 2026"), day periods in Hindi ("subah 9:30", "shaam 7:30"), all GSM-7
# (tests/test_romanised_hindi.py checks every day of a year and every half hour).
BABEL_LOCALE = {"en": "en_IN", "hi": "hi_IN", "hi-Latn": "hi_Latn"}
# Times of day: "9:00 am" in English; in Hindi the CLDR day period goes first, as people
# say it ("सुबह 9:00", "दोपहर 2:30"), rather than Babel's default "am"/"pm".
TIME_PATTERN = {"en": "h:mm a", "hi": "B h:mm", "hi-Latn": "B h:mm"}
# CLDR's hi_Latn leaves two day periods in English ("noon 12:00", "midnight 12:00"): say them
# the way the rest are said.
_LATN_PERIODS = (("noon ", "dopahar "), ("midnight ", "raat "))


def locales_dir() -> Path:
    """Return the folder holding the catalogs."""
    return Path(locales.__file__).parent


def catalog_name(lang: str) -> str:
    """Return a language's catalog folder: gettext and Babel write "hi-Latn" as hi_Latn."""
    return lang.replace("-", "_")


class Catalogs:
    """The translations of every supported language, loaded once and shared by threads."""

    def __init__(self, directory: Path | None = None):
        self.directory = directory or locales_dir()
        self._loaded: dict[str, NullTranslations] = {}
        self._lock = threading.Lock()

    def translations(self, lang: str) -> NullTranslations:
        """Return the translations of a language (English source text when there are none)."""
        lang = lang if lang in LANGUAGES else "en"
        if lang not in self._loaded:
            with self._lock:
                if lang not in self._loaded:
                    self._loaded[lang] = self._load(lang)
        return self._loaded[lang]

    def _load(self, lang: str) -> NullTranslations:
        folder = self.directory / catalog_name(lang) / "LC_MESSAGES"
        po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
        if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
            with mo.open("rb") as handle:
                return Translations(handle, domain=DOMAIN)
        if not po.exists():
            return NullTranslations()
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=catalog_name(lang), domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)

    def translate(self, text: Text, lang: str) -> str:
        """Return a message in a language, placeholders filled and formatted for it."""
        translations = self.translations(lang)
        if text.plural is not None:
            template = translations.ngettext(text.msgid, text.plural, text.count or 0)
        else:
            template = translations.gettext(text.msgid)
        params = {key: self.format_value(value, lang) for key, value in text.params}
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            # A translation whose placeholders drifted from the source: fall back to the
            # source text rather than fail the send (tests/test_catalogs.py forbids it).
            return text.msgid.format(**params)

    def format_value(self, value: Any, lang: str) -> str:
        """Return one parameter as text: numbers grouped the Indian way, dates in the language."""
        locale = BABEL_LOCALE.get(lang, "en_IN")
        if isinstance(value, tuple):
            return ", ".join(self.format_value(v, lang) for v in value)
        if isinstance(value, Lines):
            return "\n".join(self.format_value(v, lang) for v in value.items)
        if isinstance(value, Text):
            return self.translate(value, lang)
        if isinstance(value, ByLanguage):
            return value.pick(lang)
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int | float):
            return format_decimal(value, locale=locale)
        if isinstance(value, TimeOfDay):
            return _lower_period(format_time(value.at.astimezone(IST), TIME_PATTERN.get(lang, "h:mm a"), tzinfo=IST, locale=locale))
        if isinstance(value, dt.datetime):
            pattern = f"d MMMM y, {TIME_PATTERN.get(lang, 'h:mm a')}"
            return _lower_period(format_datetime(value.astimezone(IST), pattern, tzinfo=IST, locale=locale))
        if isinstance(value, dt.date):
            return format_date(value, "long", locale=locale)
        return str(value)

    def variants(self, label: Text | ByLanguage | dt.date) -> Iterable[str]:
        """Return a label in every supported language (answers may come in either)."""
        return tuple(self.format_value(label, lang) for lang in LANGUAGES)


def _lower_period(text: str) -> str:
    """Return "9:00 am" whatever the CLDR data: en_IN's am/pm became AM/PM in Babel 2.19."""
    for english, hindi in _LATN_PERIODS:
        text = text.replace(english, hindi)
    return text.replace("\u202fAM", "\u202fam").replace("\u202fPM", "\u202fpm").replace(" AM", " am").replace(" PM", " pm")


def format_number(value: int | float, lang: str) -> str:
    """Return a number with Indian digit grouping (80,33,029)."""
    return format_decimal(value, locale=BABEL_LOCALE.get(lang, "en_IN"))
