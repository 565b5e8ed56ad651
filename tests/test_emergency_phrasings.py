"""Danger signs at the menu through the real dispatcher: emergency advice first, in the user's language.

Every red-flag class of flows/understanding/data/red_flags.json, phrased in English, Devanagari
Hindi and romanised Hindi, sent by a registered user at the menu, gets the emergency reply
(108/112; Tele-MANAS 14416 and 112 for self-harm) as the very first message. The patient may
still book, and their token goes to the head of the queue. Negated and mild complaints do not
trigger it. A brand-new user's first message gets the advice before the greeting.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels import local
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.services.booking import BookingRecords
from bot.services.opds import find_opd
from bot.store.db import Database
from bot.store.models import Identity
from flows.ports import BookingOutcome, Intake
from tests.booking_helpers import (  # noqa: F401  (fixtures are used by being imported)
    JOURNEY,
    ChatUser,
    Q,
    _clear_of_midnight_ist,
    assert_clean,
    live_position,
    read_token,
    register,
    run,
    today_ist,
    tokens_of,
)
from tests.emergency_helpers import (
    ADVICE_PIECES,
    CHILD_NAME,
    GENTLE,
    SEEN_FIRST,
    assert_advice_first,
    finish_booking_at_gen24,
)

STYLE = {"en": "english", "hi": "hindi", "rom": "romanised"}
UI = {"en": "en", "hi": "hi", "rom": "hi"}


GREETING = {"en": "Namaste! I am the teleopd assistant.", "hi": "नमस्ते! मैं टेलीओपीडी का सहायक हूँ।"}


# (what a registered user sends at the menu, the red-flag class, the language)
PHRASINGS: list[tuple[str, str, str]] = [
    ("I have severe chest pain and sweating", "chest_pain", "en"),
    ("pain in chest going to left arm", "chest_pain", "en"),
    ("मेरे सीने में तेज़ दर्द है", "chest_pain", "hi"),
    ("छाती में दर्द और पसीना", "chest_pain", "hi"),
    ("papa ke seene mein dard ho raha hai", "chest_pain", "rom"),
    ("chhati me bahut dard hai", "chest_pain", "rom"),
    ("my mother cannot breathe properly", "severe_breathlessness", "en"),
    ("he is gasping and choking", "severe_breathlessness", "en"),
    ("सांस लेने में बहुत दिक्कत हो रही है", "severe_breathlessness", "hi"),
    ("दादी का दम घुट रहा है", "severe_breathlessness", "hi"),
    ("saans nahi le pa rahi hai", "severe_breathlessness", "rom"),
    ("mummy ka dam ghut raha hai", "severe_breathlessness", "rom"),
    ("my father has collapsed and is unresponsive", "unconscious", "en"),
    ("she fainted in the kitchen", "unconscious", "en"),
    ("नानी बेहोश हो गईं", "unconscious", "hi"),
    ("भाई को होश नहीं आ रहा", "unconscious", "hi"),
    ("bhai behosh ho gaya hai", "unconscious", "rom"),
    ("nana ko hosh nahi aa raha", "unconscious", "rom"),
    ("my son is having a seizure right now", "seizure", "en"),
    ("she had convulsions this morning", "seizure", "en"),
    ("बेटे को झटके आ रहे हैं", "seizure", "hi"),
    ("पापा को मिर्गी का दौरा पड़ा", "seizure", "hi"),
    ("beti ko jhatke aa rahe hain", "seizure", "rom"),
    ("bhai ko mirgi ka daura pada hai", "seizure", "rom"),
    ("my leg is bleeding heavily after an accident", "heavy_bleeding", "en"),
    ("he is losing a lot of blood", "heavy_bleeding", "en"),
    ("चोट से बहुत खून बह रहा है", "heavy_bleeding", "hi"),
    ("सिर से खून रुक नहीं रहा", "heavy_bleeding", "hi"),
    ("haath se khoon beh raha hai", "heavy_bleeding", "rom"),
    ("sar se khoon band nahi ho raha", "heavy_bleeding", "rom"),
    ("my father's face is drooping on one side", "stroke", "en"),
    ("sudden weakness on one side and slurred speech", "stroke", "en"),
    ("दादा जी का मुंह टेढ़ा हो गया है", "stroke", "hi"),
    ("पापा को लकवा मार गया", "stroke", "hi"),
    ("dadi ka munh tedha ho gaya", "stroke", "rom"),
    ("papa ko achanak lakwa ho gaya", "stroke", "rom"),
    ("he is vomiting blood since morning", "vomiting_blood", "en"),
    ("there was blood in the vomit", "vomiting_blood", "en"),
    ("पापा को खून की उल्टी हुई", "vomiting_blood", "hi"),
    ("उल्टी में खून आया", "vomiting_blood", "hi"),
    ("mummy ko khoon ki ulti hui", "vomiting_blood", "rom"),
    ("ulti me khoon aa raha hai", "vomiting_blood", "rom"),
    ("I am 8 months pregnant and bleeding", "pregnancy_danger", "en"),
    ("my pregnant wife is having fits", "pregnancy_danger", "en"),
    ("मेरी पत्नी गर्भवती है और खून आ रहा है", "pregnancy_danger", "hi"),
    ("गर्भवती हूँ, झटके आ रहे हैं", "pregnancy_danger", "hi"),
    ("biwi pregnant hai aur khoon aa raha hai", "pregnancy_danger", "rom"),
    ("main garbhvati hoon aur khoon aa raha hai", "pregnancy_danger", "rom"),
    ("my baby is not feeding at all", "child_danger", "en"),
    ("my child vomits everything he eats", "child_danger", "en"),
    ("बच्चा कुछ नहीं पी रहा", "child_danger", "hi"),
    ("मेरा बच्चा दूध नहीं पी रहा है", "child_danger", "hi"),
    ("mera bachcha doodh nahi pee raha", "child_danger", "rom"),
    ("bachcha kuch nahi pee raha", "child_danger", "rom"),
    ("my brother drank pesticide", "poisoning", "en"),
    ("she swallowed rat poison", "poisoning", "en"),
    ("भाई ने ज़हर खा लिया", "poisoning", "hi"),
    ("चाचा ने कीटनाशक पी लिया", "poisoning", "hi"),
    ("bhai ne zeher kha liya", "poisoning", "rom"),
    ("chacha ne keetnashak pi liya", "poisoning", "rom"),
    ("a snake bit my father in the field", "snake_bite", "en"),
    ("snake bite on my foot", "snake_bite", "en"),
    ("खेत में सांप ने काट लिया", "snake_bite", "hi"),
    ("बेटे को सांप ने डसा", "snake_bite", "hi"),
    ("papa ko saanp ne kaata", "snake_bite", "rom"),
    ("beta ko saap ne kaat liya", "snake_bite", "rom"),
    ("my daughter got burned with boiling water", "burns", "en"),
    ("severe burns from a gas cylinder fire", "burns", "en"),
    ("मेरा हाथ आग से जल गया", "burns", "hi"),
    ("बच्चे पर गरम पानी गिर गया", "burns", "hi"),
    ("mummy ka haath jal gaya", "burns", "rom"),
    ("aag se jal gayi hai", "burns", "rom"),
    ("I want to end my life", "self_harm", "en"),
    ("I have been thinking about suicide", "self_harm", "en"),
    ("मैं मरना चाहता हूँ", "self_harm", "hi"),
    ("मैं आत्महत्या के बारे में सोच रही हूँ", "self_harm", "hi"),
    ("main marna chahta hoon", "self_harm", "rom"),
    ("mujhe khudkushi ke khayal aate hain", "self_harm", "rom"),
]
CLASSES = (
    "chest_pain", "severe_breathlessness", "unconscious", "seizure", "heavy_bleeding", "stroke", "vomiting_blood",
    "pregnancy_danger", "child_danger", "poisoning", "snake_bite", "burns", "self_harm",
)

# Common ways of saying it that the detector misses today (product bugs: see the report).
MISSED: list[tuple[str, str, str]] = [
    ("I threw up blood", "vomiting_blood", "en"),
    ("fit aa gaya", "seizure", "rom"),
    ("फिट आ गया", "seizure", "hi"),
    ("mujhe marna hai", "self_harm", "rom"),
    ("मुझे मरना है", "self_harm", "hi"),
    ("अपनी जान देना चाहता हूँ", "self_harm", "hi"),
    ("zindagi khatam karna chahta hoon", "self_harm", "rom"),
    ("I feel like ending it all", "self_harm", "en"),
    ("neend ki bahut goliyan kha li", "poisoning", "rom"),
    ("bachcha pee nahi pa raha", "child_danger", "rom"),
]

# (what a registered user sends at the menu, the language): no emergency reply.
NOT_EMERGENCIES: list[tuple[str, str]] = [
    ("mild cold", "en"),
    ("हल्का जुकाम", "hi"),
    ("no chest pain", "en"),
    ("सीने में दर्द नहीं है", "hi"),
    ("seene mein dard nahi hai", "rom"),
    ("thoda sar dard", "rom"),
    ("halka bukhar hai", "rom"),
    ("thodi si khansi hai", "rom"),
    ("I don't have any chest pain, only cough", "en"),
    ("mild headache since 2 days", "en"),
    ("बुखार और हल्की खांसी", "hi"),
    ("सांस की कोई दिक्कत नहीं, बस जुकाम है", "hi"),
    ("no bleeding, just a small cut on the finger", "en"),
    ("naak beh rahi hai", "rom"),
    ("गले में खराश", "hi"),
]


def book_two_ordinary_patients(services: Services) -> ChatUser:
    """A family holds two ordinary tokens at the round-the-clock OPD: numbers 1 and 2.

    Booked through the booking records (what the chat's booking calls), not the chat: what is
    tested is the danger-sign token that comes after them (tests/test_booking_journeys.py books
    through the chat).
    """
    family = register(services, "english", "ordinary", "Rahul Verma", "male")
    with services.db.write() as session:
        identity = session.scalars(select(Identity).where(Identity.channel == local.NAME, Identity.address == family.user)).one()
        opd = find_opd(session, "GEN24")
        assert opd is not None
        records = BookingRecords(session, identity, dt.datetime.now(dt.UTC))
        for person_id in (None, records.add_dependent("Kamla Devi", 60, "female")):
            booked = records.book(opd.id, person_id, Intake(text="fever", for_whom="self" if person_id is None else "other"), priority=False)
            assert booked.outcome is BookingOutcome.BOOKED, booked
    assert [(t.opd.code, t.number, t.priority) for t in tokens_of(services, family.user)] == [("GEN24", 1, False), ("GEN24", 2, False)]
    return family


# Every phrasing is checked for the advice coming first; the first phrasing of each class
# in each language also goes on to a whole priority booking (the slow part).
BOOKED_THROUGH = {next(t for t, c, g in PHRASINGS if (c, g) == key) for key in {(c, g) for _, c, g in PHRASINGS}}
MENU_WORD = {"en": "menu", "hi": "मेनू", "rom": "menu"}


@pytest.fixture(scope="module")
def shared_demo(sqlite_demo_template: Path, catalogs: Catalogs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """One demo database for this module's checks of a single message at the menu.

    What those check is the reply to one message from a registered user; registering a new
    user for each (ten turns) was nine tenths of their time. Each kind of check has a user of
    its own per language, who goes back to the menu before each message (at_the_menu).
    """
    path = tmp_path_factory.mktemp("phrasings") / "teleopd.db"
    shutil.copy(sqlite_demo_template, path)
    database = Database(f"sqlite:///{path}")
    yield build_services(Settings(database_url=database.url, inbound_per_minute=1000), db=database, catalogs=catalogs)
    database.dispose()


_AT_THE_MENU: dict[tuple[int, str, str], ChatUser] = {}


def at_the_menu(services: Services, lang: str, kind: str) -> ChatUser:
    """Return this kind of check's registered user in lang, at the main menu."""
    key = (id(services), lang, kind)
    user = _AT_THE_MENU.get(key)
    if user is None:
        user = _AT_THE_MENU[key] = register(services, STYLE[lang], f"{kind}-{lang}", sex="female")
    else:
        answer = user.say(MENU_WORD[lang])
        assert Q[UI[lang]]["menu"] in answer.texts[-1], answer.texts
    return user


def check_emergency_reply(user: ChatUser, text: str, code: str) -> None:
    """The advice comes first; then the patient may still book, their own words starting it."""
    ui = user.ui
    answer = user.say(text)
    assert_advice_first(answer, code, ui)
    # After thoughts of self-harm, a gentle offer of a doctor rather than the booking's questions.
    assert (GENTLE[ui] if code == "self_harm" else Q[ui]["who"]) in answer.texts[-1], answer.texts


@pytest.mark.parametrize(("text", "code", "lang"), PHRASINGS, ids=[f"{c}-{g}-{i}" for i, (_, c, g) in enumerate(PHRASINGS)])
def test_danger_signs_at_the_menu_get_the_emergency_reply_first(shared_demo: Services, text: str, code: str, lang: str) -> None:
    check_emergency_reply(at_the_menu(shared_demo, lang, "urgent"), text, code)


@pytest.mark.parametrize(("text", "code", "lang"), [p for p in PHRASINGS if p[0] in BOOKED_THROUGH],
                         ids=[f"{c}-{g}" for t, c, g in PHRASINGS if t in BOOKED_THROUGH])
def test_a_danger_sign_at_the_menu_books_a_priority_token_ahead_of_the_queue(demo: Services, text: str, code: str, lang: str) -> None:
    style, ui = STYLE[lang], UI[lang]
    family = book_two_ordinary_patients(demo)
    user = register(demo, style, f"urgent-{lang}", sex="female")
    check_emergency_reply(user, text, code)
    if code == "child_danger":
        user.names.add(CHILD_NAME[style])
    answer = finish_booking_at_gen24(demo, user, for_child=code == "child_danger")
    shown = next(t for t in answer.texts if Q[ui]["booked"] in t)
    assert SEEN_FIRST[ui] in answer.all_text
    [token] = tokens_of(demo, user.user)
    assert token.opd.code == "GEN24" and token.day == today_ist()
    assert token.priority is True and code in token.red_flags, (token.priority, token.red_flags)
    assert token.number == 3
    assert read_token(shown, ui) == (3, 1) and live_position(demo, token.id) == 1
    # The ordinary patients booked before now wait behind it.
    status = family.say("status")
    assert [read_token(t, "en")[1] for t in status.texts[:-1]] == [2, 3]
    assert_clean(user)


def test_the_table_covers_every_class_in_every_language() -> None:
    assert len(PHRASINGS) >= 60
    for code in CLASSES:
        for lang in ("en", "hi", "rom"):
            assert sum(1 for _, c, g in PHRASINGS if (c, g) == (code, lang)) >= 2, (code, lang)


@pytest.mark.parametrize(("text", "code", "lang"), MISSED, ids=[f"{c}-{g}-{i}" for i, (_, c, g) in enumerate(MISSED)])
def test_more_ways_of_saying_it_get_the_emergency_reply_first(shared_demo: Services, text: str, code: str, lang: str) -> None:
    assert_advice_first(at_the_menu(shared_demo, lang, "missed").say(text), code, UI[lang])


@pytest.mark.parametrize(("text", "lang"), NOT_EMERGENCIES, ids=[f"{g}-{i}" for i, (_, g) in enumerate(NOT_EMERGENCIES)])
def test_negated_and_mild_complaints_get_no_emergency_reply(shared_demo: Services, text: str, lang: str) -> None:
    answer = at_the_menu(shared_demo, lang, "mild").say(text)
    for piece in ADVICE_PIECES:
        assert piece not in answer.all_text, f"{text!r} got emergency advice: {answer.texts!r}"
    # Still a question to answer: the booking starts, or the menu asks again.
    assert Q[UI[lang]]["who"] in answer.texts[-1] or Q[UI[lang]]["menu"] in answer.texts[-1]


@pytest.mark.parametrize(("text", "lang"), [("seene mein dard nahi hai, sirf khansi", "rom"), ("no chest pain, only cough since 2 days", "en")])
def test_a_negated_danger_sign_books_an_ordinary_token(demo: Services, text: str, lang: str) -> None:
    user = register(demo, STYLE[lang], f"negated-{lang}")
    answer = user.say(text)
    assert not any(piece in answer.all_text for piece in ADVICE_PIECES)
    answer = finish_booking_at_gen24(demo, user, for_child=False)
    assert SEEN_FIRST[UI[lang]] not in answer.all_text
    [token] = tokens_of(demo, user.user)
    assert (token.priority, token.red_flags) == (False, [])


# --- danger signs at other steps ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ui"),
    [("seene mein dard", "en"), ("सीने में दर्द हो रहा है", "hi"), ("I can't breathe", "en"), ("मैं मरना चाहता हूँ", "hi")],
)
def test_a_new_users_first_message_gets_the_advice_before_the_greeting(services: Services, text: str, ui: str) -> None:
    user = ChatUser(services, f"new-{ui}-{len(text)}", "english" if ui == "en" else "hindi")
    answer = user.say(text)
    code = "self_harm" if "मरना" in text else "chest_pain"
    assert_advice_first(answer, code, ui)
    assert GREETING[ui] in answer.texts[1]
    assert len(answer.texts) == 3 and answer.choices[-1], "then the language question"
