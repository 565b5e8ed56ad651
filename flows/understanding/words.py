"""The words of a message as the understanding modules read them: folded, with where they were typed.

Symptom matching (flows/understanding/symptoms.py) and duration reading
(flows/understanding/duration.py) split a message the same way: into folded words that
remember their span and whether a clause starts at them, web and mail addresses masked.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

from flows.understanding.text import fold, to_ascii_digits

# Web and mail addresses are never symptoms; their words ("com", "www") must not become
# unknown complaints either. Bounded repeats (a DNS label is at most 63 characters) keep
# the scan linear on long junk.
_ADDRESS = re.compile(
    r"(?:https?|ftp)://\S+|www\.\S+|[^\s@]{1,64}@[^\s@]{1,255}\.\w+"
    r"|(?<![a-z0-9-])[a-z0-9][a-z0-9-]{0,62}(?:\.[a-z0-9-]{1,63}){0,8}"
    r"\.(?:com|in|org|net|gov|edu|info|io|co|me|ly|app|ai)\b(?:/\S*)?",
    re.IGNORECASE,
)
# A typed comma, danda, full stop, pipe ... ends a clause: no phrase spans it, and the
# unknown words are cut there.
_CLAUSE_BREAKS = frozenset(",;.|!?/&+:()[]{}\u0964\u0965\u060c\u3001\uff0c\u3002\uff1b\uff01\uff1f")


@dataclass(frozen=True)
class Token:
    """One folded word of a message, with the span of the typed piece it came from."""

    key: str
    start: int
    end: int
    clause_start: bool  # a comma, danda, ... comes right before it
    split: bool = False  # cut out of a letters-and-digits run ("3din"), so not a typed word of its own


def folded_set(words: str) -> frozenset[str]:
    """Fold a space-separated word list into a set of matching keys."""
    return frozenset(fold(words).split())


def split_digits(words: list[str]) -> list[str]:
    """Split words at digit/letter boundaries, so "3din" reads as "3 din"."""
    out: list[str] = []
    for word in words:
        out.extend(re.findall(r"[0-9]+|[^0-9]+", word))
    return out


def _is_separator(ch: str) -> bool:
    """Tell whether fold() turns ch into a space (whitespace or punctuation)."""
    # U+2212 MINUS SIGN is a math symbol, not punctuation, but "−3 din" must read as signed.
    return ch.isspace() or ch in string.punctuation or ch == "\u2212" or unicodedata.category(ch).startswith("P")


def split_words(cleaned: str) -> list[Token]:
    """Split normalised text into folded words that remember where they were typed."""
    # Addresses are masked with a clause break of the same length, so spans stay valid.
    masked = _ADDRESS.sub(lambda m: "," * len(m.group()), cleaned)
    tokens: list[Token] = []
    broken = False
    last_piece = ""
    i = 0
    while i < len(masked):
        if _is_separator(masked[i]):
            # A full stop after a single letter is an abbreviation ("B.P."), not a sentence end.
            abbreviation = masked[i] == "." and len(last_piece) == 1
            broken = broken or (masked[i] in _CLAUSE_BREAKS and not abbreviation)
            i += 1
            continue
        j = i
        while j < len(masked) and not _is_separator(masked[j]):
            j += 1
        piece = last_piece = masked[i:j]
        # "1.5 months": a decimal point between digits is part of the number, not a full stop.
        if j + 1 < len(masked) and masked[j] == "." and piece.isdecimal() and masked[j + 1].isdecimal():
            j += 1
            while j < len(masked) and masked[j].isdecimal():
                j += 1
            tokens.append(Token(to_ascii_digits(masked[i:j]), i, j, broken))
            broken = False
            i = j
            continue
        for word in fold(piece).split():
            parts = split_digits([word])
            for key in parts:
                tokens.append(Token(key, i, j, broken, split=len(parts) > 1))
                broken = False
        i = j
    return tokens
