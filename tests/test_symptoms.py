"""Tests for flows.understanding.symptoms, duration and specialty: the lexicon, symptom matching, durations and the suggested OPD."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flows.understanding.duration import Duration, parse_duration
from flows.understanding.specialty import specialty_for
from flows.understanding.symptoms import (
    SPECIALTIES,
    Finding,
    Symptom,
    find_symptoms,
    lexicon,
    variant_key,
)
from flows.understanding.text import fold, is_devanagari, normalize

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
EDGE_CASES = "robustness/generated/devanagari_edge_cases.json"
BLNS = "robustness/blns.json"
LEXICON_JSON = Path(__file__).resolve().parents[1] / "flows" / "understanding" / "data" / "symptoms.json"
MISSING_ID = "shared-testdata-missing"

ZWJ, ZWNJ = "\u200d", "\u200c"


def load(relative: str) -> Any:
    """Read a JSON file from the shared test data (FileNotFoundError when it is missing)."""
    return json.loads((TESTDATA / relative).read_text(encoding="utf-8"))


def data_cases(build: Callable[[], list[Any]], arity: int) -> list[Any]:
    """Build parametrize cases from shared test data, or one case that fails when the data is missing."""
    try:
        return build()
    except FileNotFoundError:
        return [pytest.param(*([None] * arity), id=MISSING_ID)]


@pytest.fixture(autouse=True)
def fail_without_testdata(request: pytest.FixtureRequest) -> None:
    """Fail (not skip) the stand-in case that data_cases makes when the shared test data is missing."""
    if MISSING_ID in request.node.name:
        pytest.fail(f"shared test data not found under {TESTDATA}")


def codes(text: str) -> tuple[str, ...]:
    """Return the canonical codes find_symptoms reports for text, in order."""
    return tuple(symptom.code for symptom in find_symptoms(text).symptoms)


def by_code(code: str) -> Symptom:
    """Return the lexicon entry with this code."""
    return next(symptom for symptom in lexicon() if symptom.code == code)


# --- phrasings → canonical symptoms ------------------------------------------------------

PHRASINGS = [
    # fever
    ("en-fever", "I have fever", ("fever",)),
    ("hinglish-bukhar", "mujhe bukhar hai", ("fever",)),
    ("hinglish-bukhaar", "mujhe bukhaar hai", ("fever",)),
    ("hinglish-bukar-typo", "bukar hai", ("fever",)),
    ("hinglish-taap", "2 din se taap hai", ("fever",)),
    ("hi-tez-bukhar-nukta", "तेज़ बुखार है", ("fever",)),
    ("hi-bukhar-nukta-variant", "बुख़ार", ("fever",)),
    ("en-misspelt-fever-and-headache", "feverr and headache", ("fever", "headache")),
    ("en-temprature", "temprature hai", ("fever",)),
    # headache
    ("hinglish-sar-dard-aur-khansi", "sar dard aur khansi", ("headache", "cough")),
    ("hinglish-sir-dard", "sir dard ho raha hai", ("headache",)),
    ("hinglish-sardard-joined", "sardard", ("headache",)),
    ("hi-sir-mein-dard", "सिर में दर्द है", ("headache",)),
    ("en-headache-since-morning", "headache since morning", ("headache",)),
    ("en-hedache", "hedache", ("headache",)),
    ("hyphenated-sar-dard", "sar-dard", ("headache",)),
    # cough and cold
    ("hi-3-din-se-khansi", "मुझे 3 दिन से खांसी है", ("cough",)),
    ("hinglish-khaasi", "khaasi aa rahi hai", ("cough",)),
    ("en-dry-cough", "dry cough", ("cough",)),
    ("en-coughing", "coughing a lot", ("cough",)),
    ("hi-khansi-chandrabindu", "खाँसी", ("cough",)),
    ("hinglish-jukam", "jukam ho gaya", ("cold",)),
    ("hinglish-zukam", "zukam", ("cold",)),
    ("hi-zukam-nukta", "ज़ुकाम है", ("cold",)),
    ("en-runny-nose-sneezing", "runny nose and sneezing", ("cold",)),
    ("hinglish-naak-beh-rahi", "naak beh rahi hai", ("cold",)),
    ("hi-mild-cold", "हल्का जुकाम", ("cold",)),
    ("en-mild-cold", "mild cold", ("cold",)),
    # stomach
    ("hinglish-pet-mein-dard", "pet mein dard ho raha hai", ("stomach_pain",)),
    ("hinglish-pet-me-bahut-dard", "pet me bahut dard hai", ("stomach_pain",)),
    ("hi-pet-mein-dard", "पेट में दर्द", ("stomach_pain",)),
    ("en-stomach-ache", "stomach ache", ("stomach_pain",)),
    ("hinglish-ulti", "ulti ho rahi hai", ("vomiting",)),
    ("hi-ulti", "उल्टी हो रही है", ("vomiting",)),
    ("hinglish-loose-motion", "loose motion", ("diarrhoea",)),
    ("hinglish-dast", "dast lag gaye", ("diarrhoea",)),
    ("hinglish-kabz", "kabz hai", ("constipation",)),
    ("hinglish-gas-acidity", "gas aur acidity", ("acidity",)),
    ("hinglish-khatti-dakar", "khatti dakar", ("acidity",)),
    ("hinglish-bhookh-nahi-lagti", "bhookh nahi lagti", ("loss_of_appetite",)),
    ("en-misspelt-dizziness-nausea", "dizzyness and nausia", ("dizziness", "nausea")),
    # breathing, dizziness
    ("hinglish-saans-lene-mein-dikkat", "saans lene mein dikkat", ("breathlessness",)),
    ("hinglish-saans-phool-rahi", "saans phool rahi hai", ("breathlessness",)),
    ("hi-saans-chandrabindu", "साँस फूलना", ("breathlessness",)),
    ("hi-saans-anusvara", "सांस लेने में तकलीफ़ है", ("breathlessness",)),
    ("hi-chakkar", "चक्कर आ रहे हैं", ("dizziness",)),
    ("hinglish-chakkar", "chakkar aa rahe hain", ("dizziness",)),
    ("en-dizzy", "I feel dizzy", ("dizziness",)),
    # general
    ("hinglish-kamzori-thakan", "kamzori aur thakan", ("weakness",)),
    ("en-very-tired", "very tired", ("weakness",)),
    ("hinglish-pairon-mein-sujan", "pairon mein sujan", ("swelling_feet",)),
    ("hi-pairon-mein-sujan", "पैरों में सूजन", ("swelling_feet",)),
    ("hinglish-badan-dard", "badan dard", ("body_ache",)),
    ("hinglish-sugar-dawai", "sugar ki dawai chahiye", ("diabetes_followup",)),
    ("hinglish-bp-dawai", "blood pressure ki dawai", ("bp_followup",)),
    ("en-bp-with-dots", "B.P. check", ("bp_followup",)),
    ("hinglish-sugar-and-bp", "mere papa ko sugar aur bp hai", ("diabetes_followup", "bp_followup")),
    ("hinglish-peshab-jalan", "peshab mein jalan", ("urinary_burning",)),
    ("hinglish-weight-kam", "wajan kam ho raha hai", ("weight_loss",)),
    # mental health
    ("hinglish-ghabrahat", "ghabrahat hoti hai", ("anxiety",)),
    ("hinglish-neend-na-aana", "neend na aana", ("sleep_problem",)),
    ("hi-neend-nahi-aati", "नींद नहीं आती", ("sleep_problem",)),
    ("hinglish-udaasi", "udaasi rehti hai", ("low_mood",)),
    ("en-sad-and-stressed", "feeling sad and stressed", ("low_mood", "stress")),
    # women's health
    ("hinglish-period-dard", "period mein dard", ("period_pain",)),
    ("en-irregular-periods", "irregular periods", ("irregular_periods",)),
    ("hinglish-safed-pani", "safed pani aata hai", ("white_discharge",)),
    ("en-pregnant", "I am pregnant", ("pregnancy",)),
    ("hinglish-garbhvati", "main garbhvati hoon", ("pregnancy",)),
    ("hi-garbhvati", "गर्भवती हूँ", ("pregnancy",)),
    # skin
    ("hinglish-skin-rash", "skin pe rash", ("rash",)),
    ("hinglish-khujli", "khujli ho rahi hai", ("itching",)),
    ("hinglish-daad", "daad ho gaya", ("ringworm",)),
    ("hinglish-baal-jhad", "baal jhad rahe hain", ("hair_fall",)),
    ("hi-baal-jhadna-nukta", "बाल झड़ना", ("hair_fall",)),
    # ENT, eyes
    ("hinglish-kaan-dard", "kaan dard", ("ear_pain",)),
    ("hinglish-kaan-se-pani", "kaan se pani aa raha", ("ear_discharge",)),
    ("hinglish-gala-kharab", "gala kharab hai", ("sore_throat",)),
    ("hinglish-naak-band", "naak band hai", ("blocked_nose",)),
    ("hi-naak-band-half-na", "नाक बन्द है", ("blocked_nose",)),
    ("hinglish-aankh-lal", "aankh lal hai", ("red_eye",)),
    ("hi-aankh-mein-dard", "आँख में दर्द", ("eye_pain",)),
    ("hinglish-kam-dikhai", "kam dikhai deta hai", ("blurred_vision",)),
    ("hinglish-aankh-se-pani", "aankh se pani aata hai", ("watery_eyes",)),
    # bones
    ("hinglish-kamar-dard", "kamar dard", ("back_pain",)),
    ("en-back-pain", "back pain", ("back_pain",)),
    ("hinglish-jodo-mein-dard", "jodo mein dard", ("joint_pain",)),
    ("hinglish-two-pains-comma", "kamar mein dard, ghutno mein dard", ("back_pain", "knee_pain")),
    ("hinglish-moch", "moch aa gayi", ("injury",)),
    # teeth
    ("hinglish-daant-dard", "daant dard", ("toothache",)),
    ("hinglish-dant-me-dard", "dant me dard", ("toothache",)),
    ("hinglish-masudo-se-khoon", "masudo se khoon aata hai", ("bleeding_gums",)),
    ("hinglish-chhale", "munh mein chhale", ("mouth_ulcers",)),
    # someone else, several at once, order of first mention, duplicates
    ("hinglish-for-son", "mere bete ko bukhar hai", ("fever",)),
    ("hinglish-child-two", "bachche ko dast aur ulti", ("diarrhoea", "vomiting")),
    ("hinglish-ayurveda", "ayurvedic treatment chahiye", ("ayush",)),
    ("order-of-first-mention", "khansi, bukhar aur phir se khansi", ("cough", "fever")),
    ("mixed-scripts", "fever और खांसी", ("fever", "cough")),
    ("devanagari-digits-in-text", "४ दिन से बुखार", ("fever",)),
    # fuzzy: Latin words of 5+ letters within ratio 0.85
    ("fuzzy-headachee", "headachee", ("headache",)),
    ("fuzzy-khaansii", "khaansii", ("cough",)),
    ("fuzzy-coughh", "coughh", ("cough",)),
    ("fuzzy-constipaton", "constipaton", ("constipation",)),
    ("joined-digits-exact", "bukhar3din", ("fever",)),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in PHRASINGS])
def test_phrasings_map_to_canonical_symptoms(text: str, expected: tuple[str, ...]) -> None:
    """Common ways of saying a complaint, in three scripts and styles, map to the canonical codes."""
    assert codes(text) == expected


def test_phrasing_table_is_large_enough() -> None:
    """The table holds at least 60 phrasings."""
    assert len(PHRASINGS) >= 60


NOT_SYMPTOMS = [
    # Red flags are another module's job: kept verbatim for the doctor, never mapped here.
    ("chest-pain-en", "chest pain"),
    ("chest-pain-hi", "छाती में दर्द"),
    ("unconscious", "behosh ho gaya"),
    # Near words that are not symptoms: fuzzy matching must not reach them.
    ("pension-not-tension", "pension nahi mili"),
    ("could-not-cold", "I could come tomorrow"),
    ("forever-not-fever", "forever"),
    ("dadi-not-daad-latin", "daadi"),
    # Devanagari matches exactly: a grandparent is not ringworm.
    ("dada-not-daad", "दादा"),
    ("dadi-not-daad", "दादी ठीक हैं"),
    # A bare "pain" says nothing about where.
    ("bare-dard", "dard hai"),
    # Fuzzy matching is for typed words, not for letters glued to digits in junk.
    ("junk-not-depression", 'ABC<div style="x:\\x0Dexpression(javascript:alert(1)">DEF'),
]


@pytest.mark.parametrize("text", [pytest.param(t, id=i) for i, t in NOT_SYMPTOMS])
def test_words_that_are_not_lexicon_symptoms(text: str) -> None:
    """Red-flag phrasings, look-alike words and bare "pain" map to nothing here."""
    assert codes(text) == ()


NEGATIONS = [
    ("no-fever", "no fever, cough", ("cough",)),
    ("dont-have-fever", "I don't have any fever but cough", ("cough",)),
    ("bukhar-nahi-hai", "bukhar nahi hai par khansi hai", ("cough",)),
    ("hi-bukhar-nahi", "बुखार नहीं है, खांसी है", ("cough",)),
    ("khansi-hai-bukhar-nahi", "khansi hai, bukhar nahi", ("cough",)),
    ("na-na", "na bukhar na khansi, bas kamzori", ("weakness",)),
    ("nahi-then-verb-is-not-negation", "bukhar nahi utar raha", ("fever",)),
    ("not-pregnant", "I am not pregnant", ()),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in NEGATIONS])
def test_negated_symptoms_are_not_reported(text: str, expected: tuple[str, ...]) -> None:
    """ "No fever" and "बुखार नहीं है" drop fever; "bukhar nahi utar raha" (won't come down) keeps it."""
    assert codes(text) == expected


# --- unknown words -----------------------------------------------------------------------

UNKNOWN = [
    ("ajeeb-jhunjhunahat", "bukhar aur ajeeb si jhunjhunahat", ("fever",), ("ajeeb si jhunjhunahat",)),
    ("case-kept", "Bukhar aur AJEEB si Jhunjhunahat", ("fever",), ("AJEEB si Jhunjhunahat",)),
    (
        "filler-trimmed-not-punched",
        "mere bete ko 2 din se tez bukhar hai aur haath mein jhunjhunahat ho rahi hai",
        ("fever",),
        ("haath mein jhunjhunahat",),
    ),
    ("hindi-danda", "बुखार है। हाथ में झुनझुनी", ("fever",), ("हाथ में झुनझुनी",)),
    ("two-chunks", "khansi, pair mein jalan aur haath kaanpna", ("cough",), ("pair mein jalan", "haath kaanpna")),
    ("nothing-known", "kuch ajeeb lag raha hai", (), ("ajeeb",)),
    ("chest-pain-kept", "chest pain and fever", ("fever",), ("chest pain",)),
    ("verb-after-nahi-kept", "bukhar nahi utar raha", ("fever",), ("nahi utar",)),
    ("fuzzy-miss-kept", "fevar", (), ("fevar",)),
    ("duration-not-unknown", "मुझे 3 दिन से खांसी है", ("cough",), ()),
    ("url-beside-symptom", "fever, see https://example.com/x", ("fever",), ("see",)),
    ("duplicate-chunks-once", "jhunjhunahat, khansi, jhunjhunahat", ("cough",), ("jhunjhunahat",)),
]


@pytest.mark.parametrize(
    ("text", "symptoms", "unknown"), [pytest.param(t, s, u, id=i) for i, t, s, u in UNKNOWN]
)
def test_unknown_words_are_kept_verbatim(text: str, symptoms: tuple[str, ...], unknown: tuple[str, ...]) -> None:
    """What the lexicon cannot map is kept in the user's own (normalised, unfolded) words."""
    finding = find_symptoms(text)
    assert codes(text) == symptoms
    assert finding.unknown == unknown


def test_text_is_the_whole_message_normalised() -> None:
    """Finding.text is the message as typed, normalised (invisibles gone, single spaces), not folded."""
    finding = find_symptoms("  Mujhe\u200b  BUKHAR\n hai  ")
    assert finding.text == "Mujhe BUKHAR hai"
    assert finding == Finding((by_code("fever"),), (), "Mujhe BUKHAR hai")


EMPTY = [
    ("empty", ""),
    ("spaces", "   \n\t "),
    ("emoji", "😀🤒"),
    ("emoji-zwj-sequence", "👨\u200d👩\u200d👧"),
    ("flag", "🇮🇳"),
    ("url", "https://example.com/fever?x=1"),
    ("url-www", "www.bukhar.in"),
    ("bare-domain", "example.co.in"),
    ("email", "bukhar@example.com"),
    ("punctuation", "?!... ।।"),
    ("digits", "12345"),
    ("devanagari-digits", "९८३१२३४५६७"),
    ("filler-only", "mujhe hai"),
    ("nahi-only", "nahi"),
]


@pytest.mark.parametrize("text", [pytest.param(t, id=i) for i, t in EMPTY])
def test_text_without_words_gives_an_empty_finding(text: str) -> None:
    """Emoji, addresses, punctuation or digits alone give no symptoms and no unknown words, without error."""
    finding = find_symptoms(text)
    assert finding.symptoms == ()
    assert finding.unknown == ()
    assert finding.text == normalize(text)


# --- Unicode edge cases from the shared test data ---------------------------------------


def nukta_pairs() -> list[Any]:
    """Return (precomposed, decomposed) nukta letters from the shared edge cases."""
    cases = load(EDGE_CASES)["cases"]
    pairs = [
        pytest.param(c["precomposed"]["text"], c["decomposed"]["text"], id=c["precomposed"]["codepoints"])
        for c in cases
        if c["group"] == "nukta_precomposed_vs_decomposed"
    ]
    assert pairs, "no nukta cases in the shared edge-case file"
    return pairs


@pytest.mark.parametrize(("precomposed", "decomposed"), data_cases(nukta_pairs, 2))
def test_precomposed_and_decomposed_nukta_give_the_same_finding(precomposed: str, decomposed: str) -> None:
    """A nukta letter typed as one code point or as letter + nukta gives one and the same finding."""
    assert precomposed != decomposed
    for template in ("{} बुखार", "बुखार और {}ुकाम", "{}ोर से खांसी"):
        assert find_symptoms(template.format(precomposed)) == find_symptoms(template.format(decomposed))


# Expected codes for the shared health-word samples, by label.
HEALTH_WORDS = {
    "zukaam (cold) with precomposed ZA U+095B": ("cold",),
    "zukaam (cold) with JA+NUKTA": ("cold",),
    "pet dard (stomach ache)": ("stomach_pain",),
    "bukhaar (fever)": ("fever",),
    "saans (breath) with chandrabindu": (),
    "saans (breath) with anusvara": (),
    # Chest pain is a red flag handled by another module; this lexicon must not claim it.
    "chhati mein dard (chest pain)": (),
}


def health_words() -> list[Any]:
    """Return the shared health-word samples with their expected codes."""
    cases = [c for c in load(EDGE_CASES)["cases"] if c["group"] == "health_words_variants"]
    assert {c["label"] for c in cases} == set(HEALTH_WORDS), "the shared health-word samples changed"
    return [pytest.param(c["text"], HEALTH_WORDS[c["label"]], id=c["label"]) for c in cases]


@pytest.mark.parametrize(("text", "expected"), data_cases(health_words, 2))
def test_shared_health_words(text: str, expected: tuple[str, ...]) -> None:
    """The shared Devanagari health-word samples map as a nurse would read them."""
    assert codes(text) == expected


def saans_forms() -> list[Any]:
    """Return the chandrabindu and anusvara spellings of साँस from the shared edge cases."""
    return [
        pytest.param(c["text"], id=c["label"])
        for c in load(EDGE_CASES)["cases"]
        if c["group"] == "health_words_variants" and c["label"].startswith("saans")
    ]


@pytest.mark.parametrize("saans", data_cases(saans_forms, 1))
def test_chandrabindu_and_anusvara_saans_match_alike(saans: str) -> None:
    """साँस and सांस both read as breath in "… फूलना" and "… लेने में दिक्कत"."""
    assert codes(f"{saans} फूलना") == ("breathlessness",)
    assert codes(f"{saans} लेने में दिक्कत है") == ("breathlessness",)


def invisible_cases() -> list[Any]:
    """Return the shared danda/pipe/NBSP/ZWSP samples that contain a symptom."""
    wanted = {
        "danda U+0964": ("fever",),
        "pipe typed instead of danda": ("fever",),
        "NBSP between words": ("stomach_pain",),
        "ZWSP between words": ("stomach_pain",),
    }
    cases = [c for c in load(EDGE_CASES)["cases"] if c.get("label") in wanted]
    assert len(cases) == len(wanted), "the shared punctuation samples changed"
    return [pytest.param(c["text"], wanted[c["label"]], id=c["label"]) for c in cases]


@pytest.mark.parametrize(("text", "expected"), data_cases(invisible_cases, 2))
def test_danda_pipe_and_invisible_spaces(text: str, expected: tuple[str, ...]) -> None:
    """Danda, a pipe typed for it, NBSP and zero-width space do not hide a symptom."""
    finding = find_symptoms(text)
    assert codes(text) == expected
    assert finding.unknown == ()


ZW_INSIDE = [
    ("zwnj-latin-shared", "fe\u200cver", ("fever",)),
    ("zwj-in-khansi", f"खां{ZWJ}सी", ("cough",)),
    ("zwnj-in-khansi", f"खां{ZWNJ}सी", ("cough",)),
    ("zwj-half-form-dard", f"सिर दर्{ZWJ}द", ("headache",)),
    ("zwnj-explicit-virama-dard", f"सिर दर्{ZWNJ}द", ("headache",)),
    ("trailing-zwj", f"बुखार{ZWJ}", ("fever",)),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in ZW_INSIDE])
