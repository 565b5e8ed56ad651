"""The called patient's timers and the queue moving, in English and Hindi: no answer gets one
reminder then a no-show and the doctor is freed; joining in time stops the timers; "get ready"
at place 3 (also when moved up by a cancellation); a patient cancelling after being called, or
who cannot come, frees the doctor. Timers run on a clock the test moves (a TimerRunner with
clock=..., and the outbox worker's clock).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.outbox.timers import TimerRunner
from bot.runtime import Services
from bot.services.calls import TIMER_HANDLERS
from bot.store.models import (
    ConsultationOutcome,
    DoctorStatus,
    Token,
    TokenStatus,
)
from tests.doctor_helpers import (  # noqa: F401  (fixtures are used by being imported)
    CANCEL,
    DOCTOR,
    LANGS,
    NAMES,
    WORDS,
    YES,
    _clear_of_midnight_ist,
    book,
    consultation_of,
    count_in,
    doctor_row,
    enrolled_doctor,
    message_with,
    registered,
    room_of,
    step_of,
    token,
)

# --- no answer: a reminder, then a no-show --------------------------------------------------------


class Clock:
    """A clock the test moves."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.mark.parametrize("lang", LANGS)
def test_no_answer_gets_one_reminder_then_a_no_show_and_the_doctor_is_freed(demo: Services, lang: str) -> None:
    first = registered(demo, "pat-1", lang, NAMES[lang][0])
    second = registered(demo, "pat-2", lang, NAMES[lang][1])
    t1, t2 = book(demo, first), book(demo, second)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    call = consultation_of(demo, t1.id)
    window = demo.dispatcher.call_window
    assert window == dt.timedelta(seconds=demo.settings.call_window_seconds) == dt.timedelta(seconds=120)

    clock = Clock(call.called_at + window - dt.timedelta(seconds=1))
    demo.timers = TimerRunner(demo.db, TIMER_HANDLERS, clock=clock)
    demo.worker.clock = clock  # pushed messages are due at the timer's time
    assert message_with(first.receive(), first.t("ready", name=DOCTOR))

    # Just before the window: nothing.
    assert demo.timers.drain() == 0
    assert first.receive().texts == []

    # After the window: one reminder, with the room.
    clock.now = call.called_at + window + dt.timedelta(seconds=1)
    assert demo.timers.drain() == 1
    reminded = first.receive()
    assert count_in(reminded.texts, first.t("reminder", name=DOCTOR)) == 1, reminded.texts
    assert room_of(message_with(reminded, first.t("reminder", name=DOCTOR))) == call.room_url
    assert demo.timers.drain() == 0  # not twice
    assert first.receive().texts == []
    assert consultation_of(demo, t1.id).outcome is None
    reminded_at = clock.now

    # Just before the second window: still open.
    clock.now = reminded_at + window - dt.timedelta(seconds=1)
    assert demo.timers.drain() == 0
    assert consultation_of(demo, t1.id).outcome is None

    # After the second window: a no-show; patient and doctor told; the doctor is back at the desk.
    clock.now = reminded_at + window + dt.timedelta(seconds=1)
    assert demo.timers.drain() == 1
    row = consultation_of(demo, t1.id)
    assert row.outcome == ConsultationOutcome.NO_SHOW and row.ended_at == clock.now and row.joined_at is None
    assert token(demo, t1.id).status == TokenStatus.NO_SHOW
    missed = first.receive()
    assert first.t("missed") in missed.all_text, missed.texts
    told = doctor.receive()
    assert doctor.t("doc_no_show", number=t1.number) in told.all_text, told.texts
    assert step_of(demo, doctor.user) == "doctor_home"
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE
    assert demo.timers.drain() == 0
    # Over all of it, exactly one reminder.
    assert count_in(first.seen, first.t("reminder", name=DOCTOR)) == 1

    # NEXT calls the next patient.
    summary = doctor.say(WORDS[lang]["next"]).texts[0]
    assert doctor.t("patient_line", name=NAMES[lang][1]) in summary
    assert consultation_of(demo, t2.id).outcome is None
    assert message_with(second.receive(), second.t("ready", name=DOCTOR))
    # The patient who missed the call pressing "I am joining" late is told it is closed, and is at the menu.
    answer = first.say(choice=f"join:{row.id}")
    assert first.t("call_closed", number=t1.number) in answer.texts[0], answer.texts
    assert step_of(demo, first.user) == "menu"


@pytest.mark.parametrize("lang", LANGS)
def test_joining_in_time_stops_the_timers(demo: Services, lang: str) -> None:
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    patient.receive()
    patient.say(WORDS[lang]["join"])
    call = consultation_of(demo, booked.id)
    clock = Clock(call.called_at + 5 * demo.dispatcher.call_window)
    demo.timers = TimerRunner(demo.db, TIMER_HANDLERS, clock=clock)
    demo.worker.clock = clock
    demo.timers.drain()
    assert consultation_of(demo, booked.id).outcome is None
    assert count_in(patient.receive().texts, patient.t("reminder", name=DOCTOR)) == 0
    assert step_of(demo, doctor.user) == "consulting"


