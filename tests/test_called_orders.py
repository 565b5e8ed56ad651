"""The called patient's state follows the consultation whatever order things happen in (issue 16 item 3).

On the database (both, where configured), through the real dispatcher and timers: the doctor
calls; then the patient's "I am joining", the reminder timer, the no-show timer, and the
doctor's DONE (with advice), REFER or NO SHOW come in every order that can happen. After each
event the patient's conversation step is checked against what became of the call, and STATUS
tells the truth: the call again only while it is open; once it is over, the advice sent or
the call closed, never "Dr … is ready for you now".

One patient in English and one in Hindi take the orders in turn, each booking again (through
the booking records, not the chat) after the last call ended; timers fire on a clock the test
moves, as in tests/test_doctor_timers.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from sqlalchemy import select

from bot.outbox.enqueue import apply_notices
from bot.outbox.payloads import translate
from bot.outbox.timers import TimerRunner
from bot.runtime import Services
from bot.services import staff
from bot.services.booking import BookingRecords
from bot.services.calls import TIMER_HANDLERS
from bot.services.opds import find_opd
from bot.store.models import Conversation, Identity, OutboxMessage, Person
from flows.messages import Reply, reply_to_json
from flows.notices import MoveConversation
from flows.ports import BookingOutcome, CallEnd, CallState, Intake
from flows.steps import call_state, tokens
from tests.doctor_helpers import (  # noqa: F401  (fixtures are used by being imported)
    DOCTOR,
    NAMES,
    WORDS,
    Chat,
    T,
    _clear_of_midnight_ist,
    consultation_of,
    enrolled_doctor,
    registered,
    step_of,
)
from tests.helpers import PhoneUser
from tests.test_walkins import AGE, PHONE, WALK_IN, book_walk_in, health_worker

pytestmark = pytest.mark.both_databases

# What happens after the call: the patient's side and the timers, and how the doctor ends it.
PATIENT_EVENTS = ("join", "reminder", "no_show_timer")
DOCTOR_ENDS = ("done", "refer", "no_show")


def orders(end: str | None) -> list[tuple[str, ...]]:
    """Return every order of the events that can happen, with the doctor's end at each place (or none).

    The no-show timer is set by the reminder, so it comes after it; without the doctor's end
    the no-show timer ends the call (so the patient has not joined before it).
    """
    found = []
    for size in range(len(PATIENT_EVENTS) + 1):
        for events in itertools.permutations(PATIENT_EVENTS, size):
            if "no_show_timer" in events and ("reminder" not in events or events.index("reminder") > events.index("no_show_timer")):
                continue
            if end is None:
                # Only the no-show timer ends it: a patient who joined first is waited for.
                if "no_show_timer" in events and ("join" not in events or events.index("join") > events.index("no_show_timer")):
                    found.append(events)
                continue
            found.extend(events[:i] + (end,) + events[i:] for i in range(len(events) + 1))
    return found


class Clock:
    """The timers' clock, moved by the test."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Call:
    """One call to a patient and what became of it so far, as the patient must see it."""

    def __init__(self, demo: Services, patient: Chat, doctor: Chat, order: tuple[str, ...]):
        self.demo, self.patient, self.doctor, self.order = demo, patient, doctor, order
        self.state = "open"  # open, joined, advised or missed
        self.reminded = False
        token_id, self.number = book_again(demo, patient)
        doctor.say(WORDS[doctor.lang]["next"])
        self.consultation = consultation_of(demo, token_id)
        window = demo.dispatcher.call_window
        # A minute on: what the turns queue (at the real time) is due, the reminder (after the window) not yet.
        self.clock = Clock(self.consultation.called_at + dt.timedelta(minutes=1))
        demo.timers = TimerRunner(demo.db, TIMER_HANDLERS, clock=self.clock)
        demo.worker.clock = self.clock  # what a timer queues is due at the timer's time
        self.at = {"reminder": self.consultation.called_at + window + dt.timedelta(seconds=1)}
        self.at["no_show_timer"] = self.at["reminder"] + window + dt.timedelta(seconds=1)
        assert T[patient.lang]["ready"].format(name=DOCTOR) in patient.receive().all_text, order

    def happen(self, event: str) -> bool:
        """Make one event happen, and follow it in the model of what the patient must see; return False if nothing did."""
        open_call = self.state in ("open", "joined")
        if event == "join":
            self.patient.say(choice=f"join:{self.consultation.id}")
            self.state = "joined" if self.state == "open" else self.state
        elif event in ("reminder", "no_show_timer"):
            self.clock.now = max(self.clock.now, self.at[event])
            if self.demo.timers.drain() == 0:
                return False  # the call was answered or over: its timers were cancelled
            if event == "reminder" and self.state == "open":
                self.reminded = True
            elif event == "no_show_timer" and self.state == "open" and self.reminded:
                self.state = "missed"
        else:
            if event != "no_show":
                self.doctor.say("Drink water and rest.")  # the advice, as the doctor types it
            self.doctor.say(WORDS[self.doctor.lang][event])
            if open_call:
                self.state = "missed" if event == "no_show" else "advised"
        self.patient.receive()
        return True

    def check(self, after: str, status: bool = True) -> None:
        """Check the patient's step, then what STATUS says, against what became of the call."""
        lang, why = self.patient.lang, (self.order, after, self.state)
        expected_step = {"open": "called", "joined": "menu", "advised": "rating", "missed": "menu"}[self.state]
        assert step_of(self.demo, self.patient.user) == expected_step, why
        if not status:
            return
        said = self.patient.say(STATUS[lang]).all_text
        the_call = T[lang]["ready"].format(name=DOCTOR)
        assert (the_call in said) == (self.state == "open"), (why, said)
        if self.state == "advised":
            assert read(self.demo, lang, call_state.call_over(CallState(self.number, DOCTOR, CallEnd.ADVISED))) in said, (why, said)
            assert T[lang]["rate"] in said, (why, said)
        elif self.state == "missed":
            assert read(self.demo, lang, tokens.status_replies([], self.clock.now)[0]) in said, (why, said)
        else:
            # The token's own line: called now, or (joined) the consultation on; never a place in the queue.
            assert f"{self.number}" in said and TOKEN_NOW[self.state][lang] in said, (why, said)
        assert step_of(self.demo, self.patient.user) == expected_step, why