def test_zwj_and_zwnj_inside_words(text: str, expected: tuple[str, ...]) -> None:
    """ZWJ/ZWNJ typed inside or after a word (half forms, copy-paste artefacts) do not break matching."""
    assert codes(text) == expected


def blns_strings() -> list[Any]:
    """Return the Big List of Naughty Strings as one case (a list)."""
    strings = load(BLNS)
    assert len(strings) > 400
    return [pytest.param(strings, id="blns")]


@pytest.mark.parametrize("strings", data_cases(blns_strings, 1))
def test_naughty_strings_never_raise(strings: list[str]) -> None:
    """Every naughty string goes through find_symptoms and parse_duration without an exception."""
    for text in strings:
        finding = find_symptoms(text)
        assert isinstance(finding.text, str) and finding.text == normalize(text)
        assert all(isinstance(chunk, str) and chunk for chunk in finding.unknown)
        duration = parse_duration(text)
        assert duration is None or (isinstance(duration.days, int) and duration.days >= 0)


def test_long_messages_stay_fast() -> None:
    """A long junk message is handled in well under a second per 10,000 characters (no backtracking blow-up)."""
    import time

    for junk in ("a" * 20_000, "a@" * 10_000, "a-" * 10_000, "www." * 5_000, "bukhar " * 3_000):
        started = time.perf_counter()
        find_symptoms(junk)
        parse_duration(junk)
        assert time.perf_counter() - started < 2.0


