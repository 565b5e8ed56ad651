"""Messages to other people are part of a turn's Outcome (flows/notices.py), and dispatch alone carries them out.

On the pure flows with in-memory ports, in English and Hindi: a doctor's NEXT returns the
patient's call, their chat moved to "called", the reminder timer, the health worker's notice
and "get ready" for the patient at place 3; DONE and NO SHOW return the advice or the missed
call; the patient's "I am joining" and "I cannot come" return the doctor's notices. One
database test: a real NEXT through the dispatcher leaves those notices as rows, in the same
transaction as the doctor's own reply.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from sqlalchemy import select

from bot.outbox.payloads import translate
from bot.platform.i18n import Catalogs
from bot.runtime import Services
from bot.store.models import Consultation, Conversation, Identity, OutboxMessage, Timer
from flows.engine import LANGUAGES, State
from flows.messages import Attachment, ByLanguage, Reply, reply_to_json, t
from flows.notices import CancelTimer, MoveConversation, Notify, ScheduleTimer
from flows.ports import (
    CallEnded,
    CallState,
    DoctorState,
    Joined,
    NewCall,
    Party,
    PlaceThree,
    QueueMoved,
)
from flows.steps import visit
from flows.steps.health_worker import worker_advice, worker_call_notice
from tests.doctor_helpers import (  # noqa: F401 (demo is a fixture)
    DOCTOR,
    WORDS,
    T,
    book,
    enrolled_doctor,
    registered,
)
from tests.helpers import (
    FAKE_OPDS,
    IN_MEMORY_NOW,
    FakeDesk,
    FakeWalkins,
    FlowChat,
    consultation_view,
    registered_chat,
)

LANGS = ("en", "hi")
ROOM = "https://meet.example/room"
PATIENT, WORKER, THIRD = Party(41, about=9), 55, Party(42, about=10)
OPD = ByLanguage("General Medicine", "सामान्य चिकित्सा")


def read(lang: str, key: str) -> str:
    """Return a piece of what the called patient and the others read (tests/doctor_helpers.py T)."""
    return T[lang][key].format(name=DOCTOR)


def _read(catalogs: Catalogs, reply: Reply, lang: str) -> str:
    """Return a notice's message as its reader sees it (as the outbox keeps it, then translated)."""
    return translate(catalogs, json.loads(json.dumps(reply_to_json(reply))), lang).text


def _calling_desk() -> FakeDesk:
    """A free doctor with one patient waiting, whose call the desk reports as the database does."""
    waiting = dataclasses.replace(
        consultation_view(7), patient=PATIENT, doctor=DOCTOR, advice="Rest.", health_worker=WORKER,
        call=NewCall(window_seconds=120.0, queue=QueueMoved(reached=PlaceThree(THIRD, OPD, 3))),
    )
    return FakeDesk(status=DoctorState.FREE, waiting=[waiting])


@pytest.mark.parametrize("lang", LANGS)
def test_a_doctors_next_returns_its_notices_to_the_others(catalogs: Catalogs, lang: str) -> None:
    chat = FlowChat(catalogs, lang, State(step="doctor_home", language=lang), desk=_calling_desk(), role="doctor")
    chat.send(WORDS[lang]["next"])
    assert chat.state.step == "consulting"
    # A walk-in (a health worker booked them): told to go to the health worker, who has the room.
    called = {"consultation": 7, "doctor": DOCTOR, "room": ROOM, "walk_in": True}
    assert chat.notices == [
        Notify(41, visit.walk_in_ready(7, DOCTOR), about=9),
        MoveConversation(41, "called", called, only_if_idle=True, or_at=("called", {"consultation": 7})),
        ScheduleTimer("call_reminder", IN_MEMORY_NOW + dt.timedelta(seconds=120), {"consultation": 7, "window": 120.0}, identity_id=41, key="consultation:7"),
        Notify(WORKER, worker_call_notice(7, 1, "Sunita Devi", ROOM), exact=True),
        Notify(42, visit.get_ready(OPD, 3), about=10),
    ]
    # Each message renders in its reader's language, whichever the doctor uses.
    for reader in LANGS:
        assert read(reader, "ready") in _read(catalogs, chat.notices[0].reply, reader)  # type: ignore[union-attr]
        assert read(reader, "get_ready") in _read(catalogs, chat.notices[-1].reply, reader)  # type: ignore[union-attr]


@pytest.mark.parametrize("lang", LANGS)
def test_the_open_consultation_handed_back_tells_nobody_again(catalogs: Catalogs, lang: str) -> None:
    """A NEXT while a patient is in hand (after a LANGUAGE, say) returns the same consultation, with no call facts."""
    desk = FakeDesk(status=DoctorState.FREE, waiting=[dataclasses.replace(consultation_view(7), patient=PATIENT)])
    chat = FlowChat(catalogs, lang, State(step="doctor_home", language=lang), desk=desk, role="doctor")
    chat.send(WORDS[lang]["next"])
    assert chat.state.step == "consulting" and chat.notices == []


