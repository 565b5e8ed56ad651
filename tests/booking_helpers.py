"""The booking tests' shared pieces: the words people type per style (English, Devanagari Hindi,
romanised Hindi), the bot's questions (Q), chat users, registering, the demo and all-open
fixtures, the standard journey, and reading tokens back from the database and from what the
bot says (with the check that no message leaks codes or the wrong script).

Tests run at the real current time; the autouse fixture `_clear_of_midnight_ist` keeps "today"
one day for a whole test (import it with the rest).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import select

from bot.runtime import Services
from bot.services.opds import DEMO_OPDS, OpdSpec, load_demo, upsert_opd
from bot.store.models import (
    Conversation,
    Identity,
    Token,
    TokenStatus,
)
from tests.helpers import (
    LocalUser,
    Said,
)

IST = ZoneInfo("Asia/Kolkata")
STYLES = ("english", "hindi", "romanised")
UI = {"english": "en", "hindi": "hi", "romanised": "hi"}
BABEL = {"en": "en_IN", "hi": "hi_IN"}

# How each kind of user registers ({name} and {sex} filled in per user).
REGISTER = {
    "english": ["hello", "English", "yes", "{name}", "34", "{sex}", "Uttar Pradesh", "Varanasi", "skip", "yes"],
    "hindi": ["नमस्ते", "हिंदी", "हाँ", "{name}", "३४", "{sex}", "उत्तर प्रदेश", "वाराणसी", "छोड़ें", "हाँ"],
    "romanised": ["namaste", "hindi", "haan", "{name}", "34 saal", "{sex}", "bihar", "Patna", "9876543210", "theek hai"],
}
SEX = {
    "english": {"female": "female", "male": "male"},
    "hindi": {"female": "महिला", "male": "पुरुष"},
    "romanised": {"female": "mahila", "male": "purush"},
}
NAMES = {
    "english": ("Sunita Devi", "Rahul Verma"),
    "hindi": ("सुनीता देवी", "राहुल वर्मा"),
    "romanised": ("Sunita Devi", "Ramesh Kumar"),
}
STATUS_WORD = {"english": "status", "hindi": "स्थिति", "romanised": "sthiti"}
CANCEL_WORD = {"english": "cancel", "hindi": "रद्द", "romanised": "radd"}
YES = {"english": "yes", "hindi": "हाँ", "romanised": "haan"}
NO = {"english": "no", "hindi": "नहीं", "romanised": "nahi"}

# A piece of every question and message the journeys meet, per interface language.
Q = {
    "en": {
        "menu": "What would you like to do?",
        "symptoms": "What is the problem?",
        "who": "Who is the patient?",
        "dep_name": "What is the patient's name?",
        "dep_age": "How old is",
        "dep_sex": "female, male or other?",
        "since": "Since when?",
        "how_bad": "How bad is it?",
        "suggest": "OPD fits these symptoms.",
        "book_it": "Shall I book a token there?",
        "pick": "Which OPD would you like?",
        "booked": "Your token is booked.",
        "existing": "You already have a token for this OPD on that day.",
        "closed": "is closed now.",
        "offer": "Shall I book a token for then?",
        "declined": "All right, no token was booked.",
        "cancel_q": "Cancel token",
        "cancelled": "is cancelled.",
        "kept": "Your token is kept.",
        "no_token": "You have no token to cancel.",
        "none_booked": "You have no token booked.",
        "token_menu": "What would you like to do with your token?",
        "which_day": "Which day would suit you?",
        "moved": "Your token is moved.",
        "choose": "Please choose one of the options",
        "age_problem": "Please send the age as a number of years from 0 to 120",
        "words_problem": "Please tell me the problem in words",
        "opd_problem": "I could not find that OPD.",
        "since_problem": "Please say how long",
        "next": "no wait, you are next",
        "minutes": "about {n} minutes",
        "per_patient": "we count {n} minutes per patient",
    },
    "hi": {
        "menu": "आप क्या करना चाहेंगे?",
        "symptoms": "क्या तकलीफ़ है?",
        "who": "मरीज़ कौन है?",
        "dep_name": "मरीज़ का नाम क्या है?",
        "dep_age": "की उम्र कितनी है?",
        "dep_sex": "महिला हैं, पुरुष हैं या अन्य?",
        "since": "यह कब से है?",
        "how_bad": "तकलीफ़ कितनी है?",
        "suggest": "इन तकलीफ़ों के लिए",
        "book_it": "क्या वहाँ टोकन बुक कर दूँ?",
        "pick": "आप कौन सी ओपीडी चुनना चाहेंगे?",
        "booked": "आपका टोकन बुक हो गया है।",
        "existing": "उस दिन इस ओपीडी का टोकन आपके पास पहले से है",
        "closed": "अभी बंद है।",
        "offer": "क्या उस समय का टोकन बुक कर",
        "declined": "ठीक है, कोई टोकन बुक नहीं किया गया।",
        "cancel_q": "रद्द करें?",
        "cancelled": "रद्द कर दिया गया है।",
        "kept": "आपका टोकन बना रहेगा।",
        "no_token": "आपके पास रद्द करने के लिए कोई टोकन नहीं है।",
        "none_booked": "आपका कोई टोकन बुक नहीं है।",
        "token_menu": "अपने टोकन का क्या करना चाहेंगे?",
        "which_day": "आपके लिए कौन सा दिन ठीक रहेगा?",
        "moved": "आपका टोकन बदल दिया गया है।",
        "choose": "कृपया नीचे दिए विकल्पों में से कोई एक चुनें",
        "age_problem": "कृपया उम्र 0 से 120 के बीच",
        "words_problem": "कृपया अपनी तकलीफ़ शब्दों में बताएँ",
        "opd_problem": "यह ओपीडी नहीं मिली।",
        "since_problem": "कृपया बताएँ",
        "next": "इंतज़ार नहीं, अगली बारी आपकी है",
        "minutes": "लगभग {n} मिनट",
        "per_patient": "हम हर मरीज़ के लिए {n} मिनट मानते हैं",
    },
}
# The token message and the status answer, read back: number, place in the queue.
NUMBER_RE = {"en": re.compile(r"Token(?: number:)? (\d+)"), "hi": re.compile(r"टोकन नंबर:? (\d+)")}
PLACE_RE = {"en": re.compile(r"Place in the queue: (\d+)"), "hi": re.compile(r"कतार में (?:आपकी )?जगह: (\d+)")}

# The bot never names a medicine or a diagnosis (DESIGN.md, Safety).
FORBIDDEN = re.compile(
    r"\b(?:tablets?|paracetamol|crocin|dolo|antibiotics?|syrup|capsules?|dose|dawa|dawai|diagnos\w*)\b"
    r"|दवा|दवाई|गोली|निदान",
    re.IGNORECASE,
)
# Latin words a Hindi reply may hold besides names: the two English command words the Hindi
# texts name on purpose ("STOP", "START"). The service's name is written टेलीओपीडी.
HINDI_LATIN_OK = {"STOP", "START"}


class ChatUser(LocalUser):
    """A local-channel user that keeps every reply the bot sent, for whole-dialog checks."""

    def __init__(self, services: Services, user: str, style: str):
        super().__init__(services, user)
        self.style = style
        self.ui = UI[style]
        self.log: list[str] = []
        self.names: set[str] = set()

    def say(self, text: str = "", choice: str | None = None, provider_id: str | None = None) -> Said:
        answer = super().say(text, choice, provider_id)
        self.log.extend(answer.texts)
        self.log.extend(c["label"] for row in answer.choices for c in row)
        return answer

    def q(self, key: str, **params: object) -> str:
        """Return a piece of a question or message in this user's interface language."""
        return Q[self.ui][key].format(**params)