# --- durations ---------------------------------------------------------------------------

DURATIONS = [
    ("3-din", "3 din", 3, "3 din"),
    ("3-dino-se", "3 dino se", 3, "3 dino se"),
    ("teen-din", "teen din", 3, "teen din"),
    ("hi-teen-din-se", "तीन दिन से", 3, "तीन दिन से"),
    ("devanagari-digit", "३ दिन", 3, "३ दिन"),
    ("hi-kal-se", "कल से", 1, "कल से"),
    ("aaj-se", "aaj se", 0, "aaj se"),
    ("hi-aaj-se", "आज से", 0, "आज से"),
    ("today", "today", 0, "today"),
    ("subah-se", "subah se", 0, "subah se"),
    ("parso-se", "parso se", 2, "parso se"),
    ("hi-parson", "परसों", 2, "परसों"),
    ("2-weeks", "2 weeks", 14, "2 weeks"),
    ("2-hafte", "2 hafte", 14, "2 hafte"),
    ("do-hafte", "do hafte", 14, "do hafte"),
    ("hi-do-hafte-nukta", "दो हफ़्ते", 14, "दो हफ़्ते"),
    ("ek-mahina", "ek mahina", 30, "ek mahina"),
    ("1-month", "1 month", 30, "1 month"),
    ("6-months", "6 months", 180, "6 months"),
    ("hi-saal-bhar-se", "साल भर से", 365, "साल भर से"),
    ("since-yesterday", "since yesterday", 1, "since yesterday"),
    ("last-night", "last night", 1, "last night"),
    ("a-few-days", "a few days", 3, "a few days"),
    ("kuch-din", "kuch din", 3, "kuch din"),
    ("bahut-din-se", "bahut din se", 14, "bahut din se"),
    ("hi-kuch-dinon-se", "कुछ दिनों से", 3, "कुछ दिनों से"),
    ("kal-raat-se", "kal raat se", 1, "kal raat se"),
    ("raat-se", "raat se", 1, "raat se"),
    ("this-morning", "since this morning", 0, "since this morning"),
    ("day-before-yesterday", "day before yesterday", 2, "day before yesterday"),
    ("ghante", "2 ghante se", 0, "2 ghante se"),
    ("range-hyphen", "2-3 din", 3, "2-3 din"),
    ("range-words", "do teen din", 3, "do teen din"),
    ("decimal", "1.5 months", 45, "1.5 months"),
    ("dedh-mahina", "dedh mahina", 45, "dedh mahina"),
    ("for-the-past", "for the past 3 days", 3, "for the past 3 days"),
    ("ago", "3 days ago", 3, "3 days ago"),
    ("pichhle-hafte", "pichhle hafte se", 7, "pichhle hafte se"),
    ("joined-3din", "3din", 3, "3din"),
    ("devanagari-10", "१० दिन", 10, "१० दिन"),
    ("bees-din", "bees din", 20, "bees din"),
    ("couple", "a couple of days", 2, "a couple of days"),
    ("inside-sentence", "mujhe 3 din se bukhar hai", 3, "3 din se"),
    ("years-of-sugar", "20 saal se sugar hai", 7300, "20 saal se"),
    ("longest-wins", "3 din se bukhar aur 2 hafte se khansi", 14, "2 hafte se"),
]


