"""The doctor's side through the real dispatcher, in English and Hindi: enrolment, a whole
consultation, priority, no answer (reminder, then no-show), "get ready", bad input, and a
scripted day through the web chat API.

Each person chooses their language at the start, as a real user does ("hello" → "English",
"नमस्ते" → "हिंदी"); doctors enrol with the one-time code `add_doctor` prints. Every
message a test checks is read back from the outbox as the channel shows it, and every
consultation is checked in the shared log (models.Consultation).

Tests run at the real current time on the demo's round-the-clock OPD (GEN24); timers run
on a clock the test moves (a TimerRunner with clock=..., and the outbox worker's clock).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

import webhooks
from bot.dispatch import Dispatcher
from bot.outbox.timers import TimerRunner
from bot.runtime import Services
from bot.services.calls import TIMER_HANDLERS
from bot.services.enrolment import GuessBudget, add_doctor, issue_code
from bot.services.opds import OpdSpec, find_opd, load_demo, upsert_opd
from bot.services.reports import build_report
from bot.store.models import (
    Consultation,
    ConsultationOutcome,
    Conversation,
    Doctor,
    DoctorStatus,
    Identity,
    Role,
    Token,
    TokenStatus,
)
from flows.engine import State
from flows.ports import DoctorState
from tests.helpers import FakeDesk, FlowChat, LocalUser, Said
from webhooks.webchat import ENROL_WORD

IST = ZoneInfo("Asia/Kolkata")
LANGS = ("en", "hi")
DOCTOR = "Anita Sharma"

# How a person opens the chat and chooses a language; then a patient registers.
OPEN = {"en": ["hello", "English"], "hi": ["नमस्ते", "हिंदी"]}
REGISTER = {
    "en": ["yes", "{name}", "34", "female", "Uttar Pradesh", "Varanasi", "skip", "yes"],
    "hi": ["हाँ", "{name}", "३४", "महिला", "उत्तर प्रदेश", "वाराणसी", "छोड़ें", "हाँ"],
}
NAMES = {"en": ("Sunita Devi", "Rahul Verma", "Kamla Devi", "Meena Kumari", "Pooja Singh"), "hi": ("सुनीता देवी", "राहुल वर्मा", "कमला देवी", "मीना कुमारी", "पूजा सिंह")}
# The complaint and the typed answers of a booking, per step.
COMPLAINT = {"en": "I have fever and cough", "hi": "मुझे बुखार और खांसी है"}
ANSWERS = {
    "en": {"for_whom": "myself", "since_when": "3 days", "severity": "moderate"},
    "hi": {"for_whom": "मैं खुद", "since_when": "३ दिन से", "severity": "मध्यम"},
}
# What the doctor types.
WORDS = {
    "en": {"next": "next", "done": "done", "refer": "refer", "no_show": "no show", "pause": "pause", "off": "off", "join": "1"},
    "hi": {"next": "अगला", "done": "हो गया", "refer": "रेफ़र", "no_show": "नहीं आया", "pause": "ब्रेक", "off": "ड्यूटी खत्म", "join": "1"},
}
ADVICE = {
    "en": ("Drink plenty of water and rest.", "Come back if the fever lasts 3 more days."),
    "hi": ("खूब पानी पिएँ और आराम करें।", "अगर बुखार 3 दिन और रहे तो फिर से दिखाएँ।"),
}
NOTE = {"en": ("NOTE: likely viral", "likely viral"), "hi": ("नोट: वायरल लगता है", "वायरल लगता है")}

# A piece of every message the tests meet, per language.
T: dict[str, dict[str, str]] = {
    "en": {
        "menu": "What would you like to do?",
        "language": "Which language would you like to use?",
        "welcome": "Welcome, Dr. {name}. This chat is now your doctor's desk.",
        "desk": "Dr. {name}: you are",
        # One answer for every refused code: whether it exists must not show (flows/steps/enrolment.py).
        "refused": "That code did not work. It may be mistyped, used already or expired.",
        "choose": "Please choose one of the options",
        "booked": "Your token is booked.",
        "token_label": "Token {number}, {opd}",
        "patient_line": "Patient: {name}, 34, female, Uttar Pradesh",
        "symptoms_line": "Symptoms: Fever, Cough",
        "since_line": "Since: 3 days. Severity: moderate",
        "flags_none": "Danger signs: -",
        "flags_line": "Danger signs: ",
        "earlier": "Earlier consultations: {n}",
        "room": "Video room: ",
        "ready": "Dr. {name} is ready for you now.",
        "joining_ack": "Thank you. The doctor knows you are coming.",
        "joining": "Token {number}: the patient is joining the call.",
        "added": "Added to the advice.",
        "noted": "Noted (private).",
        "closed": "Consultation with {name} is closed and logged.",
        "advice_head": "Advice from Dr. {name}:",
        "rate": "How was your consultation? Give 1 to 5 stars.",
        "followup_q": "Would you like a follow-up with the same doctor?",
        "followup_booked": "Your follow-up with the same doctor is booked for",
        "already_rated": "That consultation has a rating already.",
        "one_to_five": "Please send a number from 1 to 5.",
        "reminder": "Dr. {name} is still waiting for you. Please join now:",
        "missed": "You did not join, so the doctor has moved on to the next patient.",
        "doc_no_show": "Token {number}: the patient did not join, so the call is closed as a no-show.",
        "doc_declined": "Token {number}: the patient cannot come now, so the call is closed.",
        "get_ready": "Get ready: you are 3rd in the queue",
        "no_open": "There is no consultation open.",
        "still_with": "You are still with a patient: send DONE, REFER or NO SHOW first.",
        "nobody": "Nobody is waiting right now.",
        "cancel_q": "Cancel token",
        "cancelled": "is cancelled.",
        "call_over": "That call is over.",
        "paused": "Paused. No patient will be called until you send NEXT.",
        "off": "You are off duty. Send NEXT when you are back.",
    },
    "hi": {
        "menu": "आप क्या करना चाहेंगे?",
        "language": "आप किस भाषा में बात करना चाहेंगे?",
        "welcome": "स्वागत है, डॉ. {name}। यह चैट अब आपकी डॉक्टर डेस्क है।",
        "desk": "डॉ. {name}: आप अभी",
        "refused": "यह कोड काम नहीं आया। हो सकता है इसमें कोई गलती हो, यह पहले इस्तेमाल हो चुका हो या इसकी अवधि ख़त्म हो गई हो।",
        "choose": "कृपया नीचे दिए विकल्पों में से कोई एक चुनें",
        "booked": "आपका टोकन बुक हो गया है।",
        "token_label": "टोकन {number}, {opd}",
        "patient_line": "मरीज़: {name}, 34, महिला, उत्तर प्रदेश",
        "symptoms_line": "लक्षण: बुखार, खांसी",
        "since_line": "कब से: ३ दिन से। तकलीफ़: मध्यम",
        "flags_none": "ख़तरे के लक्षण: -",
        "flags_line": "ख़तरे के लक्षण: ",
        "earlier": "पहले के परामर्श: {n}",
        "room": "वीडियो रूम: ",
        "ready": "डॉ. {name} अब आपके लिए तैयार हैं।",
        "joining_ack": "धन्यवाद। डॉक्टर को पता है कि आप आ रहे हैं।",
        "joining": "टोकन {number}: मरीज़ कॉल में जुड़ रहे हैं।",
        "added": "सलाह में जोड़ दिया।",
        "noted": "नोट कर लिया (सिर्फ़ डॉक्टरों के लिए)।",
        "closed": "{name} का परामर्श बंद करके रिकॉर्ड में दर्ज कर दिया गया है।",
        "advice_head": "डॉ. {name} की सलाह:",
        "rate": "डॉक्टर से बात कैसी रही? 1 से 5 स्टार दें (5 = बहुत अच्छी)।",
        "followup_q": "क्या आप इन्हीं डॉक्टर को दोबारा दिखाना चाहेंगे?",
        "followup_booked": "इन्हीं डॉक्टर को दोबारा दिखाने के लिए आपका टोकन",
        "already_rated": "इस परामर्श की रेटिंग पहले ही दी जा चुकी है।",
        "one_to_five": "कृपया 1 से 5 के बीच कोई नंबर भेजें।",
        "reminder": "डॉ. {name} अभी भी आपका इंतज़ार कर रहे हैं। कृपया अभी जुड़ें:",
        "missed": "आप कॉल में नहीं जुड़े, इसलिए डॉक्टर अगले मरीज़ को देखने लगे हैं।",
        "doc_no_show": "टोकन {number}: मरीज़ नहीं जुड़े, इसलिए कॉल “नहीं आए” के रूप में बंद कर दी गई है।",
        "doc_declined": "टोकन {number}: मरीज़ अभी नहीं आ सकते, इसलिए कॉल बंद कर दी गई है।",
        "get_ready": "तैयार रहें: ",
        "no_open": "कोई परामर्श खुला नहीं है।",
        "still_with": "आप अभी एक मरीज़ के साथ हैं: पहले “हो गया”, “रेफ़र” या “नहीं आया” भेजें।",
        "nobody": "अभी कोई मरीज़ इंतज़ार में नहीं है।",
        "cancel_q": "रद्द करें?",
        "cancelled": "रद्द कर दिया गया है।",
        "call_over": "यह कॉल ख़त्म हो चुकी है।",
        "paused": "आप ब्रेक पर हैं। जब तक आप “अगला” नहीं भेजेंगे, कोई मरीज़ नहीं बुलाया जाएगा।",
        "off": "आपकी ड्यूटी ख़त्म हो गई है। लौटने पर “अगला” भेजें।",
    },
}
YES = {"en": "yes", "hi": "हाँ"}
CANCEL = {"en": "cancel", "hi": "रद्द"}
GEN24 = {"en": "General Medicine (24 hours)", "hi": "सामान्य चिकित्सा (24 घंटे)"}
VIDEO_BASE = "https://meet.jit.si/"
# The room: the configured base, then a name with at least 16 random URL-safe characters.
ROOM_RE = re.compile(re.escape(VIDEO_BASE) + r"teleopd-([A-Za-z0-9_-]{16,})")
URL_RE = re.compile(r"https?://\S+")


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clear_of_midnight_ist() -> None:
    """Start well clear of midnight in India, so "today" is one day for the whole test."""
    now = dt.datetime.now(IST)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0), IST)
    if (midnight - now).total_seconds() < 180:
        time.sleep((midnight - now).total_seconds() + 1)


@pytest.fixture
def demo(services: Services) -> Services:
    """The demo catalogue (GEN24 is open round the clock)."""
    with services.db.write() as session:
        load_demo(session)
    return services


def today_ist() -> dt.date:
    return dt.datetime.now(IST).date()


class Chat(LocalUser):
    """A local-channel user with a language, who keeps every message the bot sent."""

    def __init__(self, services: Services, user: str, lang: str):
        super().__init__(services, user)
        self.lang = lang
        self.seen: list[str] = []

    def say(self, text: str = "", choice: str | None = None, provider_id: str | None = None) -> Said:
        answer = super().say(text, choice, provider_id)
        self.seen.extend(answer.texts)
        return answer

    def receive(self) -> Said:
        answer = super().receive()
        self.seen.extend(answer.texts)
        return answer

    def t(self, key: str, **params: Any) -> str:
        return T[self.lang][key].format(**params)


def add_doctor_code(services: Services, name: str = DOCTOR, opds: tuple[str, ...] = ("GEN24",), now: dt.datetime | None = None) -> str:
    """Create a doctor in these OPDs as the CLI does; return their one-time code."""
    with services.db.write() as session:
        _, code = add_doctor(session, name, [find_opd(session, o) for o in opds], now=now)
    return code


def open_chat(services: Services, user: str, lang: str) -> Chat:
    """A new user greets the bot and chooses a language."""
    chat = Chat(services, user, lang)
    for line in OPEN[lang]:
        chat.say(line)
    return chat


def enrolled_doctor(services: Services, user: str, lang: str, name: str = DOCTOR, opds: tuple[str, ...] = ("GEN24",)) -> Chat:
    """A doctor opens the chat in a language and enrols with a fresh code; ends at the desk."""
    code = add_doctor_code(services, name, opds)
    doctor = open_chat(services, user, lang)
    answer = doctor.say(f"enroll {code}")
    assert doctor.t("welcome", name=name) in answer.texts[0], answer.texts
    assert doctor.t("desk", name=name) in answer.texts[-1], answer.texts
    return doctor


def registered(services: Services, user: str, lang: str, name: str) -> Chat:
    """A new patient registers in a language; ends at the main menu."""
    patient = open_chat(services, user, lang)
    answer = None
    for line in REGISTER[lang]:
        answer = patient.say(line.format(name=name))
    assert answer is not None and patient.t("menu") in answer.texts[-1], answer.texts
    return patient


def book(services: Services, patient: Chat, complaint: str | None = None, opd: str = "GEN24") -> Token:
    """Book a token at an OPD, answering whatever the booking asks; return the token."""
    answers = {**ANSWERS[patient.lang], "dep_name": "Munni", "dep_age": "5", "dep_sex": "1", "opd_pick": opd}
    answer = patient.say(complaint or COMPLAINT[patient.lang])
    for _ in range(12):
        step = step_of(services, patient.user)
        if step == "menu":
            break
        if step == "opd_suggest":
            opd_name = opd_names(services, opd)[patient.lang]
            reply = "1" if opd_name in answer.all_text else "2"
        else:
            assert step in answers, f"unexpected step {step!r} while booking: {answer.texts!r}"
            reply = answers[step]
        answer = patient.say(reply)
    assert patient.t("booked") in answer.all_text, answer.texts
    return tokens_of(services, patient.user)[-1]


def opd_names(services: Services, code: str) -> dict[str, str]:
    with services.db.read() as session:
        opd = find_opd(session, code)
        assert opd is not None
        return {"en": opd.name_en, "hi": opd.name_hi}


def identity_of(services: Services, user: str) -> Identity:
    with services.db.read() as session:
        identity = session.scalars(select(Identity).where(Identity.address == user)).one()
        _ = identity.person  # load it
        return identity


def step_of(services: Services, user: str) -> str | None:
    with services.db.read() as session:
        return session.scalars(
            select(Conversation.step).join(Identity, Identity.id == Conversation.identity_id).where(Identity.address == user)
        ).one()


def tokens_of(services: Services, user: str) -> list[Token]:
    """Return the tokens booked from this user's chat, oldest first."""
    with services.db.read() as session:
        me = session.scalars(select(Identity.id).where(Identity.address == user)).one()
        return list(session.scalars(select(Token).where(Token.identity_id == me).order_by(Token.id)))


