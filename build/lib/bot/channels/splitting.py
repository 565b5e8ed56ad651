"""Long texts cut into parts a channel can carry: at sentences, then lines, then words.

Telegram takes 4,096 characters a message and Twilio 1,600 a body, both counted in UTF-16
units; a patient reads each part best when it ends where a sentence (or the Devanagari
danda) does. A word longer than the limit is cut between graphemes, never between a
consonant and its vowel sign or virama.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_VIRAMA = "\u094d"


def utf16_units(text: str) -> int:
    """Return a text's length in UTF-16 code units, as Telegram and Twilio count it."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, measure: Callable[[str], int] = utf16_units) -> list[str]:
    """Split text into parts within the limit: at sentences, then lines, then words, then characters."""
    text = text.strip()
    if measure(text) <= limit:
        return [text] if text else []
    return [part for part in _pack(text, limit, measure, 0) if part]


# Where a text may be cut, coarsest first: after a sentence's end (Devanagari danda
# included), after a line, after a word. The whitespace stays with the piece before it.
_CUT_AFTER = (re.compile(r"[.!?।॥]\s+"), re.compile(r"\n"), re.compile(r"\s+"))


def _pieces(text: str, level: int) -> list[str]:
    ends = [m.end() for m in _CUT_AFTER[level].finditer(text)]
    return [text[a:b] for a, b in zip([0, *ends], [*ends, len(text)]) if a < b]


def _pack(text: str, limit: int, measure: Callable[[str], int], level: int) -> list[str]:
    if level >= len(_CUT_AFTER):
        return _hard_cut(text, limit, measure)
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, level):
        if measure((current + piece).strip()) <= limit:
            current += piece
            continue
        if current.strip():
            parts.append(current.strip())
        current = ""
        if measure(piece.strip()) <= limit:
            current = piece
        else:
            *done, current = _pack(piece.strip(), limit, measure, level + 1)
            parts.extend(done)
            current += " "
    if current.strip():
        parts.append(current.strip())
    return parts


def _hard_cut(text: str, limit: int, measure: Callable[[str], int]) -> list[str]:
    parts = []
    while text:
        cut = len(text)
        while measure(text[:cut]) > limit:
            cut -= 1
        cut = grapheme_safe(text, cut)
        parts.append(text[:cut])
        text = text[cut:]
    return parts


def grapheme_safe(text: str, cut: int) -> int:
    """Move a cut back so it does not split a vowel sign or a conjunct from its consonant."""
    start = cut
    while 0 < cut < len(text) and (unicodedata.category(text[cut]).startswith("M") or text[cut - 1] == _VIRAMA):
        cut -= 1
    return cut or start