# --- "get ready" ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_patient_reaching_place_3_is_told_to_get_ready_once(demo: Services, lang: str) -> None:
    patients = [registered(demo, f"pat-{i}", lang, NAMES[lang][i]) for i in range(5)]
    tokens = [book(demo, p) for p in patients]
    assert [t.number for t in tokens] == [1, 2, 3, 4, 5]
    for p in patients:
        p.receive()
        p.seen.clear()  # only what comes after the doctor's calls counts
    doctor = enrolled_doctor(demo, "doc", lang)
    ready = [p.t("get_ready") for p in patients]

    # The first call: token 4 is now third.
    doctor.say(WORDS[lang]["next"])
    for p in patients:
        p.receive()
    assert [count_in(p.seen, ready[i]) for i, p in enumerate(patients)] == [0, 0, 0, 1, 0]
    shown = next(text for text in patients[3].seen if ready[3] in text)
    assert re.search(r"\b4\b", shown), shown  # names the token
    with demo.db.read() as session:
        assert session.get(Token, tokens[3].id).ready_notified_at is not None  # type: ignore[union-attr]

    # The next calls: token 5 reaches third place once; token 4 is not told again.
    for _ in range(4):
        doctor.say(WORDS[lang]["done"])
        doctor.say(WORDS[lang]["next"])
        for p in patients:
            p.receive()
    assert [count_in(p.seen, ready[i]) for i, p in enumerate(patients)] == [0, 0, 0, 1, 1]


@pytest.mark.parametrize("lang", LANGS)
def test_a_patient_cancelling_after_being_called_frees_the_doctor(demo: Services, lang: str) -> None:
    first = registered(demo, "pat-1", lang, NAMES[lang][0])
    second = registered(demo, "pat-2", lang, NAMES[lang][1])
    t1, t2 = book(demo, first), book(demo, second)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    assert message_with(first.receive(), first.t("ready", name=DOCTOR))

    answer = first.say(CANCEL[lang])
    assert first.t("cancel_q") in answer.texts[-1], answer.texts
    cancelled = first.say(YES[lang])
    assert first.t("cancelled") in cancelled.texts[0], cancelled.texts

    row = consultation_of(demo, t1.id)
    assert row.outcome == ConsultationOutcome.CANCELLED and row.ended_at is not None
    assert token(demo, t1.id).status == TokenStatus.CANCELLED
    told = doctor.receive()
    assert doctor.t("doc_declined", number=t1.number) in told.all_text, told.texts
    assert step_of(demo, doctor.user) == "doctor_home"
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE

    summary = doctor.say(WORDS[lang]["next"]).texts[0]
    assert doctor.t("patient_line", name=NAMES[lang][1]) in summary
    assert consultation_of(demo, t2.id).outcome is None
    # No timer of the cancelled call fires later.
    clock = Clock(row.called_at + 10 * demo.dispatcher.call_window)
    demo.worker.clock = clock
    TimerRunner(demo.db, TIMER_HANDLERS, clock=clock).drain()
    assert consultation_of(demo, t1.id).outcome == ConsultationOutcome.CANCELLED
    assert count_in(first.receive().texts, first.t("reminder", name=DOCTOR)) == 0

    # The patient is back at the menu; the call just cancelled is not offered again.
    assert not any(first.t("ready", name=DOCTOR) in text for text in cancelled.texts), cancelled.texts
    assert first.t("menu") in cancelled.texts[-1], cancelled.texts
    assert step_of(demo, first.user) == "menu"


@pytest.mark.parametrize("lang", LANGS)
def test_a_patient_who_cannot_come_frees_the_doctor(demo: Services, lang: str) -> None:
    first = registered(demo, "pat-1", lang, NAMES[lang][0])
    second = registered(demo, "pat-2", lang, NAMES[lang][1])
    t1, t2 = book(demo, first), book(demo, second)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    first.receive()
    answer = first.say("2")  # "I cannot come now"
    assert first.t("menu") in answer.texts[-1], answer.texts
    row = consultation_of(demo, t1.id)
    assert row.outcome == ConsultationOutcome.NO_SHOW and row.ended_at is not None
    assert token(demo, t1.id).status == TokenStatus.NO_SHOW
    assert doctor.t("doc_declined", number=t1.number) in doctor.receive().all_text
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE
    assert doctor.t("patient_line", name=NAMES[lang][1]) in doctor.say(WORDS[lang]["next"]).texts[0]
    assert consultation_of(demo, t2.id).outcome is None


@pytest.mark.parametrize("lang", LANGS)
def test_a_patient_moved_up_to_place_3_by_a_cancellation_is_told_to_get_ready(demo: Services, lang: str) -> None:
    """As the queue moves — by a call or by someone ahead cancelling — whoever reaches place 3 is told once."""
    patients = [registered(demo, f"pat-{i}", lang, NAMES[lang][i]) for i in range(5)]
    for p in patients:
        book(demo, p)
        p.receive()
        p.seen.clear()
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])  # calls token 1; token 4 is third and is told
    patients[1].say(CANCEL[lang])  # token 2 cancels: token 5 is third now
    patients[1].say(YES[lang])
    doctor.say(WORDS[lang]["done"])
    doctor.say(WORDS[lang]["next"])  # calls token 3
    for p in patients:
        p.receive()
    ready = patients[0].t("get_ready")
    assert [count_in(p.seen, ready) for p in patients] == [0, 0, 0, 1, 1]
