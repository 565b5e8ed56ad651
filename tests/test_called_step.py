"""The "called" step tells the truth about its call (issue 16 item 3), on the pure flows, in every language.

A patient's chat is moved on when the call ends (DONE/REFER to the rating, NO SHOW to the menu),
but a move can be skipped (their chat was busy: bot/outbox/enqueue.py SKIP LOCKED), so the
step asks the Visits port where the call stands. A chat still at "called" of a call that is
over is told what became of it (advice sent, call closed, cancelled, the doctor cannot go on)
and taken on, never sent the call again; STATUS says the same. A call still open is unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.platform.i18n import Catalogs
from flows.engine import LANGUAGES, State
from flows.messages import Reply
from flows.notices import MoveConversation
from flows.ports import CallEnd, CallEnded, CallState, Intake, Joined, Party
from flows.steps import tokens, visit
from tests.helpers import (
    IN_MEMORY_NOW,
    FakeBookings,
    FakePatients,
    FlowChat,
    consultation_view,
    registered_profile,
)

DOCTOR = "Anita Sharma"
ROOM = "https://meet.example/teleopd-room"
CALL = {"consultation": 7, "doctor": DOCTOR, "room": ROOM}
STATUS = {"en": "status", "hi": "स्थिति", "hi-Latn": "status"}
HELP = {"en": "help", "hi": "मदद", "hi-Latn": "madad"}


@dataclasses.dataclass
class CallLog:
    """The Visits port in memory: consultation 7 (token 12) ended as `ended`, or still open (None)."""

    ended: CallEnd | None = None
    rated: bool = False
    joins: list[int] = dataclasses.field(default_factory=list)
    ratings: list[int] = dataclasses.field(default_factory=list)

    def join(self, consultation_id: int) -> Joined | None:
        self.joins.append(consultation_id)
        return Joined(7, 12, Party(5)) if self.ended is None else None

    def decline(self, consultation_id: int) -> CallEnded | None:
        return CallEnded(7, 12, Party(5)) if self.ended is None else None

    def call(self, consultation_id: int) -> CallState | None:
        return CallState(12, DOCTOR, self.ended, self.rated) if consultation_id == 7 else None

    def rate(self, consultation_id: int, stars: int) -> bool:
        self.ratings.append(stars)
        return True

    def follow_up(self, consultation_id: int) -> dt.date | None:
        return None


def called_chat(catalogs: Catalogs, lang: str, log: CallLog, data: dict | None = None) -> FlowChat:
    """Return a registered patient's chat left at the "called" step of consultation 7."""
    state = State(step="called", data=dict(data or CALL), language=lang)
    return FlowChat(catalogs, lang, state, patients=FakePatients(registered_profile()), bookings=FakeBookings(), visits=log)


def the_call(replies: list[Reply]) -> bool:
    """Return True when the call itself ("Dr. … is ready for you now") is among the replies."""
    return any(r.choices and r.choices[0].key == "join:7" for r in replies)


# Where a patient goes after each way a call ends, and whether their chat keeps the consultation (for the rating).
AFTER = {
    (CallEnd.ADVISED, False): "rating",
    (CallEnd.ADVISED, True): "menu",
    (CallEnd.MISSED, False): "menu",
    (CallEnd.CANCELLED, False): "menu",
    (CallEnd.HANDED_BACK, False): "menu",
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("ended", "rated"), list(AFTER))
def test_a_typed_answer_at_a_call_that_is_over_is_told_the_truth_and_moves_on(catalogs: Catalogs, lang: str, ended: CallEnd, rated: bool) -> None:
    log = CallLog(ended, rated)
    chat = called_chat(catalogs, lang, log)
    chat.send("1")  # "I am joining", typed after the call was over
    over = visit.call_over(CallState(12, DOCTOR, ended, rated))
    assert chat.replies[0] == over and not the_call(chat.replies)
    assert chat.state.step == AFTER[(ended, rated)]
    assert chat.state.data == ({"consultation": 7} if chat.state.step == "rating" else {})
    # "1" meant joining, not one star: nothing is recorded, the rating is asked for.
    assert log.joins == [] and log.ratings == []
    if chat.state.step == "rating":
        assert chat.last_choices == [f"rate:7:{n}" for n in range(1, 6)]
        chat.send("4")
        assert log.ratings == [4] and chat.state.step == "followup_offer"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("ended", list(CallEnd))
