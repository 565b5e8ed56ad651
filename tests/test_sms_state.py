"""The state question over SMS: asked by name (no 36-line list), the name taken as typed, in
either script, with the slips people make; an unknown name asked again kindly, within budget."""

from __future__ import annotations

import csv

import pytest

from bot.channels.sms_text import segments
from bot.platform.i18n import Catalogs
from flows.engine import LANGUAGES
from flows.understanding.india import match_state, states
from tests.helpers import registered_profile
from tests.sms_walk_helpers import Recorder, SmsPatient
from tests.testdata import TESTDATA

# What people type for their state: short forms, the other script, and common misspellings.
TYPED = [
    ("utter pradesh", "IN-UP"), ("utter pardesh", "IN-UP"), ("UP", "IN-UP"), ("u.p.", "IN-UP"), ("यूपी", "IN-UP"),
    ("उत्तरप्रदेस", "IN-UP"), ("उत्रप्रदेश", "IN-UP"), ("maharastra", "IN-MH"), ("महारास्ट्र", "IN-MH"),
    ("तमिलनाडू", "IN-TN"), ("tamilnadu", "IN-TN"), ("dilli", "IN-DL"), ("दिल्ली से", "IN-DL"), ("J&K", "IN-JK"),
    ("jammu kashmir", "IN-JK"), ("kerela", "IN-KL"), ("केरला", "IN-KL"), ("orissa", "IN-OD"), ("उड़ीसा", "IN-OD"),
    ("chattisgarh", "IN-CG"), ("छत्तीसगढ", "IN-CG"), ("west bangal", "IN-WB"), ("पश्चिम बंगाल", "IN-WB"),
    ("gujrat", "IN-GJ"), ("rajastan", "IN-RJ"), ("राजस्तान", "IN-RJ"), ("hariyana", "IN-HR"), ("हरयाणा", "IN-HR"),
    ("jharkand", "IN-JH"), ("झारखण्ड", "IN-JH"), ("telengana", "IN-TS"), ("andra pradesh", "IN-AP"),
    ("uttaranchal", "IN-UK"), ("madhya pardesh", "IN-MP"), ("मध्यप्रदेस", "IN-MP"), ("mai bihar se hu", "IN-BR"),
    ("pondicherry", "IN-PY"), ("दमन", "IN-DH"),
]
# Cities and words that are no state: asked again, never guessed.
NOT_STATES = ["Varanasi", "Lucknow", "mumbai", "kolkata", "patna", "Atlantis", "Nepal", "fever", "पता नहीं", "hello"]


@pytest.mark.parametrize(("typed", "code"), TYPED)
def test_a_typed_name_finds_its_state(typed: str, code: str) -> None:
    found = match_state(typed)
    assert found is not None and found.code == code, typed


@pytest.mark.parametrize("typed", NOT_STATES)
def test_a_city_or_a_word_is_no_state(typed: str) -> None:
    assert match_state(typed) is None


def _shared_names() -> list[tuple[str, str]]:
    with (TESTDATA / "india" / "iso3166_2_IN_states_uts.csv").open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "current"]
    return [(name, r["code"]) for r in rows for name in (r["name_en"], r["name_hi"])]


def test_every_name_in_the_shared_iso_file_in_both_scripts_is_found() -> None:
    # CLDR's Hindi names spell some places otherwise than ours (अण्डमान, आन्ध्र): found all the same.
    names = _shared_names()
    assert len(names) == 72
    missed = [(name, code) for name, code in names if (found := match_state(name)) is None or found.code != code]
    assert not missed


@pytest.mark.parametrize("lang", LANGUAGES)
def test_over_sms_the_state_is_asked_by_name_and_an_unknown_one_again_kindly(catalogs: Catalogs, lang: str) -> None:
    recorder = Recorder(catalogs, lang)
    patient = SmsPatient(recorder, step="sex", data={"consent_at": "2026-11-25T09:30:00+00:00", "name": "Sunita Devi", "age": 34})
    patient.send("1")  # female
    assert patient.step == "state"
    asked = recorder.bodies[-1]
    assert segments(asked) <= 2 and "\n2." not in asked and states(lang)[0].name(lang) not in asked, "no numbered list of states"
    patient.send("Atlantis")
    assert patient.step == "state"
    sorry, again = recorder.bodies[-2:]
    assert segments(sorry) <= 2 and segments(again) <= 2
    assert again == asked
    patient.send("utter pardesh" if lang == "en" else "उत्तरप्रदेस")
    assert patient.step == "district" and patient.state.data["state"] == "IN-UP"
    assert not recorder.problems, recorder.problems


def test_a_registered_patient_corrects_the_state_by_name_over_sms(catalogs: Catalogs) -> None:
    recorder = Recorder(catalogs, "hi")
    patient = SmsPatient(recorder, registered_profile(), step="menu")
    patient.send("MENU")
    patient.pick("details")
    patient.pick("edit_state")
    patient.send("महारास्ट्र")
    assert patient.step == "confirm" and patient.state.data["state"] == "IN-MH"
    assert not recorder.problems, recorder.problems
