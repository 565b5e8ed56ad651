"""Symptom intake: free text in English, Hindi or romanised Hindi → symptoms, a duration and an OPD."""

from __future__ import annotations

import json
import math
import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

from flows.messages import ByLanguage
from flows.understanding.text import fold, has_letters, normalize, to_ascii_digits

_JSON = Path(__file__).resolve().parent / "data" / "symptoms.json"

SPECIALTIES = (
    "general_medicine",
    "paediatrics",
    "obgyn",
    "dermatology",
    "ent",
    "ophthalmology",
    "orthopaedics",
    "psychiatry",
    "dentistry",
    "ayush",
)
DEFAULT_SPECIALTY = "general_medicine"
PREGNANCY_CODES = frozenset({"pregnancy"})
AYUSH_CODES = frozenset({"ayush"})
PAEDIATRIC_AGE_LIMIT = 14
# Specialties that see children themselves, so a child's toothache goes to the dentist.
# AYUSH is a system of medicine the family chose, not an organ, so it is kept as well.
_CHILD_KEEPS = frozenset({"dentistry", "ophthalmology", "ent", "ayush"})

# Fuzzy matching is for one mistyped word: "feverr", "hedache", "khasi".
_FUZZY_MIN_LEN = 5
_FUZZY_THRESHOLD = 0.85
_LATIN_WORD = re.compile(r"[a-z]+")
_NUMERAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")

# Durations above this are typing mistakes ("1000 saal"), not histories.
_MAX_DURATION_DAYS = 120 * 365

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

# Words that join two complaints: the unknown words are cut at them.
_CONJUNCTIONS = (
    "and also plus or with then but however "
    "aur or ya tatha evam phir fir lekin magar kintu parantu saath sath "
    "और या तथा एवं फिर लेकिन मगर किंतु परंतु साथ"
)
# Postpositions and intensifiers may sit inside a phrase ("pet me bahut dard") without
# changing which symptom it is, so phrase matching skips them and variants are keyed without them.
_GLUE = (
    "me mein main mai men mei m ka ki ke se par pe "
    "bahut bohot bahot bhut boht bohat zyada jyada jada thoda thodi thora thori halka halki tez tej "
    "very severe mild slight slightly "
    "में मे मैं का की के से पर पे बहुत ज़्यादा ज्यादा थोड़ा थोड़ी हल्का हल्की तेज़ तेज"
)
# Words that say nothing about the complaint; they are trimmed from the ends of unknown
# chunks (not punched out of the middle, so "haath mein jhunjhunahat" stays readable).
_FILLER = (
    "i im am is are was were be been being have has had having get got getting feel feeling felt "
    "a an the my me mine it its this that there here some any of in on at to for from since by "
    "he she his her him they them their we us our you your "
    "suffering suffer from problem please pls plz sir madam maam doctor dr hello hi hey namaste "
    "need want help consult consultation check checkup again still now lot bit little bad badly "
    "only just also t s d ll ve re bas sirf do does did treatment ilaj ilaaj upchar "
    "terrible constant continuous frequent frequently son daughter child kid baby wife husband mother "
    "father mom mum dad mummy papa brother sister grandmother grandfather patient "
    "mujhe muje mujhko mjhe mere mera meri mai main hum humko hame hamein hamare aap ap "
    "hai hain he h hy hu hun hoon ho hona hone hota hoti hote raha rahi rahe rha rhi rhe "
    "gaya gayi gaye gya gyi tha thi the hua hui hue huwa kar karna karta karti "
    "rehta rehti rehte rahta rahti rahte "
    "aa aata aati aate aaya aayi aaye aana aane lag lagna lagta lagti lagte lagi laga lage "
    "ka ki ke ko se par pe bhi to toh koi kuch sa si wala wali wale ji sahab saheb namaskar pranam "
    "chahiye chahie chaiye dikhana dikhaana bilkul ab abhi baar bar "
    "beta beti bete bachcha bachche bachchi baccha bacche bacchi bitiya maa mata pita pati patni "
    "biwi dadi dada nani nana bhai bhaiya didi behen bahan uska uski uske usko use unko unhe "
    "inko inhe yeh ye yah woh vo wo "
    "मुझे मुझको मेरे मेरा मेरी मैं हम हमें हमको हमारे आप है हैं हे हूं हूँ हो होना होने होता होती होते "
    "रहा रही रहे रहता रहती रहते इलाज उपचार गया गई गयी गए था थी थे हुआ हुई हुए कर करना "
    "आ आता आती आते आया आई आए आना आने "
    "लग लगना लगता लगती लगते लगी लगा लगे का की के को से पर पे भी तो कोई कुछ सा सी वाला वाली वाले "
    "जी साहब नमस्ते नमस्कार प्रणाम चाहिए चाहिये दिखाना बिल्कुल अब अभी बार डॉक्टर "
    "बेटा बेटी बेटे बच्चा बच्चे बच्ची मां माँ मम्मी पापा पिता माता पति पत्नी दादी दादा नानी नाना "
    "भाई बहन उसे उसको उसका उसकी उसके उन्हें उनको इन्हें इनको यह ये वह वो"
)
# A negator just before a symptom ("no fever", "bina bukhar", "na khansi").
_NEGATE_BEFORE = (
    "no not never without dont don doesnt doesn didnt didn havent haven hasnt hasn isnt isn "
    "bina na बिना न ना"
)
# A negator just after a symptom ("bukhar nahi hai"), unless a verb follows it
# ("bukhar nahi utar raha" means the fever will not come down).
_NEGATE_AFTER = "nahi nahin nahee nhi nai not नहीं नही"