@pytest.fixture(autouse=True)
def _clear_of_midnight_ist() -> None:
    """Start well clear of midnight in India, so "today" is one day for the whole test."""
    now = dt.datetime.now(IST)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0), IST)
    if (midnight - now).total_seconds() < 90:
        time.sleep((midnight - now).total_seconds() + 1)


@pytest.fixture
def all_open(services: Services) -> Services:
    """The demo catalogue with every OPD round the clock, so suggestions book at once."""
    with services.db.write() as session:
        load_demo(session)
        for spec in DEMO_OPDS:
            upsert_opd(session, OpdSpec(spec.code, spec.name_en, spec.name_hi, spec.specialty, "24h", "all", spec.capacity))
    return services


def today_ist() -> dt.date:
    return dt.datetime.now(IST).date()


def long_date(day: dt.date, ui: str) -> str:
    return format_date(day, "long", locale=BABEL[ui])


def register(services: Services, style: str, user: str, name: str | None = None, sex: str = "female") -> ChatUser:
    """Register a new user the way that kind of user types, ending at the main menu."""
    patient = ChatUser(services, user, style)
    name = name or NAMES[style][0]
    patient.names.update({name, "Patna"})  # the romanised user's district, typed in Latin letters
    answer = None
    for i, line in enumerate(REGISTER[style]):
        if i == 2:
            patient.log.clear()  # the greeting and the language question come before a language is chosen
        answer = patient.say(line.format(name=name, sex=SEX[style][sex]))
    assert answer is not None and patient.q("menu") in answer.texts[-1], answer.texts
    return patient


def run(patient: ChatUser, dialog: list[tuple[str, str]]) -> Said:
    """Say each line and check a piece of the bot's answer; return the last answer."""
    answer = None
    for said, expected in dialog:
        answer = patient.say(said)
        assert expected in answer.all_text, f"{patient.style}: after {said!r} expected {expected!r}, got {answer.texts!r}"
    assert answer is not None
    return answer


def identity_id(services: Services, user: str) -> int:
    with services.db.read() as session:
        return session.scalars(select(Identity.id).where(Identity.address == user)).one()


def step_of(services: Services, user: str) -> str | None:
    with services.db.read() as session:
        return session.scalars(
            select(Conversation.step).join(Identity, Identity.id == Conversation.identity_id).where(Identity.address == user)
        ).one()


