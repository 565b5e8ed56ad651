"""Danger signs through the real dispatcher: emergency advice first, in the user's language.

Every red-flag class of flows/data/red_flags.json, phrased in English, Devanagari Hindi and
romanised Hindi, sent by a registered user at the menu, gets the emergency reply (108/112;
Tele-MANAS 14416 and 112 for self-harm) as the very first message. The patient may still
book, and their token goes to the head of the queue. Negated and mild complaints do not
trigger it. Red flags also come first for a brand-new user, during registration and while
messages are stopped.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.models import Identity, Person
from bot.services import Services
from flows.messages import ByLanguage
from tests.helpers import IN_MEMORY_NOW, Said, registered_chat, registered_profile
from tests.test_booking_flow import (  # noqa: F401  (fixtures are used by being imported)
    JOURNEY,
    OTHER_OPD,
    Q,
    ChatUser,
    _clear_of_midnight_ist,
    all_open,
    demo,
    assert_clean,
    live_position,
    read_token,
    register,
    run,
    step_of,
    today_ist,
    tokens_of,
)

STYLE = {"en": "english", "hi": "hindi", "rom": "romanised"}
UI = {"en": "en", "hi": "hi", "rom": "hi"}
# The emergency advice, a piece of each, as the user must see it first.
AMBULANCE = {"en": "This may be an emergency. Call 108 for an ambulance now, or 112.", "hi": "यह आपात स्थिति हो सकती है। अभी एम्बुलेंस के लिए 108 पर या 112 पर कॉल"}
TELE_MANAS = {"en": "Please call Tele-MANAS on 14416", "hi": "कृपया टेली-मानस को 14416 पर कॉल"}
DANGER_NOW = {"en": "If you are in danger now, call 112.", "hi": "अगर आप अभी ख़तरे में हैं, तो 112 पर कॉल करें।"}
SEEN_FIRST = {"en": "you will be seen first", "hi": "आपको सबसे पहले देखेंगे"}
GREETING = {"en": "Namaste! I am the teleopd assistant.", "hi": "नमस्ते! मैं teleopd सहायक हूँ।"}
ADVICE_PIECES = ("108", "14416", "Tele-MANAS", "टेली-मानस", "emergency", "आपात")

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


def advice_of(code: str, ui: str) -> tuple[str, ...]:
    """Return the pieces the first reply must hold for a red-flag class."""
    if code == "self_harm":
        return (TELE_MANAS[ui], "14416", DANGER_NOW[ui], "112")
    return (AMBULANCE[ui], "108", "112")


def assert_advice_first(answer: Said, code: str, ui: str) -> None:
    first = answer.texts[0]
    for piece in advice_of(code, ui):
        assert piece in first, f"the first reply must hold {piece!r}, got {answer.texts!r}"


def book_two_ordinary_patients(services: Services) -> ChatUser:
    """A family books two ordinary tokens at the round-the-clock OPD: numbers 1 and 2."""
    family = register(services, "english", "ordinary", "Rahul Verma", "male")
    run(family, JOURNEY["english"])
    run(
        family,
        [
            ("fever", Q["en"]["who"]),
            ("Another family member", Q["en"]["dep_name"]),
            ("Kamla Devi", Q["en"]["dep_age"]),
            ("60", Q["en"]["dep_sex"]),
            ("female", Q["en"]["since"]),
            ("2 days", Q["en"]["how_bad"]),
            ("mild", Q["en"]["suggest"]),
            ("yes", Q["en"]["booked"]),
        ],
    )
    assert [(t.opd.code, t.number, t.priority) for t in tokens_of(services, family.user)] == [("GEN24", 1, False), ("GEN24", 2, False)]
    return family


# Typed answers for the rest of a booking, per kind of user.
SINCE = {"english": "since today", "hindi": "आज से", "romanised": "aaj se"}
CHILD = {"english": "my child", "hindi": "मेरा बच्चा", "romanised": "bachcha"}
CHILD_NAME = {"english": "Munni", "hindi": "मुन्नी", "romanised": "Munni"}


def finish_booking_at_gen24(services: Services, user: ChatUser, for_child: bool) -> Said:
    """Answer whatever the booking asks, as the user would, choosing the 24-hour OPD."""
    answers = {
        "support_offer": "1",  # after the Tele-MANAS reply: "yes, a doctor too"
        "for_whom": CHILD[user.style] if for_child else "1",
        "dep_name": CHILD_NAME[user.style],
        "dep_age": "१",
        "dep_sex": "1",
        "since_when": SINCE[user.style],
        "severity": "3",
        "opd_suggest": OTHER_OPD[user.style],
        "opd_pick": "GEN24",
    }
    answer = None
    for _ in range(10):
        step = step_of(services, user.user)
        if step == "menu" and answer is not None:
            return answer
        assert step in answers, f"unexpected step {step!r} while booking"
        answer = user.say(answers[step])
    raise AssertionError(f"the booking did not finish: {user.log[-3:]!r}")


# Every phrasing is checked for the advice coming first; the first phrasing of each class
# in each language also goes on to a whole priority booking (the slow part).
BOOKED_THROUGH = {next(t for t, c, g in PHRASINGS if (c, g) == key) for key in {(c, g) for _, c, g in PHRASINGS}}


@pytest.mark.parametrize(("text", "code", "lang"), PHRASINGS, ids=[f"{c}-{g}-{i}" for i, (_, c, g) in enumerate(PHRASINGS)])
def test_danger_signs_at_the_menu_get_the_emergency_reply_first_and_a_priority_token(
    demo: Services, text: str, code: str, lang: str
) -> None:
    style, ui = STYLE[lang], UI[lang]
    family = book_two_ordinary_patients(demo) if text in BOOKED_THROUGH else None
    user = register(demo, style, f"urgent-{lang}", sex="female")
    answer = user.say(text)
    assert_advice_first(answer, code, ui)
    # The patient may still book: their own words start the booking (after thoughts of
    # self-harm, with a gentle offer of a doctor rather than the booking's questions).
    assert (GENTLE[ui] if code == "self_harm" else Q[ui]["who"]) in answer.texts[-1], answer.texts
    if family is None:
        return

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
def test_more_ways_of_saying_it_get_the_emergency_reply_first(demo: Services, text: str, code: str, lang: str) -> None:
    user = register(demo, STYLE[lang], f"missed-{lang}")
    assert_advice_first(user.say(text), code, UI[lang])


@pytest.mark.parametrize(("text", "lang"), NOT_EMERGENCIES, ids=[f"{g}-{i}" for i, (_, g) in enumerate(NOT_EMERGENCIES)])
def test_negated_and_mild_complaints_get_no_emergency_reply(demo: Services, text: str, lang: str) -> None:
    user = register(demo, STYLE[lang], f"mild-{lang}")
    answer = user.say(text)
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


# (the step, the lines that reach it, what the user then says, the question that must come again)
DURING_ONBOARDING = [
    ("name", ["hello", "English", "yes"], "chest pain", "en", "chest_pain"),
    ("name", ["नमस्ते", "हिंदी", "हाँ"], "सीने में दर्द", "hi", "chest_pain"),
    ("age", ["hello", "English", "yes", "Asha"], "I can't breathe", "en", "severe_breathlessness"),
    ("age", ["namaste", "hindi", "haan", "Asha"], "saans nahi aa rahi", "hi", "severe_breathlessness"),
    ("state", ["नमस्ते", "हिंदी", "हाँ", "आशा", "३०", "महिला"], "मैं जीना नहीं चाहती", "hi", "self_harm"),
]
ONBOARDING_QUESTION = {
    ("name", "en"): "What is your full name?", ("name", "hi"): "आपका पूरा नाम क्या है?",
    ("age", "en"): "How old are you", ("age", "hi"): "आपकी उम्र कितनी है?",
    ("state", "hi"): "किस राज्य",
}


@pytest.mark.parametrize(("step", "lines", "text", "ui", "code"), DURING_ONBOARDING, ids=[f"{s}-{u}-{c}" for s, _, _, u, c in DURING_ONBOARDING])
def test_danger_signs_during_registration_get_the_advice_first(services: Services, step: str, lines: list[str], text: str, ui: str, code: str) -> None:
    user = ChatUser(services, f"onb-{step}-{ui}-{code}", "english" if ui == "en" else "hindi")
    for line in lines:
        user.say(line)
    assert step_of(services, user.user) == step
    answer = user.say(text)
    assert_advice_first(answer, code, ui)
    assert len(answer.texts) >= 2, "registration goes on after the advice"


@pytest.mark.parametrize(("step", "lines", "text", "ui", "code"), DURING_ONBOARDING[:2], ids=["name-en", "name-hi"])
def test_danger_signs_at_the_name_question_are_not_taken_for_a_name(services: Services, step: str, lines: list[str], text: str, ui: str, code: str) -> None:
    """Today "chest pain" is stored as the patient's name and the bot asks "How old are you, chest pain?"."""
    user = ChatUser(services, f"name-{ui}", "english" if ui == "en" else "hindi")
    for line in lines:
        user.say(line)
    answer = user.say(text)
    assert_advice_first(answer, code, ui)
    assert ONBOARDING_QUESTION[(step, ui)] in answer.texts[-1], answer.texts
    assert text not in answer.texts[-1], answer.texts


