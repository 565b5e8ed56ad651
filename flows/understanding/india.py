"""Indian states and union territories: the numbered menu and matching free-text answers to it."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

from flows.messages import ByLanguage
from flows.understanding.text import (
    consonants,
    fold,
    normalize,
    sound_key,
    to_ascii_digits,
)

_CSV = Path(__file__).resolve().parent / "data" / "states.csv"
_EXPECTED_COUNT = 36

# A state answer is a few words; longer text is not an answer to "which state?" and is
# not worth scanning.
_MAX_INPUT = 200
# Fuzzy matching is for one mistyped name, not for sentences. 0.85 rather than 0.8 because
# at 0.8 a city that starts with a state's name ("Bengaluru" ~ "Bengal") already passes.
_FUZZY_MIN, _FUZZY_MAX = 4, 40
_FUZZY_THRESHOLD = 0.85
_FUZZY_MARGIN = 0.1
# Two slips at once ("utter pardesh") are too far for the spelling ratio, but keep the sound's
# consonants; so does a Devanagari name typed in Latin letters or the other way round. A
# skeleton this long is one place's, not a word's that happens to share it.
_SKELETON_MIN = 5

# A menu pick after folding: "5", "no 5" (from "No. 5"), "नंबर 5".
_NUMBER = re.compile(r"(?:no|number|num|nr|option|नंबर|नं|संख्या|क्रमांक)?\s*([0-9]{1,3})")
_SIGNED = re.compile(r"[-+\u2212]\s*[0-9]")
# An abbreviation or code as written in the CSV: capitals with optional & . - separators.
_ABBREVIATION = re.compile(r"[A-Z]+(?:[&.\-]?[A-Z]+)*\.?")
_ISO_CODE = re.compile(r"IN-[A-Z]{2}")

# Filler words dropped before the fuzzy fallback, so "Utar Pradesh se hu" can still match.
_FILLER = (
    "i im am from live living stay staying in my state is the of ut "
    "mai main mein me se hu hun hoon rehta rahta rehti rahti hai ka ki ke "
    "मैं से हूँ में रहता रहती है का की के राज्य मेरा"
)

# Words that mark a lowercase abbreviation as a place name ("from up", "mp se").
_PLACE_BEFORE = frozenset({"from", "frm", "in"})
_PLACE_AFTER = frozenset(
    {"se", "me", "mein", "mai", "main", "ka", "ki", "ke", "wala", "wali", "vala"}
)


@dataclass(frozen=True)
class StateUT:
    """One Indian state or union territory."""

    code: str
    kind: str
    name_en: str
    name_hi: str

    def name(self, lang: str) -> str:
        """Return the display name in lang ("hi" or "hi-IN" → Hindi, anything else → English)."""
        return ByLanguage(en=self.name_en, hi=self.name_hi).pick(lang)


@dataclass(frozen=True)
class _Index:
    """Lookup tables built once from the CSV."""

    exact: dict[str, StateUT]
    words: dict[str, StateUT]
    max_words: int
    fuzzy: tuple[tuple[str, StateUT], ...]
    # The consonants of each name's sound (text.sound_key), in either script, to its places.
    skeletons: dict[str, frozenset[StateUT]]
    abbreviations: re.Pattern[str]
    abbreviation_states: dict[str, StateUT]
    by_code: dict[str, StateUT]


def _key(text: str) -> str:
    """Return the space-free matching key, so "Tamil Nadu" and "Tamilnadu" meet."""
    return fold(text).replace(" ", "")


@cache
def _rows() -> tuple[tuple[StateUT, tuple[str, ...]], ...]:
    """Read states.csv into (state, aliases) pairs."""
    with _CSV.open(encoding="utf-8", newline="") as f:
        rows = [
            (
                StateUT(r["code"], r["type"], r["name_en"], normalize(r["name_hi"])),
                tuple(normalize(a) for a in r["aliases"].split("|") if a.strip()),
            )
            for r in csv.DictReader(f)
        ]
    if len(rows) != _EXPECTED_COUNT or len({s.code for s, _ in rows}) != _EXPECTED_COUNT:
        raise ValueError(f"{_CSV} must list {_EXPECTED_COUNT} distinct places, found {len(rows)}")
    return tuple(rows)


@cache
def states(lang: str = "en") -> tuple[StateUT, ...]:
    """Return all 36 states and union territories in lang's menu order: alphabetical by the name shown."""
    # The menu numbers are positions in this order, so it is fixed here, not by the file. In
    # Devanagari, code-point order is a Hindi dictionary's: vowels, then consonants in the
    # varnamala's order, अं before अक, and a conjunct (त्रि) after its letter's vowel signs (ते).
    return tuple(sorted((state for state, _ in _rows()), key=lambda state: state.name(lang).casefold()))


