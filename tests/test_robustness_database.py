"""Every step the conversation knows, on the real database, given naughty strings.

Each step is reached the way a person reaches it (a registered patient from the menu, an
enrolled doctor, an enrolled health worker), then given naughty strings: the answer is always
a reply in the person's language, a known step, and the person can get back to their menu.
(The pure flows' side of the same checks is tests/test_robustness.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import build_services
from bot.services.enrolment import add_health_worker
from bot.services.opds import load_demo
from flows.conversation import steps
from tests.conftest import BACKENDS
from tests.doctor_helpers import (
    ANSWERS,
    COMPLAINT,
    enrolled_doctor,
    registered,
    step_of,
)
from tests.helpers import LocalUser
from tests.test_robustness import LANGS, STEPS, _blns
from webhooks.webchat import ENROL_WORD

BOOK = [("choice", "book"), ("complaint", None)]
SELF = [*BOOK, ("choice", "self"), ("since_when", None)]
BOOKED = [*SELF, ("choice", "moderate"), ("choice", "book")]
PATIENT_PATHS: dict[str, list[tuple[str, str | None]]] = {
    "symptoms": BOOK[:1],
    "for_whom": BOOK,
    "dep_name": [*BOOK, ("choice", "child")],
    "dep_age": [*BOOK, ("choice", "child"), ("text", "Munni")],
    "dep_sex": [*BOOK, ("choice", "child"), ("text", "Munni"), ("text", "5")],
    "since_when": [*BOOK, ("choice", "self")],
    "severity": SELF,
    "opd_suggest": [*SELF, ("choice", "moderate")],
    "opd_pick": [*SELF, ("choice", "moderate"), ("choice", "other")],
    "token_menu": [*BOOKED, ("choice", "token")],
    "cancel_confirm": [*BOOKED, ("choice", "token"), ("choice", "cancel")],
    "move_pick": [*BOOKED, ("choice", "token"), ("choice", "move")],
    "erase_confirm": [("text", "delete my data")],
    "stop_confirm": [("text", "ruko")],
    "support_offer": [("choice", "book"), ("text", "I want to end my life")],
    "confirm": [("choice", "details")],
}
WORKER_PATH = [("choice", "book"), ("text", "98765 43210"), ("choice", "hi-Latn"), ("text", "Ramesh"), ("text", "40"), ("choice", "male"), ("text", "fever")]
WORKER_STEPS = ("hw_home", "hw_phone", "hw_language", "hw_name", "hw_age", "hw_sex", "hw_symptoms", "hw_opd")
# Steps only reached through time or other people's actions that this table does not stage
# (an OPD closed today; a patient with two tokens to pick from; a walk-in's phone call, asked only
# when the voice line places calls: tests/test_voice_line.py).
# The reminders' steps are reached only when a timer fires: their naughty strings are in tests/test_reminders_journey.py.
# The advisories' question is asked only where advisories are on (TELEOPD_ADVISORIES_PER_MONTH, off by
# default, as here): its naughty strings are in tests/test_broadcast_flow.py.
NOT_STAGED = {"offer", "cancel_pick", "hw_call_me", "reminder_answer", "missed_call_answer", "advisories_consent"}


def _naughty_pair(testdata: Path, n: int) -> list[str]:
    """Return a naughty string that differs by step, and one every step gets."""
    strings = _blns(testdata)
    return [strings[(n * 37) % len(strings)], "\x00अगला\u200d"]


def _walk(user, lang: str, path: list[tuple[str, str | None]]):  # type: ignore[no-untyped-def]
    answer = None
    for kind, value in path:
        if kind == "choice":
            answer = user.say(choice=value)
        elif kind == "complaint":
            answer = user.say(COMPLAINT[lang])
        elif kind == "since_when":
            answer = user.say(ANSWERS[lang]["since_when"])
        else:
            answer = user.say(value)
    return answer


def _replied_in(texts: list[str], lang: str) -> bool:
    devanagari = any("\u0900" <= ch <= "\u097f" for text in texts for ch in text)
    return bool(texts) and all(t.strip() for t in texts) and (devanagari if lang == "hi" else True)


# Both languages on SQLite; on PostgreSQL (which refuses NUL and checks encodings) the Hindi walk
# alone: both walks store the same naughty strings at the same steps, and the Hindi one adds
# Devanagari of its own. (Each walk on PostgreSQL took 30-45 s.)
@pytest.mark.parametrize(("db", "lang"), [
    pytest.param(backend, lang, id=f"{backend}-{lang}") for backend in BACKENDS for lang in LANGS if backend == "sqlite" or lang == "hi"
], indirect=["db"])
def test_naughty_strings_at_every_step_on_the_real_database(db, catalogs: Catalogs, testdata: Path, lang: str) -> None:
    # A script, not a person: far faster than the flood limit lets anyone type.
    services = build_services(Settings(database_url=db.url, inbound_per_minute=1000), db=db, catalogs=catalogs)
    with services.db.write() as session:
        load_demo(session)
        _, worker_code = add_health_worker(session, "Asha Kumari", "PHC Sarnath")
    reached: set[str] = {"menu", *STEPS}
    # The doctor's desk and a patient called, rated and offered a follow-up.
    doctor = enrolled_doctor(services, "doc", lang)
    for naughty in _naughty_pair(testdata, 99):
        patient = registered(services, f"called-{len(reached)}-{len(naughty)}", lang, "Kamla Devi")
        _walk(patient, lang, BOOKED)
        assert step_of(services, "doc") == "doctor_home"
        # "\x00अगला\u200d" is "अगला" once NUL and the joiner are dropped: it calls the patient.
        assert _replied_in(doctor.say(naughty).texts, lang) and step_of(services, "doc") in ("doctor_home", "consulting")
        if step_of(services, "doc") == "doctor_home":
            doctor.say("next" if lang == "en" else "अगला")
        assert step_of(services, "doc") == "consulting" and step_of(services, patient.user) == "called"
        for who in (doctor, patient):
            assert _replied_in(who.say(naughty).texts, lang), (who.user, naughty)
        assert step_of(services, "doc") == "consulting"
        if step_of(services, patient.user) == "called":
            patient.say("1")  # joining
        doctor.say(choice="done")
        patient.receive()
        assert step_of(services, patient.user) == "rating"
        assert _replied_in(patient.say(naughty).texts, lang)
        patient.say("5")
        assert step_of(services, patient.user) == "followup_offer"
        assert _replied_in(patient.say(naughty).texts, lang)
        reached |= {"doctor_home", "consulting", "called", "rating", "followup_offer"}
        patient.say("menu" if lang == "en" else "मेनू")
    n = 0
    for step, path in PATIENT_PATHS.items():
        patient = None
        for i, naughty in enumerate(_naughty_pair(testdata, n := n + 1)):
            # A path that books starts from a new patient each time (a second token changes the
            # way); the others go back to the menu and walk the same way again.
            if patient is None or path[:len(BOOKED)] == BOOKED:
                patient = registered(services, f"p{n}-{i}-{step}", lang, "Sunita Devi")
            _walk(patient, lang, path)
            assert step_of(services, patient.user) == step, (step, patient.seen[-3:])
            reached.add(step)
            said = patient.say(naughty)
            assert _replied_in(said.texts, lang), (step, naughty, said.texts)
            assert step_of(services, patient.user) in steps()
            assert patient.say("menu" if lang == "en" else "मेनू").texts
            assert step_of(services, patient.user) == "menu", (step, naughty)
    # The health worker's walk-in booking, step by step.
    worker = registered(services, "worker", lang, "Asha Kumari")
    worker.say(f"enroll {worker_code}")
    for depth, step in enumerate(WORKER_STEPS):
        for naughty in _naughty_pair(testdata, 200 + depth):
            worker.say("menu")
            _walk(worker, lang, WORKER_PATH[:depth])
            assert step_of(services, "worker") == step, (step, worker.seen[-3:])
            assert _replied_in(worker.say(naughty).texts, lang), (step, naughty)
            assert step_of(services, "worker") in WORKER_STEPS
            reached.add(step)
    # A doctor's tab of the web chat, asked for its code again after a wrong one.
    tab = LocalUser(services, f"tab-{lang}.doctor", opened_as="doctor")
    tab.say(f"{ENROL_WORD[lang]} WRONG234")
    for naughty in _naughty_pair(testdata, 300):
        assert step_of(services, tab.user) == "enrol_code"
        reached.add("enrol_code")
        said = tab.say(naughty)
        assert _replied_in(said.texts, lang), (naughty, said.texts)
        assert step_of(services, tab.user) in steps()
    assert set(steps()) - reached == NOT_STAGED