@pytest.mark.parametrize(
    ("style", "stop", "text", "ui"),
    [("english", "STOP", "I want to kill myself", "en"), ("hindi", "संदेश बंद करो", "मैं जीना नहीं चाहता", "hi"), ("romanised", "band karo", "jeena nahi chahta", "hi")],
)
def test_danger_signs_while_opted_out_still_get_the_advice_first(demo: Services, style: str, stop: str, text: str, ui: str) -> None:
    user = register(demo, style, f"stopped-{style}")
    answer = user.say(stop)
    assert "START" in answer.all_text
    with demo.db.read() as session:
        assert session.scalars(select(Identity.opted_out).where(Identity.address == user.user)).one() is True
    answer = user.say(text)
    assert_advice_first(answer, "self_harm", ui)
    assert "START" in answer.texts[-1], "and how to come back"
    # An ambulance sign too, in the user's language.
    answer = user.say({"english": "my father fainted", "hindi": "पापा बेहोश हो गए", "romanised": "papa behosh ho gaye"}[style])
    assert_advice_first(answer, "unconscious", ui)


@pytest.mark.parametrize("style", ["english", "hindi", "romanised"])
def test_danger_signs_mid_booking_come_first_and_the_booking_goes_on(demo: Services, style: str) -> None:
    user = register(demo, style, f"mid-{style}")
    ui = user.ui
    run(user, JOURNEY[style][:2])  # at "Since when?"
    answer = user.say({"english": "since an hour, now he fainted", "hindi": "एक घंटे से, अब बेहोश हो गया", "romanised": "ek ghante se, ab behosh ho gaya"}[style])
    assert_advice_first(answer, "unconscious", ui)
    answer = finish_booking_at_gen24(demo, user, for_child=False)
    [token] = tokens_of(demo, user.user)
    assert token.priority is True and "unconscious" in token.red_flags
    assert SEEN_FIRST[ui] in answer.all_text


