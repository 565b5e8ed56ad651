"""Text clean-up and matching helpers for Hindi/English chat input."""

from __future__ import annotations

import re
import string
import unicodedata
from functools import cache, lru_cache

ZWNJ = "\u200c"
ZWJ = "\u200d"
NUKTA = "\u093c"
VIRAMA = "\u094d"
CHANDRABINDU = "\u0901"
ANUSVARA = "\u0902"

# Invisible characters that carry no meaning in a chat message but break equality:
# C0/C1 controls (except whitespace ones, which str.split() turns into spaces), lone
# surrogates (they cannot be stored as UTF-8), soft hyphen, zero-width space, word
# joiner and invisible operators, BOM, bidi marks/overrides/isolates, interlinear
# annotation marks. ZWJ/ZWNJ are deliberately absent: they select Devanagari forms.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff"
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufff9-\ufffb]"
)

# A nasal consonant with virama before another consonant is the same sound as an
# anusvara (आन्ध्र = आंध्र, झारखण्ड = झारखंड); people and CLDR write both.
_NASAL_HALF = re.compile(
    "[\u0919\u091e\u0923\u0928\u092e]\u094d(?=[\u0915-\u0939\u0958-\u095f\u0978-\u097f])"
)

_ASCII_PUNCT = frozenset(string.punctuation)

# Devanagari blocks (main, Vedic extensions, extended): their combining marks are
# vowel signs and the like, which change the word and must survive folding.
_INDIC_MARK_RANGES = ((0x0900, 0x097F), (0x1CD0, 0x1CFF), (0xA8E0, 0xA8FF))


def normalize(text: str) -> str:
    """Return the canonical display form of an inbound message: invisibles gone, NFC, single spaces."""
    cleaned = _INVISIBLE.sub("", text)
    cleaned = unicodedata.normalize("NFC", cleaned)
    # str.split() without arguments splits on every Unicode space, tab, newline and the
    # whitespace controls (FS/GS/RS/US/NEL), so this both maps and collapses them.
    return " ".join(cleaned.split())


def normalize_lines(text: str) -> str:
    """Return normalize() applied line by line, keeping the line breaks (a doctor's advice)."""
    lines = (normalize(line) for line in re.split(r"\r\n|\r|\n|\u2028|\u2029", text))
    return "\n".join(lines).strip("\n")


def to_ascii_digits(text: str) -> str:
    """Replace every Unicode decimal digit (Devanagari, fullwidth, ...) with its ASCII digit."""
    if text.isascii():
        return text
    out: list[str] = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        value = unicodedata.decimal(ch, None)
        out.append(ch if value is None else str(value))
    return "".join(out)


def _is_latin(ch: str) -> bool:
    """Tell whether a base character is a Latin-script letter."""
    if ch.isascii():
        return ch.isalpha()
    return unicodedata.name(ch, "").startswith("LATIN")


def _is_indic_mark(ch: str) -> bool:
    """Tell whether a character lies in a Devanagari block."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _INDIC_MARK_RANGES)


# Bounded, as the texts come from users too; most calls fold the same choice labels and aliases
# at every answer (flows/engine.py resolve_choice), in every language: cached, tests/test_robustness.py
# runs 24.7 → 20.7 s.
@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Return a matching key for text (not for display): case, digits, nukta, nasals, punctuation folded."""
    # NFKD splits Latin accents off their letters, maps fullwidth/compatibility forms to
    # plain ones and splits every nukta letter (including ऩ ऱ ऴ, which NFC keeps whole).
    # Casefold comes after it because compatibility forms such as ™ or 𝐓 only then have
    # a lower case, and NFKD once more because casefolding can compose (İ → i̇).
    s = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", normalize(text)).casefold())
    s = to_ascii_digits(s)
    out: list[str] = []
    base = ""
    for ch in s:
        if ch in (ZWJ, ZWNJ, NUKTA):
            continue
        if ch == CHANDRABINDU:
            out.append(ANUSVARA)
            continue
        category = unicodedata.category(ch)
        if category in ("Mn", "Me"):
            # Only marks on Latin letters are accents; Devanagari vowel signs are Mn too.
            if not _is_indic_mark(ch) and _is_latin(base):
                continue
            out.append(ch)
            continue
        base = ch
        if category.startswith("P") or ch in _ASCII_PUNCT:
            out.append(" ")
        else:
            out.append(ch)
    s = _NASAL_HALF.sub(ANUSVARA, "".join(out))
    return " ".join(unicodedata.normalize("NFC", s).split())