# A move that ends a call also takes the patient from that very call's step (not only from the menu).
AT_CALL = ("called", {"consultation": 7})


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("outcome", ["done", "refer", "no_show"])
def test_ending_a_consultation_returns_the_patients_message(catalogs: Catalogs, lang: str, outcome: str) -> None:
    desk = _calling_desk()
    chat = FlowChat(catalogs, lang, State(step="doctor_home", language=lang), desk=desk, role="doctor")
    chat.send(WORDS[lang]["next"])
    # A patient who booked for themselves: no health worker to tell (a walk-in's: the test below).
    desk.consultation = dataclasses.replace(desk.consultation, call=None, health_worker=None)  # type: ignore[arg-type]
    chat.send(WORDS[lang][outcome])
    assert chat.state.step == "doctor_home"
    stop = [CancelTimer("call_reminder", "consultation:7"), CancelTimer("call_no_show", "consultation:7")]
    if outcome == "no_show":
        # The patient still at this call's step is taken back to the menu, as the rating move below takes them on.
        assert chat.notices == [*stop, Notify(41, visit.missed(), about=9), MoveConversation(41, "menu", or_at=AT_CALL)]
        return
    # DONE also sends the e-prescription (its PDF and link are made when it is sent); a referral does not.
    prescription = [Notify(41, visit.prescription(7, DOCTOR), about=9)] if outcome == "done" else []
    assert chat.notices == [
        *stop, Notify(41, visit.advice(7, DOCTOR, "Rest."), about=9), *prescription, MoveConversation(41, "rating", {"consultation": 7}, or_at=AT_CALL),
    ]
    assert read(lang, "advice_head") in _read(catalogs, chat.notices[2].reply, lang)  # type: ignore[union-attr]


@dataclasses.dataclass
class FakeVisits:
    """The Visits port, in memory: one call (consultation 7) from Dr. Anita Sharma's chat 5."""

    joined: bool = False

    def join(self, consultation_id: int) -> Joined | None:
        if consultation_id != 7:
            return None
        first, self.joined = not self.joined, True
        return Joined(7, 1, Party(5) if first else None, first=first)

    def decline(self, consultation_id: int) -> CallEnded | None:
        return CallEnded(7, 1, Party(5)) if consultation_id == 7 else None

    def call(self, consultation_id: int) -> CallState | None:
        return CallState(1, DOCTOR) if consultation_id == 7 else None

    def rate(self, consultation_id: int, stars: int) -> bool:
        return False

    def follow_up(self, consultation_id: int) -> dt.date | None:
        return None


@pytest.mark.parametrize("lang", LANGS)
def test_the_patients_answer_to_a_call_returns_the_doctors_notices(catalogs: Catalogs, lang: str) -> None:
    stop = [CancelTimer("call_reminder", "consultation:7"), CancelTimer("call_no_show", "consultation:7")]
    chat = registered_chat(catalogs, lang, visits=FakeVisits())
    chat.send(choice="join:7")
    assert chat.notices == [*stop, Notify(5, visit.doctor_notice("joining", 1))]
    chat.send(choice="join:7")
    assert chat.notices == [], "the doctor is told once"
    chat.send(choice="join:8")
    assert chat.notices == []
    chat.send(choice="leave:7")
    assert chat.notices == [*stop, Notify(5, visit.doctor_notice("declined", 1)), MoveConversation(5, "doctor_home", {}, only_if_idle=False)]


# --- the database: dispatch turns a NEXT's notices into rows, in the same transaction ------------------


@pytest.mark.parametrize("lang", LANGS)
def test_dispatch_turns_a_next_into_the_patients_rows(demo: Services, lang: str) -> None:  # noqa: F811 (demo)
    patient = registered(demo, f"notice-patient-{lang}", lang, "Sunita Devi")
    token = book(demo, patient)
    doctor = enrolled_doctor(demo, f"notice-doctor-{lang}", lang)
    doctor.say(WORDS[lang]["next"])
    with demo.db.read() as session:
        me = session.scalars(select(Identity).where(Identity.address == patient.user)).one()
        consultation = session.scalars(select(Consultation).where(Consultation.token_id == token.id)).one()
        pushed = session.scalars(select(OutboxMessage).where(OutboxMessage.identity_id == me.id, OutboxMessage.kind == "push")).all()
        step, data = session.execute(select(Conversation.step, Conversation.data).where(Conversation.identity_id == me.id)).one()
        timer = session.scalars(select(Timer).where(Timer.kind == "call_reminder")).one()
        doctor_reply = session.scalars(select(OutboxMessage).where(OutboxMessage.identity_id != me.id).order_by(OutboxMessage.id.desc())).first()
    assert [(row.channel, row.address, row.language) for row in pushed] == [("local", patient.user, lang)]
    assert pushed[0].payload == reply_to_json(visit.doctor_ready(consultation.id, DOCTOR, consultation.room_url))
    assert (step, data["consultation"]) == ("called", consultation.id)
    assert (timer.status, timer.identity_id, timer.key) == ("pending", me.id, f"consultation:{consultation.id}")
    assert timer.due_at == consultation.called_at + dt.timedelta(seconds=demo.dispatcher.call_window.total_seconds())
    # The patient's call was queued before the doctor's own reply, in the NEXT's one transaction.
    assert doctor_reply is not None and doctor_reply.inbound_id is not None and pushed[0].id < doctor_reply.id
    assert read(lang, "ready") in patient.receive().all_text


