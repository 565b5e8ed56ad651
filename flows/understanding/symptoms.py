"""Symptom intake: free text in English, Hindi or romanised Hindi → canonical symptoms and the words left over.

How long it has lasted is read by flows/understanding/duration.py, and which OPD it points
to is decided by flows/understanding/specialty.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache, lru_cache
from pathlib import Path

from flows.messages import ByLanguage
from flows.understanding.duration import DurationScanner
from flows.understanding.text import fold, has_letters, normalize
from flows.understanding.words import Token, folded_set, split_digits, split_words

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

# Fuzzy matching is for one mistyped word: "feverr", "hedache", "khasi".
_FUZZY_MIN_LEN = 5
_FUZZY_THRESHOLD = 0.85
_LATIN_WORD = re.compile(r"[a-z]+")

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


@cache
def _words() -> _Words:
    """Fold every word list once, on first use."""
    return _Words(
        glue=folded_set(_GLUE),
        filler=folded_set(_FILLER) | folded_set(_GLUE),
        conjunctions=folded_set(_CONJUNCTIONS),
        negate_before=folded_set(_NEGATE_BEFORE),
        negate_after=folded_set(_NEGATE_AFTER),
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
    content = [w for w in split_digits(fold(variant).split()) if w not in glue]
    return "".join(content)


@cache
def _index() -> _Index:
    """Build the phrase tables, refusing a variant that two symptoms claim."""
    glue = _words().glue
    phrases: dict[str, Symptom] = {}
    fuzzy: dict[str, Symptom] = {}
    max_words = 1
    for symptom, variants in _raw_lexicon():
        for variant in variants:
            content = [w for w in split_digits(fold(variant).split()) if w not in glue]
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


def _fuzzy(word: str) -> Symptom | None:
    """Return the one symptom whose single-word variant is a small misspelling away from word."""
    if len(word) < _FUZZY_MIN_LEN or not _LATIN_WORD.fullmatch(word):
        return None
    return _fuzzy_cached(word)


@lru_cache(maxsize=1 << 16)  # bounded: the words come from users, and a process lives for months
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


def _phrase_at(tokens: list[Token], start: int) -> tuple[Symptom, int] | None:
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


def _negator(tokens: list[Token], start: int, end: int, taken: list[bool]) -> int | None:
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
    tokens = split_words(cleaned)
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
    for start, end, _days in DurationScanner(cleaned, tokens, taken).scan():
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


def _unknown(cleaned: str, tokens: list[Token], taken: list[bool]) -> tuple[str, ...]:
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