@pytest.mark.parametrize(
    ("text", "days", "said"), [pytest.param(t, d, s, id=i) for i, t, d, s in DURATIONS]
)
def test_durations(text: str, days: int, said: str) -> None:
    """Durations in digits or words, English or Hindi, become days, with the words as said."""
    assert parse_duration(text) == Duration(days, said)


NO_DURATION = [
    ("letters", "abc"),
    ("empty", ""),
    ("emoji", "😀"),
    ("a-year-number", "2026"),
    ("negative", "-3 din"),
    ("negative-unicode-minus", "\u22123 din"),
    ("too-long", "1000 saal"),
    ("huge-number", "99999999999999999999 din"),
    ("bare-unit", "din"),
    ("aaj-kal-is-vague", "aaj kal"),
    ("frequency", "5 times a day"),
    ("missed-period-not-a-month", "mahina nahi aaya"),
    ("every-day", "har din"),
    ("symptom-only", "bukhar"),
    ("bare-time-of-day", "raat ko khansi"),
]


@pytest.mark.parametrize("text", [pytest.param(t, id=i) for i, t in NO_DURATION])
def test_no_duration(text: str) -> None:
    """Nonsense, impossible or vague answers give None."""
    assert parse_duration(text) is None


def test_duration_table_is_large_enough() -> None:
    """At least 25 duration phrasings are checked."""
    assert len(DURATIONS) + len(NO_DURATION) >= 25