WALK_IN = [("choice", "book"), ("text", "98765 43210"), ("choice", "hi"), ("text", "Ramesh"), ("text", "40"), ("choice", "male"), ("text", "bukhar 2 din se")]
WALK_IN_SMS = {"en": "please be at the clinic then.", "hi": "उस समय क्लिनिक पर रहें।"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_walk_ins_token_is_a_notice_to_their_own_chat_not_a_reply_to_the_health_worker(catalogs: Catalogs, lang: str) -> None:
    walkins = FakeWalkins(patient_chat=PATIENT)
    chat = FlowChat(catalogs, lang, State(step="hw_home", language=lang), role="health_worker", walkins=walkins, bookings=walkins.bookings)
    for kind, value in WALK_IN:
        chat.send(**{kind: value})
    assert chat.notices == []
    texts = chat.send(choice=f"opd:{FAKE_OPDS[0].id}")
    assert chat.state.step == "hw_home", texts
    [notice] = chat.notices
    assert isinstance(notice, Notify) and (notice.identity_id, notice.about) == (PATIENT.identity_id, PATIENT.about)
    assert WALK_IN_SMS[lang] in _read(catalogs, notice.reply, lang)
    # The health worker reads the token too, in their own reply, not the patient's SMS.
    assert not any(WALK_IN_SMS[lang] in text for text in texts)


WALK_IN_ADVICE = {"en": "Rest, and drink plenty of water. Call 108 if the chest pain comes back.", "hi": "आराम करें और खूब पानी पिएँ। सीने में दर्द फिर हो तो 108 पर कॉल करें।"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_walk_ins_health_worker_gets_the_room_at_the_call_and_the_advice_word_for_word(catalogs: Catalogs, lang: str) -> None:
    desk = _calling_desk()
    desk.waiting = [dataclasses.replace(view, health_worker=WORKER, advice=WALK_IN_ADVICE[lang]) for view in desk.waiting]
    chat = FlowChat(catalogs, lang, State(step="doctor_home", language=lang), desk=desk, role="doctor")
    chat.send(WORDS[lang]["next"])
    [at_the_call] = [n for n in chat.notices if isinstance(n, Notify) and n.identity_id == WORKER]
    desk.consultation = dataclasses.replace(desk.consultation, call=None)  # type: ignore[arg-type]
    chat.send(WORDS[lang]["done"])
    # The advice word for word, then the prescription to print at the clinic.
    [advice, prescription] = [n for n in chat.notices if isinstance(n, Notify) and n.identity_id == WORKER]
    assert advice == Notify(WORKER, worker_advice(1, "Sunita Devi", DOCTOR, WALK_IN_ADVICE[lang]), exact=True)
    assert prescription == Notify(WORKER, visit.worker_prescription(7, 1, "Sunita Devi", DOCTOR), exact=True)
    assert prescription.reply.attachment == Attachment("prescription", 7)
    for reader in LANGS:  # the health worker's language may differ from the doctor's
        assert ROOM in _read(catalogs, at_the_call.reply, reader)
        assert WALK_IN_ADVICE[lang] in _read(catalogs, advice.reply, reader)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("step", ["hw_home", "hw_name"])
def test_a_health_worker_joining_with_their_walk_in_tells_the_doctor_and_stops_the_call_timers(catalogs: Catalogs, lang: str, step: str) -> None:
    # Whatever the health worker is doing (booking the next walk-in, say), the button under the call works.
    walkins = FakeWalkins(calls={7: 1})
    chat = FlowChat(catalogs, lang, State(step=step, language=lang), role="health_worker", walkins=walkins, bookings=walkins.bookings)
    said = chat.send(choice="hwjoin:7")
    assert said == [catalogs.translate(t("Thank you. The doctor knows you are joining with the patient."), lang)]
    assert chat.notices == [*visit.stop_call_timers(7), Notify(901, visit.doctor_notice("joining", 1))]
    assert chat.state.step == step and walkins.joined == [7]
    # Pressed again: the doctor knows already.
    chat.send(choice="hwjoin:7")
    assert chat.notices == [] and walkins.joined == [7, 7]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", ["hwjoin:8", "hwjoin:x", "hwjoin:", "hwjoin:99999999999999"])
def test_a_health_worker_cannot_join_a_call_not_theirs(catalogs: Catalogs, lang: str, key: str) -> None:
    walkins = FakeWalkins(calls={7: 1})
    chat = FlowChat(catalogs, lang, State(step="hw_home", language=lang), role="health_worker", walkins=walkins, bookings=walkins.bookings)
    said = chat.send(choice=key)
    assert chat.notices == [] and walkins.joined == []
    if key == "hwjoin:8":  # shaped like ours, but not a call of this health worker's walk-ins
        assert said == [catalogs.translate(t("That call is over."), lang)]
    assert chat.state.step == "hw_home"