@pytest.mark.parametrize("style", ["english", "romanised"])
def test_a_danger_sign_from_an_abandoned_booking_does_not_flag_the_next_one(all_open: Services, style: str) -> None:
    """Red flags stay in the conversation data until a booking finishes: MENU (flows/conversation.py
    _global_command) and start_booking (flows/booking.py) clear the booking keys but not "red_flags",
    so a child's rash booked later is called first as "chest_pain"."""
    parent = register(all_open, style, f"stale-{style}")
    answer = parent.say({"english": "chest pain since morning", "romanised": "subah se seene mein dard"}[style])
    assert_advice_first(answer, "chest_pain", parent.ui)
    parent.say("menu")
    parent.say({"english": "See a doctor", "romanised": "doctor"}[style])
    answer = parent.say({"english": "my daughter has a rash", "romanised": "beti ko rash hai"}[style])
    assert not any(piece in answer.all_text for piece in ADVICE_PIECES)
    run(
        parent,
        [
            (CHILD[style], parent.q("dep_name")),
            ("Munni", parent.q("dep_age")),
            ("6", parent.q("dep_sex")),
            ("1", parent.q("since")),
            ({"english": "3 days", "romanised": "3 din"}[style], parent.q("how_bad")),
            ("1", parent.q("suggest")),
        ],
    )
    answer = parent.say("1")
    [token] = tokens_of(all_open, parent.user)
    with all_open.db.read() as session:
        assert session.get(Person, token.person_id).name == "Munni"  # type: ignore[union-attr]
    assert (token.priority, token.red_flags) == (False, []), token.red_flags
    assert SEEN_FIRST[parent.ui] not in answer.all_text



# --- after the emergency reply: 108 first, then a doctor now, then the specialty's next session ------
# (the pure flows with in-memory ports: tests/helpers.py; the round-the-clock OPD is open, the others open tomorrow)