def tokens_of(services: Services, user: str) -> list[Token]:
    """Return the tokens booked from this user's chat, oldest first, with their OPD loaded."""
    booked_by = identity_id(services, user)
    with services.db.read() as session:
        rows = session.scalars(select(Token).where(Token.identity_id == booked_by).order_by(Token.id)).all()
        for row in rows:
            _ = row.opd.code, row.person.name  # load before the session closes
        return list(rows)


def live_position(services: Services, token_id: int) -> int:
    """Count the place in the queue independently: priority first, then token order."""
    with services.db.read() as session:
        me = session.get(Token, token_id)
        assert me is not None
        waiting = session.scalars(
            select(Token).where(Token.opd_id == me.opd_id, Token.day == me.day, Token.status == TokenStatus.WAITING)
        ).all()
        ahead = [t for t in waiting if (t.priority and not me.priority) or (t.priority == me.priority and t.number < me.number)]
        return len(ahead) + 1


def read_token(text: str, ui: str) -> tuple[int, int]:
    """Return (token number, place in the queue) from a token message or a status answer."""
    number, place = NUMBER_RE[ui].search(text), PLACE_RE[ui].search(text)
    assert number and place, f"no token number or place in {text!r}"
    return int(number.group(1)), int(place.group(1))


def message_with(answer: Said, piece: str) -> str:
    found = [text for text in answer.texts if piece in text]
    assert found, f"expected a message with {piece!r}, got {answer.texts!r}"
    return found[0]


def assert_clean(patient: ChatUser) -> None:
    """No reply names a medicine or a diagnosis; in a Hindi chat every reply is Devanagari
    apart from numbers and the names the user typed in Latin letters."""
    for text in patient.log:
        bad = FORBIDDEN.search(text)
        assert bad is None, f"{patient.style}: a reply names {bad.group(0)!r}: {text!r}"
    if patient.ui != "hi":
        return
    allowed = HINDI_LATIN_OK | {w for name in patient.names for w in re.findall(r"[A-Za-z]+", name)}
    for text in patient.log:
        latin = set(re.findall(r"[A-Za-z]+", text)) - allowed
        assert not latin, f"{patient.style}: English words {sorted(latin)} in a Hindi reply: {text!r}"


# --- the journey: symptoms → token, then status ------------------------------------------------

JOURNEY = {
    "english": [
        ("I have fever and cough", Q["en"]["who"]),
        ("myself", Q["en"]["since"]),
        ("3 days", Q["en"]["how_bad"]),
        ("2", Q["en"]["suggest"]),
        ("yes", Q["en"]["booked"]),
    ],
    "hindi": [
        ("मुझे बुखार है", Q["hi"]["who"]),
        ("१", Q["hi"]["since"]),
        ("३ दिन से", Q["hi"]["how_bad"]),
        ("मध्यम", Q["hi"]["suggest"]),
        ("हाँ", Q["hi"]["booked"]),
    ],
    "romanised": [
        ("mujhe bukhar hai", Q["hi"]["who"]),
        ("1", Q["hi"]["since"]),
        ("3 din se", Q["hi"]["how_bad"]),
        ("thoda", Q["hi"]["suggest"]),
        ("haan", Q["hi"]["booked"]),
    ],
}


# --- for a child, a rash, a pregnancy: the OPD that fits ------------------------------------------

CHILD = {
    "english": [
        ("my son has fever and cough", Q["en"]["who"]),
        ("my child", Q["en"]["dep_name"]),
        ("Guddu", "How old is Guddu?"),
        ("५", "Is Guddu female, male or other?"),
        ("boy", Q["en"]["since"]),
        ("since yesterday", Q["en"]["how_bad"]),
        ("moderate", "The Paediatrics OPD fits these symptoms."),
        ("yes", Q["en"]["booked"]),
    ],
    "hindi": [
        ("बेटे को बुखार और खांसी है", Q["hi"]["who"]),
        ("मेरा बच्चा", Q["hi"]["dep_name"]),
        ("गुड्डू", "गुड्डू की उम्र कितनी है?"),
        ("५", "गुड्डू महिला हैं, पुरुष हैं या अन्य?"),
        ("लड़का", Q["hi"]["since"]),
        ("कल से", Q["hi"]["how_bad"]),
        ("२", "इन तकलीफ़ों के लिए बाल रोग ओपीडी ठीक रहेगी।"),
        ("हाँ", Q["hi"]["booked"]),
    ],
    "romanised": [
        ("bete ko bukhar hai", Q["hi"]["who"]),
        ("bachcha", Q["hi"]["dep_name"]),
        ("Guddu", "Guddu की उम्र कितनी है?"),
        ("५ saal", "Guddu महिला हैं, पुरुष हैं या अन्य?"),
        ("ladka", Q["hi"]["since"]),
        ("kal se", Q["hi"]["how_bad"]),
        ("madhyam", "इन तकलीफ़ों के लिए बाल रोग ओपीडी ठीक रहेगी।"),
        ("haan", Q["hi"]["booked"]),
    ],
}


# How each kind of user says "another OPD", then picks one by its number and by its name.
OTHER_OPD = {"english": "Choose another OPD", "hindi": "दूसरी ओपीडी चुनें", "romanised": "dusra"}