STATUS = {"en": "status", "hi": "स्थिति"}
TOKEN_NOW = {
    "open": {"en": "the doctor is calling you now", "hi": "डॉक्टर अभी आपको बुला रहे हैं"},
    "joined": {"en": "your consultation with the doctor is on now", "hi": "डॉक्टर से आपकी बात अभी चल रही है"},
}
MENU = {"en": "menu", "hi": "मेनू"}


def read(demo: Services, lang: str, reply: Reply) -> str:
    """Return a message as its reader sees it (as the outbox keeps it, then translated)."""
    return translate(demo.catalogs, json.loads(json.dumps(reply_to_json(reply))), lang).text


def book_again(demo: Services, patient: Chat) -> tuple[int, int]:
    """Book a token for the patient at the round-the-clock OPD, from the main menu; return its id and number."""
    if step_of(demo, patient.user) != "menu":
        patient.say(MENU[patient.lang])
    now = dt.datetime.now(dt.UTC)
    with demo.db.write() as session:
        identity = session.scalars(select(Identity).where(Identity.address == patient.user)).one()
        opd = find_opd(session, "GEN24")
        assert opd is not None
        result = BookingRecords(session, identity, now).book(opd.id, None, Intake(text="fever"), priority=False)
        assert result.outcome is BookingOutcome.BOOKED and result.token is not None, result
        return result.token.id, result.token.number


@pytest.mark.parametrize("end", [*DOCTOR_ENDS, None])
def test_the_called_patients_state_follows_the_consultation_in_every_order(demo: Services, end: str | None) -> None:
    patients = [registered(demo, f"called-{lang}", lang, NAMES[lang][0]) for lang in ("en", "hi")]
    doctor = enrolled_doctor(demo, "doc", "en")
    # What the database decides (the moves, the timers, the locks) is checked after every event on
    # both; what STATUS then says is read from the same rows by the flows, so PostgreSQL asks it
    # after the call and after the last event, SQLite after every event.
    every_status = demo.db.is_sqlite
    for n, order in enumerate(orders(end)):
        call = Call(demo, patients[n % 2], doctor, order)
        call.check("the call")
        for i, event in enumerate(order):
            happened = call.happen(event)
            # A timer that no longer fires changes nothing: STATUS was asked after the event that stopped it.
            call.check(event, status=happened and (every_status or i == len(order) - 1))
        assert call.state in ("advised", "missed"), order


def test_the_orders_are_every_one_that_can_happen() -> None:
    assert len(orders("done")) == 26 and orders(None) == [("reminder", "no_show_timer"), ("reminder", "no_show_timer", "join")]
    assert ("done", "join") in orders("done") and ("join", "done") in orders("done")
    assert ("reminder", "no_show_timer", "join") in orders(None)
    assert all(o.index("reminder") < o.index("no_show_timer") for o in orders("refer") if "no_show_timer" in o)


def test_a_move_that_was_skipped_leaves_no_lie_behind(demo: Services) -> None:
    """DONE's move of the patient's chat skipped (their chat was busy: SKIP LOCKED): their next message gets the truth from the log."""
    patient = registered(demo, "called-late", "hi", NAMES["hi"][1])
    doctor = enrolled_doctor(demo, "doc", "hi")
    call = Call(demo, patient, doctor, ("done",))
    held = {"consultation": call.consultation.id, "doctor": DOCTOR, "room": call.consultation.room_url}
    call.happen("done")
    _put_back(demo, patient, held)
    said = patient.say("1").all_text  # "I am joining", typed at the call it still holds
    assert read(demo, "hi", call_state.call_over(CallState(call.number, DOCTOR, CallEnd.ADVISED))) in said
    assert T["hi"]["ready"].format(name=DOCTOR) not in said and step_of(demo, patient.user) == "rating"
    assert consultation_of(demo, call.consultation.token_id).joined_at is None  # "1" joined nothing
    # STATUS at the call it still holds: the advice sent, the rating asked; then the chat is at the rating.
    _put_back(demo, patient, held)
    said = patient.say(STATUS["hi"]).all_text
    assert read(demo, "hi", call_state.call_over(CallState(call.number, DOCTOR, CallEnd.ADVISED))) in said
    assert T["hi"]["rate"] in said and T["hi"]["ready"].format(name=DOCTOR) not in said
    assert step_of(demo, patient.user) == "rating"


