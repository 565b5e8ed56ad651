"""The catalogs: every message in code is translated, nothing fuzzy, placeholders agree."""

from __future__ import annotations

import re
import string
import unicodedata
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.channels.sms_text import is_gsm7
from flows.understanding.text import fold

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"t": None, "sms": None, "tn": (1, 2)}


def _catalog(lang: str):  # type: ignore[no-untyped-def]
    with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def _hindi_strings() -> list[str]:
    """Return every Hindi msgstr, plural forms one by one."""
    found = []
    for message in _catalog("hi"):
        if message.id:
            strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
            found += [s for s in strings if s]
    return found


def _messages_in_code() -> set[str]:
    """Extract message ids from the source the way `pybabel extract -F babel.cfg` does."""
    found: set[str] = set()
    with (ROOT / "babel.cfg").open() as cfg:
        from babel.messages.frontend import parse_mapping_cfg

        method_map, options_map = parse_mapping_cfg(cfg)
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def in_code() -> set[str]:
    return _messages_in_code()


# The catalogs' folders: gettext names romanised Hindi ("hi-Latn") hi_Latn.
CATALOGS = ["en", "hi", "hi_Latn"]


@pytest.mark.parametrize("lang", CATALOGS)
def test_catalog_holds_every_message_in_code(in_code: set[str], lang: str) -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(lang) if m.id}
    missing = in_code - ids
    assert not missing, f"run pybabel extract/update: {sorted(missing)[:5]}"
    stale = ids - in_code
    assert not stale, f"messages no longer in code (run pybabel update): {sorted(stale)[:5]}"


@pytest.mark.parametrize("lang", ["hi", "hi_Latn"])
def test_every_hindi_message_is_translated_and_not_fuzzy(lang: str) -> None:
    problems = []
    for message in _catalog(lang):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy or not all(strings):
            problems.append(message.id)
    assert not problems, f"untranslated or fuzzy Hindi ({lang}): {problems[:5]}"


def _romanised_strings() -> list[tuple[str, str]]:
    """Return (msgid, msgstr) for every romanised Hindi msgstr, plural forms one by one."""
    found = []
    for message in _catalog("hi_Latn"):
        if message.id:
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
            found += [(msgid, s) for s in strings]
    return found


def test_romanised_hindi_is_plain_ascii_and_gsm7() -> None:
    """Every hi-Latn message can go as GSM-7 to a phone without Devanagari: plain letters, no
    diacritics, no curly quotes or dashes (which would force UCS-2), no Devanagari at all."""
    not_plain = [(i, s) for i, s in _romanised_strings() if not s.isascii() or not is_gsm7(s)]
    assert not not_plain, not_plain[:5]


def test_romanised_hindi_reads_as_hindi() -> None:
    """A hi-Latn message is Hindi in Latin letters, not the English left as it was: only words
    that are the same in both (OPD, Doctor, Dashboard) may stay."""
    same = {msgid for msgid, s in _romanised_strings() if s == msgid}
    assert same <= {
        "Chat", "Dashboard", "Doctor", "Emergency", "Error {code}", "Health worker", "OPD", "Online OPD", "Password", "Phone",
        "Token {number}, {opd}", "Token {number}, {opd}, {date}", "{minutes} min",
    }, same
    # Hindi's everyday words carry the sentences.
    hindi = re.compile(r"\b(hai|hain|karein|bhejein|ke|ki|ka|ko|ne|mein|se|nahi|aap|aapka|aapki|kya|par|ho|yeh|liye)\b", re.I)
    long_ones = [(msgid, s) for msgid, s in _romanised_strings() if len(msgid.split()) >= 6 and msgid.rstrip().endswith((".", "?"))]
    english = [s for _, s in long_ones if not hindi.search(s)]
    assert not english, english[:5]


@pytest.mark.parametrize("lang", CATALOGS)
def test_placeholders_match_the_source(lang: str) -> None:
    for message in _catalog(lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        expected = set().union(*(_placeholders(i) for i in ids))
        for translated in strings:
            if translated:  # English may leave msgstr empty: the source text is used
                assert _placeholders(translated) == expected, f"{lang}: {message.id!r} → {translated!r}"


def test_hindi_reads_as_hindi() -> None:
    """Each Hindi message is written in Devanagari (not left in English) and NFC-normalised."""
    # The brand is read aloud as टेलीओपीडी: Latin "teleopd" is not Hindi to a Devanagari reader.
    latin_allowed = {"START", "STOP", "SKIP", "English"}
    for message in _catalog("hi"):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        for translated in strings:
            assert unicodedata.normalize("NFC", translated) == translated, message.id
            words = re.findall(r"[A-Za-z]+", re.sub(r"\{\w+\}", "", translated))
            assert set(words) <= latin_allowed, f"English left in Hindi: {words} in {translated!r}"
            assert re.search("[\u0900-\u097f]", translated), f"no Devanagari in {translated!r}"


def test_hindi_plural_rule_follows_cldr() -> None:
    """Hindi counts 0 and 1 as singular (CLDR: one → i = 0 or n = 1), unlike gettext's default."""
    assert _catalog("hi").plural_expr == "(n > 1)"


def test_hindi_has_no_gender_slashes() -> None:
    """A reader is not a form: "मैं आ रहा/रही हूँ" becomes a neutral "मैं तैयार हूँ" (or uses the known sex)."""
    slashed = [s for s in _hindi_strings() if re.search(r"[\u0900-\u097f]\s*/\s*[\u0900-\u097f]", s)]
    assert not slashed, slashed


# Bookish words and the words people say instead (the Hindi catalog review, issue 13 item 20);
# आपातकाल, for one, is "the Emergency", a state of emergency, not a medical one.
EVERYDAY_WORDS = {
    "आपातकाल": "इमरजेंसी",
    "आपात स्थिति": "इमरजेंसी",
    "पंजीकरण": "रजिस्ट्रेशन",
    "समन्वयक": "कोऑर्डिनेटर",
    "माध्यिका": "मीडियन",
    "प्रतीक्षा": "इंतज़ार",
    "असहमति": "“नहीं”",
}


def test_hindi_says_the_everyday_word() -> None:
    """A rural reader's words, not a form's or a textbook's."""
    bookish = [(word, s) for s in _hindi_strings() for word in EVERYDAY_WORDS if word in s]
    assert not bookish, [f"{word} → {EVERYDAY_WORDS[word]}: {s}" for word, s in bookish]


def test_each_hindi_word_is_spelled_one_way() -> None:
    """One spelling a word across the catalog: not ख़ाली here and खाली there, खाँसी and खांसी."""
    spellings: dict[str, set[str]] = {}
    for text in _hindi_strings():
        for word in re.findall(r"[\u0900-\u0963\u0966-\u097f]+", text):  # Devanagari, without the danda
            spellings.setdefault(fold(word), set()).add(word)
    assert not {key: words for key, words in spellings.items() if len(words) > 1}