def consultations(services: Services) -> list[Consultation]:
    with services.db.read() as session:
        return list(session.scalars(select(Consultation).order_by(Consultation.id)))


def consultation_of(services: Services, token_id: int) -> Consultation:
    with services.db.read() as session:
        return session.scalars(select(Consultation).where(Consultation.token_id == token_id)).one()


def token(services: Services, token_id: int) -> Token:
    with services.db.read() as session:
        row = session.get(Token, token_id)
        assert row is not None
        return row


def doctor_row(services: Services, user: str) -> Doctor:
    person_id = identity_of(services, user).person_id
    with services.db.read() as session:
        row = session.get(Doctor, person_id)
        assert row is not None
        return row


def message_with(answer: Said, piece: str) -> str:
    found = [text for text in answer.texts if piece in text]
    assert found, f"expected a message with {piece!r}, got {answer.texts!r}"
    return found[0]


def room_of(text: str) -> str:
    """Return the one room link in a message, checking it is the base plus an unguessable name."""
    urls = URL_RE.findall(text)
    assert len(urls) == 1, f"expected one link in {text!r}"
    assert ROOM_RE.fullmatch(urls[0]), f"not an unguessable room on {VIDEO_BASE}: {urls[0]!r}"
    return urls[0]


def count_in(texts: list[str], piece: str) -> int:
    return sum(piece in text for text in texts)