# --- suggested OPD -----------------------------------------------------------------------

SPECIALTY_CASES = [
    ("child-fever", "bukhar", 5, "male", False, "paediatrics"),
    ("child-rash", "rash", 9, "female", False, "paediatrics"),
    ("child-toothache", "daant dard", 8, "female", False, "dentistry"),
    ("child-ear-pain", "kaan dard", 6, "male", False, "ent"),
    ("child-red-eye", "aankh lal", 10, "male", False, "ophthalmology"),
    ("child-tie-first-mentioned", "bukhar aur daant dard", 7, "male", False, "paediatrics"),
    ("child-tie-other-order", "daant dard aur bukhar", 7, "male", False, "dentistry"),
    ("child-no-symptoms", "ajeeb sa", 3, "female", False, "paediatrics"),
    ("age-14-is-adult", "bukhar", 14, "male", False, "general_medicine"),
    ("woman-pregnant-flag", "bukhar", 25, "female", True, "obgyn"),
    ("woman-says-pregnant", "I am pregnant", 25, "female", False, "obgyn"),
    ("other-says-pregnant", "garbhvati", 30, "other", False, "obgyn"),
    ("girl-13-pregnant", "pregnant", 13, "female", False, "obgyn"),
    ("man-says-pregnant", "pregnant", 30, "male", False, "general_medicine"),
    ("man-pregnant-flag", "bukhar", 30, "male", True, "general_medicine"),
    ("man-pregnant-and-rash", "pregnant, rash", 30, "male", False, "dermatology"),
    ("man-white-discharge", "white discharge", 30, "male", False, "general_medicine"),
    ("rash", "rash", 30, "male", False, "dermatology"),
    ("back-pain", "kamar dard", 40, "female", False, "orthopaedics"),
    ("low-mood", "udaasi", 30, "male", False, "psychiatry"),
    ("ear-pain", "kaan dard", 30, "female", False, "ent"),
    ("fever-cough", "fever and cough", 30, "male", False, "general_medicine"),
    ("majority", "bukhar, daane aur khujli", 30, "male", False, "dermatology"),
    ("tie-first-mentioned", "bukhar aur rash", 30, "male", False, "general_medicine"),
    ("nothing", "", 30, "male", False, "general_medicine"),
    ("ayush-wins", "joint pain, ayurvedic ilaj", 50, "male", False, "ayush"),
    ("period-pain", "period mein dard", 20, "female", False, "obgyn"),
    ("sex-case-insensitive", "pregnant", 25, "Female", False, "obgyn"),
]