# --- durations -------------------------------------------------------------------------

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
class Symptom:
    """One canonical symptom (or a non-symptom reason for a visit, such as pregnancy check-up)."""

    code: str
    en: str
    hi: str
    specialty: str

    def name(self, lang: str) -> str:
        """Return the display name in lang ("hi" or "hi-IN" → Hindi, anything else → English)."""
        return ByLanguage(en=self.en, hi=self.hi).pick(lang)


@dataclass(frozen=True)
class Finding:
    """What a free-text complaint told us: canonical symptoms, the words we could not map, the whole text."""

    symptoms: tuple[Symptom, ...]  # canonical, in order of first mention, no duplicates
    unknown: tuple[str, ...]  # the user's own words we could not map, verbatim (normalised, not folded)
    text: str  # the whole message, normalised, kept verbatim for the doctor


@dataclass(frozen=True)
class Duration:
    """How long a complaint has lasted."""

    days: int  # best estimate in days, 0 = today
    text: str  # as the user said it


@dataclass(frozen=True)
class _Token:
    """One folded word of a message, with the span of the typed piece it came from."""

    key: str
    start: int
    end: int
    clause_start: bool  # a comma, danda, ... comes right before it
    split: bool = False  # cut out of a letters-and-digits run ("3din"), so not a typed word of its own


@dataclass(frozen=True)
class _Index:
    """Lookup tables built once from the lexicon."""

    phrases: dict[str, Symptom]
    max_words: int
    fuzzy: tuple[tuple[str, Symptom], ...]


@dataclass(frozen=True)
class _Words:
    """Folded word lists used by the matcher."""

    glue: frozenset[str]
    filler: frozenset[str]
    conjunctions: frozenset[str]
    negate_before: frozenset[str]
    negate_after: frozenset[str]
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


def _folded_set(words: str) -> frozenset[str]:
    """Fold a space-separated word list into a set of matching keys."""
    return frozenset(fold(words).split())


def _folded_map(table: dict[str, float]) -> dict[str, float]:
    """Fold the keys of a word → value table."""
    return {fold(word): value for word, value in table.items()}


@cache
def _words() -> _Words:
    """Fold every word list once, on first use."""
    units = {fold(word): days for words, days in _UNITS.items() for word in words.split()}
    return _Words(
        glue=_folded_set(_GLUE),
        filler=_folded_set(_FILLER) | _folded_set(_GLUE),
        conjunctions=_folded_set(_CONJUNCTIONS),
        negate_before=_folded_set(_NEGATE_BEFORE),
        negate_after=_folded_set(_NEGATE_AFTER),
        numbers=_folded_map(_NUMBER_WORDS),
        few={fold(word): value for word, value in _FEW_WORDS.items()},
        many=_folded_set(_MANY_WORDS),
        units=units,
        points={fold(word): days for word, days in _POINT_WORDS.items()},
        time_of_day={fold(word): days for word, days in _TIME_OF_DAY.items()},
        phrases=tuple((tuple(fold(phrase).split()), days) for phrase, days in _PHRASES.items()),
        last=_folded_set(_LAST),
        prefix=_folded_set(_PREFIX),
        suffix=_folded_set(_SUFFIX),
        bhar=_folded_set(_BHAR),
        since_after=_folded_set(_SINCE_AFTER),
        since_before=_folded_set(_SINCE_BEFORE),
        ranges=_folded_set(_RANGE),
        frequency=_folded_set(_FREQUENCY),
    )


