"""Tests for flows.understanding.symptoms, matching: phrasings in English, Devanagari and
romanised Hindi map to canonical symptoms; words that are not symptoms, negated symptoms and
unknown words; the finding's text; messages without words.
"""

from __future__ import annotations

import pytest

from flows.understanding.symptoms import (
    Finding,
    find_symptoms,
)
from flows.understanding.text import normalize
from tests.symptoms_helpers import (
    by_code,
    codes,
)

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