@pytest.mark.parametrize(
    ("text", "age", "sex", "pregnant", "expected"),
    [pytest.param(t, a, s, p, e, id=i) for i, t, a, s, p, e in SPECIALTY_CASES],
)
def test_specialty_for(text: str, age: int, sex: str, pregnant: bool, expected: str) -> None:
    """The suggested OPD follows pregnancy, AYUSH, age and the symptoms' own specialties."""
    assert specialty_for(find_symptoms(text), age, sex, pregnant) == expected


# --- the lexicon itself ------------------------------------------------------------------


def test_lexicon_entries_are_well_formed() -> None:
    """Codes are unique; English and Devanagari Hindi names are present; specialties are known."""
    entries = lexicon()
    assert len(entries) >= 45
    assert len({s.code for s in entries}) == len(entries)
    for symptom in entries:
        assert symptom.en.strip() and symptom.hi.strip(), symptom.code
        assert is_devanagari(symptom.hi), symptom.code
        assert symptom.specialty in SPECIALTIES, symptom.code
    assert lexicon() is lexicon(), "lexicon() is cached"


def test_every_specialty_has_a_symptom() -> None:
    """Each OPD the bot can suggest from symptoms is reachable from some symptom."""
    assert {s.specialty for s in lexicon()} == set(SPECIALTIES)


