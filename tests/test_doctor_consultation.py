"""A consultation through the real dispatcher, in English and Hindi: a whole consultation in
every pair of languages, a second visit, refer and no-show, the status words and the desk's
offers, a red-flag patient called first, "done" with nothing open, going off duty, rating,
another patient's buttons, advice over several lines, danger signs in the summary. Every
consultation is checked in the shared log (models.Consultation).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.runtime import Services
from bot.services.opds import find_opd
from bot.store.models import (
    ConsultationOutcome,
    DoctorStatus,
    TokenStatus,
)
from flows.engine import State
from flows.ports import DoctorState
from tests.doctor_helpers import (  # noqa: F401  (fixtures are used by being imported)
    ADVICE,
    ANSWERS,
    DOCTOR,
    GEN24,
    LANGS,
    NAMES,
    NOTE,
    ROOM_RE,
    WORDS,
    _clear_of_midnight_ist,
    book,
    consultation_of,
    consultations,
    doctor_row,
    enrolled_doctor,
    identity_of,
    message_with,
    registered,
    room_of,
    step_of,
    today_ist,
    token,
    tokens_of,
)
from tests.helpers import FakeDesk, FlowChat

# --- a whole consultation -------------------------------------------------------------------------

PAIRS = [("en", "en"), ("hi", "hi"), ("en", "hi"), ("hi", "en")]


@pytest.mark.parametrize(("doctor_lang", "patient_lang"), PAIRS, ids=[f"doctor_{d}-patient_{p}" for d, p in PAIRS])
def test_a_whole_consultation(demo: Services, doctor_lang: str, patient_lang: str) -> None:
    name = NAMES[patient_lang][0]
    patient = registered(demo, "pat", patient_lang, name)
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", doctor_lang)
    started = dt.datetime.now(dt.UTC)

    # NEXT: the doctor gets the summary and the room.
    answer = doctor.say(WORDS[doctor_lang]["next"])
    summary = answer.texts[0]
    d = doctor.t
    for piece in (
        d("token_label", number=booked.number, opd=GEN24[doctor_lang]),
        d("patient_line", name=name),
        d("symptoms_line"),
        d("since_line").replace("३ दिन से", ANSWERS[patient_lang]["since_when"]).replace("3 days", ANSWERS[patient_lang]["since_when"]),
        d("flags_none"),
        d("earlier", n=0),
        d("room"),
    ):
        assert piece in summary, f"{piece!r} not in the summary {summary!r}"
    room = room_of(summary)
    assert step_of(demo, doctor.user) == "consulting"
    assert doctor_row(demo, doctor.user).status == DoctorStatus.BUSY

    # The patient is told, with the same room.
    called = patient.receive()
    ready = message_with(called, patient.t("ready", name=DOCTOR))
    assert room_of(ready) == room
    assert token(demo, booked.id).status == TokenStatus.CALLED

    # The patient joins; the doctor is told.
    answer = patient.say(WORDS[patient_lang]["join"])
    assert patient.t("joining_ack") in answer.texts[0], answer.texts
    told = doctor.receive()
    assert told.texts == [doctor.t("joining", number=booked.number)]
    assert token(demo, booked.id).status == TokenStatus.IN_CONSULTATION

    # Advice over two messages and a private note, then DONE.
    first, second = ADVICE[doctor_lang]
    assert doctor.say(first).texts[0] == d("added")
    assert doctor.say(second).texts[0] == d("added")
    note, note_text = NOTE[doctor_lang]
    assert doctor.say(note).texts[0] == d("noted")
    answer = doctor.say(WORDS[doctor_lang]["done"])
    assert answer.texts[0] == d("closed", name=name)
    assert d("desk", name=DOCTOR) in answer.texts[-1]
    assert step_of(demo, doctor.user) == "doctor_home"
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE

    # The log.
    [row] = consultations(demo)
    doctor_person = identity_of(demo, doctor.user).person_id
    patient_person = identity_of(demo, patient.user).person_id
    with demo.db.read() as session:
        gen24 = find_opd(session, "GEN24")
        assert gen24 is not None
    assert (row.token_id, row.doctor_id, row.patient_id, row.opd_id) == (booked.id, doctor_person, patient_person, gen24.id)
    assert started <= row.called_at <= row.joined_at <= row.ended_at <= dt.datetime.now(dt.UTC)
    assert row.outcome == ConsultationOutcome.DONE
    assert row.notes == note_text
    assert row.advice == f"{first}\n{second}"
    assert row.room_url == room
    assert row.intake["symptoms"] == ["fever", "cough"]
    assert row.intake["severity"] == "moderate"
    assert row.state_code == "IN-UP"
    done = token(demo, booked.id)
    assert done.status == TokenStatus.DONE and done.ended_at == row.ended_at

    # The patient gets the advice verbatim, framed in their own language, and rates it.
    advice = patient.receive()
    framed = message_with(advice, patient.t("advice_head", name=DOCTOR))
    assert f"────────\n{first}\n{second}\n────────" in framed, framed
    assert patient.t("rate") in framed
    assert note_text not in framed  # the private note stays with doctors
    answer = patient.say("4")
    assert patient.t("followup_q") in answer.texts[-1], answer.texts
    assert consultations(demo)[0].rating == 4

    # A follow-up with the same doctor, on a later day.
    answer = patient.say("1")
    assert patient.t("followup_booked") in answer.all_text, answer.texts
    assert patient.t("menu") in answer.texts[-1]
    follow_up = tokens_of(demo, patient.user)[-1]
    assert follow_up.id != booked.id
    assert follow_up.day > today_ist()
    assert follow_up.doctor_id == doctor_person
    assert follow_up.person_id == patient_person and follow_up.status == TokenStatus.WAITING
    # Nothing the doctor's desk would call today.
    assert doctor.say(WORDS[doctor_lang]["next"]).texts[0].startswith(d("nobody"))


@pytest.mark.parametrize("lang", LANGS)
def test_a_second_visit_shows_one_earlier_consultation_and_a_new_room(demo: Services, lang: str) -> None:
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    doctor = enrolled_doctor(demo, "doc", lang)
    rooms = []
    for visit in range(2):
        book(demo, patient)
        doctor.receive()  # the second time the doctor is free, and pinged of the booking (bot/services/pings.py)
        summary = doctor.say(WORDS[lang]["next"]).texts[0]
        assert doctor.t("earlier", n=visit) in summary, summary
        rooms.append(room_of(summary))
        patient.say(WORDS[lang]["join"])
        doctor.say(ADVICE[lang][0])
        doctor.say(WORDS[lang]["done"])
        patient.receive()
        patient.say("menu" if lang == "en" else "मेनू")
    assert rooms[0] != rooms[1]
    assert ROOM_RE.fullmatch(rooms[0]).group(1) != ROOM_RE.fullmatch(rooms[1]).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("outcome", ["refer", "no_show"])
def test_refer_and_no_show_end_the_consultation_in_the_log(demo: Services, lang: str, outcome: str) -> None:
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    patient.receive()
    if outcome == "refer":
        patient.say(WORDS[lang]["join"])
        doctor.say(ADVICE[lang][0])
    answer = doctor.say(WORDS[lang][outcome])
    assert answer.texts[0] == doctor.t("closed", name=NAMES[lang][0])
    [row] = consultations(demo)
    expected = {"refer": (ConsultationOutcome.REFERRED, TokenStatus.DONE), "no_show": (ConsultationOutcome.NO_SHOW, TokenStatus.NO_SHOW)}
    assert (row.outcome, token(demo, booked.id).status) == expected[outcome]
    assert row.ended_at is not None
    told = patient.receive()
    if outcome == "refer":
        assert f"────────\n{ADVICE[lang][0]}\n────────" in message_with(told, patient.t("advice_head", name=DOCTOR))
    else:
        assert patient.t("missed") in told.all_text, told.texts
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE


@pytest.mark.parametrize("lang", LANGS)
def test_status_words_set_the_doctors_availability(demo: Services, lang: str) -> None:
    doctor = enrolled_doctor(demo, "doc", lang)
    answer = doctor.say(WORDS[lang]["pause"])
    assert answer.texts[0] == doctor.t("paused")
    assert doctor_row(demo, doctor.user).status == DoctorStatus.PAUSED
    answer = doctor.say(WORDS[lang]["off"])
    assert answer.texts[0] == doctor.t("off")
    assert doctor_row(demo, doctor.user).status == DoctorStatus.OFFLINE
    answer = doctor.say(WORDS[lang]["next"])  # nobody waits: free
    assert answer.texts[0].startswith(doctor.t("nobody"))
    assert doctor_row(demo, doctor.user).status == DoctorStatus.FREE
    answer = doctor.say("खाली" if lang == "hi" else "free")
    assert answer.texts[0].startswith(doctor.t("nobody"))


# --- priority -------------------------------------------------------------------------------------

DANGER = {"en": "I have severe chest pain and sweating", "hi": "मेरे सीने में तेज़ दर्द है"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_red_flag_patient_booked_after_two_others_is_called_first(demo: Services, lang: str) -> None:
    first = registered(demo, "pat-1", lang, NAMES[lang][0])
    second = registered(demo, "pat-2", lang, NAMES[lang][1])
    urgent = registered(demo, "pat-urgent", lang, NAMES[lang][2])
    t1, t2 = book(demo, first), book(demo, second)
    t3 = book(demo, urgent, DANGER[lang])
    assert (t1.number, t2.number, t3.number) == (1, 2, 3)
    assert t3.priority is True and "chest_pain" in t3.red_flags
    doctor = enrolled_doctor(demo, "doc", lang)

    order = []
    for _ in range(3):
        summary = doctor.say(WORDS[lang]["next"]).texts[0]
        order.append(re.search(r"(?:Token|टोकन) (\d+),", summary).group(1))  # type: ignore[union-attr]
        if order[-1] == "3":
            assert doctor.t("patient_line", name=NAMES[lang][2]) in summary
            assert doctor.t("flags_none") not in summary and doctor.t("flags_line") in summary, summary
        doctor.say(WORDS[lang]["done"])
    assert order == ["3", "1", "2"]
    assert message_with(urgent.receive(), urgent.t("ready", name=DOCTOR))
    assert [c.token_id for c in consultations(demo)] == [t3.id, t1.id, t2.id]


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_done_refer_and_no_show_with_no_consultation_open_get_a_clear_reply(demo: Services, lang: str) -> None:
    doctor = enrolled_doctor(demo, "doc", lang)
    for word in ("done", "refer", "no_show"):
        answer = doctor.say(WORDS[lang][word])
        assert answer.texts[0] == message_with(answer, doctor.t("no_open")), (word, answer.texts)
        assert doctor.t("desk", name=DOCTOR) in answer.texts[-1]
    assert consultations(demo) == []
    assert step_of(demo, doctor.user) == "doctor_home"


@pytest.mark.parametrize("lang", LANGS)
def test_going_off_duty_mid_consultation_is_refused_until_done(demo: Services, lang: str) -> None:
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    for word in ("off", "pause", "next"):
        answer = doctor.say(WORDS[lang][word])
        assert answer.texts[0] == doctor.t("still_with"), (word, answer.texts)
        assert step_of(demo, doctor.user) == "consulting"
        assert doctor_row(demo, doctor.user).status == DoctorStatus.BUSY
        [row] = consultations(demo)
        assert row.outcome is None and row.token_id == booked.id
    # Still the same consultation: the status words did not become advice.
    assert consultations(demo)[0].advice == ""
    doctor.say(WORDS[lang]["done"])
    answer = doctor.say(WORDS[lang]["off"])
    assert answer.texts[0] == doctor.t("off")
    assert doctor_row(demo, doctor.user).status == DoctorStatus.OFFLINE
    assert consultations(demo)[0].outcome == ConsultationOutcome.DONE


@pytest.mark.parametrize("lang", LANGS)
def test_rating_twice_and_out_of_range_get_clear_replies(demo: Services, lang: str) -> None:
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    patient.receive()
    patient.say(WORDS[lang]["join"])
    doctor.say(ADVICE[lang][0])
    doctor.say(WORDS[lang]["done"])
    patient.receive()
    assert step_of(demo, patient.user) == "rating"
    row_id = consultation_of(demo, booked.id).id

    for wrong in ("7", "0", "९"):
        answer = patient.say(wrong)
        assert patient.t("one_to_five") in answer.texts[0], (wrong, answer.texts)
        assert consultation_of(demo, booked.id).rating is None
    answer = patient.say("5")
    assert patient.t("followup_q") in answer.texts[-1]
    assert consultation_of(demo, booked.id).rating == 5

    # The star buttons of the advice message, pressed again.
    answer = patient.say(choice=f"rate:{row_id}:2")
    assert patient.t("already_rated") in answer.texts[0], answer.texts
    assert consultation_of(demo, booked.id).rating == 5


def test_another_patients_consultation_buttons_do_nothing(demo: Services) -> None:
    """Buttons carry the consultation's id: someone else's id joins, declines and rates nothing."""
    patient = registered(demo, "pat", "en", NAMES["en"][0])
    other = registered(demo, "other", "en", NAMES["en"][1])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", "en")
    doctor.say("next")
    row_id = consultation_of(demo, booked.id).id
    assert other.say(choice=f"join:{row_id}").texts[0] == other.t("call_over")
    other.say(choice=f"leave:{row_id}")
    row = consultation_of(demo, booked.id)
    assert row.joined_at is None and row.outcome is None
    patient.say("1")
    doctor.say("done")
    other.say(choice=f"rate:{row_id}:1")
    assert consultation_of(demo, booked.id).rating is None
    other.say(choice=f"followup:{row_id}")
    assert tokens_of(demo, other.user) == []


# --- bugs these tests found (each failed before 6a02761) -----------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_advice_written_over_several_lines_reaches_the_patient_verbatim(demo: Services, lang: str) -> None:
    """The advice is the doctor's words verbatim: a numbered list in one message keeps its lines."""
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    booked = book(demo, patient)
    doctor = enrolled_doctor(demo, "doc", lang)
    doctor.say(WORDS[lang]["next"])
    patient.receive()
    patient.say(WORDS[lang]["join"])
    advice = "\n".join(f"{i}. {line}" for i, line in enumerate(ADVICE[lang], 1))
    doctor.say(advice)
    doctor.say(WORDS[lang]["done"])
    framed = message_with(patient.receive(), patient.t("advice_head", name=DOCTOR))
    assert consultation_of(demo, booked.id).advice == advice
    assert f"────────\n{advice}\n────────" in framed, framed