# --- enrolment ------------------------------------------------------------------------------------

# How the code may be typed: as printed, with a slash, in lowercase, with spaces inside.
FORMS = {
    "plain": lambda code: f"enroll {code}",
    "slash": lambda code: f"/enroll {code}",
    "lowercase": lambda code: f"enroll {code.lower()}",
    "spaces": lambda code: f"enroll {code[:4]} {code[4:]}",
    "capital_command": lambda code: f"ENROLL {code}",
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("form", FORMS)
def test_enrolment_links_the_chat_to_the_doctor_and_opens_the_desk(demo: Services, form: str, lang: str) -> None:
    code = add_doctor_code(demo)
    doctor = open_chat(demo, f"doc-{form}-{lang}", lang)
    answer = doctor.say(FORMS[form](code))
    assert answer.texts[0] == doctor.t("welcome", name=DOCTOR)
    assert doctor.t("desk", name=DOCTOR) in answer.texts[-1]
    assert step_of(demo, doctor.user) == "doctor_home"
    identity = identity_of(demo, doctor.user)
    assert identity.person is not None and identity.person.role == Role.DOCTOR and identity.person.name == DOCTOR
    # The desk answers doctor's words now.
    answer = doctor.say(WORDS[lang]["next"])
    assert doctor.t("nobody") in answer.texts[0], answer.texts


def _refused_code(services: Services, kind: str) -> str:
    """Return a code that is wrong, used already, or expired."""
    if kind == "wrong":
        return "ZZZZ9999"
    if kind == "used":
        code = add_doctor_code(services, "Other Doctor")
        other = Chat(services, "the-real-doctor", "en")
        assert "Welcome, Dr. Other Doctor" in other.say(f"enroll {code}").all_text
        return code
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)  # codes live 7 days
    with services.db.write() as session:
        person, _ = add_doctor(session, "Late Doctor", [find_opd(session, "GEN24")])  # type: ignore[list-item]
        return issue_code(session, person, Role.DOCTOR, now=past)


REFUSAL = ("wrong", "used", "expired")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", REFUSAL)
def test_a_patient_with_a_refused_code_gets_a_clear_reply_and_stays_a_patient(demo: Services, kind: str, lang: str) -> None:
    patient = registered(demo, f"pat-{kind}-{lang}", lang, NAMES[lang][0])
    person_before = identity_of(demo, patient.user).person_id
    code = _refused_code(demo, kind)
    answer = patient.say(f"enroll {code}")
    assert patient.t("refused") in answer.texts[0], answer.texts
    assert patient.t("menu") in answer.texts[-1], answer.texts
    assert step_of(demo, patient.user) == "menu"
    identity = identity_of(demo, patient.user)
    assert identity.person_id == person_before and identity.person.role == Role.PATIENT
    # Doctor's words still get the patient menu, not a desk.
    for word in (WORDS[lang]["next"], WORDS[lang]["done"]):
        answer = patient.say(word)
        assert patient.t("menu") in answer.texts[-1], answer.texts
        assert not any(patient.t("desk", name=DOCTOR) in text or patient.t("nobody") in text for text in answer.texts)
    assert step_of(demo, patient.user) == "menu"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", REFUSAL)
def test_a_new_chat_with_a_refused_code_is_told_and_starts_as_a_patient(demo: Services, kind: str, lang: str) -> None:
    code = _refused_code(demo, kind)
    chat = open_chat(demo, f"new-{kind}-{lang}", lang)
    answer = chat.say(f"/enroll {code}")
    assert chat.t("refused") in answer.texts[0], answer.texts
    assert step_of(demo, chat.user) not in ("doctor_home", "consulting")
    assert identity_of(demo, chat.user).person_id is None
    answer = chat.say(WORDS[lang]["next"])
    assert not any(chat.t("nobody") in text or chat.t("desk", name=DOCTOR) in text for text in answer.texts)


@pytest.mark.parametrize("lang", LANGS)
def test_a_refused_code_does_not_say_whether_it_exists(demo: Services, lang: str) -> None:
    answers = []
    for kind in REFUSAL:
        code = _refused_code(demo, kind)
        chat = registered(demo, f"guess-{kind}-{lang}", lang, NAMES[lang][1])
        answers.append(chat.say(f"enroll {code}").texts)
    assert answers[0] == answers[1] == answers[2], answers
    assert "coordinator" in answers[0][0] or "कोऑर्डिनेटर" in answers[0][0]