def test_status_at_a_call_that_is_over_says_what_became_of_it(catalogs: Catalogs, lang: str, ended: CallEnd) -> None:
    chat = called_chat(catalogs, lang, CallLog(ended))
    chat.send(STATUS[lang])
    assert not the_call(chat.replies)
    assert chat.replies[0] == visit.call_over(CallState(12, DOCTOR, ended))
    # Not "You have no token booked" as well: the token just closed is the one told.
    assert len(chat.replies) == 2
    assert chat.state.step == ("rating" if ended is CallEnd.ADVISED else "menu")
    if ended is CallEnd.ADVISED:
        assert chat.last_choices == [f"rate:7:{n}" for n in range(1, 6)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_at_the_rating_says_the_consultation_is_over(catalogs: Catalogs, lang: str) -> None:
    chat = called_chat(catalogs, lang, CallLog(CallEnd.ADVISED), data={"consultation": 7})
    chat.state.step = "rating"
    chat.send(STATUS[lang])
    assert chat.replies[0] == visit.call_over(CallState(12, DOCTOR, CallEnd.ADVISED))
    assert chat.state.step == "rating" and chat.last_choices == [f"rate:7:{n}" for n in range(1, 6)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_help_at_a_call_that_is_over_asks_the_truth_and_the_next_answer_moves_on(catalogs: Catalogs, lang: str) -> None:
    chat = called_chat(catalogs, lang, CallLog(CallEnd.MISSED))
    chat.send(HELP[lang])
    assert chat.replies[-1] == visit.call_over(CallState(12, DOCTOR, CallEnd.MISSED)) and not the_call(chat.replies)
    chat.send("kya hua")
    assert chat.state.step == "menu" and not the_call(chat.replies)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_coming_back_to_a_call_that_ended_meanwhile_passes_it_by(catalogs: Catalogs, lang: str) -> None:
    """LANGUAGE at the call, and the doctor's DONE before the patient chose one: back to the rating, not the call."""
    log = CallLog()
    chat = called_chat(catalogs, lang, log)
    chat.send("language" if lang != "hi" else "भाषा")
    assert chat.state.step == "language"
    log.ended = CallEnd.ADVISED
    chat.send(choice=lang)
    assert not the_call(chat.replies) and visit.call_over(CallState(12, DOCTOR, CallEnd.ADVISED)) in chat.replies
    assert chat.state.step == "rating"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("walk_in", [False, True])
def test_a_call_still_open_is_asked_as_before(catalogs: Catalogs, lang: str, walk_in: bool) -> None:
    log = CallLog()
    chat = called_chat(catalogs, lang, log, data={**CALL, **({"walk_in": True} if walk_in else {})})
    chat.send(STATUS[lang])
    assert the_call(chat.replies) and chat.state.step == "called"
    chat.send("1")
    assert log.joins == [7] and chat.state.step == "menu"
    assert "walk_in" not in chat.state.data  # the call's keys leave with it


def test_the_moves_that_end_a_call_take_the_patient_from_that_calls_step_only() -> None:
    view = dataclasses.replace(consultation_view(7), patient=Party(41, about=9))
    at_call = ("called", {"consultation": 7})
    done = visit.ended_notices(view, visit.VisitOutcome.DONE)
    no_show = visit.ended_notices(view, visit.VisitOutcome.NO_SHOW)
    timer = visit.no_show_notices(CallEnded(7, 12, Party(5)), Party(41, about=9))
    assert MoveConversation(41, "rating", {"consultation": 7}, or_at=at_call) in done
    assert MoveConversation(41, "menu", or_at=at_call) in no_show
    assert MoveConversation(41, "menu", or_at=at_call) in timer



@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("ended", [CallEnd.ADVISED, CallEnd.MISSED])
def test_i_am_joining_pressed_after_the_call_ended_says_what_became_of_it(catalogs: Catalogs, lang: str, ended: CallEnd) -> None:
    """The button under the call works at any step: pressed late, it tells the truth and leads on, as a typed answer does."""
    log = CallLog(ended)
    chat = called_chat(catalogs, lang, log, data={})
    chat.state.step = "menu"
    chat.send(choice="join:7")
    assert chat.replies[0] == visit.call_over(CallState(12, DOCTOR, ended)) and not the_call(chat.replies)
    assert chat.state.step == ("rating" if ended is CallEnd.ADVISED else "menu")
    # Another patient's call (or none): just "that call is over".
    chat.send(choice="join:8")
    assert chat.state.step == "menu" and len(chat.replies) == 2 and not the_call(chat.replies)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("status", "says"), [("called", "the doctor is calling you now"), ("in_consultation", "your consultation with the doctor is on now")])
def test_status_of_a_called_token_is_its_call_not_place_0(catalogs: Catalogs, lang: str, status: str, says: str) -> None:
    bookings = FakeBookings()
    bookings.book(bookings.opd_list[0].id, None, Intake(text="fever"), priority=False)
    called = dataclasses.replace(bookings.tokens[0], status=status, position=0)
    replies = tokens.status_replies([called], IN_MEMORY_NOW)
    assert len(replies) == 1 and replies[0].text.msgid.endswith(says + ".")  # type: ignore[union-attr]
    chat = called_chat(catalogs, lang, CallLog())
    chat.ports["bookings"] = AllLive([called])
    chat.send(STATUS[lang])
    assert chat.replies[0] == replies[0] and the_call(chat.replies)  # the call is open: it is asked again, truthfully


class AllLive(FakeBookings):
    """FakeBookings holding these live tokens, whatever their state."""

    def __init__(self, live: list) -> None:
        super().__init__()
        self.live = live

    def live_tokens(self) -> list:
        return list(self.live)