def raw_entries() -> list[dict[str, Any]]:
    """Read symptoms.json as stored."""
    return json.loads(LEXICON_JSON.read_text(encoding="utf-8"))


def test_variants_are_lowercase_and_plentiful() -> None:
    """Every symptom has at least five variants, stored lowercase, Latin and Devanagari alike."""
    for entry in raw_entries():
        variants = entry["variants"]
        assert len(variants) >= 5, entry["code"]
        assert all(v == v.lower() and v.strip() for v in variants), entry["code"]
        assert any(is_devanagari(v) for v in variants), f"{entry['code']} has no Devanagari variant"
        assert any(v.isascii() for v in variants), f"{entry['code']} has no Latin variant"


def test_no_variant_is_claimed_by_two_codes() -> None:
    """After folding (and after the matcher's own keying) no variant belongs to two symptoms."""
    for keyer in (fold, variant_key):
        owner: dict[str, str] = {}
        for entry in raw_entries():
            for variant in entry["variants"]:
                key = keyer(variant)
                assert owner.setdefault(key, entry["code"]) == entry["code"], (
                    f"{variant!r} is claimed by {owner[key]} and {entry['code']}"
                )


RED_FLAG_PHRASES = (
    "chest pain", "seene mein dard", "सीने में दर्द", "छाती में दर्द", "chhati mein dard", "unconscious",
    "behosh", "बेहोश", "seizure", "fits", "daura", "mirgi", "दौरा", "suicide", "khudkushi", "आत्महत्या",
    "heavy bleeding", "bahut khoon", "vomiting blood", "khoon ki ulti", "can't breathe", "saans nahi aa rahi",
    "snake bite", "saanp ne kaata", "poison", "zehar", "lethargic", "fainting",
)