@pytest.mark.parametrize("lang", LANGS)
def test_one_guesser_with_many_chats_runs_out_of_guesses(demo: Services, lang: str) -> None:
    demo.dispatcher = Dispatcher(demo.db, demo.catalogs, limiter=demo.limiter, enrol_budget=GuessBudget(per_chat=2, overall=5))
    code = add_doctor_code(demo)
    guesser = Chat(demo, f"guesser-0-{lang}", lang)
    for guess in ("ZZZZ9999", "ZZZZ8888"):
        assert guesser.t("refused") in guesser.say(f"{ENROL_WORD[lang]} {guess}").texts[0]
    # The chat's own guesses are spent: even the right code is not looked at now.
    too_many = guesser.say(f"{ENROL_WORD[lang]} {code}").texts[0]
    assert guesser.t("refused") not in too_many and ("hour" in too_many or "घंटे" in too_many), too_many
    assert identity_of(demo, guesser.user).person_id is None
    # New chats get the guesses everyone shares, and no more.
    for n in (1, 2, 3):
        chat = Chat(demo, f"guesser-{n}-{lang}", lang)
        assert chat.t("refused") in chat.say(f"{ENROL_WORD[lang]} ZZZZ777{n}").texts[0]
    late = Chat(demo, f"guesser-4-{lang}", lang)
    assert late.say(f"{ENROL_WORD[lang]} {code}").texts[0] == too_many
    assert identity_of(demo, late.user).person_id is None


def test_a_code_works_once_even_for_the_same_doctor_on_a_second_channel(demo: Services) -> None:
    code = add_doctor_code(demo)
    first = Chat(demo, "doc-phone", "en")
    assert first.t("welcome", name=DOCTOR) in first.say(f"enroll {code}").all_text
    second = registered(demo, "doc-second", "en", "Someone Else")
    answer = second.say(f"enroll {code}")
    assert second.t("refused") in answer.texts[0] and second.t("menu") in answer.texts[-1]
    assert identity_of(demo, second.user).person.role == Role.PATIENT


@pytest.mark.parametrize("lang", LANGS)
def test_a_patient_typing_doctor_words_gets_the_patient_menu(demo: Services, lang: str) -> None:
    enrolled_doctor(demo, "doc", lang)  # a doctor exists, and a patient waits
    patient = registered(demo, f"pat-{lang}", lang, NAMES[lang][0])
    book(demo, patient)
    for word in ("next", "done", "अगला", "हो गया", "free", "off"):
        answer = patient.say(word)
        assert patient.t("menu") in answer.texts[-1], (word, answer.texts)
        assert not any(patient.t("desk", name=DOCTOR) in t or "Token 1, " in t or "टोकन 1, " in t for t in answer.texts), answer.texts
    assert consultations(demo) == []
    assert token(demo, tokens_of(demo, patient.user)[0].id).status == TokenStatus.WAITING


# --- a whole consultation -------------------------------------------------------------------------

PAIRS = [("en", "en"), ("hi", "hi"), ("en", "hi"), ("hi", "en")]


@pytest.mark.parametrize(("doctor_lang", "patient_lang"), PAIRS, ids=[f"doctor_{d}-patient_{p}" for d, p in PAIRS])
def test_a_whole_consultation(demo: Services, doctor_lang: str, patient_lang: str) -> None:
    name = NAMES[patient_lang][0]
    patient = registered(demo, "pat", patient_lang, name)
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", doctor_lang)
    started = dt.datetime.now(dt.UTC)

    # NEXT: the doctor gets the summary and the room.
    answer = doctor.say(WORDS[doctor_lang]["next"])
    summary = answer.texts[0]
    d = doctor.t
    for piece in (
        d("token_label", number=booked.number, opd=GEN24[doctor_lang]),
        d("patient_line", name=name),
        d("symptoms_line"),
        d("since_line").replace("३ दिन से", ANSWERS[patient_lang]["since_when"]).replace("3 days", ANSWERS[patient_lang]["since_when"]),
        d("flags_none"),
        d("earlier", n=0),
        d("room"),
    ):
        assert piece in summary, f"{piece!r} not in the summary {summary!r}"
    room = room_of(summary)
    assert step_of(demo, doctor.user) == "consulting"
    assert doctor_row(demo, doctor.user).status == DoctorStatus.BUSY

    # The patient is told, with the same room.
    called = patient.receive()
    ready = message_with(called, patient.t("ready", name=DOCTOR))
    assert room_of(ready) == room
    assert token(demo, booked.id).status == TokenStatus.CALLED

    # The patient joins; the doctor is told.
    answer = patient.say(WORDS[patient_lang]["join"])
    assert patient.t("joining_ack") in answer.texts[0], answer.texts
    told = doctor.receive()
    assert told.texts == [doctor.t("joining", number=booked.number)]
    assert token(demo, booked.id).status == TokenStatus.IN_CONSULTATION

    # Advice over two messages and a private note, then DONE.
    first, second = ADVICE[doctor_lang]
    assert doctor.say(first).texts[0] == d("added")
    assert doctor.say(second).texts[0] == d("added")
    note, note_text = NOTE[doctor_lang]
    assert doctor.say(note).texts[0] == d("noted")
    answer = doctor.say(WORDS[doctor_lang]["done"])
    assert answer.texts[0] == d("closed", name=name)
    assert d("desk", name=DOCTOR) in answer.texts[-1]
    assert step_of(demo, doctor.user) == "doctor_home"
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE

    # The log.
    [row] = consultations(demo)
    doctor_person = identity_of(demo, doctor.user).person_id
    patient_person = identity_of(demo, patient.user).person_id
    with demo.db.read() as session:
        gen24 = find_opd(session, "GEN24")
        assert gen24 is not None
    assert (row.token_id, row.doctor_id, row.patient_id, row.opd_id) == (booked.id, doctor_person, patient_person, gen24.id)
    assert started <= row.called_at <= row.joined_at <= row.ended_at <= dt.datetime.now(dt.UTC)
    assert row.outcome == ConsultationOutcome.DONE
    assert row.notes == note_text
    assert row.advice == f"{first}\n{second}"
    assert row.room_url == room
    assert row.intake["symptoms"] == ["fever", "cough"]
    assert row.intake["severity"] == "moderate"
    assert row.state_code == "IN-UP"
    done = token(demo, booked.id)
    assert done.status == TokenStatus.DONE and done.ended_at == row.ended_at

    # The patient gets the advice verbatim, framed in their own language, and rates it.
    advice = patient.receive()
    framed = message_with(advice, patient.t("advice_head", name=DOCTOR))
    assert f"────────\n{first}\n{second}\n────────" in framed, framed
    assert patient.t("rate") in framed
    assert note_text not in framed  # the private note stays with doctors
    answer = patient.say("4")
    assert patient.t("followup_q") in answer.texts[-1], answer.texts
    assert consultations(demo)[0].rating == 4

    # A follow-up with the same doctor, on a later day.
    answer = patient.say("1")
    assert patient.t("followup_booked") in answer.all_text, answer.texts
    assert patient.t("menu") in answer.texts[-1]
    follow_up = tokens_of(demo, patient.user)[-1]
    assert follow_up.id != booked.id
    assert follow_up.day > today_ist()
    assert follow_up.doctor_id == doctor_person
    assert follow_up.person_id == patient_person and follow_up.status == TokenStatus.WAITING
    # Nothing the doctor's desk would call today.
    assert doctor.say(WORDS[doctor_lang]["next"]).texts[0].startswith(d("nobody"))


