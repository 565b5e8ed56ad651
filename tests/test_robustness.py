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
from flows.understanding.redflags import detect
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