def _abbreviation_pattern(abbreviation: str) -> str:
    """Return a case-sensitive pattern for an abbreviation that also accepts "U.P.", "J & K", "IN UP"."""
    letters = [re.escape(ch) for ch in abbreviation if ch.isalpha()]
    return r"[.&\s-]{0,3}".join(letters) + r"\.?"


def _add(table: dict[str, StateUT], key: str, state: StateUT) -> None:
    """Add key → state, refusing a key that would point at two places."""
    if not key:
        return
    other = table.setdefault(key, state)
    if other != state:
        raise ValueError(f"matching key {key!r} is claimed by both {other.code} and {state.code}")


@cache
def _index() -> _Index:
    """Build the matching tables, checking that no name or alias belongs to two places."""
    exact: dict[str, StateUT] = {}
    words: dict[str, StateUT] = {}
    fuzzy: list[tuple[str, StateUT]] = []
    abbreviation_states: dict[str, StateUT] = {}
    by_code: dict[str, StateUT] = {}
    skeletons: dict[str, set[StateUT]] = {}
    max_words = 1
    for state, aliases in _rows():
        by_code[state.code] = state
        # Bare codes ("as", "ka", "uk") only count as the whole answer: inside a sentence
        # they are ordinary words or other countries.
        _add(exact, _key(state.code[3:]), state)
        for name in (state.name_en, state.name_hi, state.code, *aliases):
            _add(exact, _key(name), state)
            if _ISO_CODE.fullmatch(name):
                by_code[name] = state
            if _ABBREVIATION.fullmatch(name):
                # Inside a sentence an abbreviation counts only in capitals ("UP", not "up").
                _add(abbreviation_states, _key(name), state)
                continue
            _add(words, _key(name), state)
            max_words = max(max_words, len(fold(name).split()))
            fuzzy.append((_key(name), state))
            skeleton = _skeleton(name)
            if len(skeleton) >= _SKELETON_MIN:
                skeletons.setdefault(skeleton, set()).add(state)
    names = {name for state, aliases in _rows() for name in (state.code, *aliases)}
    # Longest first, so "DNHDD" is tried before "DNH".
    alternatives = sorted((n for n in names if _ABBREVIATION.fullmatch(n)), key=len, reverse=True)
    either = "|".join(_abbreviation_pattern(a) for a in alternatives)
    pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{either})(?![A-Za-z0-9])")
    frozen = {key: frozenset(places) for key, places in skeletons.items()}
    return _Index(exact, words, max_words, tuple(fuzzy), frozen, pattern, abbreviation_states, by_code)


def _skeleton(text: str) -> str:
    """Return the consonants of how a name sounds, the same in both scripts ("utter pardesh", "उत्तर प्रदेश")."""
    return consonants(sound_key(text))


def _by_sound(text: str) -> StateUT | None:
    """Return the one place whose name has the same sound skeleton as the text, None for none or two."""
    if any(ch.isdigit() for ch in text) or len(text) > _FUZZY_MAX:
        return None
    skeleton = _skeleton(text)
    places = _index().skeletons.get(skeleton, frozenset()) if len(skeleton) >= _SKELETON_MIN else frozenset()
    return next(iter(places)) if len(places) == 1 else None


def state_by_code(code: str) -> StateUT | None:
    """Return the place for an ISO 3166-2 code ("IN-UP", "up", or a replaced one like "IN-OR"), else None."""
    wanted = code.strip().upper()
    if not wanted.startswith("IN-"):
        wanted = "IN-" + wanted
    return _index().by_code.get(wanted)


