"""Red-flag detection: emergency symptoms in English, Hindi and romanised Hindi, with negation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from itertools import product
from pathlib import Path
from typing import Any

from flows.understanding.text import fold, normalize, spelling_key

_DATA = Path(__file__).resolve().parent / "data" / "red_flags.json"

# "ambulance": 108 (ambulance) or 112 (emergency); "mental_health": Tele-MANAS 14416 (DESIGN.md, Safety).
ACTIONS = frozenset({"ambulance", "mental_health"})

# Clause ends: sentence and list punctuation (Latin, Devanagari danda/double danda, the "|"
# people type for a danda, fullwidth forms). A phrase, its gaps and its negation stay inside
# one clause, so "no fever, chest pain" still flags chest pain. Apostrophes and hyphens are
# not clause ends: "can't", "self-harm".
_CLAUSE_END = re.compile(r"[.,;:!?\u0964\u0965|\n\r\u2026\u2013\u2014\u3002\uff0c\uff01\uff1f\uff1b\uff1a]+")

# A joined word ("seenemein", "cant", "khudko") may stand for up to this many phrase words.
_MAX_JOINED = 3

Words = tuple[str, ...]
Slot = frozenset[str]
# Where a phrase was found: word positions in a clause, and with the clause index.
Positions = tuple[int, ...]
Hit = tuple[int, Positions]


@dataclass(frozen=True)
class RedFlag:
    """A red-flag class found in a message and what the patient must be told to do."""

    code: str
    action: str  # "ambulance" or "mental_health"


@dataclass(frozen=True)
class _Phrase:
    """An ordered phrase: one set of accepted words per position, and joined forms of neighbours."""

    slots: tuple[Slot, ...]
    # joins[j] lists (k, words): a single text word from words stands for slots j..j+k-1.
    joins: tuple[tuple[tuple[int, Slot], ...], ...]


@dataclass(frozen=True)
class _Class:
    """A red-flag class: its flag, its patterns (each a tuple of alternative groups) and exclusions."""

    flag: RedFlag
    patterns: tuple[tuple[tuple[int, ...], ...], ...]
    exclude: tuple[int, ...]
    # Every phrase id of its patterns, so detect() looks only at the phrases a message has.
    phrases: frozenset[int]


@dataclass(frozen=True)
class _Rules:
    """Everything detect() needs, built once from red_flags.json."""

    phrases: tuple[_Phrase, ...]
    classes: tuple[_Class, ...]
    # Phrases whose words can never be negators: every red-flag, context and pseudo-negation phrase.
    content: frozenset[int]
    negate_before: tuple[int, ...]
    negate_after: tuple[int, ...]
    breaks: Slot
    max_gap: int
    window: int
    # First word of a text → phrases that can start there (plain or joined).
    starts: dict[str, tuple[int, ...]]


def _words(text: str) -> Words:
    """Return the spelling keys of a text's words: Devanagari, romanised and typo forms of a word alike."""
    return tuple(spelling_key(word) for word in fold(text).split())


def _bad(message: str) -> ValueError:
    """Return the error raised for a malformed red_flags.json."""
    return ValueError(f"{_DATA.name}: {message}")


def _spelling_table(groups: Any) -> dict[str, Slot]:
    """Map each word key to every key it may be written as (the union of its spelling sets)."""
    if not isinstance(groups, list):
        raise _bad("spellings must be a list of lists")
    table: dict[str, set[str]] = {}
    for group in groups:
        if not isinstance(group, list) or not all(isinstance(w, str) for w in group):
            raise _bad(f"bad spelling set {group!r}")
        words = {key for w in group for key in _words(w)}
        if any(len(fold(w).split()) != 1 for w in group):
            raise _bad(f"spelling set {group!r} must hold single words")
        for word in words:
            table.setdefault(word, set()).update(words)
    return {word: frozenset(alts) for word, alts in table.items()}


def _joined(slots: tuple[Slot, ...]) -> Slot:
    """Return the single words that stand for these neighbouring phrase words written together."""
    # Keyed again, as a typed word is ("chesttightness" → "chestightnes"); a join that keys to
    # one of its own parts ("daura" + "a" → "daura") is no join, so it is left out.
    keyed = ((spelling_key("".join(parts)), parts) for parts in product(*slots))
    return frozenset(joined for joined, parts in keyed if joined not in parts)