@pytest.mark.parametrize("lang", LANGS)
def test_a_second_visit_shows_one_earlier_consultation_and_a_new_room(demo: Services, lang: str) -> None:
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    doctor = enrolled_doctor(demo, "doc", lang)
    rooms = []
    for visit in range(2):
        book(demo, patient)
        summary = doctor.say(WORDS[lang]["next"]).texts[0]
        assert doctor.t("earlier", n=visit) in summary, summary
        rooms.append(room_of(summary))
        patient.say(WORDS[lang]["join"])
        doctor.say(ADVICE[lang][0])
        doctor.say(WORDS[lang]["done"])
        patient.receive()
        patient.say("menu" if lang == "en" else "मेनू")
    assert rooms[0] != rooms[1]
    assert ROOM_RE.fullmatch(rooms[0]).group(1) != ROOM_RE.fullmatch(rooms[1]).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("outcome", ["refer", "no_show"])
def test_refer_and_no_show_end_the_consultation_in_the_log(demo: Services, lang: str, outcome: str) -> None:
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    patient.receive()
    if outcome == "refer":
        patient.say(WORDS[lang]["join"])
        doctor.say(ADVICE[lang][0])
    answer = doctor.say(WORDS[lang][outcome])
    assert answer.texts[0] == doctor.t("closed", name=NAMES[lang][0])
    [row] = consultations(demo)
    expected = {"refer": (ConsultationOutcome.REFERRED, TokenStatus.DONE), "no_show": (ConsultationOutcome.NO_SHOW, TokenStatus.NO_SHOW)}
    assert (row.outcome, token(demo, booked.id).status) == expected[outcome]
    assert row.ended_at is not None
    told = patient.receive()
    if outcome == "refer":
        assert f"────────\n{ADVICE[lang][0]}\n────────" in message_with(told, patient.t("advice_head", name=DOCTOR))
    else:
        assert patient.t("missed") in told.all_text, told.texts
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE


@pytest.mark.parametrize("lang", LANGS)
def test_status_words_set_the_doctors_availability(demo: Services, lang: str) -> None:
    doctor = enrolled_doctor(demo, "doc", lang)
    answer = doctor.say(WORDS[lang]["pause"])
    assert answer.texts[0] == doctor.t("paused")
    assert doctor_row(demo, doctor.user).status == DoctorStatus.PAUSED
    answer = doctor.say(WORDS[lang]["off"])
    assert answer.texts[0] == doctor.t("off")
    assert doctor_row(demo, doctor.user).status == DoctorStatus.OFFLINE
    answer = doctor.say(WORDS[lang]["next"])  # nobody waits: free
    assert answer.texts[0].startswith(doctor.t("nobody"))
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE
    answer = doctor.say("खाली" if lang == "hi" else "free")
    assert answer.texts[0].startswith(doctor.t("nobody"))


# --- priority -------------------------------------------------------------------------------------

