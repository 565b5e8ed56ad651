"""Danger signs and staff: a doctor's or a health worker's own words are not screened as a
patient's, but the complaint a health worker types for a walk-in is: the health worker is
advised, and the walk-in books with priority (checked in the database).
"""

from __future__ import annotations

import pytest

from bot.platform.i18n import Catalogs
from bot.runtime import Services
from bot.services.enrolment import add_health_worker
from flows.engine import State
from flows.ports import DoctorState
from tests.booking_helpers import (  # noqa: F401  (fixtures are used by being imported)
    _clear_of_midnight_ist,
    tokens_of,
)
from tests.doctor_helpers import open_chat
from tests.emergency_helpers import ADVICE_PIECES, AMBULANCE, TELE_MANAS
from tests.helpers import (
    FakeBookings,
    FakeDesk,
    FakeWalkins,
    FlowChat,
    consultation_view,
)

# --- staff: their own words are not a patient's, a walk-in's complaint is ------------------------------


# A doctor's safety-net advice (issue 13) and the like: danger words, but no patient describing them.
DOCTOR_ADVICE = {
    "en": ["agar seene mein dard ho to 108 par call karein", "If the chest pain comes back or you cannot breathe, call 108 at once."],
    "hi": ["agar seene mein dard ho to 108 par call karein", "अगर सीने में दर्द फिर हो या सांस न आए, तो तुरंत 108 पर कॉल करें।"],
}
HW_QUESTION = {"en": "what do I do for a patient with chest pain who fainted?", "hi": "सीने में दर्द वाले बेहोश मरीज़ के लिए क्या करूँ?"}
# The advice a health worker gets about the walk-in in front of them, a piece of each.
WALK_IN_AMBULANCE = {"en": "Danger signs: this patient may need emergency care now. Call 108", "hi": "ख़तरे के लक्षण: इस मरीज़ को अभी इमरजेंसी इलाज की ज़रूरत हो सकती है। अभी 108 पर कॉल करके एम्बुलेंस बुलाएँ"}
WALK_IN_TELE_MANAS = {"en": "help them call Tele-MANAS on 14416", "hi": "टेली-मानस हेल्पलाइन 14416 पर कॉल करने में उनकी मदद करें"}
WALK_IN_PATH = [("choice", "book"), ("text", "98765 43210"), ("choice", "hi"), ("text", "Ramesh"), ("text", "40"), ("choice", "male")]


def staff_at(catalogs: Catalogs, lang: str, role: str, step: str) -> tuple[FlowChat, FakeDesk, FakeWalkins]:
    """Return an enrolled doctor or health worker's conversation at one of their steps."""
    desk, bookings = FakeDesk(status=DoctorState.BUSY, consultation=consultation_view()), FakeBookings()
    walkins = FakeWalkins(bookings)
    state = State(step="hw_home" if role == "health_worker" else step, language=lang)
    chat = FlowChat(catalogs, lang, state, bookings=bookings, role=role, desk=desk, walkins=walkins)
    if step == "hw_symptoms":
        for kind, value in WALK_IN_PATH:
            chat.send(**{kind: value})
    assert chat.state.step == step
    return chat, desk, walkins


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("step", ["consulting", "doctor_home"])
def test_a_doctors_words_with_danger_signs_in_them_are_not_screened_as_a_patients(catalogs: Catalogs, lang: str, step: str) -> None:
    """Today a doctor typing "agar seene mein dard ho to 108 par call karein" gets "Call 108 now for an ambulance"."""
    for advice in DOCTOR_ADVICE[lang]:
        chat, desk, _ = staff_at(catalogs, lang, "doctor", step)
        texts = chat.send(advice)
        assert not any(piece in text for text in texts for piece in ADVICE_PIECES), texts
        assert "red_flags" not in chat.state.data and chat.state.step == step
        # At the consultation it is advice for the patient, word for word.
        assert desk.written == ([(advice, False)] if step == "consulting" else [])


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("step", ["hw_home", "hw_language", "hw_name", "hw_age"])
def test_a_health_workers_own_words_are_not_screened_as_a_patients(catalogs: Catalogs, lang: str, step: str) -> None:
    chat, _, _ = staff_at(catalogs, lang, "health_worker", "hw_home")
    for kind, value in WALK_IN_PATH[: ("hw_home", "hw_phone", "hw_language", "hw_name", "hw_age").index(step)]:
        chat.send(**{kind: value})
    assert chat.state.step == step
    texts = chat.send(HW_QUESTION[lang])
    assert not any(piece in text for text in texts for piece in ADVICE_PIECES), texts
    assert "red_flags" not in chat.state.data


# (the walk-in's complaint as the health worker types it, the class, which advice)
WALK_IN_COMPLAINTS = [
    ("seene mein dard aur pasina", "chest_pain", WALK_IN_AMBULANCE),
    ("सांस नहीं आ रही, होंठ नीले", "severe_breathlessness", WALK_IN_AMBULANCE),
    ("chest pain since an hour", "chest_pain", WALK_IN_AMBULANCE),
    ("kehta hai jeene ka mann nahi karta", "self_harm", WALK_IN_TELE_MANAS),
    ("कहती है मुझे जीने का मन नहीं करता", "self_harm", WALK_IN_TELE_MANAS),
]


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize(("complaint", "code", "advice"), WALK_IN_COMPLAINTS, ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(WALK_IN_COMPLAINTS)])
def test_a_walk_ins_complaint_with_danger_signs_advises_the_health_worker_and_books_with_priority(
    catalogs: Catalogs, lang: str, complaint: str, code: str, advice: dict[str, str]
) -> None:
    chat, _, walkins = staff_at(catalogs, lang, "health_worker", "hw_symptoms")
    texts = chat.send(complaint)
    assert advice[lang] in texts[0], texts
    # Addressed to the health worker, not to a patient in danger.
    assert not any(piece in text for text in texts for piece in (AMBULANCE[lang], TELE_MANAS[lang])), texts
    assert chat.state.step == "hw_opd"
    chat.send(choice="opd:1")
    [(patient, intake, priority)] = walkins.booked
    assert patient.name == "Ramesh" and priority is True and code in intake.red_flags
    assert chat.state.step == "hw_home" and "red_flags" not in chat.state.data


@pytest.mark.both_databases
@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_walk_in_with_danger_signs_gets_a_priority_token_in_the_database(demo: Services, lang: str) -> None:
    with demo.db.write() as session:
        _, code = add_health_worker(session, "Asha Kumari", "PHC Sarnath")
    worker = open_chat(demo, f"worker-{lang}", lang)
    worker.say(f"enroll {code}")
    for kind, value in WALK_IN_PATH:
        worker.say(**{kind: value})
    answer = worker.say("seene mein dard aur pasina")
    assert WALK_IN_AMBULANCE[lang] in answer.texts[0], answer.texts
    worker.say("GEN24")
    [token] = tokens_of(demo, "+919876543210")
    assert token.priority is True and token.red_flags == ["chest_pain"]