# Devanagari letters as romanised Hindi spells them. Long and short vowels are written alike
# because people type them alike (seene/sine, khoon/khun); matras, independent vowels and
# consonants without their inherent "a". Nukta and chandrabindu are gone after fold().
_CONSONANTS = dict(
    zip(
        "कखगघङचछजझञटठडढणतथदधनपफबभमयरलळवशषसह",
        "k kh g gh n ch chh j jh n t th d dh n t th d dh n p ph b bh m y r l l v sh sh s h".split(),
    )
)
_VOWEL_SIGNS = dict(zip("ािीुूृेैोौॉॅॆॊ", "a i i u u ri e ai o au o e e o".split()))
_VOWELS = dict(zip("अआइईउऊऋएऐओऔऑऍऎऒ", "a a i i u u ri e ai o au o e e o".split()))
_CODAS = {ANUSVARA: "n", "\u0903": "h"}
# Latin spellings of one sound: long vowels typed doubled, "ph" for फ, "z" for ज़ (folded to ज),
# "w" for व, "q" for क़; a doubled letter is the same word (dikkat/dikat, mann/man).
_LATIN_SOUNDS = (("ee", "i"), ("oo", "u"), ("ph", "f"), ("z", "j"), ("w", "v"), ("q", "k"))
_DOUBLED = re.compile(r"([a-z])\1+")


def _romanise(word: str) -> str:
    """Return a Devanagari word as romanised Hindi, dropping the inherent vowels Hindi does not speak."""
    # One syllable: [letters, vowel, where its inherent "a" may be dropped: "any", "end" or ""].
    # A virama leaves the vowel empty, so the next consonant joins the cluster.
    syllables: list[list[str]] = []
    for i, ch in enumerate(word):
        following = word[i + 1] if i + 1 < len(word) else ""
        if ch in _CONSONANTS:
            cluster = bool(syllables) and syllables[-1][1] == VIRAMA
            letters = syllables.pop()[0] + _CONSONANTS[ch] if cluster else _CONSONANTS[ch]
            if following in _VOWEL_SIGNS or following == VIRAMA:
                syllables.append([letters, "", ""])
            else:
                # "a" before an anusvara is nasal (संत = sant) and never dropped; after a
                # cluster it is dropped only at the end (रक्त = rakt, अस्पताल = aspatal).
                syllables.append([letters, "a", "" if following == ANUSVARA else "end" if cluster else "any"])
        elif ch in _VOWEL_SIGNS and syllables:
            syllables[-1][1] = _VOWEL_SIGNS[ch]
        elif ch == VIRAMA and syllables:
            syllables[-1][1] = VIRAMA
        elif ch in _CODAS and syllables and syllables[-1][1] != VIRAMA:
            syllables[-1][1] += _CODAS[ch]  # सांस = saans: the nasal closes the syllable
        elif ch in _VOWELS:
            syllables.append(["", _VOWELS[ch], ""])
        else:
            syllables.append([_CODAS.get(ch, ch), "", ""])
    # Schwa deletion, right to left: a final "a" goes (दर्द = dard, मन = man), and so does one
    # between an open syllable and a consonant with a vowel of its own (कमजोरी = kamjori).
    last = len(syllables) - 1
    for n in range(last, 0, -1):
        droppable = syllables[n][2]
        if not droppable:
            continue
        if n == last:
            drop = sum(1 for s in syllables if s[1] not in ("", VIRAMA)) > 1
        elif droppable == "end":
            drop = False
        else:
            before, after = syllables[n - 1][1], syllables[n + 1]
            drop = before[-1:] in tuple("aeiou") and bool(after[0]) and after[1] not in ("", VIRAMA)
        if drop:
            syllables[n][1] = ""
    return "".join(letters + (vowel if vowel != VIRAMA else "") for letters, vowel, _ in syllables)


@lru_cache(maxsize=1 << 16)  # bounded: the words come from users
def spelling_key(word: str) -> str:
    """Return the key one folded word shares with its other spellings, in either script."""
    key = _romanise(word) if is_devanagari(word) else word
    for typed, sound in _LATIN_SOUNDS:
        key = key.replace(typed, sound)
    key = _DOUBLED.sub(r"\1", key)
    # "seenay", "seeney" for सीने; "ulty", "kamzory" for -ी. Short words keep theirs (may, my).
    if len(key) >= 5 and key.endswith(("ay", "ey")):
        key = key[:-2] + "e"
    elif len(key) >= 4 and key.endswith("y") and key[-2] not in "aeiou":
        key = key[:-1] + "i"
    return key


def is_devanagari(text: str) -> bool:
    """Tell whether text contains at least one Devanagari letter (U+0900–U+097F)."""
    return any(
        "\u0900" <= ch <= "\u097f" and unicodedata.category(ch).startswith("L") for ch in text
    )


def has_letters(text: str) -> bool:
    """Tell whether text contains at least one letter of any script (so emoji-only names are rejected)."""
    # A Devanagari mark only ever counts through the letter it sits on, so checking the
    # letter categories is enough; a stray mark alone is not a name.
    return any(unicodedata.category(ch).startswith("L") for ch in text)