def test_lexicon_holds_no_red_flag_phrasing() -> None:
    """Red flags (chest pain, unconsciousness, seizures, suicide, ...) are left to the red-flag detector."""
    keys = {variant_key(v) for entry in raw_entries() for v in entry["variants"]}
    for phrase in RED_FLAG_PHRASES:
        assert variant_key(phrase) not in keys, phrase


def test_every_variant_maps_back_to_its_own_symptom() -> None:
    """Each variant on its own yields exactly its symptom and no unknown words (no variant shadows another)."""
    for entry in raw_entries():
        for variant in entry["variants"]:
            finding = find_symptoms(variant)
            assert codes(variant) == (entry["code"],), variant
            assert finding.unknown == (), variant


def test_display_names_map_back_to_their_symptom() -> None:
    """The English and Hindi names shown to patients are themselves understood as that symptom."""
    for symptom in lexicon():
        assert codes(symptom.en) == (symptom.code,), symptom.en
        assert codes(symptom.hi) == (symptom.code,), symptom.hi


def test_name_follows_language() -> None:
    """name() gives Hindi for hi and hi-IN, English otherwise."""
    fever = by_code("fever")
    assert fever.name("hi") == fever.name("hi-IN") == fever.name("hi_IN") == "बुखार"
    assert fever.name("en") == fever.name("en-IN") == fever.name("fr") == "Fever"


def test_import_does_no_work_and_needs_no_web_stack() -> None:
    """Importing flows.understanding.symptoms reads no file and pulls in no Flask, SQLAlchemy or Babel."""
    code = (
        "import sys, flows.understanding.symptoms as s, flows.understanding.duration, flows.understanding.specialty\n"
        "assert s._raw_lexicon.cache_info().currsize == 0, 'lexicon loaded at import'\n"
        "assert s._index.cache_info().currsize == 0, 'index built at import'\n"
        "bad = [m for m in ('flask', 'sqlalchemy', 'babel') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
