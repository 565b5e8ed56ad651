"""A call that is over, as the patient is told it: the truth, never the call again.

The patient's chat is moved on when a call ends (flows/steps/visit.py ended_notices,
no_show_notices), but a move may be skipped (the chat was busy with a message of its own:
bot/outbox/enqueue.py), and a button from the call may be pressed late: the log, asked through
the Visits port, says whether the call goes on, and these tell what became of it.
"""

from __future__ import annotations

from flows.engine import Turn
from flows.messages import Reply, sms, t
from flows.ports import CallEnd, CallState


def call_cut_short() -> Reply:
    """Return the notice that the doctor who called can see no more patients: the patient keeps their place."""
    return Reply(
        t("The doctor who called you can no longer see patients. You keep your place in the queue, and the next free doctor will call you."),
        kind="push",
        sms=sms("The doctor who called you cannot go on. You keep your place; the next doctor will call you."),
    )


def call_over(state: CallState) -> Reply:
    """Return what became of a call the patient's chat still held as open: the truth, never the call again."""
    if state.ended is CallEnd.HANDED_BACK:
        return call_cut_short()
    if state.ended is CallEnd.ADVISED:
        return Reply(
            t("Your consultation for token {number} is over: Dr. {doctor}'s advice was sent to you.", number=state.token_number, doctor=state.doctor),
            sms=sms("Token {number}: your consultation is over; the doctor's advice was sent to you.", number=state.token_number),
        )
    if state.ended is CallEnd.CANCELLED:
        return Reply(
            t("Token {number} was cancelled, so that call is closed.", number=state.token_number),
            sms=sms("Token {number} was cancelled; that call is closed.", number=state.token_number),
        )
    return Reply(
        t("The call for token {number} is closed: the doctor has moved on to the next patient.", number=state.token_number),
        sms=sms("Token {number}: the call is closed; the doctor has moved on.", number=state.token_number),
    )


# What the "called" step keeps of its call (called_notices).
CALL_KEYS = ("consultation", "doctor", "room", "walk_in")


def call_over_state(turn: Turn) -> CallState | None:
    """Return the state of the call the conversation holds when that call is over: the log says, not the chat's data."""
    visits, consultation = turn.ports.visits, turn.data.get("consultation")
    if visits is None or not isinstance(consultation, int):
        return None
    state = visits.call(consultation)
    return state if state is not None and state.ended is not None else None


def leave_call(turn: Turn, state: CallState) -> str:
    """Forget a call that is over; return the step after it (the rating after the advice, else the menu)."""
    consultation = turn.data.get("consultation")
    for key in CALL_KEYS:
        turn.data.pop(key, None)
    if state.ended is CallEnd.ADVISED and not state.rated:
        turn.data["consultation"] = consultation
        return "rating"
    return "menu"


def tell_call_over(turn: Turn) -> bool:
    """Say what became of the call the patient is at (or rating) when it is over; return True if it is.

    At the "called" step the next step is put in place, not asked: STATUS asks it.
    """
    state = call_over_state(turn) if turn.state.step in ("called", "rating", "followup_offer") else None
    if state is None:
        return False
    turn.replies.append(call_over(state))
    if turn.state.step == "called":
        turn.state.step = leave_call(turn, state)
    return True
