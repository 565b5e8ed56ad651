"""Tests for flows.understanding.duration and specialty: durations people type (and texts that
give none), and the specialty suggested for the symptoms.
"""

from __future__ import annotations

import pytest

from flows.understanding.duration import Duration, parse_duration
from flows.understanding.specialty import specialty_for
from flows.understanding.symptoms import find_symptoms

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
