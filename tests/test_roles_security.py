"""Doctor and health-worker commands work only for identities enrolled with a code.

A patient or a stranger who sends a doctor's words ("free", "next", "/next", "अगला"), a health
worker's menu words, or forges the keys of their inline buttons (Telegram callback_data, the
web chat's "choice") or of another patient's consultation buttons gets the reply any patient
would get, in their own language, and nothing happens at the desk: no token is called, no
doctor's status changes, no walk-in is booked, no consultation is joined, declined or rated.
Runs in English and Hindi on SQLite and PostgreSQL, through the local channel, the web chat API
and the Telegram webhook.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.runtime import Services
from bot.services.enrolment import add_health_worker
from bot.services.opds import find_opd, load_demo
from bot.store.models import (
    Consultation,
    Doctor,
    Identity,
    OutboxMessage,
    Patient,
    Person,
    Role,
    Token,
)
from tests.doctor_helpers import (  # noqa: F401  (fixture)
    LANGS,
    _clear_of_midnight_ist,
    book,
    enrolled_doctor,
    registered,
    step_of,
)
from tests.helpers import LocalUser
from tests.test_webhook_auth import (  # noqa: F401  (fixtures)
    SECRET_HEADER,
    TELEGRAM_SECRET,
    client,
    every_channel,
    fake_providers,
)

STAFF_STEPS = {"doctor_home", "consulting", "hw_home", "hw_phone", "hw_language", "hw_name", "hw_age", "hw_sex", "hw_symptoms", "hw_opd", "hw_call_me"}
# What doctors and health workers type (flows/steps/doctor.py, flows/steps/health_worker.py), and words like them.
STAFF_WORDS = [
    "free", "next", "/next", "NEXT", "Next patient", "call next", "walkin", "/walkin", "walk-in", "अगला", "अगला मरीज़", "खाली",
    "agla mareez", "khali", "pause", "break", "ब्रेक", "off", "off duty", "छुट्टी", "done", "हो गया", "refer", "रेफ़र", "no show",
    "नहीं आया", "NOTE: private", "नोट: निजी", "naya mareez", "new patient", "बुक", "टोकन", "enroll ABCD2345", "नामांकन ZZZZ9999",
    "mute", "unmute", "पिंग बंद", "ping chalu",
]


def _staff_choices(opd_id: int, consultation_id: int) -> list[str]:
    """Return the keys of doctors' and workers' buttons, and of another patient's call."""
    return [
        "next", "pause", "off", "done", "refer", "no_show", "home", f"opd:{opd_id}", "hw_home", "doctor_home", "consulting",
        f"join:{consultation_id}", f"leave:{consultation_id}", f"rate:{consultation_id}:5", f"followup:{consultation_id}",
        f"rate:{consultation_id}:1", "join:0", f"join:{consultation_id}:1", "mute", "unmute", f"hwjoin:{consultation_id}",
    ]