@cache
def _raw_lexicon() -> tuple[tuple[Symptom, tuple[str, ...]], ...]:
    """Read symptoms.json into (symptom, variants) pairs, checking its shape."""
    entries = json.loads(_JSON.read_text(encoding="utf-8"))
    rows: list[tuple[Symptom, tuple[str, ...]]] = []
    seen: set[str] = set()
    for entry in entries:
        symptom = Symptom(entry["code"], normalize(entry["en"]), normalize(entry["hi"]), entry["specialty"])
        if symptom.code in seen:
            raise ValueError(f"{_JSON}: symptom code {symptom.code!r} appears twice")
        if symptom.specialty not in SPECIALTIES:
            raise ValueError(f"{_JSON}: {symptom.code} has unknown specialty {symptom.specialty!r}")
        if not symptom.en or not symptom.hi:
            raise ValueError(f"{_JSON}: {symptom.code} needs both an English and a Hindi name")
        seen.add(symptom.code)
        rows.append((symptom, tuple(normalize(v) for v in entry["variants"])))
    return tuple(rows)


@cache
def lexicon() -> tuple[Symptom, ...]:
    """Return every canonical symptom, in the order of symptoms.json."""
    return tuple(symptom for symptom, _ in _raw_lexicon())


def variant_key(variant: str) -> str:
    """Return the matching key of a variant or phrase: folded, glue words and spaces dropped."""
    glue = _words().glue
    content = [w for w in _split_digits(fold(variant).split()) if w not in glue]
    return "".join(content)


def _split_digits(words: list[str]) -> list[str]:
    """Split words at digit/letter boundaries, so "3din" reads as "3 din"."""
    out: list[str] = []
    for word in words:
        out.extend(re.findall(r"[0-9]+|[^0-9]+", word))
    return out


@cache
def _index() -> _Index:
    """Build the phrase tables, refusing a variant that two symptoms claim."""
    glue = _words().glue
    phrases: dict[str, Symptom] = {}
    fuzzy: dict[str, Symptom] = {}
    max_words = 1
    for symptom, variants in _raw_lexicon():
        for variant in variants:
            content = [w for w in _split_digits(fold(variant).split()) if w not in glue]
            key = variant_key(variant)
            if not key:
                raise ValueError(f"{_JSON}: variant {variant!r} of {symptom.code} has no content words")
            other = phrases.setdefault(key, symptom)
            if other != symptom:
                raise ValueError(f"variant key {key!r} is claimed by both {other.code} and {symptom.code}")
            max_words = max(max_words, len(content))
            if len(content) == 1 and _LATIN_WORD.fullmatch(key) and len(key) >= _FUZZY_MIN_LEN:
                fuzzy[key] = symptom
    return _Index(phrases, max_words, tuple(sorted(fuzzy.items(), key=lambda item: item[0])))


def _is_separator(ch: str) -> bool:
    """Tell whether fold() turns ch into a space (whitespace or punctuation)."""
    # U+2212 MINUS SIGN is a math symbol, not punctuation, but "−3 din" must read as signed.
    return ch.isspace() or ch in string.punctuation or ch == "\u2212" or unicodedata.category(ch).startswith("P")


def _tokens(cleaned: str) -> list[_Token]:
    """Split normalised text into folded words that remember where they were typed."""
    # Addresses are masked with a clause break of the same length, so spans stay valid.
    masked = _ADDRESS.sub(lambda m: "," * len(m.group()), cleaned)
    tokens: list[_Token] = []
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
            tokens.append(_Token(to_ascii_digits(masked[i:j]), i, j, broken))
            broken = False
            i = j
            continue
        for word in fold(piece).split():
            parts = _split_digits([word])
            for key in parts:
                tokens.append(_Token(key, i, j, broken, split=len(parts) > 1))
                broken = False
        i = j
    return tokens


def _fuzzy(word: str) -> Symptom | None:
    """Return the one symptom whose single-word variant is a small misspelling away from word."""
    if len(word) < _FUZZY_MIN_LEN or not _LATIN_WORD.fullmatch(word):
        return None
    return _fuzzy_cached(word)