@pytest.mark.parametrize("lang", LANGS)
def test_danger_signs_in_the_summary_are_words_not_codes(demo: Services, lang: str) -> None:
    """Text users see comes from the catalogs: the doctor reads a danger sign, not an internal code."""
    patient = registered(demo, "pat", lang, NAMES[lang][0])
    book(demo, patient, DANGER[lang])
    doctor = enrolled_doctor(demo, "doc", lang)
    summary = doctor.say(WORDS[lang]["next"]).texts[0]
    line = next(row for row in summary.splitlines() if row.startswith(doctor.t("flags_line")))
    assert line != doctor.t("flags_none")
    assert "chest_pain" not in line and "_" not in line, line


# --- the desk offers what changes the doctor's status (the pure flows, in-memory ports) -----------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("status", "offered"),
    [(DoctorState.OFFLINE, ["next", "pause"]), (DoctorState.PAUSED, ["next", "off", "mute"]), (DoctorState.FREE, ["next", "pause", "off", "mute"])],
)
def test_the_desk_offers_no_status_the_doctor_already_has(catalogs, lang: str, status: DoctorState, offered: list[str]) -> None:
    """A doctor who was off duty was offered "Go off duty"."""
    chat = FlowChat(catalogs, lang, State(step="doctor_home", language=lang), desk=FakeDesk(status=status), role="doctor")
    chat.send("menu")
    assert chat.last_choices == offered


@pytest.mark.parametrize("lang", LANGS)
def test_going_off_duty_when_off_duty_says_so(catalogs, lang: str) -> None:
    chat = FlowChat(catalogs, lang, State(step="doctor_home", language=lang), desk=FakeDesk(status=DoctorState.OFFLINE), role="doctor")
    texts = chat.send(WORDS[lang]["off"])
    assert texts[0] == {"en": "You are off duty already. Send NEXT when you are back.", "hi": "आप पहले से ड्यूटी से बाहर हैं। लौटने पर “अगला” भेजें।"}[lang]
    assert chat.state.step == "doctor_home"