def test_a_move_that_ends_a_call_takes_the_patient_only_from_that_calls_step(demo: Services) -> None:
    patient = registered(demo, "called-other", "en", NAMES["en"][2])
    with demo.db.read() as session:
        identity_id = session.scalars(select(Identity.id).where(Identity.address == patient.user)).one()
    for held, moved in ((8, "called"), (7, "rating")):
        _put_back(demo, patient, {"consultation": held})
        with demo.db.write() as session:
            apply_notices(session, [MoveConversation(identity_id, "rating", {"consultation": 7}, or_at=("called", {"consultation": 7}))], dt.datetime.now(dt.UTC))
        assert step_of(demo, patient.user) == moved


def _put_back(demo: Services, patient: Chat, data: dict) -> None:
    """Leave the patient's chat at the "called" step holding this call, as a skipped move would."""
    with demo.db.write() as session:
        identity_id = session.scalars(select(Identity.id).where(Identity.address == patient.user)).one()
        conversation = session.scalars(select(Conversation).where(Conversation.identity_id == identity_id)).one()
        conversation.step, conversation.data = "called", dict(data)


@pytest.mark.parametrize(("lang", "joined_first"), [("hi", True), ("en", False)])
def test_a_walk_ins_chat_follows_the_consultation_whoever_joins(demo: Services, lang: str, joined_first: bool) -> None:
    """A walk-in's own SMS chat is called too (walk_in: True); the doctor's DONE takes it on, whether or not the health worker joined first."""
    worker = health_worker(demo, lang)
    token = book_walk_in(demo, worker, WALK_IN[lang], AGE[lang][0])
    doctor = enrolled_doctor(demo, f"doctor-{lang}", lang)
    doctor.say(WORDS[lang]["next"])
    walk_in = PhoneUser(demo, "sms", PHONE)
    consultation = consultation_of(demo, token.id)
    assert step_of(demo, PHONE) == "called"
    if joined_first:
        worker.say(choice=f"hwjoin:{consultation.id}")
    doctor.say("Rest.")
    doctor.say(WORDS[lang]["done"])
    assert step_of(demo, PHONE) == "rating"
    if not joined_first:
        assert worker.say(choice=f"hwjoin:{consultation.id}").texts[-1] == T[lang]["call_over"]
    walk_in.say(STATUS[lang])
    said = _sent_to(demo, PHONE)
    assert said[-2:] == [
        "Your consultation for token {number} is over: Dr. {doctor}'s advice was sent to you.",
        "How was your consultation? Give 1 to 5 stars.",
    ], said
    assert step_of(demo, PHONE) == "rating"


def _sent_to(demo: Services, address: str) -> list[str]:
    """Return the message ids queued to an address, oldest first (no provider: they stay in the outbox)."""
    with demo.db.read() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.address == address).order_by(OutboxMessage.id))
        return [row.payload["text"]["id"] for row in rows]


def test_a_call_handed_back_then_made_again_holds_the_new_doctor_and_room(demo: Services) -> None:
    """The doctor who called is turned off (the token back in the queue, the chat still at "called"); the next doctor's call takes it over."""
    patient = registered(demo, "called-again", "en", NAMES["en"][3])
    first = enrolled_doctor(demo, "doc-1", "en")
    call = Call(demo, patient, first, ("handed back",))
    with demo.db.write() as session:
        person_id = session.scalars(select(Identity.person_id).where(Identity.address == first.user)).one()
        assert staff.disable(session, session.get(Person, person_id), dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
    assert step_of(demo, patient.user) == "called"
    second = enrolled_doctor(demo, "doc-2", "en", name="Ravi Kumar")
    second.say(WORDS["en"]["next"])
    again = consultation_of(demo, call.consultation.token_id)
    assert again.id == call.consultation.id and again.room_url != call.consultation.room_url
    with demo.db.read() as session:
        identity_id = session.scalars(select(Identity.id).where(Identity.address == patient.user)).one()
        held = session.scalars(select(Conversation).where(Conversation.identity_id == identity_id)).one()
        assert (held.step, held.data["doctor"], held.data["room"]) == ("called", "Ravi Kumar", again.room_url)
    said = patient.say(STATUS["en"]).all_text
    assert T["en"]["ready"].format(name="Ravi Kumar") in said and again.room_url in said