@cache
def _fuzzy_cached(word: str) -> Symptom | None:
    """Look a Latin word up among the single-word variants by difflib ratio (cached per word)."""
    best: dict[str, float] = {}
    found: dict[str, Symptom] = {}
    matcher = SequenceMatcher(b=word, autojunk=False)
    for key, symptom in _index().fuzzy:
        # A typo rarely hits the first letter, and requiring it keeps real words apart
        # ("pension" is not "tension", "etching" is not "itching").
        if key[0] != word[0] or abs(len(key) - len(word)) > 2:
            continue
        matcher.set_seq1(key)
        if matcher.real_quick_ratio() < _FUZZY_THRESHOLD or matcher.quick_ratio() < _FUZZY_THRESHOLD:
            continue
        ratio = matcher.ratio()
        if ratio >= _FUZZY_THRESHOLD and ratio > best.get(symptom.code, 0.0):
            best[symptom.code] = ratio
            found[symptom.code] = symptom
    if not best:
        return None
    top = max(best.values())
    winners = [code for code, ratio in best.items() if ratio == top]
    # Two symptoms equally close means we cannot tell which was meant.
    return found[winners[0]] if len(winners) == 1 else None


def _phrase_at(tokens: list[_Token], start: int) -> tuple[Symptom, int] | None:
    """Return the longest variant starting at tokens[start] and the index just after it."""
    index = _index()
    words = _words()
    if tokens[start].key in words.glue:
        return None
    content = [start]
    k = start + 1
    while k < len(tokens) and len(content) < index.max_words and not tokens[k].clause_start:
        if tokens[k].key not in words.glue:
            content.append(k)
        k += 1
    for n in range(len(content), 0, -1):
        symptom = index.phrases.get("".join(tokens[c].key for c in content[:n]))
        if symptom is not None:
            return symptom, content[n - 1] + 1
    return None


def _negator(tokens: list[_Token], start: int, end: int, taken: list[bool]) -> int | None:
    """Return the index of the word that negates tokens[start:end] in its clause ("no", "bina", "nahi"), if any."""
    words = _words()
    # Backwards over filler words to a negator: "no fever", "I don't have any fever".
    k = start - 1
    boundary = tokens[start].clause_start
    while k >= 0 and not boundary and not taken[k]:
        key = tokens[k].key
        if key in words.negate_before:
            return k
        if key not in words.filler:
            break
        boundary = tokens[k].clause_start
        k -= 1
    # Forwards: "bukhar nahi hai" is negated, "bukhar nahi utar raha" is not.
    k = end
    while k < len(tokens) and not tokens[k].clause_start and not taken[k]:
        key = tokens[k].key
        if key in words.negate_after:
            negator = k
            k += 1
            while k < len(tokens) and not tokens[k].clause_start and not taken[k] and _is_filler(tokens[k].key):
                k += 1
            ends_clause = k >= len(tokens) or tokens[k].clause_start or taken[k]
            return negator if ends_clause or tokens[k].key in words.conjunctions else None
        if not _is_filler(key):
            break
        k += 1
    return None


def _is_filler(key: str) -> bool:
    """Tell whether a folded word is a filler word that is not also a conjunction."""
    words = _words()
    return key in words.filler and key not in words.conjunctions


def find_symptoms(text: str) -> Finding:
    """Map a free-text complaint to canonical symptoms, keeping every unmapped word for the doctor.

    Multi-word variants are matched first, longest first, on whole folded words (so "sar
    dard" is one headache, never also a stray "dard"); postpositions and intensifiers may
    sit inside a phrase ("pet me bahut dard"). A Latin word of five letters or more that
    matches nothing may be a small misspelling of a one-word variant (difflib ratio ≥ 0.85,
    same first letter); Devanagari must match exactly after folding, since one letter
    changes the word. A negated symptom ("no fever", "बुखार नहीं है") is not reported.
    Durations ("3 din se") are understood too. What is left, cut at commas, dandas,
    conjunctions and matched phrases and trimmed of filler words, becomes `unknown`.
    """
    cleaned = normalize(text)
    tokens = _tokens(cleaned)
    words = _words()
    taken = [False] * len(tokens)
    hits: list[tuple[int, int, Symptom]] = []
    i = 0
    while i < len(tokens):
        found = _phrase_at(tokens, i)
        # Only a whole typed word can be a misspelling; "x0dexpression" is junk, not "depression".
        if found is None and not tokens[i].split and tokens[i].key not in words.filler:
            symptom = _fuzzy(tokens[i].key)
            found = (symptom, i + 1) if symptom is not None else None
        if found is None:
            i += 1
            continue
        symptom, end = found
        hits.append((i, end, symptom))
        for k in range(i, end):
            taken[k] = True
        i = end
    for start, end, _days in _DurationScanner(cleaned, tokens, taken).scan():
        for k in range(start, end):
            taken[k] = True
    # Negations are all judged before any negator is taken, so "na bukhar na khansi" sees both.
    negators = [_negator(tokens, start, end, taken) for start, end, _symptom in hits]
    symptoms: list[Symptom] = []
    for (_start, _end, symptom), negator in zip(hits, negators):
        if negator is not None:
            taken[negator] = True
        elif symptom not in symptoms:
            symptoms.append(symptom)
    return Finding(tuple(symptoms), _unknown(cleaned, tokens, taken), cleaned)


