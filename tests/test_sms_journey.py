"""A patient's whole journey by SMS alone, through the real webhook and the fake Twilio API.

The patient registers, books, is called by a doctor (on the local chat channel), joins, gets the
doctor's advice whole and rates, every message sent by signed POSTs to /webhooks/twilio/sms and
answered through the outbox worker. Every SMS the fake received fits 2 segments (the advice:
each numbered part), and none speaks of buttons (issue 15 item 1).
"""

from __future__ import annotations

import re

import pytest

from bot.channels.sms_text import is_gsm7, segments
from bot.runtime import Services
from bot.services.enrolment import add_health_worker
from bot.services.opds import find_opd
from flows.engine import LANGUAGES
from flows.steps.onboarding import LANGUAGE_CHOICES
from tests.doctor_helpers import _clear_of_midnight_ist, add_doctor_code  # noqa: F401  (an autouse fixture)
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import LocalUser
from tests.twilio_helpers import (  # noqa: F401  (fixtures)
    INDIAN,
    PUBLIC,
    _say,
    client,
    fake,
    services,
)

# What the patient types, per language: plain words a feature phone can type (numbers for choices).
TYPED = {
    "en": {"name": "Sunita Devi", "state": "utter pardesh", "district": "Varanasi", "complaint": "fever and cough for 3 days"},
    "hi": {"name": "सुनीता देवी", "state": "उत्तरप्रदेस", "district": "वाराणसी", "complaint": "3 दिन से बुखार और खांसी"},
}
ADVICE = (
    "Paracetamol 500 mg every 6 hours for 3 days, after food. Drink plenty of water and rest at home. "
    "Come back if the fever lasts beyond 3 days, and call 108 at once if you cannot breathe. "
    "Steam inhalation twice a day helps the cough; avoid cold drinks until you are well."
)
PART = re.compile(r"^(\d+)/(\d+) ")


def _typed(lang: str) -> dict[str, str]:
    return TYPED.get(lang, TYPED["en"] if lang == "en" or lang.endswith("-Latn") else TYPED["hi"])


class SmsPhone:
    """The patient's feature phone: what it sends, and every SMS it has received."""

    def __init__(self, client, services: Services, fake: FakeTwilio):  # type: ignore[no-untyped-def]
        self.client, self.services, self.fake = client, services, fake
        self.inbox: list[str] = []

    def send(self, text: str) -> list[str]:
        bodies = [r["Body"] for r in _say(self.client, self.services, self.fake, text, "sms") if r.get("To") == INDIAN]
        self.inbox += bodies
        return bodies

    def collect(self, before: int) -> list[str]:
        """Send what is due and return the SMS that reached the phone since request number `before`."""
        self.services.worker.drain()
        bodies = [r.params["Body"] for r in self.fake.requests[before:] if r.params.get("To") == INDIAN]
        self.inbox += bodies
        return bodies


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_patient_registers_books_is_called_and_gets_the_advice_by_sms_alone(client, demo: Services, fake: FakeTwilio, lang: str) -> None:  # type: ignore[no-untyped-def]
    phone, typed = SmsPhone(client, demo, fake), _typed(lang)
    phone.send("hello")
    consent = phone.send(str([c.key for c in LANGUAGE_CHOICES].index(lang) + 1))
    assert any(f"{PUBLIC}/privacy?lang={lang}" in body for body in consent), consent
    phone.send("1")  # I agree
    for answer in (typed["name"], "34", "1", typed["state"], typed["district"]):
        phone.send(answer)
    registered = phone.send("1")  # the details are correct
    assert registered, "registered and at the menu"
    phone.send("1")  # see a doctor
    phone.send(typed["complaint"])
    phone.send("1")  # myself
    phone.send("2")  # moderate
    token = phone.send("1")  # book the OPD suggested (GEN24, open round the clock)
    assert any(re.match(r"(Token|टोकन) 1, ", body) for body in token), token

    doctor = LocalUser(demo, "doctor-desk")
    doctor.say(f"enroll {add_doctor_code(demo)}")
    before = len(fake.requests)
    doctor.say("next")
    call = " ".join(phone.collect(before))
    assert "https://" in call, "the call carries its video room"
    phone.send("1")  # I am joining
    doctor.say(ADVICE)
    before = len(fake.requests)
    doctor.say("done")
    *advice, prescription = phone.collect(before)
    assert len(advice) > 1 and all(PART.match(part) for part in advice), advice
    # Then the e-prescription's link, one SMS (bot/services/prescriptions.py).
    assert "/rx/" in prescription and not PART.match(prescription), prescription
    joined = " ".join(PART.sub("", part) for part in advice)
    assert " ".join(ADVICE.split()) in " ".join(joined.split()), "the advice whole, word for word"
    phone.send("5")
    phone.send("2")  # no follow-up

    assert len(phone.inbox) > 20
    for body in phone.inbox:
        assert segments(body) <= 2, f"{segments(body)} segments: {body!r}"
    if lang.endswith("-Latn"):
        # Once romanised Hindi is chosen, nothing needs Devanagari: every SMS goes as GSM-7.
        chosen = next(n for n, body in enumerate(phone.inbox) if f"/privacy?lang={lang}" in body)
        assert all(is_gsm7(body) for body in phone.inbox[chosen:]), [b for b in phone.inbox[chosen:] if not is_gsm7(b)]
        assert not re.search(r"\b(tap|button)\b|बटन", body, re.IGNORECASE), body