# Words allowed around an age, written naturally and folded when first used; a reply
# with any other word ("room 12", "2 kids") is not taken as an age.
_AGE_FILLER = (
    "age aged i im am my is the about around approx approximately old o "
    "umar umr umra meri mera ki ka ke hai hu hun hoon main mai mein lagbhag karib kareeb "
    "उम्र उमर आयु मेरी मेरा की का के है हूँ मैं लगभग करीब"
)
# Each unit word maps to how many of it make a year; the age is in completed years.
_AGE_UNITS = (
    ("y yo yr yrs year years saal sal varsh varsha baras वर्ष साल बरस", 1),
    ("mo mos mth mths month months mahina mahine mahene maheene महीना महीने महिना महिने माह", 12),
    ("wk wks week weeks hafta hafte सप्ताह हफ़्ता हफ़्ते", 52),
    ("day days din दिन", 365),
)
_MAX_AGE = 120
_MAX_AGE_TEXT = 40
_SIGNED_NUMBER = re.compile(r"(?:^|\s)[-+\u2212]\s*[0-9]")


@cache
def _age_vocabulary() -> tuple[frozenset[str], dict[str, int]]:
    """Return the folded filler words and the folded unit words with their per-year counts."""
    units = {word: per_year for words, per_year in _AGE_UNITS for word in fold(words).split()}
    return frozenset(fold(_AGE_FILLER).split()), units


def parse_age(text: str) -> int | None:
    """Return the age in completed years from a free-text answer, or None unless it is one clear age."""
    cleaned = normalize(text)
    if not cleaned or len(cleaned) > _MAX_AGE_TEXT:
        return None
    # Expand "I'm" first: a bare "m" left over by folding could be "months" or "male".
    cleaned = re.sub(r"\bi\s*['\u2019]\s*m\b", "i am", to_ascii_digits(cleaned).casefold())
    numbers = list(re.finditer(r"[0-9]+", cleaned))
    # Two digit runs cover "3 4", "34.5", "34,5", "1e3" and "34 and 35": all ambiguous.
    if len(numbers) != 1 or _SIGNED_NUMBER.search(cleaned):
        return None
    number = numbers[0]
    filler, units = _age_vocabulary()
    words = fold(cleaned[: number.start()] + " " + cleaned[number.end() :]).split()
    if any(w not in filler and w not in units for w in words):
        return None
    per_year = {units[w] for w in words if w in units}
    if len(per_year) > 1:
        return None
    value = int(number.group()) // (per_year.pop() if per_year else 1)
    return value if 0 <= value <= _MAX_AGE else None


# Grapheme_Cluster_Break=Prepend (Unicode 15.1): these join the character after them.
_PREPEND = frozenset(
    "\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\u0d4e"
    "\U000110bd\U000110cd\U000111c2\U000111c3\U0001193f\U00011941\U00011a3a"
    "\U00011a84\U00011a85\U00011a86\U00011a87\U00011a88\U00011a89\U00011d46"
)


def _is_extender(ch: str) -> bool:
    """Tell whether ch attaches to the character before it (so a cut before it splits a cluster)."""
    if ch in (ZWJ, ZWNJ) or "\ufe00" <= ch <= "\ufe0f" or "\U0001f3fb" <= ch <= "\U0001f3ff":
        return True
    return unicodedata.category(ch) in ("Mn", "Mc", "Me")


def _is_regional_indicator(ch: str) -> bool:
    """Tell whether ch is a flag-letter (regional indicator symbol)."""
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def _is_pictographic(ch: str) -> bool:
    """Tell, roughly, whether ch is an emoji that a ZWJ can join to the one before it."""
    return ord(ch) >= 0x1F000 or unicodedata.category(ch) == "So"


def _is_indic_consonant(ch: str) -> bool:
    """Tell whether ch is a consonant that a virama can join into a conjunct (InCB=Consonant, roughly)."""
    if "\u0900" <= ch <= "\u097f":
        return (
            "\u0915" <= ch <= "\u0939" or "\u0958" <= ch <= "\u095f" or "\u0978" <= ch <= "\u097f"
        )
    # Bengali, Gujarati, Oriya, Telugu, Malayalam: any letter counts, which only ever avoids a cut.
    cp = ord(ch)
    in_block = (
        0x0980 <= cp <= 0x09FF or 0x0A80 <= cp <= 0x0B7F or 0x0C00 <= cp <= 0x0C7F or 0x0D00 <= cp <= 0x0D7F
    )
    return in_block and unicodedata.category(ch) == "Lo"


