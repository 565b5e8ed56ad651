"""Hostile and odd input at every onboarding step: the bot never fails, always answers, and the
user can always finish.

Most of it drives flows.conversation.handle directly — the functional core the dispatcher
runs — with a tiny in-memory Patients port and the real catalogs, so the whole Big List of
Naughty Strings fits at every step in a few seconds. A sample goes through the real web API
and database as well.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import webhooks
from bot.platform.i18n import Catalogs
from bot.store.models import (
    Conversation,
    Identity,
    OutboxMessage,
    OutboxStatus,
    Patient,
)
from flows.conversation import steps
from flows.understanding.redflags import detect
from tests.conftest import BACKENDS
from tests.helpers import FlowChat

LANGS = ("en", "hi")
# The steps a user passes through, in order, and the answer that gets them past each one.
STEPS = ("language", "consent", "name", "age", "sex", "state", "district", "phone", "confirm", "menu")
ANSWER = {
    "language": None,  # "1" or "2": the language being tested
    "consent": "1",
    "name": "Sunita Devi",
    "age": "34",
    "sex": "1",
    "state": "Uttar Pradesh",
    "district": "Varanasi",
    "phone": "98765 43210",
    "confirm": "1",
    # Random text can spell "delete my data" ("मेरा?डेटा?हटाएँ" did): "2", keep it, and go on.
    "erase_confirm": "2",
}
# Any later step (booking, tokens) is left with the global MENU command, which brings a
# registered user back to the main menu from anywhere.
AFTER_REGISTRATION = "menu"


class Chat(FlowChat):
    """A conversation on the pure flows that can answer its way through onboarding."""

    def answer_current(self) -> None:
        """Give the current step the answer that moves it on."""
        if self.state.opted_out:
            self.send("START")
        elif self.state.step == "language":
            self.send("1" if self.lang == "en" else "2")
        else:
            self.send(ANSWER.get(self.state.step or "language", AFTER_REGISTRATION))

    def finish(self) -> None:
        """Answer until registered and at the menu; fail if that does not happen soon."""
        for _ in range(25):
            if self.state.step == "menu" and not self.state.opted_out and self.patients.saved is not None:
                return
            self.answer_current()
        raise AssertionError(f"could not finish onboarding: stuck at {self.state.step}, last replies {self.last_texts!r}")


def _chat_at(catalogs: Catalogs, lang: str, step: str) -> Chat:
    chat = Chat(catalogs, lang)
    chat.send("hello")
    while chat.state.step != step:
        chat.answer_current()
    return chat


@pytest.fixture(scope="module")
def at_step(catalogs: Catalogs) -> dict[tuple[str, str], Chat]:
    """Return a conversation waiting at each step, in each language (copy before use)."""
    return {(lang, step): _chat_at(catalogs, lang, step) for lang in LANGS for step in STEPS}


def _fresh(at_step: dict[tuple[str, str], Chat], lang: str, step: str) -> Chat:
    chat = at_step[(lang, step)]
    clone = Chat(chat.catalogs, lang)
    clone.state, clone.patients = copy.deepcopy(chat.state), copy.deepcopy(chat.patients)
    return clone


def _blns(testdata: Path) -> list[str]:
    strings = json.loads((testdata / "robustness" / "blns.json").read_text(encoding="utf-8"))
    assert isinstance(strings, list) and len(strings) > 500 and all(isinstance(s, str) for s in strings)
    return strings


# --- the Big List of Naughty Strings at every step -----------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("step", STEPS)
def test_every_naughty_string_at_every_step(testdata: Path, at_step, lang: str, step: str) -> None:
    failures: list[str] = []
    for index, naughty in enumerate(_blns(testdata)):
        chat = _fresh(at_step, lang, step)
        try:
            chat.send(naughty)
            chat.finish()
            assert chat.state.step == "menu" and chat.patients.saved is not None
        except Exception as exc:  # collect them all, so one run shows every bad string
            failures.append(f"#{index} {naughty!r}: {type(exc).__name__}: {exc}")
    assert not failures, f"{len(failures)} naughty strings failed at {step} ({lang}):\n" + "\n".join(failures[:20])


def _sample(testdata: Path) -> list[tuple[int, str]]:
    """Every 10th naughty string."""
    return list(enumerate(_blns(testdata)))[::10]


@pytest.mark.parametrize("step", STEPS)
def test_naughty_strings_through_the_web_api(services, testdata: Path, step: str) -> None:
    """A sample of the list through HTTP, the dispatcher, the outbox and the real database."""
    client = webhooks.create_app(services, local_demo=True).test_client()
    position = STEPS.index(step)
    # Each step gets its own slice of the sample, so the whole sample is covered once.
    sample = [(i, s) for n, (i, s) in enumerate(_sample(testdata)) if n % len(STEPS) == position]
    assert sample

    def current_step(user: str) -> tuple[str | None, bool]:
        with services.db.read() as session:
            row = session.execute(
                select(Conversation.step, Identity.opted_out).join(Identity, Identity.id == Conversation.identity_id).where(Identity.address == user)
            ).one()
        return row[0], row[1]

    def post(user: str, text: str) -> list[dict[str, Any]]:
        response = client.post(f"/api/chat/{user}/messages", json={"text": text})
        assert response.status_code == 202, (text, response.status_code, response.get_data(as_text=True))
        services.worker.drain()
        return client.get(f"/api/chat/{user}/messages", query_string={"after": cursors.get(user, "")}).get_json()

    cursors: dict[str, str] = {}

    def say(user: str, text: str) -> list[dict[str, Any]]:
        body = post(user, text)
        cursors[user] = body["cursor"]
        return body["messages"]

    def answer_current(user: str) -> None:
        now, opted_out = current_step(user)
        say(user, "START" if opted_out else ("1" if now == "language" else ANSWER.get(now or "language", AFTER_REGISTRATION)))

    for index, naughty in sample:
        user = f"blns-{step}-{index}"
        say(user, "hello")
        for _ in range(15):
            if current_step(user)[0] == step:
                break
            answer_current(user)
        assert current_step(user)[0] == step
        shown = say(user, naughty)
        assert shown, f"no reply to #{index} {naughty!r} at {step}"
        assert all(m["text"] for m in shown)
        for _ in range(25):
            now, opted_out = current_step(user)
            with services.db.read() as session:
                registered = session.scalars(
                    select(Patient.person_id).join(Identity, Identity.person_id == Patient.person_id).where(Identity.address == user)
                ).first()
            if now == "menu" and not opted_out and registered is not None:
                break
            answer_current(user)
        else:
            raise AssertionError(f"#{index} {naughty!r} at {step}: could not finish onboarding")
    with services.db.read() as session:
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert statuses == {OutboxStatus.SENT}, "every reply was rendered and shown"


# --- Devanagari edge cases as names, districts and states ----------------------------------


def _edge_texts(testdata: Path) -> Iterator[tuple[str, str]]:
    """Yield (label, text) for every text in the generated Devanagari edge cases."""
    data = json.loads((testdata / "robustness" / "generated" / "devanagari_edge_cases.json").read_text(encoding="utf-8"))
    for n, case in enumerate(data["cases"]):
        group = case["group"]
        if "text" in case:
            yield f"{group}#{n} {case.get('label', '')}", case["text"]
        for form in ("precomposed", "decomposed"):
            if form in case:
                yield f"{group}#{n} {form}", case[form]["text"]
        for m, item in enumerate(case.get("items", ())):
            yield f"{group}#{n}.{m}", item["text"]


def _nukta_pairs(testdata: Path) -> list[tuple[str, str]]:
    data = json.loads((testdata / "robustness" / "generated" / "devanagari_edge_cases.json").read_text(encoding="utf-8"))
    pairs = [
        (c["precomposed"]["text"], c["decomposed"]["text"]) for c in data["cases"] if c["group"] == "nukta_precomposed_vs_decomposed"
    ]
    assert len(pairs) == 8  # U+0958–U+095F
    return pairs


def _display_form(text: str) -> str:
    """What a kept answer should look like: NFC, invisible format characters other than ZWJ/ZWNJ gone, spaces collapsed."""
    nfc = unicodedata.normalize("NFC", text)
    kept = "".join(ch for ch in nfc if unicodedata.category(ch) != "Cf" or ch in "\u200c\u200d")
    return " ".join(kept.split())


def _has_letter(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("L") for ch in text)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("field", "limit"), [pytest.param("name", 80, id="name"), pytest.param("district", 60, id="district")])
def test_devanagari_edge_cases_are_kept_nfc_as_names_and_districts(testdata: Path, at_step, lang: str, field: str, limit: int) -> None:
    cases = list(_edge_texts(testdata))
    assert len(cases) > 40
    for label, text in cases:
        chat = _fresh(at_step, lang, field)
        chat.send(text)
        expected = _display_form(text)
        if detect(text):
            # Danger signs ("छाती में दर्द") get the emergency advice and are no answer to
            # "What is your name?": the question comes again.
            assert field not in chat.state.data and chat.state.step == field, (label, chat.last_texts)
            assert "108" in chat.last_texts[0], (label, chat.last_texts)
            continue
        if _has_letter(expected) and len(expected) <= limit:
            assert chat.state.data.get(field) == expected, (label, text, chat.state.data.get(field))
            assert unicodedata.is_normalized("NFC", chat.state.data[field])
            assert chat.state.step != field, label
        else:
            assert field not in chat.state.data, label
            assert chat.state.step == field, (label, chat.last_texts)
        chat.finish()
        if _has_letter(expected) and len(expected) <= limit:
            saved = chat.patients.saved
            assert saved is not None and getattr(saved, field) == expected


@pytest.mark.parametrize("lang", LANGS)
def test_precomposed_and_decomposed_nukta_are_the_same_name(testdata: Path, at_step, lang: str) -> None:
    for precomposed, decomposed in _nukta_pairs(testdata):
        kept = []
        for spelling in (precomposed, decomposed):
            chat = _fresh(at_step, lang, "name")
            chat.send(f"र{spelling}िया")
            kept.append(chat.state.data["name"])
        assert kept[0] == kept[1] == unicodedata.normalize("NFC", f"र{decomposed}िया")


# State names (and aliases) in states.csv that contain a nukta letter, with the state they name.
NUKTA_STATES = [
    pytest.param("चंडीगढ़", "IN-CH", id="chandigarh"),
    pytest.param("छत्तीसगढ़", "IN-CG", id="chhattisgarh"),
    pytest.param("मिज़ोरम", "IN-MZ", id="mizoram"),
    pytest.param("गुज़रात", "IN-GJ", id="gujarat-alias"),
    pytest.param("लद्दाख़", "IN-LA", id="ladakh-alias"),
    pytest.param("उड़ीसा", "IN-OD", id="odisha-alias"),
    pytest.param("छत्तीसगड़", "IN-CG", id="chhattisgarh-alias"),
    pytest.param("मैं छत्तीसगढ़ से हूँ", "IN-CG", id="in-a-sentence"),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("name", "code"), NUKTA_STATES)
def test_precomposed_and_decomposed_nukta_spellings_match_the_same_state(testdata: Path, at_step, lang: str, name: str, code: str) -> None:
    pairs = _nukta_pairs(testdata)
    decomposed = unicodedata.normalize("NFC", name)  # NFC decomposes the nukta letters
    precomposed = decomposed
    for pre, dec in pairs:
        precomposed = precomposed.replace(dec, pre)
    assert precomposed != decomposed, "the name must contain a nukta letter"
    assert any("\u0958" <= ch <= "\u095f" for ch in precomposed) and "\u093c" in decomposed
    for spelling in (precomposed, decomposed, "\ufeff" + precomposed + "\u200b"):
        chat = _fresh(at_step, lang, "state")
        chat.send(spelling)
        assert chat.state.data.get("state") == code, (spelling, chat.last_texts)
        assert chat.state.step == "district"


@pytest.mark.parametrize("lang", LANGS)
def test_devanagari_edge_cases_as_states_never_break_the_step(testdata: Path, at_step, lang: str) -> None:
    for label, text in _edge_texts(testdata):
        chat = _fresh(at_step, lang, "state")
        chat.send(text)
        assert chat.state.step in ("state", "district"), label
        if chat.state.step == "state":
            assert chat.last_texts[-1].startswith("Which state" if lang == "en" else "आप किस राज्य"), (label, chat.last_texts)
        chat.finish()


# --- property-based: any text at any step --------------------------------------------------

DEVANAGARI = st.one_of(
    st.characters(min_codepoint=0x0900, max_codepoint=0x097F),
    st.characters(min_codepoint=0xA8E0, max_codepoint=0xA8FF),
    st.sampled_from(" \u200c\u200d\u00a0।0123456789?.,-"),
)
ANY_STEP = st.sampled_from(STEPS)
ANY_LANG = st.sampled_from(LANGS)
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_any_text(at_step, lang: str, step: str, text: str) -> None:
    chat = _fresh(at_step, lang, step)
    chat.send(text)  # Chat.send asserts: no exception, a reply, a known step, renders in both languages
    chat.finish()


@PROPERTY
@given(text=st.text(), step=ANY_STEP, lang=ANY_LANG)
def test_any_text_at_any_step(at_step, text: str, step: str, lang: str) -> None:
    _check_any_text(at_step, lang, step, text)


@PROPERTY
@given(text=st.text(alphabet=DEVANAGARI, max_size=60), step=ANY_STEP, lang=ANY_LANG)
def test_any_devanagari_at_any_step(at_step, text: str, step: str, lang: str) -> None:
    _check_any_text(at_step, lang, step, text)


@PROPERTY
@given(raw=st.binary(max_size=200), step=ANY_STEP, lang=ANY_LANG)
def test_any_bytes_decoded_at_any_step(at_step, raw: bytes, step: str, lang: str) -> None:
    _check_any_text(at_step, lang, step, raw.decode("utf-8", errors="replace"))


@PROPERTY
@given(choice=st.text(max_size=70), step=ANY_STEP, lang=ANY_LANG)
def test_any_choice_key_at_any_step(at_step, choice: str, step: str, lang: str) -> None:
    chat = _fresh(at_step, lang, step)
    chat.send(choice=choice)
    chat.finish()


# --- every step the conversation knows, on the real database -------------------------------
#
# Each step is reached the way a person reaches it (a registered patient from the menu, an
# enrolled doctor, an enrolled health worker), then given naughty strings: the answer is always
# a reply in the person's language, a known step, and the person can get back to their menu.

from bot.platform.config import Settings  # noqa: E402
from bot.runtime import build_services  # noqa: E402
from bot.services.enrolment import add_health_worker  # noqa: E402
from bot.services.opds import load_demo  # noqa: E402
from tests.helpers import LocalUser  # noqa: E402
from tests.test_doctor_flow import (  # noqa: E402
    ANSWERS,
    COMPLAINT,
    enrolled_doctor,
    registered,
    step_of,
)
from webhooks.webchat import ENROL_WORD  # noqa: E402

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
WORKER_PATH = [("choice", "book"), ("text", "98765 43210"), ("text", "Ramesh"), ("text", "40"), ("choice", "male"), ("text", "fever")]
WORKER_STEPS = ("hw_home", "hw_phone", "hw_name", "hw_age", "hw_sex", "hw_symptoms", "hw_opd")
# Steps only reached through time or other people's actions that this table does not stage
# (an OPD closed today; a patient with two tokens to pick from).
NOT_STAGED = {"offer", "cancel_pick"}


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
        for i, naughty in enumerate(_naughty_pair(testdata, n := n + 1)):
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
