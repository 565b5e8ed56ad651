"""Every choice of every step accepts its own label's words: typed in English, in Devanagari
and in romanised Hindi, in full or by the word that heads the label ("गंभीर", "gambhir").

Choices are resolved in one place (flows.engine.resolve_choice); these tests stage every step
the conversation knows with in-memory ports, take the choices it offers and type each label
back, in both languages.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.platform.i18n import Catalogs
from flows.conversation import steps
from flows.engine import Inbound, State, Turn, resolve_choice
from flows.messages import ByLanguage, Choice, Text
from flows.ports import DoctorState, Ports
from flows.steps import visit
from flows.understanding.text import fold
from tests.helpers import (
    FAKE_OPDS,
    IN_MEMORY_NOW,
    FakeBookings,
    FakeDesk,
    FakePatients,
    FlowChat,
    consultation_view,
    registered_chat,
    registered_profile,
)

LANGS = ("en", "hi", "hi-Latn")

# What each step needs in the conversation data to be asked with its choices (a list: each way it is asked).
STAGED_DATA = {
    "opd_suggest": [{"opd": 1}, {"opd": 1, "opd_later": 3, "red_flags": ["pregnancy_danger"]}],
    "offer": {"offer": {"opd": 2, "day": "2026-11-26", "starts_at": "2026-11-26T03:30:00+00:00", "why": "closed"}},
    "cancel_confirm": {"token": 1},
    "move_pick": {"token": 1},
    "called": {"consultation": 7},
    "rating": {"consultation": 7},
    "followup_offer": {"consultation": 7},
}

# How people write each label in Latin letters when they write Hindi, keyed by the English label.
ROMANISED: dict[str, tuple[str, ...]] = {
    "English": ("angrezi",),
    "हिन्दी": ("hindi",),
    "Hinglish: Hindi in English letters": ("hinglish", "roman hindi", "english akshar"),
    "Hindi in English letters, for phones without Hindi": ("hinglish", "roman hindi", "english akshar"),
    "I agree": ("main sahmat hoon", "mai sahmat hu"),
    "No, I do not agree": ("nahi main sahmat nahi hoon",),
    "Female": ("mahila",),
    "Male": ("purush",),
    "Other": ("anya",),
    "Skip": ("chhodein", "chhoden"),
    "Yes, correct": ("haan sahi hai", "haan sahi"),
    "Yes, send me advisories": ("haan salaah bhejein", "haan salah bhejo"),
    "Change name": ("naam badlen", "naam badle"),
    "Change age": ("umar badlen", "umr badle"),
    "Change sex": ("ling badlen",),
    "Change state": ("rajya badlen", "rajy badle"),
    "Change district": ("zila badlen", "jila badle"),
    "Change mobile number": ("mobile number badlen",),
    "See a doctor": ("doctor se salah len", "doctor se salah lein"),
    "My token": ("mera token",),
    "My details": ("meri jankari", "meri jaankari"),
    "Change language": ("bhasha badlen",),
    "Help": ("madad",),
    "Myself": ("main khud",),
    "My child": ("mera bachcha",),
    "Another family member": ("parivar ka koi aur sadasya",),
    "Mild: can do daily work": ("halki", "halki hai"),
    "Moderate: daily work is hard": ("madhyam",),
    "Severe: cannot do daily work": ("gambhir", "gambheer"),
    "Yes, book a token": ("haan token book karen", "haan token book karein"),
    "Choose another OPD": ("dusri opd chunen", "doosri opd chunein"),
    "General Medicine (24 hours)": ("samanya chikitsa 24 ghante",),
    "Paediatrics": ("baal rog", "bal rog"),
    "Obstetrics & Gynaecology": ("stri evam prasuti rog",),
    "Dermatology": ("tvacha rog", "twacha rog"),
    "Psychiatry (Mental Health)": ("manorog",),
    "Yes, book for then": ("haan us samay ke liye book karen",),
    "No, not now": ("nahi abhi nahi",),
    "None, keep them": ("koi nahi sab rehne den",),
    "Yes, cancel it": ("haan radd karen",),
    "No, keep it": ("nahi rehne den",),
    "Move to another day": ("dusra din chunen",),
    "Cancel the token": ("token radd karen",),
    "Back to the menu": ("menu par wapas", "menu par vapas"),
    "I am joining": ("main taiyar hoon", "main tayyar hu"),
    "I cannot come now": ("abhi nahi ho payega", "abhi nahi ho paega"),
    "Yes, book a follow-up": ("haan dobara dikhana hai",),
    "Cancel my token": ("mera token radd karen", "token cancel karo"),
    "I will come": ("zaroor aayenge", "main aaunga"),
    "No, thank you": ("nahi dhanyavad", "nahi dhanyawaad"),
    "Yes, phone them": ("haan phone karen", "haan phone karein"),
    "No, SMS is enough": ("nahi sms kaafi hai", "nahi sms kafi hai"),
    "Call the next patient": ("agle mareez ko bulayen", "agle mariz ko bulaen"),
    "Pause": ("break",),
    "Go off duty": ("duty khatam karen", "duty khatm karein"),
    "Mute pings": ("ping band karen", "ping band karein"),
    "Unmute pings": ("ping chalu karen", "ping chalu karein"),
    "Done": ("ho gaya",),
    "Refer": ("refer karen",),
    "Patient did not join": ("mareez nahi jude",),
    "Book a token for a patient": ("mareez ke liye token book karen",),
    "Yes, delete my data": ("haan mera data hatayen", "haan mera data hataen"),
    "No, keep the messages": ("nahi sandesh aate rahen",),
    "Yes, please": ("haan zaroor", "haan jaroor"),
    "Not now": ("abhi nahi",),
    "Yes, book now": ("haan abhi book karen", "abhi book karo"),
    "Book Obstetrics & Gynaecology on 26 November 2026 at 9:00 am": ("stri evam prasuti rog", "baad mein"),
    "Yes, stop all messages": ("haan sare sandesh band karen", "haan saare sandesh band karein"),
    "No, keep my data": ("nahi mera data rehne den",),
}
# Labels whose Latin spelling is their English one: dates, stars, a patient's token list.
NOT_ROMANISED = re.compile(r"^(?:\d{1,2} \w+ \d{4}|★+|Token \d+, .*)$")


def staged_ports(catalogs: Catalogs, step: str) -> Ports:
    """Return ports under which a step offers all its choices."""
    bookings = FakeBookings()
    bookings.tokens.append(bookings.token(FAKE_OPDS[0], 1, IN_MEMORY_NOW))
    bookings.tokens.append(bookings.token(FAKE_OPDS[3], 1, IN_MEMORY_NOW + dt.timedelta(days=1)))
    desk = FakeDesk(status=DoctorState.FREE)
    if step == "consulting":
        desk.consultation = consultation_view()
    return Ports(patients=FakePatients(registered_profile()), labels=catalogs, bookings=bookings, desk=desk)


def offered(catalogs: Catalogs) -> list[tuple[str, tuple[Choice, ...]]]:
    """Return every step with the choices it offers."""
    found = []
    for name, step in steps().items():
        staged = STAGED_DATA.get(name, {})
        for data in staged if isinstance(staged, list) else [staged]:
            turn = Turn(State(step=name, language="en", data=dict(data)), Inbound(), staged_ports(catalogs, name), steps())
            choices = step.ask(turn).choices
            if choices:
                found.append((name, choices))
    return found


def label_text(catalogs: Catalogs, label: Text | ByLanguage | dt.date, lang: str) -> str:
    return catalogs.format_value(label, lang)


def head(label: str) -> str:
    """Return the words a label starts with, up to its first colon or comma ("गंभीर", "Yes")."""
    return re.split(r"[:,(]", label, maxsplit=1)[0].strip()


def chooses(catalogs: Catalogs, typed: str, choices: tuple[Choice, ...]) -> str | None:
    return resolve_choice(Inbound(text=typed), fold(typed), choices, catalogs)


def test_the_steps_are_staged_with_their_choices(catalogs: Catalogs) -> None:
    names = {name for name, _ in offered(catalogs)}
    assert {"consent", "confirm", "severity", "opd_suggest", "offer", "called", "doctor_home", "erase_confirm"} <= names


@pytest.mark.parametrize("lang", LANGS)
def test_every_label_typed_in_full_or_by_its_head_chooses_it(catalogs: Catalogs, lang: str) -> None:
    wrong = []
    for step, choices in offered(catalogs):
        labels = {c.key: label_text(catalogs, c.label, lang) for c in choices}
        heads = [fold(head(label)) for label in labels.values()]
        for choice in choices:
            typed = [labels[choice.key]]
            # A head two labels share ("Yes" of "Yes, book now" and "Yes, book later") is not a label's own.
            if heads.count(fold(head(labels[choice.key]))) == 1:
                typed.append(head(labels[choice.key]))
            for words in typed:
                got = chooses(catalogs, words, choices)
                if got != choice.key:
                    wrong.append(f"{step}: {words!r} chose {got!r}, not {choice.key!r}")
    assert not wrong, "\n".join(wrong)


def test_every_hindi_label_typed_in_latin_letters_chooses_it(catalogs: Catalogs) -> None:
    wrong, missing = [], []
    for step, choices in offered(catalogs):
        for choice in choices:
            english = label_text(catalogs, choice.label, "en")
            if NOT_ROMANISED.match(english):
                continue
            if english not in ROMANISED:
                missing.append(f"{step}: {english!r}")
                continue
            for words in ROMANISED[english]:
                got = chooses(catalogs, words, choices)
                if got != choice.key:
                    wrong.append(f"{step}: {words!r} chose {got!r}, not {choice.key!r}")
    assert not missing, "add how the label is written in Latin letters to ROMANISED:\n" + "\n".join(missing)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("typed", "chosen"),
    [
        ("गंभीर", "severe"), ("gambhir", "severe"), ("gambir", "severe"), ("zyada hai", "severe"), ("ज़्यादा है", "severe"),
        ("हल्की", "mild"), ("halki hai", "mild"), ("मध्यम है", "moderate"), ("Severe", "severe"),
    ],
)
def test_the_severity_question_takes_its_options_own_words(catalogs: Catalogs, lang: str, typed: str, chosen: str) -> None:
    chat = registered_chat(catalogs, lang)
    chat.send("fever since 2 days")
    chat.send("1")
    assert chat.state.step == "severity"
    chat.send(typed)
    assert chat.state.data["intake"].get("severity") == chosen, chat.last_texts
    assert chat.state.step != "severity"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("typed", ["haan sahi hai", "हाँ, सही है", "haan, sahi h", "Yes, correct", "सही है"])
def test_the_confirmation_takes_its_options_own_words(catalogs: Catalogs, lang: str, typed: str) -> None:
    chat = registered_chat(catalogs, lang)
    chat.patients.saved = None
    chat.state = State(
        step="confirm", language=lang,
        data={"name": "Sunita Devi", "age": 34, "sex": "female", "state": "IN-UP", "district": "Varanasi", "phone": None,
              "consent_at": IN_MEMORY_NOW.isoformat()},
    )
    chat.send(typed)
    assert chat.patients.saved is not None and chat.state.step == "menu", chat.last_texts


@pytest.mark.parametrize("lang", LANGS)
def test_a_word_two_options_share_chooses_neither(catalogs: Catalogs, lang: str) -> None:
    """"Change" heads six labels of the confirmation screen: it asks again rather than guess."""
    choices = dict(offered(catalogs))["confirm"]
    assert chooses(catalogs, "change", choices) is None
    assert chooses(catalogs, "बदलें", choices) is None


BUTTON_WORDS = re.compile(r"\b(?:buttons?|tap|press)\b|बटन|दबाएँ", re.IGNORECASE)
STAFF_STEPS = {"doctor_home": "doctor", "consulting": "doctor"}


@pytest.mark.parametrize("lang", LANGS)
def test_no_step_asks_for_a_button_the_terminal_does_not_have(catalogs: Catalogs, lang: str) -> None:
    """The terminal chat and SMS show numbered choices: a reply that does not fit says to send the number or the words."""
    said = []
    for name in steps():
        ports = staged_ports(catalogs, name)
        role = STAFF_STEPS.get(name) or ("health_worker" if name.startswith("hw_") else "patient")
        staged = STAGED_DATA.get(name, {})
        chat = FlowChat(
            catalogs, lang, State(step=name, language=lang, data=dict(staged[-1] if isinstance(staged, list) else staged)),
            patients=ports.patients, bookings=ports.bookings, desk=ports.desk, role=role,
        )
        said += [(name, text) for text in chat.send("qqq zzz")]
    said += [("push", catalogs.translate(reply.text, lang)) for reply in (visit.doctor_ready(7, "Anita Sharma", "https://meet.example/x"), visit.reminder(7, "Anita Sharma", "https://meet.example/x"))]
    mentions = [f"{step}: {text!r}" for step, text in said if BUTTON_WORDS.search(text)]
    assert not mentions, "\n".join(mentions)
