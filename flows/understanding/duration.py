"""How long a complaint has lasted, from "3 din se", "कल से", "2 weeks" or "saal bhar"."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from flows.understanding.text import fold, normalize
from flows.understanding.words import Token, folded_set, split_words

_NUMERAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# Durations above this are typing mistakes ("1000 saal"), not histories.
_MAX_DURATION_DAYS = 120 * 365

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30,
    "ek": 1, "do": 2, "teen": 3, "tin": 3, "char": 4, "chaar": 4, "panch": 5, "paanch": 5,
    "chhe": 6, "chhah": 6, "che": 6, "chah": 6, "saat": 7, "sat": 7, "aath": 8, "ath": 8, "nau": 9,
    "das": 10, "pandrah": 15, "pandra": 15, "bees": 20, "bis": 20, "tees": 30, "tis": 30,
    "एक": 1, "दो": 2, "तीन": 3, "चार": 4, "पांच": 5, "पाँच": 5, "छह": 6, "छः": 6, "छै": 6, "छे": 6,
    "सात": 7, "आठ": 8, "नौ": 9, "दस": 10, "पंद्रह": 15, "पन्द्रह": 15, "बीस": 20, "तीस": 30,
    "half": 0.5, "aadha": 0.5, "adha": 0.5, "आधा": 0.5, "dedh": 1.5, "derh": 1.5, "डेढ़": 1.5,
    "dhai": 2.5, "dhaai": 2.5, "ढाई": 2.5,
}
# "A few days", "kuch din": about three of the unit.
_FEW_WORDS = {"few": 3, "several": 3, "kuch": 3, "kai": 3, "कुछ": 3, "कई": 3, "couple": 2}
# "Bahut din se": about two weeks (a guess the doctor will refine); "many months" etc.
# fall back to three of the unit, the least that "many" means.
_MANY_WORDS = "many bahut bohot bahot kaafi kafi kaffi lambe बहुत काफी काफ़ी लंबे"
_MANY_DAYS = 14
_UNITS = {
    "minute minutes min mins hour hours hr hrs ghanta ghante ghanton मिनट घंटा घंटे घंटों": 0,
    "day days din dino dinon दिन दिनों दिनो": 1,
    "week weeks wk wks hafta hafte hafton hapta hapte saptah हफ्ता हफ़्ता हफ्ते हफ़्ते हफ्तों हफ़्तों सप्ताह": 7,
    "month months mnth mnths mahina mahine mahino mahinon mahena maheene महीना महीने महीनों महिना महिने माह": 30,
    "year years yr yrs saal sal saalon salo varsh baras साल सालों वर्ष वर्षों बरस": 365,
}
# Days before today that a word names. "Last night"/"raat se" counts as 1: the night
# started on the previous calendar day, which is how "since when" is usually meant.
_POINT_WORDS = {
    "kal": 1, "yesterday": 1, "कल": 1,
    "aaj": 0, "aj": 0, "today": 0, "tonight": 0, "आज": 0,
    "parso": 2, "parson": 2, "parsoon": 2, "परसों": 2, "परसो": 2,
}
_TIME_OF_DAY = {
    "night": 1, "raat": 1, "रात": 1,
    "morning": 0, "subah": 0, "subha": 0, "सुबह": 0, "afternoon": 0, "dopahar": 0, "dopehar": 0,
    "दोपहर": 0, "evening": 0, "shaam": 0, "sham": 0, "शाम": 0,
}
# Fixed phrases, tried first; None marks a vague time ("aaj kal" = these days) that must
# not be read as "today" or "yesterday".
_PHRASES: dict[str, int | None] = {
    "day before yesterday": 2,
    "aaj kal": None,
    "aj kal": None,
    "aajkal": None,
    "आज कल": None,
    "आजकल": None,
    "these days": None,
    "nowadays": None,
}
_LAST = "last past previous pichhle pichle pichhla pichla pichhli pichli beete bite पिछले पिछला पिछली बीते गत"
_PREFIX = "since for from the this " + _LAST
_SUFFIX = "se ago back before pehle pahle phele bhar tak से पहले भर तक"
_BHAR = "bhar भर"
# Around a bare time of day, these make it a starting point: "subah se", "since morning".
_SINCE_AFTER = "se से"
_SINCE_BEFORE = "since from this"
_RANGE = "se ya or to से या"
# "Five times a day" is a frequency, not a duration.
_FREQUENCY = "times once twice thrice per every baar bar har roz daily बार हर रोज"


@dataclass(frozen=True)
class Duration:
    """How long a complaint has lasted."""

    days: int  # best estimate in days, 0 = today
    text: str  # as the user said it


@dataclass(frozen=True)
class _Words:
    """Folded word lists used by the duration scanner."""

    numbers: dict[str, float]
    few: dict[str, int]
    many: frozenset[str]
    units: dict[str, int]
    points: dict[str, int]
    time_of_day: dict[str, int]
    phrases: tuple[tuple[tuple[str, ...], int | None], ...]
    last: frozenset[str]
    prefix: frozenset[str]
    suffix: frozenset[str]
    bhar: frozenset[str]
    since_after: frozenset[str]
    since_before: frozenset[str]
    ranges: frozenset[str]
    frequency: frozenset[str]


@cache
def _words() -> _Words:
    """Fold every word list once, on first use."""
    units = {fold(word): days for words, days in _UNITS.items() for word in words.split()}
    return _Words(
        numbers={fold(word): value for word, value in _NUMBER_WORDS.items()},
        few={fold(word): value for word, value in _FEW_WORDS.items()},
        many=folded_set(_MANY_WORDS),
        units=units,
        points={fold(word): days for word, days in _POINT_WORDS.items()},
        time_of_day={fold(word): days for word, days in _TIME_OF_DAY.items()},
        phrases=tuple((tuple(fold(phrase).split()), days) for phrase, days in _PHRASES.items()),
        last=folded_set(_LAST),
        prefix=folded_set(_PREFIX),
        suffix=folded_set(_SUFFIX),
        bhar=folded_set(_BHAR),
        since_after=folded_set(_SINCE_AFTER),
        since_before=folded_set(_SINCE_BEFORE),
        ranges=folded_set(_RANGE),
        frequency=folded_set(_FREQUENCY),
    )


class DurationScanner:
    """Finds duration phrases among the words of one message that no symptom has taken."""

    def __init__(self, cleaned: str, tokens: list[Token], taken: list[bool]) -> None:
        """Keep the message, its words and which words are already taken."""
        self.cleaned = cleaned
        self.tokens = tokens
        self.taken = taken
        self.words = _words()

    def free(self, k: int) -> bool:
        """Tell whether word k exists and is not part of a symptom."""
        return 0 <= k < len(self.tokens) and not self.taken[k]

    def key(self, k: int) -> str:
        """Return the folded word at k, or "" past either end or on a taken word."""
        return self.tokens[k].key if self.free(k) else ""

    def joined(self, k: int) -> bool:
        """Tell whether word k is free and continues the clause of word k - 1."""
        return self.free(k) and not self.tokens[k].clause_start

    def signed(self, k: int) -> bool:
        """Tell whether word k is a number typed with a sign ("-3 din"), not a range ("2-3 din")."""
        text = self.cleaned
        at = self.tokens[k].start - 1
        while at >= 0 and text[at].isspace():
            at -= 1
        if at < 0 or text[at] not in "-+\u2212":
            return False
        at -= 1
        while at >= 0 and text[at].isspace():
            at -= 1
        return at < 0 or not text[at].isdigit()

    def scan(self) -> list[tuple[int, int, int | None]]:
        """Return (start, end, days) for every duration phrase; days is None when vague or impossible."""
        found: list[tuple[int, int, int | None]] = []
        i = 0
        while i < len(self.tokens):
            match = self.at(i) if self.free(i) else None
            if match is None:
                i += 1
                continue
            start, end, days = match
            # Take the words around it that belong to it: "since", "pichhle", "se", "pehle".
            while start > 0 and self.joined(start) and self.key(start - 1) in self.words.prefix:
                start -= 1
            while self.joined(end) and self.key(end) in self.words.suffix:
                end += 1
            found.append((start, end, days))
            i = end
        return found

    def at(self, i: int) -> tuple[int, int, int | None] | None:
        """Return the duration phrase that starts with word i, if there is one."""
        words = self.words
        first = self.key(i)
        for phrase, days in words.phrases:
            rest = range(1, len(phrase))
            if phrase[0] == first and all(self.joined(i + m) and self.key(i + m) == phrase[m] for m in rest):
                return i, i + len(phrase), days
        if first in words.points:
            # "kal raat", "aaj subah", "yesterday night": the day word decides.
            end = i + 2 if self.joined(i + 1) and self.key(i + 1) in words.time_of_day else i + 1
            return i, end, words.points[first]
        since = (self.joined(i + 1) and self.key(i + 1) in words.since_after) or (
            self.joined(i) and self.key(i - 1) in words.since_before
        )
        if first in words.time_of_day and since:
            # Only "subah se", "since morning", "this morning": a bare "raat" or "shaam" is
            # often part of something else ("raat ko khansi", a name).
            return i, i + 1, words.time_of_day[first]
        nxt = self.key(i + 1) if self.joined(i + 1) else ""
        if first in words.last and nxt in words.units:
            return i, i + 2, words.units[nxt]
        if first in words.last and nxt in words.time_of_day:
            # "last night" and "last evening" both began yesterday.
            return i, i + 2, 1
        if first in words.units and nxt in words.bhar:
            # "saal bhar", "hafte bhar": one whole unit.
            return i, i + 2, words.units[first]
        return self.counted(i)

    def counted(self, i: int) -> tuple[int, int, int | None] | None:
        """Return a "<number> <unit>" phrase starting at word i ("3 din", "do hafte", "a few days")."""
        words = self.words
        if i > 0 and self.joined(i) and self.key(i - 1) in words.frequency:
            return None
        j = i
        if self.key(j) in ("a", "an") and self.joined(j + 1) and self.key(j + 1) in words.few:
            j += 1
        first = self.key(j)
        many = first in words.many
        value = float(words.few[first]) if first in words.few else None if many else _number(first)
        if value is None and not many:
            return None
        impossible = value is not None and _NUMERAL.fullmatch(first) is not None and self.signed(j)
        # "2-3 din", "do teen din", "2 se 3 din", "2 or 3 days": take the larger number.
        k = j + 1
        ranged = self.joined(k) and self.key(k) in words.ranges and self.joined(k + 1)
        if ranged and _number(self.key(k + 1)) is not None:
            k += 1
        second = _number(self.key(k)) if self.joined(k) and self.key(k) not in ("a", "an") else None
        if value is not None and second is not None:
            value = max(value, second)
            j = k
        k = j + 1
        if self.joined(k) and self.key(k) == "of":
            k += 1
        if not (self.joined(k) and self.key(k) in words.units):
            return None
        unit = words.units[self.key(k)]
        if value is None:
            days = _MANY_DAYS if unit == 1 else 3 * unit
        else:
            # Half up ("dhai din" is 3), capped before rounding so a huge count cannot overflow.
            days = math.floor(min(value * unit, _MAX_DURATION_DAYS + 1) + 0.5)
        if impossible or days > _MAX_DURATION_DAYS:
            return i, k + 1, None
        return i, k + 1, days


def _number(word: str) -> float | None:
    """Return the value of a number written in digits or in English/Hindi words, else None."""
    if _NUMERAL.fullmatch(word):
        # Very long digit runs are not counts of anything; cap them so float() cannot overflow.
        return float(word) if len(word) <= 15 else float(10**15)
    return _words().numbers.get(word)


def parse_duration(text: str) -> Duration | None:
    """Return how long a complaint has lasted, from an answer like "3 din se", "कल से" or "2 weeks".

    Understands digits in any script, number words in English and Hindi (1–10, 15, 20,
    30, dedh, dhai), days/weeks/months/years in both languages, "kal"/"yesterday" (1),
    "aaj"/"today"/"subah" (0), "parso" (2), "last night"/"raat se" (1, since the night
    began the day before), "a few days"/"kuch din" (3), "bahut din" (14, a stated guess),
    "saal bhar" (365) and ranges ("2-3 din" → the larger). When a message holds several
    durations the longest wins: the complaint began at the earliest of them. Returns None
    when there is no duration, or it is impossible ("-3 din", "1000 saal").
    """
    cleaned = normalize(text)
    tokens = split_words(cleaned)
    found = DurationScanner(cleaned, tokens, [False] * len(tokens)).scan()
    best: tuple[int, int, int] | None = None
    for start, end, days in found:
        if days is not None and (best is None or days > best[2]):
            best = (start, end, days)
    if best is None:
        return None
    start, end, days = best
    return Duration(days, cleaned[tokens[start].start : tokens[end - 1].end])