# Viramas with InCB=Linker (Unicode 15.1): Devanagari, Bengali, Gujarati, Oriya, Telugu, Malayalam.
_LINKERS = frozenset("\u094d\u09cd\u0acd\u0b4d\u0c4d\u0d4d")


def _follows_linker(text: str, i: int) -> bool:
    """Tell whether text[:i] ends in consonant + marks + virama + marks, so a consonant at i joins it."""
    j = i - 1
    linked = False
    while j >= 0 and (text[j] in _LINKERS or _is_extender(text[j])):
        linked = linked or text[j] in _LINKERS
        j -= 1
    return linked and j >= 0 and _is_indic_consonant(text[j])


def _clean_cut(text: str, i: int) -> bool:
    """Tell whether cutting text before index i keeps every grapheme cluster whole (UAX #29, roughly)."""
    if i <= 0 or i >= len(text):
        return True
    prev, nxt = text[i - 1], text[i]
    if prev == "\r" and nxt == "\n":
        return False
    # Controls, CR and LF always stand alone (GB4/GB5), whatever follows them.
    if unicodedata.category(prev) == "Cc" or unicodedata.category(nxt) == "Cc":
        return True
    # Marks, ZWJ/ZWNJ, variation selectors (GB9/GB9a) and Prepend characters (GB9b).
    if _is_extender(nxt) or prev in _PREPEND:
        return False
    # Emoji ZWJ sequences (GB11) and virama conjuncts such as क्‍ष (GB9c).
    if prev == ZWJ and _is_pictographic(nxt):
        return False
    if _is_indic_consonant(nxt) and _follows_linker(text, i):
        return False
    if _is_regional_indicator(prev) and _is_regional_indicator(nxt):
        run = 0
        j = i - 1
        while j >= 0 and _is_regional_indicator(text[j]):
            run += 1
            j -= 1
        # Flags pair up from the left: an odd run means prev starts an unfinished pair.
        return run % 2 == 0
    return True


def truncate(text: str, limit: int) -> str:
    """Return at most limit code points of text, cut back so no grapheme cluster is split."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if len(text) <= limit:
        return text
    cut = limit
    while cut > 0 and not _clean_cut(text, cut):
        cut -= 1
    return text[:cut]


# Hindi as people write it in Latin letters ("gambhir", "haan sahi hai"), roughly: a Devanagari
# word is romanised as spelling_key does (_romanise), then the rules below drop what such
# spellings disagree on (vowel length, aspiration, schwas, nasals).
# Applied in order to a Latin word: spelling variants first, then what romanised Hindi leaves out.
_SOUND_RULES = (
    (re.compile(r"c(?!h)"), "k"),  # "c" alone is a "k" ("doctor"); "ch" stays
    (re.compile(r"ph"), "f"),
    (re.compile(r"w"), "v"),
    (re.compile(r"z"), "j"),  # ज़ and ज: the nukta is folded away, and "zyada"/"jyada" are one word
    (re.compile(r"q"), "k"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"ee"), "i"),
    (re.compile(r"oo"), "u"),
    (re.compile(r"([^aeiou])h+"), r"\1"),  # aspiration: "bh", "kh", "chh", "sh" are often typed bare
    (re.compile(r"(.)\1+"), r"\1"),  # "tayyar", "aa", "ii"
    (re.compile(r"[ae]i"), "e"),  # है "hai" / "he"
    (re.compile(r"[ao]u"), "o"),
    (re.compile(r"(?<=[aeiou])y(?=[aeiou])"), ""),  # a glide between vowels: "bulayen"/"bulaen"
    (re.compile(r"m(?=[bp])"), "n"),  # an anusvara before b or p is typed "m" as often as "n": "gambhir"
    (re.compile(r"(?<=[aeiou])n$"), ""),  # a nasal vowel at the end of a word: "haan"/"ha", "hoon"/"hu"
    (re.compile(r"a"), ""),  # the short a that romanised Hindi writes or leaves out at will
    (re.compile(r"(.)\1+"), r"\1"),
)


# Labels repeat on every turn; what users type mostly does not, so the cache is bounded.
@lru_cache(maxsize=4096)
def sound_key(text: str) -> str:
    """Return a loose matching key for how text sounds, the same for Devanagari and romanised Hindi ("गंभीर", "gambhir")."""
    words = []
    for word in fold(text).split():
        word = re.sub(r"[^a-z0-9]", "", _romanise(word) if is_devanagari(word) else word)
        for pattern, replacement in _SOUND_RULES:
            word = pattern.sub(replacement, word)
        words.append(word)
    return "".join(words)


def consonants(key: str) -> str:
    """Return a sound key's consonants: English loanwords keep vowels Hindi spells otherwise ("mobile"/"मोबाइल")."""
    return re.sub(r"(.)\1+", r"\1", key[:1] + re.sub(r"[aeiouy]", "", key[1:]))