DANGER = {"en": "I have severe chest pain and sweating", "hi": "मेरे सीने में तेज़ दर्द है"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_red_flag_patient_booked_after_two_others_is_called_first(demo: Services, lang: str) -> None:
    first = registered(demo, "pat-1", lang, NAMES[lang][0])
    second = registered(demo, "pat-2", lang, NAMES[lang][1])
    urgent = registered(demo, "pat-urgent", lang, NAMES[lang][2])
    t1, t2 = book(demo, first), book(demo, second)
    t3 = book(demo, urgent, DANGER[lang])
    assert (t1.number, t2.number, t3.number) == (1, 2, 3)
    assert t3.priority is True and "chest_pain" in t3.red_flags
    doctor = enrolled_doctor(demo, "doc", lang)

    order = []
    for _ in range(3):
        summary = doctor.say(WORDS[lang]["next"]).texts[0]
        order.append(re.search(r"(?:Token|टोकन) (\d+),", summary).group(1))  # type: ignore[union-attr]
        if order[-1] == "3":
            assert doctor.t("patient_line", name=NAMES[lang][2]) in summary
            assert doctor.t("flags_none") not in summary and doctor.t("flags_line") in summary, summary
        doctor.say(WORDS[lang]["done"])
    assert order == ["3", "1", "2"]
    assert message_with(urgent.receive(), urgent.t("ready", name=DOCTOR))
    assert [c.token_id for c in consultations(demo)] == [t3.id, t1.id, t2.id]


# --- no answer: a reminder, then a no-show --------------------------------------------------------


class Clock:
    """A clock the test moves."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.mark.parametrize("lang", LANGS)
def test_no_answer_gets_one_reminder_then_a_no_show_and_the_doctor_is_freed(demo: Services, lang: str) -> None:
    first = registered(demo, "pat-1", lang, NAMES[lang][0])
    second = registered(demo, "pat-2", lang, NAMES[lang][1])
    t1, t2 = book(demo, first), book(demo, second)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    call = consultation_of(demo, t1.id)
    window = demo.dispatcher.call_window
    assert window == dt.timedelta(seconds=demo.settings.call_window_seconds) == dt.timedelta(seconds=120)

    clock = Clock(call.called_at + window - dt.timedelta(seconds=1))
    demo.timers = TimerRunner(demo.db, TIMER_HANDLERS, clock=clock)
    demo.worker.clock = clock  # pushed messages are due at the timer's time
    assert message_with(first.receive(), first.t("ready", name=DOCTOR))

    # Just before the window: nothing.
    assert demo.timers.drain() == 0
    assert first.receive().texts == []

    # After the window: one reminder, with the room.
    clock.now = call.called_at + window + dt.timedelta(seconds=1)
    assert demo.timers.drain() == 1
    reminded = first.receive()
    assert count_in(reminded.texts, first.t("reminder", name=DOCTOR)) == 1, reminded.texts
    assert room_of(message_with(reminded, first.t("reminder", name=DOCTOR))) == call.room_url
    assert demo.timers.drain() == 0  # not twice
    assert first.receive().texts == []
    assert consultation_of(demo, t1.id).outcome is None
    reminded_at = clock.now

    # Just before the second window: still open.
    clock.now = reminded_at + window - dt.timedelta(seconds=1)
    assert demo.timers.drain() == 0
    assert consultation_of(demo, t1.id).outcome is None

    # After the second window: a no-show; patient and doctor told; the doctor is back at the desk.
    clock.now = reminded_at + window + dt.timedelta(seconds=1)
    assert demo.timers.drain() == 1
    row = consultation_of(demo, t1.id)
    assert row.outcome == ConsultationOutcome.NO_SHOW and row.ended_at == clock.now and row.joined_at is None
    assert token(demo, t1.id).status == TokenStatus.NO_SHOW
    missed = first.receive()
    assert first.t("missed") in missed.all_text, missed.texts
    told = doctor.receive()
    assert doctor.t("doc_no_show", number=t1.number) in told.all_text, told.texts
    assert step_of(demo, doctor.user) == "doctor_home"
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE
    assert demo.timers.drain() == 0
    # Over all of it, exactly one reminder.
    assert count_in(first.seen, first.t("reminder", name=DOCTOR)) == 1

    # NEXT calls the next patient.
    summary = doctor.say(WORDS[lang]["next"]).texts[0]
    assert doctor.t("patient_line", name=NAMES[lang][1]) in summary
    assert consultation_of(demo, t2.id).outcome is None
    assert message_with(second.receive(), second.t("ready", name=DOCTOR))
    # The patient who missed the call pressing "I am joining" late is told it is over.
    answer = first.say(choice=f"join:{row.id}")
    assert first.t("call_over") in answer.texts[0], answer.texts


@pytest.mark.parametrize("lang", LANGS)
def test_joining_in_time_stops_the_timers(demo: Services, lang: str) -> None:
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    patient.receive()
    patient.say(WORDS[lang]["join"])
    call = consultation_of(demo, booked.id)
    clock = Clock(call.called_at + 5 * demo.dispatcher.call_window)
    demo.timers = TimerRunner(demo.db, TIMER_HANDLERS, clock=clock)
    demo.worker.clock = clock
    demo.timers.drain()
    assert consultation_of(demo, booked.id).outcome is None
    assert count_in(patient.receive().texts, patient.t("reminder", name=DOCTOR)) == 0
    assert step_of(demo, doctor.user) == "consulting"


# --- "get ready" ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_patient_reaching_place_3_is_told_to_get_ready_once(demo: Services, lang: str) -> None:
    patients = [registered(demo, f"pat-{i}", lang, NAMES[lang][i]) for i in range(5)]
    tokens = [book(demo, p) for p in patients]
    assert [t.number for t in tokens] == [1, 2, 3, 4, 5]
    for p in patients:
        p.receive()
        p.seen.clear()  # only what comes after the doctor's calls counts
    doctor = enrolled_doctor(demo, "doc", lang)
    ready = [p.t("get_ready") for p in patients]

    # The first call: token 4 is now third.
    doctor.say(WORDS[lang]["next"])
    for p in patients:
        p.receive()
    assert [count_in(p.seen, ready[i]) for i, p in enumerate(patients)] == [0, 0, 0, 1, 0]
    shown = next(text for text in patients[3].seen if ready[3] in text)
    assert re.search(r"\b4\b", shown), shown  # names the token
    with demo.db.read() as session:
        assert session.get(Token, tokens[3].id).ready_notified_at is not None  # type: ignore[union-attr]

    # The next calls: token 5 reaches third place once; token 4 is not told again.
    for _ in range(4):
        doctor.say(WORDS[lang]["done"])
        doctor.say(WORDS[lang]["next"])
        for p in patients:
            p.receive()
    assert [count_in(p.seen, ready[i]) for i, p in enumerate(patients)] == [0, 0, 0, 1, 1]


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_done_refer_and_no_show_with_no_consultation_open_get_a_clear_reply(demo: Services, lang: str) -> None:
    doctor = enrolled_doctor(demo, "doc", lang)
    for word in ("done", "refer", "no_show"):
        answer = doctor.say(WORDS[lang][word])
        assert answer.texts[0] == message_with(answer, doctor.t("no_open")), (word, answer.texts)
        assert doctor.t("desk", name=DOCTOR) in answer.texts[-1]
    assert consultations(demo) == []
    assert step_of(demo, doctor.user) == "doctor_home"


@pytest.mark.parametrize("lang", LANGS)
def test_going_off_duty_mid_consultation_is_refused_until_done(demo: Services, lang: str) -> None:
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    for word in ("off", "pause", "next"):
        answer = doctor.say(WORDS[lang][word])
        assert answer.texts[0] == doctor.t("still_with"), (word, answer.texts)
        assert step_of(demo, doctor.user) == "consulting"
        assert doctor_row(demo, doctor.user).status == DoctorStatus.BUSY
        [row] = consultations(demo)
        assert row.outcome is None and row.token_id == booked.id
    # Still the same consultation: the status words did not become advice.
    assert consultations(demo)[0].advice == ""
    doctor.say(WORDS[lang]["done"])
    answer = doctor.say(WORDS[lang]["off"])
    assert answer.texts[0] == doctor.t("off")
    assert doctor_row(demo, doctor.user).status == DoctorStatus.OFFLINE
    assert consultations(demo)[0].outcome == ConsultationOutcome.DONE


@pytest.mark.parametrize("lang", LANGS)
def test_a_patient_cancelling_after_being_called_frees_the_doctor(demo: Services, lang: str) -> None:
    first = registered(demo, "pat-1", lang, NAMES[lang][0])
    second = registered(demo, "pat-2", lang, NAMES[lang][1])
    t1, t2 = book(demo, first), book(demo, second)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    assert message_with(first.receive(), first.t("ready", name=DOCTOR))

    answer = first.say(CANCEL[lang])
    assert first.t("cancel_q") in answer.texts[-1], answer.texts
    cancelled = first.say(YES[lang])
    assert first.t("cancelled") in cancelled.texts[0], cancelled.texts

    row = consultation_of(demo, t1.id)
    assert row.outcome == ConsultationOutcome.CANCELLED and row.ended_at is not None
    assert token(demo, t1.id).status == TokenStatus.CANCELLED
    told = doctor.receive()
    assert doctor.t("doc_declined", number=t1.number) in told.all_text, told.texts
    assert step_of(demo, doctor.user) == "doctor_home"
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE

    summary = doctor.say(WORDS[lang]["next"]).texts[0]
    assert doctor.t("patient_line", name=NAMES[lang][1]) in summary
    assert consultation_of(demo, t2.id).outcome is None
    # No timer of the cancelled call fires later.
    clock = Clock(row.called_at + 10 * demo.dispatcher.call_window)
    demo.worker.clock = clock
    TimerRunner(demo.db, TIMER_HANDLERS, clock=clock).drain()
    assert consultation_of(demo, t1.id).outcome == ConsultationOutcome.CANCELLED
    assert count_in(first.receive().texts, first.t("reminder", name=DOCTOR)) == 0

    # The patient is back at the menu; the call just cancelled is not offered again.
    assert not any(first.t("ready", name=DOCTOR) in text for text in cancelled.texts), cancelled.texts
    assert first.t("menu") in cancelled.texts[-1], cancelled.texts
    assert step_of(demo, first.user) == "menu"


@pytest.mark.parametrize("lang", LANGS)
def test_rating_twice_and_out_of_range_get_clear_replies(demo: Services, lang: str) -> None:
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    patient.receive()
    patient.say(WORDS[lang]["join"])
    doctor.say(ADVICE[lang][0])
    doctor.say(WORDS[lang]["done"])
    patient.receive()
    assert step_of(demo, patient.user) == "rating"
    row_id = consultation_of(demo, booked.id).id

    for wrong in ("7", "0", "९"):
        answer = patient.say(wrong)
        assert patient.t("one_to_five") in answer.texts[0], (wrong, answer.texts)
        assert consultation_of(demo, booked.id).rating is None
    answer = patient.say("5")
    assert patient.t("followup_q") in answer.texts[-1]
    assert consultation_of(demo, booked.id).rating == 5

    # The star buttons of the advice message, pressed again.
    answer = patient.say(choice=f"rate:{row_id}:2")
    assert patient.t("already_rated") in answer.texts[0], answer.texts
    assert consultation_of(demo, booked.id).rating == 5


@pytest.mark.parametrize("lang", LANGS)
def test_a_patient_who_cannot_come_frees_the_doctor(demo: Services, lang: str) -> None:
    first = registered(demo, "pat-1", lang, NAMES[lang][0])
    second = registered(demo, "pat-2", lang, NAMES[lang][1])
    t1, t2 = book(demo, first), book(demo, second)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    first.receive()
    answer = first.say("2")  # "I cannot come now"
    assert first.t("menu") in answer.texts[-1], answer.texts
    row = consultation_of(demo, t1.id)
    assert row.outcome == ConsultationOutcome.NO_SHOW and row.ended_at is not None
    assert token(demo, t1.id).status == TokenStatus.NO_SHOW
    assert doctor.t("doc_declined", number=t1.number) in doctor.receive().all_text
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE
    assert doctor.t("patient_line", name=NAMES[lang][1]) in doctor.say(WORDS[lang]["next"]).texts[0]
    assert consultation_of(demo, t2.id).outcome is None


def test_another_patients_consultation_buttons_do_nothing(demo: Services) -> None:
    """Buttons carry the consultation's id: someone else's id joins, declines and rates nothing."""
    patient = registered(demo, "pat", "en", NAMES["en"][0])
    other = registered(demo, "other", "en", NAMES["en"][1])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", "en")
    doctor.say("next")
    row_id = consultation_of(demo, booked.id).id
    assert other.say(choice=f"join:{row_id}").texts[0] == other.t("call_over")
    other.say(choice=f"leave:{row_id}")
    row = consultation_of(demo, booked.id)
    assert row.joined_at is None and row.outcome is None
    patient.say("1")
    doctor.say("done")
    other.say(choice=f"rate:{row_id}:1")
    assert consultation_of(demo, booked.id).rating is None
    other.say(choice=f"followup:{row_id}")
    assert tokens_of(demo, other.user) == []


# --- bugs these tests found (each failed before 6a02761) -----------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_advice_written_over_several_lines_reaches_the_patient_verbatim(demo: Services, lang: str) -> None:
    """The advice is the doctor's words verbatim: a numbered list in one message keeps its lines."""
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    patient.receive()
    patient.say(WORDS[lang]["join"])
    advice = "\n".join(f"{i}. {line}" for i, line in enumerate(ADVICE[lang], 1))
    doctor.say(advice)
    doctor.say(WORDS[lang]["done"])
    framed = message_with(patient.receive(), patient.t("advice_head", name=DOCTOR))
    assert consultation_of(demo, booked.id).advice == advice
    assert f"────────\n{advice}\n────────" in framed, framed


def test_enrolling_in_devanagari_as_the_first_message_welcomes_in_hindi(demo: Services) -> None:
    """A first message in Devanagari gets Hindi everywhere else (flows.conversation._first_contact)."""
    code = add_doctor_code(demo)
    doctor = Chat(demo, "doc-hi", "hi")
    answer = doctor.say(f"नामांकन {code}")
    assert answer.texts[0] == doctor.t("welcome", name=DOCTOR), answer.texts
    assert doctor.t("desk", name=DOCTOR) in answer.texts[-1], answer.texts


@pytest.mark.parametrize("lang", LANGS)
def test_danger_signs_in_the_summary_are_words_not_codes(demo: Services, lang: str) -> None:
    """Text users see comes from the catalogs: the doctor reads a danger sign, not an internal code."""
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    book(demo, patient, DANGER[lang])
    doctor = enrolled_doctor(demo, "doc", lang)
    summary = doctor.say(WORDS[lang]["next"]).texts[0]
    line = next(row for row in summary.splitlines() if row.startswith(doctor.t("flags_line")))
    assert line != doctor.t("flags_none")
    assert "chest_pain" not in line and "_" not in line, line


@pytest.mark.parametrize("lang", LANGS)
def test_a_patient_moved_up_to_place_3_by_a_cancellation_is_told_to_get_ready(demo: Services, lang: str) -> None:
    """As the queue moves — by a call or by someone ahead cancelling — whoever reaches place 3 is told once."""
    patients = [registered(demo, f"pat-{i}", lang, NAMES[lang][i]) for i in range(5)]
    for p in patients:
        book(demo, p)
        p.receive()
        p.seen.clear()
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])  # calls token 1; token 4 is third and is told
    patients[1].say(CANCEL[lang])  # token 2 cancels: token 5 is third now
    patients[1].say(YES[lang])
    doctor.say(WORDS[lang]["done"])
    doctor.say(WORDS[lang]["next"])  # calls token 3
    for p in patients:
        p.receive()
    ready = patients[0].t("get_ready")
    assert [count_in(p.seen, ready) for p in patients] == [0, 0, 0, 1, 1]


