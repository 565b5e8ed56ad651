"""Whether a message in Latin letters is Hindi ("mujhe bukhar hai"), not English ("I have fever").

Someone who writes Hindi in Latin letters by SMS may have a phone that cannot show
Devanagari: flows/conversation.py then offers romanised Hindi ("hi-Latn") first. The words
come from what the understanding tables already know in Devanagari (the symptom lexicon, the
red flags): a Latin word whose spelling key
(text.spelling_key) is that of a Devanagari word is Hindi typed in Latin letters (बुखार =
bukhar, दर्द = dard, मुझे = mujhe). A few everyday spellings the key does not reach (namaste
for नमस्ते) and the words around a complaint (mujhe, hai, bahut) are listed. English words that happen to share a key (मैं = main, थे = the) are
not evidence: a message counts as Hindi when it has at least as many Hindi words as English
ones ("sir dard", "BP high hai"; not "I have chest pain").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from flows.understanding import symptoms
from flows.understanding.text import fold, is_devanagari, spelling_key

_DATA = Path(__file__).resolve().parent / "data"

# Everyday romanised Hindi whose usual spelling the Devanagari key misses (नमस्ते keys as
# "namste", नहीं as "nahin"), and short words too common to leave out.
_TYPED = (
    "namaste namaskar pranam nahi nhi nai haan han ji kya kyu kyun kaise kaisa kab aap aapka aapki apka apki "
    "mujhe muje mujhko mera meri mere hai hain hu hun hoon tha thi aur bhi ka ki ke ko se mein "
    "accha achha acha theek thik thk dhanyavad dhanyavaad shukriya kripya madad bhasha shuru bataiye batao "
    "bukhar bukhaar dard khansi khasi zukam jukam ulti dast chakkar saans seene takleef taklif tabiyat bimar beemar "
    "bahut bohot raha rahi rahe gaya gayi hua hui ho nahin karo karna chahiye lagta lagti "
    "sahab saheb bhaiya didi dawai dawa ilaj ilaaj bimari beemari"
)
# English words, and only those: function words people write around a complaint, and the
# symptom lexicon's English names (fever, pain, chest) are added to them.
_ENGLISH = (
    "i im me my mine we us our you your he she his her him it its they them their a an the this that these those "
    "is am are was were be been being have has had do does did will would can could should may might must "
    "and or but so if then than to of in on at by for from with without since about into over under up down "
    "not no yes ok okay please pls thanks thank hello hi hey dear sir madam good morning evening night "
    "day days week weeks month months year years today yesterday tomorrow now again still very much more "
    "what when where which who why how help want need book doctor appointment token start stop menu status "
    "child son daughter wife husband mother father baby main use pet din man bar bas"
)


def is_romanised_hindi(text: str) -> bool:
    """Return True for Hindi written in Latin letters; False for English, Devanagari or no words."""
    if is_devanagari(text):
        return False
    words = [w for w in fold(text).split() if w.isalpha() and w.isascii()]
    english = _english()
    hindi_words = _hindi()
    said_in_english = sum(1 for w in words if w in english or spelling_key(w) in english)
    said_in_hindi = sum(1 for w in words if w not in english and spelling_key(w) not in english and spelling_key(w) in hindi_words)
    return said_in_hindi > 0 and said_in_hindi >= said_in_english


@cache
def _english() -> frozenset[str]:
    """Return the English words, and their spelling keys (built on first use)."""
    names = " ".join(symptom.en for symptom in symptoms.lexicon())
    words = fold(f"{_ENGLISH} {names}").split()
    return frozenset(words) | frozenset(spelling_key(w) for w in words)


@cache
def _hindi() -> frozenset[str]:
    """Return the spelling keys of the Hindi words the understanding tables know, and the typed ones."""
    found = {spelling_key(w) for w in fold(_TYPED).split()}
    for text in _devanagari_texts():
        found.update(spelling_key(w) for w in fold(text).split() if is_devanagari(w) and len(w) > 1)
    # A key of one or two letters ("k", "se") is too easily an English word or an initial.
    return frozenset(key for key in found if len(key) > 2 or key in {spelling_key(w) for w in fold(_TYPED).split()})


def _devanagari_texts() -> Iterator[str]:
    """Yield every Devanagari text the understanding tables hold."""
    for name in ("symptoms.json", "red_flags.json"):
        yield from _strings(json.loads((_DATA / name).read_text(encoding="utf-8")))


def _strings(value: Any) -> Iterator[str]:
    """Yield the strings of a JSON value that hold Devanagari."""
    if isinstance(value, str):
        if is_devanagari(value):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