class _Builder:
    """Collect phrases once each (by their word keys) while reading the JSON."""

    def __init__(self, spellings: dict[str, Slot]) -> None:
        self.spellings = spellings
        self.phrases: list[_Phrase] = []
        self.ids: dict[Words, int] = {}

    def phrase(self, text: str) -> int:
        """Return the id of one phrase, building it on first use."""
        words = _words(text)
        if not words:
            raise _bad(f"empty phrase in {text!r}")
        if words not in self.ids:
            slots = tuple(self.spellings.get(w, frozenset({w})) for w in words)
            joins = tuple(
                tuple((k, _joined(slots[j : j + k])) for k in range(min(_MAX_JOINED, len(slots) - j), 1, -1))
                for j in range(len(slots))
            )
            self.ids[words] = len(self.phrases)
            self.phrases.append(_Phrase(slots, joins))
        return self.ids[words]

    def group(self, text: Any) -> tuple[int, ...]:
        """Return the phrase ids of a group written as alternatives separated by |."""
        if not isinstance(text, str) or not text.strip():
            raise _bad(f"a group must be a non-empty string, got {text!r}")
        return tuple(self.phrase(alt) for alt in text.split("|"))

    def groups(self, texts: Any) -> tuple[int, ...]:
        """Return the phrase ids of a list of groups, all taken as alternatives."""
        if not isinstance(texts, list):
            raise _bad(f"expected a list of groups, got {texts!r}")
        return tuple(i for text in texts for i in self.group(text))


def _read_class(raw: Any, build: _Builder) -> _Class:
    """Check and build one class entry."""
    if not isinstance(raw, dict):
        raise _bad(f"class entries must be objects, got {raw!r}")
    code, action, patterns = raw.get("code"), raw.get("action"), raw.get("patterns")
    if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z_]*", code):
        raise _bad(f"bad class code {code!r}")
    if action not in ACTIONS:
        raise _bad(f"{code}: action must be one of {sorted(ACTIONS)}, got {action!r}")
    if not isinstance(patterns, list) or not patterns:
        raise _bad(f"{code}: patterns must be a non-empty list")
    built: list[tuple[tuple[int, ...], ...]] = []
    for pattern in patterns:
        if isinstance(pattern, str):
            built.append((build.group(pattern),))
        elif isinstance(pattern, dict) and set(pattern) == {"all"} and pattern["all"]:
            built.append(tuple(build.group(g) for g in pattern["all"]))
        else:
            raise _bad(f"{code}: a pattern is a string or {{'all': [groups]}}, got {pattern!r}")
    ids = frozenset(i for pattern in built for group in pattern for i in group)
    return _Class(RedFlag(code, action), tuple(built), build.groups(raw.get("exclude", [])), ids)


@cache
def _rules() -> _Rules:
    """Read, check and index red_flags.json (once, on first use)."""
    raw = json.loads(_DATA.read_text(encoding="utf-8"))
    build = _Builder(_spelling_table(raw.get("spellings", [])))
    classes = tuple(_read_class(c, build) for c in raw.get("classes", []))
    codes = [c.flag.code for c in classes]
    if not codes or len(set(codes)) != len(codes):
        raise _bad(f"class codes must be present and unique: {codes}")
    negation = raw["negation"]
    pseudo = build.groups(negation["pseudo_negations"])
    before = build.groups(negation["before"])
    after = build.groups(negation["after"])
    breaks = frozenset(
        w for b in negation["scope_breaks"] for key in _words(b) for w in build.spellings.get(key, {key})
    )
    max_gap, window = raw["max_gap"], negation["max_words_between"]
    if not (isinstance(max_gap, int) and isinstance(window, int) and 0 <= max_gap <= 5 and 0 <= window <= 5):
        raise _bad("max_gap and max_words_between must be small non-negative integers")
    starts: dict[str, list[int]] = {}
    for i, phrase in enumerate(build.phrases):
        firsts = set(phrase.slots[0]).union(*(words for _, words in phrase.joins[0]))
        for word in firsts:
            starts.setdefault(word, []).append(i)
    return _Rules(
        phrases=tuple(build.phrases),
        classes=classes,
        content=frozenset(
            i for cls in classes for pattern in cls.patterns for group in pattern for i in group
        ).union(pseudo),
        negate_before=before,
        negate_after=after,
        breaks=breaks,
        max_gap=max_gap,
        window=window,
        starts={w: tuple(ids) for w, ids in starts.items()},
    )


