"""The doctor-side tests' shared pieces: the words and texts per language, the demo fixture,
chat users (enrolled doctors, registered patients), booking, and reading back tokens,
consultations and doctors from the database.

Each person chooses their language at the start, as a real user does ("hello" → "English",
"नमस्ते" → "हिंदी"); doctors enrol with the one-time code `add_doctor` prints. Tests run at the
real current time on the demo's round-the-clock OPD (GEN24); the autouse fixture
`_clear_of_midnight_ist` keeps "today" one day for a whole test (import it with the rest).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.runtime import Services
from bot.services.enrolment import add_doctor
from bot.services.opds import find_opd
from bot.store.models import (
    Consultation,
    Conversation,
    Doctor,
    Identity,
    Token,
)
from tests.helpers import LocalUser, Said

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
        "call_closed": "The call for token {number} is closed: the doctor has moved on to the next patient.",
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
        "call_closed": "टोकन {number} की कॉल बंद हो गई है: डॉक्टर अगले मरीज़ को देखने लगे हैं।",
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