PREGNANT_DANGER = {"en": "I am pregnant with severe headache and blurred vision", "hi": "मैं गर्भवती हूँ, सिर में तेज़ दर्द और धुंधला दिख रहा है"}
CALL_108_FIRST = {"en": "Call 108 first", "hi": "पहले 108"}
OPEN_NOW = {"en": "is open now", "hi": "अभी खुली है"}
GEN24 = {"en": "General Medicine (24 hours)", "hi": "सामान्य चिकित्सा (24 घंटे)"}
OBG = {"en": "Obstetrics & Gynaecology", "hi": "स्त्री एवं प्रसूति रोग"}
MYSELF = {"en": "myself", "hi": "मैं खुद"}
FORM_QUESTIONS = {"en": ("Who is the patient?", "Since when?", "How bad is it?"), "hi": ("मरीज़ कौन है?", "यह कब से है?", "तकलीफ़ कितनी है?")}


def _offer_after_danger_signs(catalogs, lang: str):  # type: ignore[no-untyped-def]
    chat = registered_chat(catalogs, lang, registered_profile(sex="female", age=26))
    texts = chat.send(PREGNANT_DANGER[lang])
    assert "108" in texts[0]
    return chat, chat.send(MYSELF[lang])


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_after_danger_signs_108_comes_first_then_a_doctor_now_then_the_specialtys_next_session(catalogs, lang: str) -> None:
    """A pregnant woman with severe headache and blurred vision was offered Obstetrics' session of the next morning."""
    chat, texts = _offer_after_danger_signs(catalogs, lang)
    assert CALL_108_FIRST[lang] in texts[0], texts
    offer = texts[-1]
    assert GEN24[lang] in offer and OPEN_NOW[lang] in offer, texts
    labels = [catalogs.render(c.label, lang) if not isinstance(c.label, ByLanguage) else c.label.pick(lang) for c in chat.replies[-1].choices]
    # Booking now comes first, the specialty's next session (with its day) second.
    assert OBG[lang] in labels[1] and "26" in labels[1], labels
    chat.send("1")
    [(opd_id, _person, intake, priority, day)] = chat.ports["bookings"].booked
    assert (opd_id, priority, day) == (1, True, None) and "pregnancy_danger" in intake.red_flags
    assert chat.state.step == "menu"


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_after_danger_signs_the_specialtys_next_session_books_with_priority(catalogs, lang: str) -> None:
    chat, _ = _offer_after_danger_signs(catalogs, lang)
    chat.send("2")
    booked = chat.ports["bookings"].booked
    assert [(b[0], b[3]) for b in booked][-1] == (3, True), booked
    [token] = chat.ports["bookings"].live_tokens()
    assert token.opd_code == "OBG" and token.priority and token.day == (IN_MEMORY_NOW + dt.timedelta(hours=18)).date()


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_after_danger_signs_no_form_comes_before_the_offer(catalogs, lang: str) -> None:
    """Who the patient is is asked (the token needs a name); since when and how bad are not."""
    chat, texts = _offer_after_danger_signs(catalogs, lang)
    asked = "\n".join(texts)
    assert not any(q in asked for q in FORM_QUESTIONS[lang][1:]), texts


SELF_HARM = {"en": "I want to end my life", "hi": "मैं मरना चाहता हूँ"}
GENTLE = {"en": "Would you like to talk to a doctor online as well?", "hi": "क्या आप किसी डॉक्टर से भी ऑनलाइन बात करना चाहेंगे?"}


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_after_the_tele_manas_reply_the_offer_is_gentle_not_a_form(catalogs, lang: str) -> None:
    chat = registered_chat(catalogs, lang)
    texts = chat.send(SELF_HARM[lang])
    assert "14416" in texts[0]
    assert GENTLE[lang] in texts[-1], texts
    assert not any(q in "\n".join(texts) for q in FORM_QUESTIONS[lang]), texts
    # Yes: no questions about who, since when or how bad: a doctor now, called first.
    texts = chat.send("haan" if lang == "hi" else "yes")
    assert not any(q in "\n".join(texts) for q in FORM_QUESTIONS[lang]), texts
    chat.send("1")
    [(opd_id, person, intake, priority, day)] = chat.ports["bookings"].booked
    assert (opd_id, person, priority, day) == (1, None, True, None) and "self_harm" in intake.red_flags


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_not_now_after_the_tele_manas_reply_books_nothing_and_names_the_line_again(catalogs, lang: str) -> None:
    chat = registered_chat(catalogs, lang)
    chat.send(SELF_HARM[lang])
    texts = chat.send("abhi nahi" if lang == "hi" else "not now")
    assert "14416" in texts[0] and chat.state.step == "menu", texts
    assert chat.ports["bookings"].booked == [] and "red_flags" not in chat.state.data
