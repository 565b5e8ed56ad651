"""Pings through the whole service: patients book in the chat, the doctor hears of it.

In the local chat (en, hi): a free doctor is pinged in their language when a patient books, not
again within the minute, at once for a danger sign; MUTE stops the pings, going off duty too.
Against the fake Telegram Bot API with the outbox worker running as in `teleopd serve`: the ping
reaches the doctor's Telegram chat within 2 s of the booking's commit, and a danger-sign booking
made straight after pings again at once (issue 16, "Done when").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from bot.runtime import Services
from bot.services.enrolment import add_doctor
from bot.services.opds import find_opd
from bot.store.models import Doctor, DoctorStatus, Identity
from tests.doctor_helpers import (  # noqa: F401  (fixtures are used by being imported)
    LANGS,
    NAMES,
    WORDS,
    _clear_of_midnight_ist,
    book,
    enrolled_doctor,
    registered,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_helpers import fake, tg  # noqa: F401  (fixtures)
from tests.test_walkins import book_walk_in, health_worker

DANGER = {"en": "I have severe chest pain and sweating", "hi": "मेरे सीने में तेज़ दर्द है"}
PING = {"en": "waiting in General Medicine (24 hours)", "hi": "सामान्य चिकित्सा (24 घंटे) में "}
WITH_DANGER = {"en": "with danger signs: send NEXT.", "hi": "में ख़तरे के लक्षण हैं: “अगला” भेजें।"}
MUTE = {"en": "mute", "hi": "पिंग बंद"}
DOCTOR_CHAT = 5550101
# Issue 16's "Done when": a doctor on duty receives a ping within 2 s of a booking.
WITHIN_S = 2.0


def pings(texts: list[str], lang: str) -> list[str]:
    return [text for text in texts if PING[lang] in text]


@pytest.mark.parametrize("lang", LANGS)
def test_a_free_doctor_is_pinged_once_a_minute_and_at_once_for_a_danger_sign(demo: Services, lang: str) -> None:
    doctor = enrolled_doctor(demo, "doc", lang)
    assert doctor.say(WORDS[lang]["next"]).texts  # nobody waits yet: the doctor is marked free
    book(demo, registered(demo, "pat-1", lang, NAMES[lang][0]))
    first = pings(doctor.receive().texts, lang)
    assert len(first) == 1 and first[0].startswith({"en": "1 patient", "hi": "सामान्य"}[lang]), first
    # A second booking within the minute: counted in the next ping, not pinged now.
    book(demo, registered(demo, "pat-2", lang, NAMES[lang][1]))
    assert pings(doctor.receive().texts, lang) == []
    # A danger sign: at once, whatever the minute.
    book(demo, registered(demo, "pat-3", lang, NAMES[lang][2]), DANGER[lang])
    urgent = pings(doctor.receive().texts, lang)
    assert len(urgent) == 1 and "3" in urgent[0] and WITH_DANGER[lang] in urgent[0], urgent
    # Muted: nothing, not even a danger sign's first ping (its escalation still comes).
    assert doctor.say(MUTE[lang]).texts
    book(demo, registered(demo, "pat-4", lang, NAMES[lang][3]), DANGER[lang])
    assert pings(doctor.receive().texts, lang) == []


@pytest.mark.parametrize("lang", LANGS)
def test_a_walk_in_booked_by_a_health_worker_pings_the_free_doctor(demo: Services, lang: str) -> None:
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    book_walk_in(demo, health_worker(demo, lang), NAMES[lang][0], "40")
    assert len(pings(doctor.receive().texts, lang)) == 1


@pytest.fixture
def telegram_doctor(demo: Services, tg: Services) -> Iterator[int]:
    """On the demo catalogue (its round-the-clock OPD), a free doctor of the round-the-clock OPD whose desk is a Telegram chat; a worker thread sends to Telegram as in `teleopd serve`."""
    with tg.db.write() as session:
        person, _ = add_doctor(session, "Anita Sharma", [find_opd(session, "GEN24")])
        session.get(Doctor, person.id).status = DoctorStatus.FREE  # type: ignore[union-attr]
        session.add(Identity(channel="telegram", address=str(DOCTOR_CHAT), person=person, language="en"))
    stop = threading.Event()

    def send_to_telegram() -> None:
        # As `teleopd serve`'s worker: woken by the dispatcher's signal. It sends Telegram's rows
        # only: the patients' local chats are read by the test thread, whose own drain must not
        # race a second worker for their replies.
        while not stop.is_set():
            tg.worker.drain(channel="telegram")
            tg.outbox_signal.wait(0.5)
            tg.outbox_signal.clear()

    worker = threading.Thread(target=send_to_telegram, daemon=True)
    worker.start()
    yield DOCTOR_CHAT
    stop.set()
    worker.join(timeout=10)


def ping_after(fake: FakeTelegram, seen: int, timeout: float = 10.0) -> tuple[dict, float]:  # type: ignore[type-arg]
    """Wait for a new message to the doctor's chat; return it and when it reached the fake (wall clock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent = [r for r in fake.requests("sendMessage") if str(r.params.get("chat_id")) == str(DOCTOR_CHAT)]
        if len(sent) > seen:
            return sent[seen].params, sent[seen].wall
        time.sleep(0.02)
    raise AssertionError("no ping reached the doctor's Telegram chat")


def test_a_doctor_on_telegram_gets_the_ping_within_2_s_of_the_booking(tg: Services, fake: FakeTelegram, telegram_doctor: int) -> None:
    patient = registered(tg, "pat-1", "en", NAMES["en"][0])
    token = book(tg, patient)
    # The token's time is the booking message's arrival, before its commit: the measure is if anything long.
    ping, reached = ping_after(fake, 0)
    assert "1 patient waiting in General Medicine (24 hours): send NEXT." in ping["text"]
    assert reached - token.created_at.timestamp() < WITHIN_S, reached - token.created_at.timestamp()
    # A danger sign straight after (within the minute): pinged at once all the same.
    urgent = book(tg, registered(tg, "pat-2", "en", NAMES["en"][1]), DANGER["en"])
    ping, reached = ping_after(fake, 1)
    assert "2 patients waiting in General Medicine (24 hours), 1 with danger signs: send NEXT." in ping["text"]
    assert reached - urgent.created_at.timestamp() < WITHIN_S, reached - urgent.created_at.timestamp()