@pytest.mark.parametrize("choice", ["join:abc", "leave:", "rate:1:x", "rate:x", "followup:1e9", "join:99999999999999999999999"])
def test_a_forged_consultation_button_gets_a_reply_not_a_500(demo: Services, choice: str) -> None:
    """DESIGN.md: never 500 for anything a sender can put in a request; a web chat choice is any short string."""
    client = webhooks.create_app(demo, local_demo=True).test_client()
    user = WebUser(demo, client, "forger")
    for line in OPEN["en"] + [line.format(name="Forger") for line in REGISTER["en"]]:
        user.say(line)
    response = client.post(API.format(user=user.user), json={"choice": choice})
    assert response.status_code == 202, (choice, response.status_code, response.get_data(as_text=True))
    assert user.poll(), "the user is answered"


# --- the scripted day, through the web chat API ----------------------------------------------------

API = "/api/chat/{user}/messages"


class WebUser:
    """One web chat user, talking to the app only over HTTP."""

    def __init__(self, services: Services, client: Any, user: str):
        self.services = services
        self.client = client
        self.user = user
        self.cursor = ""

    def say(self, text: str | None = None, choice: str | None = None) -> list[dict[str, Any]]:
        body = {"text": text} if choice is None else {"choice": choice}
        response = self.client.post(API.format(user=self.user), json=body)
        assert response.status_code == 202, (body, response.status_code, response.get_data(as_text=True))
        return self.poll()

    def poll(self) -> list[dict[str, Any]]:
        self.services.worker.drain()
        response = self.client.get(API.format(user=self.user), query_string={"after": self.cursor})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        self.cursor = body["cursor"]
        return body["messages"]


def web_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages)


SECOND_OPD = OpdSpec("GENB", "General Medicine B (24 hours)", "सामान्य चिकित्सा बी (24 घंटे)", "general_medicine", "24h", "all", 500)