def _unknown(cleaned: str, tokens: list[_Token], taken: list[bool]) -> tuple[str, ...]:
    """Return the verbatim chunks of text that no symptom or duration accounted for."""
    words = _words()
    negators = words.negate_before | words.negate_after
    chunks: list[list[int]] = []
    current: list[int] = []
    for k, token in enumerate(tokens):
        if token.clause_start or taken[k] or token.key in words.conjunctions:
            if current:
                chunks.append(current)
            current = []
        if not taken[k] and token.key not in words.conjunctions:
            current.append(k)
    if current:
        chunks.append(current)
    out: list[str] = []
    for chunk in chunks:
        first, last = 0, len(chunk) - 1
        while first <= last and tokens[chunk[first]].key in words.filler:
            first += 1
        while last >= first and tokens[chunk[last]].key in words.filler:
            last -= 1
        chunk = chunk[first : last + 1]
        # A chunk of nothing but digits, emoji or "nahi"/"no" tells the doctor nothing.
        if not any(has_letters(tokens[k].key) and tokens[k].key not in negators for k in chunk):
            continue
        piece = cleaned[tokens[chunk[0]].start : tokens[chunk[-1]].end]
        if piece not in out:
            out.append(piece)
    return tuple(out)


class _DurationScanner:
    """Finds duration phrases among the words of one message that no symptom has taken."""

    def __init__(self, cleaned: str, tokens: list[_Token], taken: list[bool]) -> None:
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
    tokens = _tokens(cleaned)
    found = _DurationScanner(cleaned, tokens, [False] * len(tokens)).scan()
    best: tuple[int, int, int] | None = None
    for start, end, days in found:
        if days is not None and (best is None or days > best[2]):
            best = (start, end, days)
    if best is None:
        return None
    start, end, days = best
    return Duration(days, cleaned[tokens[start].start : tokens[end - 1].end])


def sees_patient(specialty: str, age: int, sex: str) -> bool:
    """Tell whether an OPD of a specialty sees this patient: paediatrics sees children, obstetrics and gynaecology women."""
    child = age < PAEDIATRIC_AGE_LIMIT
    if specialty == "paediatrics":
        return child
    if specialty == "obgyn":
        return not child and sex.strip().casefold() != "male"
    return True


def specialty_for(finding: Finding, age: int, sex: str, pregnant: bool = False) -> str:
    """Return the OPD to suggest for a patient with these findings; the patient may still pick another.

    The first rule that applies decides:
    1. Pregnancy (pregnant=True or a pregnancy code among the symptoms) → obgyn, but only
       when sex is female or other; for anyone else a "pregnant" in the text is ignored.
    2. An explicit request for AYUSH (Ayurveda, Yoga, Unani, Siddha, Homoeopathy) → ayush:
       it names a system of medicine the patient chose, not an organ.
    3. Otherwise each symptom votes for its specialty and the most common wins, ties going to
       the first mentioned. Obgyn symptoms do not vote for a male patient. For a child
       (age < 14) every vote turns into paediatrics except dentistry, ophthalmology and ENT,
       which see children themselves. With no votes: paediatrics for a child, else
       general_medicine.
    """
    sex_key = sex.strip().casefold()
    may_be_pregnant = sex_key in ("female", "other")
    codes = {symptom.code for symptom in finding.symptoms}
    if may_be_pregnant and (pregnant or codes & PREGNANCY_CODES):
        return "obgyn"
    if codes & AYUSH_CODES:
        return "ayush"
    child = age < PAEDIATRIC_AGE_LIMIT
    votes: list[str] = []
    for symptom in finding.symptoms:
        if symptom.specialty == "obgyn" and sex_key == "male":
            continue
        if child and symptom.specialty not in _CHILD_KEEPS:
            votes.append("paediatrics")
        else:
            votes.append(symptom.specialty)
    if not votes:
        return "paediatrics" if child else DEFAULT_SPECIALTY
    counts = Counter(votes)
    top = max(counts.values())
    # Counter keeps first-seen order, so the first specialty at the top count is the first mentioned.
    return next(specialty for specialty in counts if counts[specialty] == top)