def _match(
    phrase: _Phrase, words: Words, j: int, pos: int, gap: int, max_gap: int
) -> tuple[int, ...] | None:
    """Return where slots j.. of phrase match words from pos (up to gap words skipped), or None."""
    if j == len(phrase.slots):
        return ()
    for p in range(pos, min(len(words), pos + gap + 1)):
        word = words[p]
        # Longest joined form first, so "seenemein dard" uses one word for "seene mein".
        for k, joined in phrase.joins[j]:
            if word in joined:
                rest = _match(phrase, words, j + k, p + 1, max_gap, max_gap)
                if rest is not None:
                    return (p, *rest)
        if word in phrase.slots[j]:
            rest = _match(phrase, words, j + 1, p + 1, max_gap, max_gap)
            if rest is not None:
                return (p, *rest)
    return None


def _clauses(text: str) -> list[Words]:
    """Split a message into clauses of word keys."""
    parts = _CLAUSE_END.split(normalize(text))
    return [words for part in parts if (words := _words(part))]


def _occurrences(rules: _Rules, clauses: list[Words]) -> dict[int, list[Hit]]:
    """Find every phrase in every clause: phrase id → where it occurs."""
    found: dict[int, list[Hit]] = {}
    for c, words in enumerate(clauses):
        for start, word in enumerate(words):
            for i in rules.starts.get(word, ()):
                # The first word sits exactly at start; later words may have gaps.
                positions = _match(rules.phrases[i], words, 0, start, 0, rules.max_gap)
                if positions is not None:
                    found.setdefault(i, []).append((c, positions))
    return found


def _negators(ids: Iterable[int], found: dict[int, list[Hit]], used: set[tuple[int, int]]) -> list[Hit]:
    """Return the occurrences of negator phrases that are adjacent words and part of no red-flag phrase."""
    return [
        (c, positions)
        for i in ids
        for c, positions in found.get(i, ())
        # Negators allow no gaps: "don t" is a negator, "don t ... t" is not.
        if positions[-1] - positions[0] == len(positions) - 1 and not any((c, p) in used for p in positions)
    ]


def _negated(
    rules: _Rules, words: Words, positions: tuple[int, ...], before: list[Positions], after: list[Positions]
) -> bool:
    """Tell whether a negator (word positions in the same clause) governs the phrase at these positions."""
    first, last = positions[0], positions[-1]

    def near(lo: int, hi: int) -> bool:
        """Tell whether words[lo:hi], between negator and phrase, is short and crosses no scope break."""
        return hi - lo <= rules.window and not any(w in rules.breaks for w in words[lo:hi])

    # A negator inside the phrase's gaps ("seene mein koi nahi dard") negates it too.
    inside = any(first < neg[0] and neg[-1] < last for neg in (*before, *after))
    return (
        inside
        or any(neg[-1] < first and near(neg[-1] + 1, first) for neg in before)
        or any(last < neg[0] and near(last + 1, neg[0]) for neg in after)
    )


def detect(text: str) -> tuple[RedFlag, ...]:
    """Return the red-flag classes in a free-text message, in red_flags.json order, negated ones left out."""
    rules = _rules()
    clauses = _clauses(text)
    if not clauses:
        return ()
    found = _occurrences(rules, clauses)
    if found.keys().isdisjoint(rules.content):
        return ()  # most messages: no red-flag phrase at all, so nothing to negate or mask
    # Words inside any red-flag or pseudo-negation phrase are never negators, so the "nahi"
    # of "saans nahi aa rahi" or "jeena nahi chahta" keeps its phrase a red flag.
    used = {(c, p) for i, hits in found.items() if i in rules.content for c, positions in hits for p in positions}
    before: list[list[Positions]] = [[] for _ in clauses]
    after: list[list[Positions]] = [[] for _ in clauses]
    for c, positions in _negators(rules.negate_before, found, used):
        before[c].append(positions)
    for c, positions in _negators(rules.negate_after, found, used):
        after[c].append(positions)

    flags: list[RedFlag] = []
    for cls in rules.classes:
        masked = {(c, p) for i in cls.exclude for c, positions in found.get(i, ()) for p in positions}
        live = {
            i
            for i, hits in found.items()
            if i in cls.phrases
            and any(
                not any((c, p) in masked for p in positions)
                and not _negated(rules, clauses[c], positions, before[c], after[c])
                for c, positions in hits
            )
        }
        if any(all(any(i in live for i in group) for group in pattern) for pattern in cls.patterns):
            flags.append(cls.flag)
    return tuple(flags)


def priority(flags: Iterable[RedFlag]) -> bool:
    """Tell whether a patient with these red flags books with priority (any flag at all)."""
    return any(True for _ in flags)


def known_flags() -> tuple[RedFlag, ...]:
    """Return every red-flag class detect() can report, in its order (for catalogs and tests)."""
    return tuple(cls.flag for cls in _rules().classes)