def test_a_scripted_day_through_the_web_chat_calls_every_patient_once(demo: Services) -> None:
    services = demo
    with services.db.write() as session:
        upsert_opd(session, SECOND_OPD)
    client = webhooks.create_app(services, local_demo=True).test_client()

    # Three doctors: one per OPD and one in both; each enrols over the web chat.
    plan = {"doc-a": ("GEN24",), "doc-b": ("GENB",), "doc-c": ("GEN24", "GENB")}
    doctors: dict[str, WebUser] = {}
    for i, (user, opds) in enumerate(plan.items()):
        code = add_doctor_code(services, f"Doctor {'ABC'[i]}", opds)
        doctors[user] = WebUser(services, client, user)
        lang = LANGS[i % 2]
        for line in OPEN[lang]:
            doctors[user].say(line)
        shown = web_text(doctors[user].say(f"enroll {code}"))
        assert T[lang]["welcome"].format(name=f"Doctor {'ABC'[i]}") in shown, shown

    # Thirty patients register and book, alternating languages and OPDs.
    with services.db.read() as session:
        opd_ids = {code: find_opd(session, code).id for code in ("GEN24", "GENB")}  # type: ignore[union-attr]
    patients: dict[tuple[str, int], tuple[WebUser, str]] = {}
    for i in range(30):
        lang, opd = LANGS[(i // 2) % 2], ("GEN24", "GENB")[i % 2]
        patient = WebUser(services, client, f"web-pat-{i:02d}")
        for line in OPEN[lang] + [line.format(name=f"Patient {i:02d}") for line in REGISTER[lang]]:
            patient.say(line)
        shown = web_text(patient.say(COMPLAINT[lang]))
        for _ in range(10):
            step = step_of(services, patient.user)
            if step == "menu":
                break
            if step == "opd_suggest":
                reply = "1" if opd_names(services, opd)[lang] in shown else "2"
            else:
                reply = {**ANSWERS[lang], "opd_pick": opd}[step]
            shown = web_text(patient.say(reply))
        assert T[lang]["booked"] in shown, shown
        [booked] = tokens_of(services, patient.user)
        assert (booked.opd_id, booked.status) == (opd_ids[opd], TokenStatus.WAITING)
        patients[(opd, booked.number)] = (patient, lang)
    assert Counter(opd for opd, _ in patients) == {"GEN24": 15, "GENB": 15}

    # The doctors work until nobody waits: NEXT → the patient joins → advice → DONE.
    label = re.compile(r"^(?:Token|टोकन) (\d+), (.+)$", re.MULTILINE)
    opd_by_name = {}
    with services.db.read() as session:
        for code in ("GEN24", "GENB"):
            opd = find_opd(session, code)
            assert opd is not None
            opd_by_name[opd.name_en] = opd_by_name[opd.name_hi] = code
    idle: set[str] = set()
    calls: list[tuple[str, str, int]] = []
    for _ in range(40):
        if len(idle) == len(doctors):
            break
        for user, doctor in doctors.items():
            if user in idle:
                continue
            answer = doctor.say("next")
            summary = answer[0]["text"]
            found = label.search(summary)
            if found is None:
                assert any(piece in summary for piece in (T["en"]["nobody"], T["hi"]["nobody"])), summary
                idle.add(user)
                continue
            idle.discard(user)
            key = (opd_by_name[found.group(2)], int(found.group(1)))
            assert key[0] in plan[user], (user, key)
            patient, lang = patients[key]
            ready = patient.poll()
            join = [c["key"] for m in ready for c in m["choices"] if c["key"].startswith("join:")]
            assert len(join) == 1, ready
            assert T[lang]["joining_ack"] in web_text(patient.say(choice=join[0]))
            doctor.say(f"Advice for token {key[1]} at {key[0]}: rest and fluids.")
            doctor.say(f"NOTE: seen by {user}")
            closed = web_text(doctor.say("done"))
            assert "Patient " in closed, closed
            framed = web_text(patient.poll())
            assert f"Advice for token {key[1]} at {key[0]}: rest and fluids." in framed
            calls.append((user, *key))
    assert len(idle) == 3, "the doctors did not finish the queue"

    # Every patient called exactly once, every consultation logged with notes and advice.
    assert len(calls) == 30 and len(set((opd, n) for _, opd, n in calls)) == 30
    rows = consultations(services)
    assert len(rows) == 30
    assert len({row.token_id for row in rows}) == 30
    assert len({row.patient_id for row in rows}) == 30
    assert all(row.outcome == ConsultationOutcome.DONE for row in rows)
    assert all(row.notes.startswith("seen by doc-") and row.advice.endswith("rest and fluids.") for row in rows)
    assert all(row.called_at <= row.joined_at <= row.ended_at for row in rows)  # type: ignore[operator]
    with services.db.read() as session:
        statuses = Counter(session.scalars(select(Token.status)))
        assert statuses == {TokenStatus.DONE: 30}
        assert session.scalar(select(func.count()).select_from(Consultation).where(Consultation.outcome.is_(None))) == 0
    per_doctor = Counter(user for user, _, _ in calls)
    assert sum(per_doctor.values()) == 30 and all(per_doctor[user] > 0 for user in doctors), per_doctor

    # The report's totals match the log.
    with services.db.read() as session:
        report = build_report(session, today_ist(), today_ist())
    assert report.total.consultations == 30 and report.total.done == 30
    assert report.total.patients == 30
    assert report.total.no_shows == 0 and report.total.other_calls == 0
    assert sum(o.figures.consultations for o in report.opds) == 30
    assert {o.code: o.figures.consultations for o in report.opds if o.figures.consultations} == {"GEN24": 15, "GENB": 15}
    assert sum(d.figures.consultations for d in report.doctors) == 30
    assert sum(s.consultations for s in report.states) == 30


# --- the desk offers what changes the doctor's status (the pure flows, in-memory ports) -----------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("status", "offered"),
    [(DoctorState.OFFLINE, ["next", "pause"]), (DoctorState.PAUSED, ["next", "off"]), (DoctorState.FREE, ["next", "pause", "off"])],
)
def test_the_desk_offers_no_status_the_doctor_already_has(catalogs, lang: str, status: DoctorState, offered: list[str]) -> None:
    """A doctor who was off duty was offered "Go off duty"."""
    chat = FlowChat(catalogs, lang, State(step="doctor_home", language=lang), desk=FakeDesk(status=status), role="doctor")
    chat.send("menu")
    assert chat.last_choices == offered


@pytest.mark.parametrize("lang", LANGS)
def test_going_off_duty_when_off_duty_says_so(catalogs, lang: str) -> None:
    chat = FlowChat(catalogs, lang, State(step="doctor_home", language=lang), desk=FakeDesk(status=DoctorState.OFFLINE), role="doctor")
    texts = chat.send(WORDS[lang]["off"])
    assert texts[0] == {"en": "You are off duty already. Send NEXT when you are back.", "hi": "आप पहले से ड्यूटी से बाहर हैं। लौटने पर “अगला” भेजें।"}[lang]
    assert chat.state.step == "doctor_home"