@cache
def state_menu_lines(lang: str) -> tuple[str, ...]:
    """Return the numbered menu lines ("1. Andaman and Nicobar Islands", ...) in lang."""
    # Cached as states() is: the state step lays out the menu in both scripts on every wrong answer.
    return tuple(f"{number}. {state.name(lang)}" for number, state in enumerate(states(lang), start=1))


def _by_number(cleaned: str, folded: str, lang: str) -> StateUT | None:
    """Return the n-th state of lang's menu when the answer is just a menu number ("5", "no. 5", "५")."""
    found = _NUMBER.fullmatch(folded)
    # Folding turns "-1" into "1"; a signed number is no menu choice.
    if not found or _SIGNED.search(to_ascii_digits(cleaned)):
        return None
    number = int(found.group(1))
    listed = states(lang)
    return listed[number - 1] if 1 <= number <= len(listed) else None


def _contained(text: str, folded: str) -> set[StateUT]:
    """Return every state named as whole words somewhere in the text."""
    index = _index()
    tokens = folded.split()
    found: set[StateUT] = set()
    for start in range(len(tokens)):
        for end in range(start + 1, min(len(tokens), start + index.max_words) + 1):
            state = index.words.get("".join(tokens[start:end]))
            if state is not None:
                found.add(state)
    # A lowercase abbreviation is an ordinary word ("wake up") unless a preposition or
    # postposition around it says it is a place: "from up", "in mp", "up se", "mp ka".
    for position, token in enumerate(tokens):
        state = index.abbreviation_states.get(token)
        before = tokens[position - 1] if position else ""
        after = tokens[position + 1] if position + 1 < len(tokens) else ""
        if state is not None and (before in _PLACE_BEFORE or after in _PLACE_AFTER):
            found.add(state)
    for hit in index.abbreviations.finditer(text):
        state = index.abbreviation_states.get(_key(hit.group()))
        if state is not None:
            found.add(state)
    return found


@cache
def _filler() -> frozenset[str]:
    """Return the folded filler words."""
    return frozenset(fold(_FILLER).split())


def _fuzzy(query: str) -> StateUT | None:
    """Return the one state whose name is clearly the closest to query, or None when unsure."""
    if not (_FUZZY_MIN <= len(query) <= _FUZZY_MAX) or any(ch.isdigit() for ch in query):
        return None
    best: dict[StateUT, float] = {}
    matcher = SequenceMatcher(autojunk=False)
    matcher.set_seq2(query)
    # Anything under this bound can neither win nor come close enough to spoil a win.
    floor = _FUZZY_THRESHOLD - _FUZZY_MARGIN
    for key, state in _index().fuzzy:
        matcher.set_seq1(key)
        if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
            continue
        best[state] = max(best.get(state, 0.0), matcher.ratio())
    ranked = sorted(best.values(), reverse=True)
    if not ranked or ranked[0] < _FUZZY_THRESHOLD:
        return None
    if len(ranked) > 1 and ranked[0] - ranked[1] < _FUZZY_MARGIN:
        return None
    return max(best, key=best.__getitem__)


def match_state(text: str, lang: str = "en") -> StateUT | None:
    """Return the state/UT a free-text answer names (number in lang's menu, name, alias, code, near miss) or None."""
    cleaned = normalize(text)
    if not cleaned or len(cleaned) > _MAX_INPUT:
        return None
    folded = fold(cleaned)
    if not folded:
        return None
    if _NUMBER.fullmatch(folded):
        return _by_number(cleaned, folded, lang)
    exact = _index().exact.get(folded.replace(" ", ""))
    if exact is not None:
        return exact
    contained = _contained(cleaned, folded)
    if contained:
        # Two different places named ("Bihar or UP") is a question back, not a guess.
        return contained.pop() if len(contained) == 1 else None
    whole = _fuzzy(folded.replace(" ", "")) or _by_sound(folded)
    if whole is not None:
        return whole
    filler = _filler()
    remainder = [w for w in folded.split() if w not in filler]
    if len(remainder) == len(folded.split()):
        return None
    return _fuzzy("".join(remainder)) or _by_sound(" ".join(remainder))
