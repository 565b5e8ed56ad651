"""The danger-sign tests' shared pieces: the emergency advice (108/112; Tele-MANAS 14416 and 112
for self-harm) as the user must see it first, per language and style; the red-flag phrasings
of every class; and helpers that check the advice comes first and finish a booking at GEN24.
"""

from __future__ import annotations

from bot.runtime import Services
from tests.booking_helpers import (
    OTHER_OPD,
    ChatUser,
    step_of,
)
from tests.helpers import Said

# The emergency advice, a piece of each, as the user must see it first.
AMBULANCE = {"en": "Call 108 now for an ambulance, or 112. This may be an emergency", "hi": "तुरंत 108 पर कॉल करके एम्बुलेंस बुलाएँ, या 112 पर कॉल करें। यह इमरजेंसी हो सकती है"}
TELE_MANAS = {"en": "Please call Tele-MANAS on 14416", "hi": "कृपया टेली-मानस हेल्पलाइन 14416 पर कॉल"}
DANGER_NOW = {"en": "If you are in danger now, call 112.", "hi": "अगर आपकी जान को अभी ख़तरा है, तो 112 पर कॉल करें।"}
SEEN_FIRST = {"en": "you will be seen first", "hi": "आपको सबसे पहले देखेंगे"}


ADVICE_PIECES = ("108", "14416", "Tele-MANAS", "टेली-मानस", "emergency", "इमरजेंसी")


def advice_of(code: str, ui: str) -> tuple[str, ...]:
    """Return the pieces the first reply must hold for a red-flag class."""
    if code == "self_harm":
        return (TELE_MANAS[ui], "14416", DANGER_NOW[ui], "112")
    return (AMBULANCE[ui], "108", "112")


def assert_advice_first(answer: Said, code: str, ui: str) -> None:
    first = answer.texts[0]
    for piece in advice_of(code, ui):
        assert piece in first, f"the first reply must hold {piece!r}, got {answer.texts!r}"


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


GENTLE = {"en": "Would you like to talk to a doctor online as well?", "hi": "क्या आप किसी डॉक्टर से भी ऑनलाइन बात करना चाहेंगे?"}