def _devanagari(text: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" for ch in text)


def desk_state(services: Services) -> dict[str, Any]:
    """Return everything a staff command could change."""
    with services.db.read() as session:
        return {
            "tokens": sorted(session.execute(select(Token.id, Token.status, Token.doctor_id, Token.identity_id)).all()),
            "consultations": sorted(session.execute(
                select(Consultation.id, Consultation.joined_at, Consultation.outcome, Consultation.rating, Consultation.ended_at)).all()),
            "doctors": sorted(session.execute(select(Doctor.person_id, Doctor.status, Doctor.pings_muted)).all()),
            "patients": sorted(session.execute(select(Patient.person_id, Patient.district)).all()),
            "staff": sorted(session.execute(select(Person.id, Person.role).where(Person.role != Role.PATIENT)).all()),
        }


def staff_identities(services: Services) -> set[str]:
    """Return the addresses linked to a doctor or health worker."""
    with services.db.read() as session:
        return set(session.scalars(select(Identity.address).join(Person, Person.id == Identity.person_id).where(Person.role != Role.PATIENT)))


class Clinic:
    """A doctor in a consultation, one patient in it, another waiting, and a health worker."""

    def __init__(self, services: Services, lang: str):
        with services.db.write() as session:
            load_demo(session)
            self.opd_id = find_opd(session, "GEN24").id  # type: ignore[union-attr]
            add_health_worker(session, "Asha Kumari", "PHC Sarnath")
        self.doctor = enrolled_doctor(services, "doc", lang)
        first, second = registered(services, "p-first", lang, "Sunita Devi"), registered(services, "p-second", lang, "Kamla Devi")
        book(services, first)
        book(services, second)
        called = self.doctor.say("next")
        assert step_of(services, "doc") == "consulting", called.texts
        with services.db.read() as session:
            self.consultation_id = session.scalars(select(Consultation.id)).one()
        self.attacker = registered(services, "p-attacker", lang, "Meena Kumari")
        self.staff = staff_identities(services)
        assert self.staff == {"doc"}  # the worker has a code but no chat yet


@pytest.fixture(params=LANGS)
def clinic(request: pytest.FixtureRequest, every_channel: Services) -> Iterator[tuple[Clinic, str]]:
    """Return the clinic, set up in one language."""
    yield Clinic(every_channel, request.param), request.param


def _check_patient_reply(services: Services, user: str, texts: list[str], lang: str, said: str) -> None:
    assert texts, f"no reply to {said!r}"
    for text in texts:
        assert text.strip() and "Traceback" not in text
        assert _devanagari(text) == (lang == "hi"), (said, text)
    assert step_of(services, user) not in STAFF_STEPS, (said, step_of(services, user))


def test_a_patient_typing_staff_words_gets_a_patients_reply_and_the_desk_is_untouched(every_channel: Services, clinic) -> None:  # type: ignore[no-untyped-def]
    place, lang = clinic
    before = desk_state(every_channel)
    for word in STAFF_WORDS:
        texts = place.attacker.say(word).texts
        _check_patient_reply(every_channel, "p-attacker", texts, lang, word)
        assert desk_state(every_channel) == before, word
        place.attacker.say("menu")
    assert staff_identities(every_channel) == place.staff
    # The control: the same words from the enrolled doctor do act at the desk.
    place.doctor.say("done")
    assert desk_state(every_channel)["consultations"] != before["consultations"]


def test_a_stranger_typing_staff_words_is_greeted_like_anyone_new(every_channel: Services, clinic) -> None:  # type: ignore[no-untyped-def]
    place, lang = clinic
    before = desk_state(every_channel)
    first_words = {"en": "Namaste! I am the teleopd assistant.", "hi": "नमस्ते!"}
    for n, word in enumerate(STAFF_WORDS):
        stranger = LocalUser(every_channel, f"stranger-{n}")
        texts = stranger.say(word).texts
        assert texts and "Traceback" not in "".join(texts)
        if not word.startswith(("enroll", "नामांकन")):
            # A first message in Devanagari is answered in Hindi, any other in the default.
            assert texts[0].startswith(first_words["hi" if _devanagari(word) else "en"]), (word, texts)
        assert step_of(every_channel, f"stranger-{n}") not in STAFF_STEPS
        assert desk_state(every_channel) == before, word
    assert staff_identities(every_channel) == place.staff


def test_forged_staff_buttons_from_the_web_chat_do_nothing(every_channel: Services, client, clinic) -> None:  # type: ignore[no-untyped-def]
    place, lang = clinic
    before = desk_state(every_channel)
    cursor = ""
    for key in _staff_choices(place.opd_id, place.consultation_id):
        for user in ("p-attacker", "web-stranger"):
            answer = client.post(f"/api/chat/{user}/messages", json={"choice": key})
            assert answer.status_code == 202, (key, answer.get_json())
            assert desk_state(every_channel) == before, (user, key)
            assert step_of(every_channel, user) not in STAFF_STEPS, (user, key)
        every_channel.worker.drain()
        shown = client.get("/api/chat/p-attacker/messages", query_string={"after": cursor}).get_json()
        cursor = shown["cursor"]
        _check_patient_reply(every_channel, "p-attacker", [m["text"] for m in shown["messages"]], lang, key)
        client.post("/api/chat/p-attacker/messages", json={"text": "menu"})
    assert staff_identities(every_channel) == place.staff


def _press(update_id: int, chat_id: int, data: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Meena", "language_code": "hi"}
    chat = {"id": chat_id, "first_name": "Meena", "type": "private"}
    return {"update_id": update_id, "callback_query": {
        "id": f"q{update_id}", "from": user, "chat_instance": "-642934712", "data": data,
        "message": {"message_id": 1, "from": {"id": 123456, "is_bot": True, "first_name": "teleopd"}, "chat": chat, "date": 1764590000, "text": "?"}}}


def _text(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    sender = {"id": chat_id, "is_bot": False, "first_name": "Meena"}
    return {"update_id": update_id, "message": {"message_id": update_id, "from": sender, "date": 1764590000,
                                                "chat": {"id": chat_id, "first_name": "Meena", "type": "private"}, "text": text}}


def test_forged_staff_buttons_and_words_over_telegram_do_nothing(every_channel: Services, client, clinic) -> None:  # type: ignore[no-untyped-def]
    place, lang = clinic
    before = desk_state(every_channel)
    chat_id, update_id = 5550001, 1
    # A Telegram patient who has chosen the test's language, then presses the staff's buttons.
    for update in (_text(update_id, chat_id, "नमस्ते" if lang == "hi" else "hello"), _press(update_id + 1, chat_id, lang)):
        assert client.post("/webhooks/telegram", data=json.dumps(update), content_type="application/json",
                           headers={SECRET_HEADER: TELEGRAM_SECRET}).status_code == 200
    update_id += 2
    forged = [_press(update_id + n, chat_id, key) for n, key in enumerate(_staff_choices(place.opd_id, place.consultation_id))]
    update_id += len(forged)
    forged += [_text(update_id + n, chat_id, word) for n, word in enumerate(STAFF_WORDS)]
    for update in forged:
        answer = client.post("/webhooks/telegram", data=json.dumps(update, ensure_ascii=False).encode(), content_type="application/json",
                             headers={SECRET_HEADER: TELEGRAM_SECRET})
        assert answer.status_code == 200, (update, answer.get_json())
        assert desk_state(every_channel) == before, update
        assert step_of(every_channel, str(chat_id)) not in STAFF_STEPS
    with every_channel.db.read() as session:
        replies = list(session.scalars(select(OutboxMessage).where(OutboxMessage.address == str(chat_id), OutboxMessage.kind != "ack")))
    assert len(replies) >= len(forged)
    assert {r.language for r in replies[2:]} == {lang}
    assert staff_identities(every_channel) == place.staff