WALK_IN_PHONE = "+919812300002"
WALK_IN = {"en": ("Ramesh Kumar", "fever and cough for 3 days"), "hi": ("रमेश कुमार", "3 दिन से बुखार और खांसी")}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_walk_in_booked_on_the_web_chat_hears_by_sms_and_the_health_worker_gets_the_room_and_the_advice(client, demo: Services, fake: FakeTwilio, lang: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 15's walk-in loop: a health worker on the web chat books a walk-in whose SMS (in the
    language asked) reach the fake Twilio within budget; the doctor calls, the health worker gets
    the room and joins with the walk-in; the advice reaches both, whole."""
    with demo.db.write() as session:
        _, code = add_health_worker(session, "Asha Kumari", "PHC Sarnath")
        opd_id = find_opd(session, "GEN24").id  # type: ignore[union-attr]
    worker = LocalUser(demo, "asha-desk", opened_as="health_worker")
    worker.say(f"enroll {code}")
    name, complaint = WALK_IN.get(lang, WALK_IN["en"] if lang == "en" or lang.endswith("-Latn") else WALK_IN["hi"])
    worker.say(choice="book")
    worker.say(WALK_IN_PHONE.removeprefix("+91"))
    worker.say(choice=lang)  # the walk-in's SMS language, asked
    worker.say(name)
    worker.say("60")
    worker.say(choice="male")
    worker.say(complaint)
    before = len(fake.requests)
    booked = worker.say(choice=f"opd:{opd_id}")
    assert WALK_IN_PHONE in booked.all_text, booked.texts
    demo.worker.drain()

    def walk_in_sms(since: int) -> list[str]:
        demo.worker.drain()
        return [r.params["Body"] for r in fake.requests[since:] if r.params.get("To") == WALK_IN_PHONE]

    inbox = walk_in_sms(before)
    assert len(inbox) == 1 and re.match(r"(Token|टोकन) 1, ", inbox[0]), inbox

    doctor = LocalUser(demo, "doctor-desk")
    doctor.say(f"enroll {add_doctor_code(demo)}")
    before = len(fake.requests)
    assert name in doctor.say("next").all_text
    call = walk_in_sms(before)
    inbox += call
    assert len(call) == 1 and "https://" not in call[0], "the walk-in is sent to the health worker, who has the room"
    told = worker.receive()
    consultation_id = int(told.choices[-1][0]["key"].removeprefix("hwjoin:"))
    assert "https://" in told.all_text
    worker.say(choice=f"hwjoin:{consultation_id}")
    assert "Token 1: the patient is joining the call." in doctor.receive().all_text

    doctor.say(ADVICE)
    before = len(fake.requests)
    doctor.say("done")
    advice = walk_in_sms(before)
    inbox += advice
    joined = " ".join(PART.sub("", part) for part in advice)
    assert " ".join(ADVICE.split()) in " ".join(joined.split()), "the walk-in's advice whole, word for word"
    assert ADVICE in worker.receive().all_text, "the health worker's copy of the advice"

    for body in inbox:
        assert segments(body) <= 2, f"{segments(body)} segments: {body!r}"
    if lang.endswith("-Latn"):
        assert all(is_gsm7(body) for body in inbox), inbox
