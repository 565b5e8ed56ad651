"""Health advisories in the flows: their own consent question, asked once, and the words that stop and start them.

Pure flows with the in-memory ports, in English, Hindi and romanised Hindi: a patient who has
just registered, or a registered one back at the menu, is asked once; yes and no are kept, and
an answer that is neither is the menu's; "NO ADVISORIES" / "सलाह बंद" / "salaah band" stops
them at any step and "ADVISORIES" / "सलाह शुरू" / "salaah shuru" starts them; a turn with
emergency advice never asks. The database side is tests/test_broadcast_sending.py.
"""

from __future__ import annotations

import pytest

from bot.platform.i18n import Catalogs
from flows.conversation import steps
from flows.engine import LANGUAGES, State
from flows.messages import ByLanguage
from flows.ports import AdvisoryConsent
from flows.steps import advisories
from flows.steps.onboarding import profile_to_data
from tests.helpers import (
    FakeBookings,
    FakePatients,
    FlowChat,
    registered_chat,
    registered_profile,
    rendered_in_every_language,
)

YES = {"en": "yes", "hi": "हाँ", "hi-Latn": "haan"}
NO = {"en": "no", "hi": "नहीं", "hi-Latn": "nahi"}
STOP_ADVISORIES = {"en": "no advisories", "hi": "सलाह बंद", "hi-Latn": "salaah band"}
START_ADVISORIES = {"en": "advisories", "hi": "सलाह शुरू", "hi-Latn": "salaah shuru"}
# What the question says in each language: advisories, and how many a month at most.
SAYS = {"en": "advisories", "hi": "सलाह", "hi-Latn": "salaah"}


class FakeAdvisories:
    """The Advisories port in memory: one patient's answer (registered when the patients port has a profile)."""

    per_month = 4

    def __init__(self, patients: FakePatients, asked: bool = False, opted_in: bool = False):
        self.patients = patients
        self.asked = asked
        self.opted_in = opted_in

    def consent(self) -> AdvisoryConsent | None:
        return AdvisoryConsent(self.asked, self.opted_in) if self.patients.profile() is not None else None

    def mark_asked(self) -> None:
        self.asked = True

    def opt_in(self) -> None:
        self.opted_in = True

    def opt_out(self) -> None:
        self.opted_in = False


def at_menu(catalogs: Catalogs, lang: str, **consent: bool) -> tuple[FlowChat, FakeAdvisories]:
    chat = registered_chat(catalogs, lang)
    port = FakeAdvisories(chat.patients, **consent)
    chat.ports["advisories"] = port
    return chat, port


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_new_patient_is_asked_right_after_registering_and_a_yes_is_kept(catalogs: Catalogs, lang: str) -> None:
    patients = FakePatients()
    port = FakeAdvisories(patients)
    chat = FlowChat(
        catalogs, lang, State(step="confirm", language=lang, data=profile_to_data(registered_profile())),
        patients=patients, bookings=FakeBookings(), advisories=port,
    )
    texts = chat.send("1")  # "Yes, correct": registered
    assert chat.state.step == advisories.QUESTION and port.asked and not port.opted_in
    assert SAYS[lang] in texts[-1].lower() and "4" in texts[-1]
    assert chat.last_choices == ["yes", "no"]
    chat.send(YES[lang])
    assert port.opted_in and chat.state.step == "menu"
    chat.send("menu")
    assert chat.state.step == "menu"  # asked once


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_registered_patient_is_asked_at_the_next_menu_and_a_no_is_kept(catalogs: Catalogs, lang: str) -> None:
    chat, port = at_menu(catalogs, lang)
    chat.send("menu")
    assert chat.state.step == advisories.QUESTION
    chat.send(NO[lang])
    assert port.asked and not port.opted_in and chat.state.step == "menu"
    chat.send("menu")
    assert chat.state.step == "menu"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_answer_that_is_neither_goes_to_the_menu_and_the_question_is_not_asked_again(catalogs: Catalogs, lang: str) -> None:
    chat, port = at_menu(catalogs, lang)
    chat.send("menu")
    chat.send({"en": "my token", "hi": "मेरा टोकन", "hi-Latn": "mera token"}[lang])
    assert port.asked and not port.opted_in
    assert chat.state.step != advisories.QUESTION  # answered as the menu answers it


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_words_stop_and_start_advisories_at_any_step(catalogs: Catalogs, lang: str) -> None:
    chat, port = at_menu(catalogs, lang, asked=True, opted_in=True)
    chat.send(STOP_ADVISORIES[lang])
    assert not port.opted_in and chat.state.step == "menu"
    assert not chat.state.opted_out  # other messages go on
    chat.send(START_ADVISORIES[lang])
    assert port.opted_in and chat.state.step == "menu"
    # At the question itself, the word answers it.
    chat, port = at_menu(catalogs, lang)
    chat.send("menu")
    chat.send(STOP_ADVISORIES[lang])
    assert port.asked and not port.opted_in and chat.state.step == "menu"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_question_during_a_booking_with_danger_signs_nor_after_stop(catalogs: Catalogs, lang: str) -> None:
    chat, port = at_menu(catalogs, lang)
    chat.send({"en": "chest pain", "hi": "सीने में दर्द", "hi-Latn": "seene mein dard"}[lang])
    assert not port.asked  # the emergency's advice comes alone
    chat.send("STOP")
    assert chat.state.opted_out
    chat.send("menu")
    assert not port.asked and chat.state.step != advisories.QUESTION
    # An advisory is a push: the worker suppresses it for anyone who sent STOP (bot/outbox/worker.py).
    assert advisories.advisory(template="heat_wave").kind == "push"


def test_without_the_advisories_port_nobody_is_asked(catalogs: Catalogs) -> None:
    chat = registered_chat(catalogs, "en")
    chat.send("menu")
    assert chat.state.step == "menu"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_advisory_reads_in_each_language_with_how_to_stop_it(catalogs: Catalogs, lang: str) -> None:
    own = advisories.advisory(ByLanguage(en="Polio drops on Sunday.", hi="रविवार को पोलियो की दवा।", latn="Ravivar ko polio ki dawa."))
    text = rendered_in_every_language(catalogs, own)[lang]
    assert {"en": "Polio drops on Sunday.", "hi": "रविवार को पोलियो की दवा।", "hi-Latn": "Ravivar ko polio ki dawa."}[lang] in text
    assert STOP_ADVISORIES[lang].lower() in text.lower()
    template = rendered_in_every_language(catalogs, advisories.advisory(template="heat_wave"))[lang]
    assert "108" in template and STOP_ADVISORIES[lang].lower() in template.lower()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_naughty_strings_at_the_advisories_question_always_get_an_answer(catalogs: Catalogs, testdata, lang: str) -> None:  # type: ignore[no-untyped-def]
    """Every 25th string of the Big List of Naughty Strings at the question: a reply, a known step, never a crash."""
    from tests.test_robustness import _blns

    for text in _blns(testdata)[::25]:
        chat, port = at_menu(catalogs, lang)
        chat.state = State(step=advisories.QUESTION, language=lang)
        assert chat.send(text), text  # FlowChat checks the reply renders in every language and the data is storable
        assert chat.state.step in steps(), (text, chat.state.step)
        assert not port.opted_in or port.asked, text  # nothing but an answer opts in
