"""Pings as the flows say them (flows/steps/pings.py), in every language, on in-memory ports: the
queue's counts with and without danger signs, the escalation's alert, which bookings ping and
start the escalation timer, and MUTE / UNMUTE at the doctor's desk (typed or its button, and
with a patient too).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.outbox.payloads import translate
from bot.platform.i18n import Catalogs
from flows.engine import LANGUAGES, State
from flows.messages import ByLanguage, reply_to_json
from flows.notices import Notify, ScheduleTimer
from flows.ports import BookingOutcome, BookingResult, DoctorState, Party, Ping
from flows.steps.pings import ESCALATION_TIMER, escalation_notices, ping_notices
from tests.helpers import (
    FAKE_OPDS,
    IN_MEMORY_NOW,
    FakeBookings,
    FakeDesk,
    FlowChat,
    consultation_view,
)

GEN = ByLanguage("General Medicine", "सामान्य चिकित्सा")
PINGS = {
    "en": ("1 patient waiting in General Medicine: send NEXT.", "3 patients waiting in General Medicine, 2 with danger signs: send NEXT."),
    "hi": (
        "सामान्य चिकित्सा में 1 मरीज़ इंतज़ार में है: “अगला” भेजें।",
        "सामान्य चिकित्सा में 3 मरीज़ इंतज़ार में हैं, इनमें से 2 में ख़तरे के लक्षण हैं: “अगला” भेजें।",
    ),
    "hi-Latn": (
        "General Medicine mein 1 mareez intezaar mein hai: NEXT bhejein.",
        "General Medicine mein 3 mareez intezaar mein hain, inmein se 2 mein khatre ke lakshan hain: NEXT bhejein.",
    ),
}
URGENT = {
    "en": "Urgent: token 7 in General Medicine has danger signs (chest pain) and has waited 12 min with no doctor calling.",
    "hi": "ज़रूरी: सामान्य चिकित्सा का टोकन 7 — ख़तरे के लक्षण (सीने में दर्द), 12 मिनट से इंतज़ार में, किसी डॉक्टर ने नहीं बुलाया।",
    "hi-Latn": "Zaroori: General Medicine ka token 7 - khatre ke lakshan (seene mein dard), 12 minute se intezaar mein, kisi doctor ne nahi bulaya.",
}
MUTE = {"en": ("mute", "unmute"), "hi": ("पिंग बंद", "पिंग चालू"), "hi-Latn": ("ping band", "ping chalu")}
MUTED = {"en": "Pings muted", "hi": "पिंग बंद:", "hi-Latn": "Ping band:"}
UNMUTED = {"en": "Pings on", "hi": "पिंग चालू:", "hi-Latn": "Ping chalu:"}


def said(catalogs: Catalogs, notice: Notify, lang: str) -> str:
    """Return a notice's text as its reader gets it."""
    return translate(catalogs, reply_to_json(notice.reply), lang).text  # type: ignore[return-value]


def booked(priority: bool, live: bool = True, pings: tuple[Ping, ...] = ()) -> BookingResult:
    bookings = FakeBookings()
    token = bookings.token(FAKE_OPDS[0], 7, IN_MEMORY_NOW, priority=priority)
    return BookingResult(BookingOutcome.BOOKED, token=token, joined_queue=live, pings=pings)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_ping_says_how_many_wait_and_how_many_with_danger_signs(catalogs: Catalogs, lang: str) -> None:
    pings = (Ping(Party(11), GEN, 1, 0), Ping(Party(12), GEN, 3, 2))
    notices = ping_notices(booked(False, pings=pings), IN_MEMORY_NOW, escalation_minutes=10)
    assert all(isinstance(n, Notify) for n in notices) and [n.identity_id for n in notices] == [11, 12]  # type: ignore[union-attr]
    assert tuple(said(catalogs, n, lang) for n in notices) == PINGS[lang]  # type: ignore[arg-type]


def test_a_danger_sign_in_a_live_queue_starts_the_escalation_timer() -> None:
    notices = ping_notices(booked(True, pings=(Ping(Party(11), GEN, 1, 1),)), IN_MEMORY_NOW, escalation_minutes=15)
    timer = notices[-1]
    assert isinstance(notices[0], Notify) and isinstance(timer, ScheduleTimer)
    assert (timer.kind, timer.due_at, timer.key) == (ESCALATION_TIMER, IN_MEMORY_NOW + dt.timedelta(minutes=15), "token:1")


@pytest.mark.parametrize(
    "result",
    [
        booked(True, live=False),  # another day's session: nobody is calling from it yet
        dataclasses.replace(booked(True, pings=(Ping(Party(11), GEN, 1, 1),)), outcome=BookingOutcome.EXISTING),  # not news
        BookingResult(BookingOutcome.FULL),
    ],
)
def test_no_ping_nor_timer_for_a_token_not_joining_a_queue_now(result: BookingResult) -> None:
    assert ping_notices(result, IN_MEMORY_NOW, escalation_minutes=10) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_escalation_alert_names_the_token_the_signs_and_the_wait(catalogs: Catalogs, lang: str) -> None:
    notices = escalation_notices([Party(11), Party(12)], 7, GEN, ("chest_pain",), 12)
    assert [n.identity_id for n in notices] == [11, 12]  # type: ignore[union-attr]
    text = said(catalogs, notices[0], lang)  # type: ignore[arg-type]
    assert text.startswith(URGENT[lang]), text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_mute_and_unmute_at_the_desk_and_with_a_patient(catalogs: Catalogs, lang: str) -> None:
    desk = FakeDesk(status=DoctorState.FREE)
    chat = FlowChat(catalogs, lang, State(step="doctor_home", language=lang), desk=desk, role="doctor")
    mute, unmute = MUTE[lang]
    texts = chat.send(mute)
    assert desk.pings_muted and texts[0].startswith(MUTED[lang]) and chat.state.step == "doctor_home"
    assert chat.last_choices == ["next", "pause", "off", "unmute"]  # the desk offers the way back
    texts = chat.send(unmute)
    assert not desk.pings_muted and texts[0].startswith(UNMUTED[lang]) and chat.last_choices[-1] == "mute"
    chat.send(choice="mute")  # the button, as Telegram sends it
    assert desk.pings_muted
    chat.send(choice="unmute")
    assert not desk.pings_muted
    # With a patient (busy): muting is not taken for advice.
    desk.consultation, desk.status = consultation_view(), DoctorState.BUSY
    chat = FlowChat(catalogs, lang, State(step="consulting", language=lang), desk=desk, role="doctor")
    texts = chat.send(mute)
    assert desk.pings_muted and texts[0].startswith(MUTED[lang]) and desk.written == [] and chat.state.step == "consulting"
