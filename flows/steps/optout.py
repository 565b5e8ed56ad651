"""Stopping messages: at once on the carriers' keywords, after asking on softer words.

"STOP", "UNSUBSCRIBE" or "संदेश बंद करो" stop at once, as the carrier does. "ruko" (wait),
"रुकें" or a bare "बंद" may only mean "wait a moment", typed in a hurry after the emergency
reply: they ask first, and anything that is not an answer to that goes to the question they
interrupted. Nobody holding a token is opted out without being told what they will miss:
the message that the doctor is ready.
"""

from __future__ import annotations

from flows.engine import Answer, Step, Turn, resolve_choice
from flows.messages import Choice, Reply, Text, sms, t, tn
from flows.steps.questions import NO_WORDS, YES_WORDS
from flows.steps.tokens import token_label
from flows.understanding.text import fold

CONFIRM = "stop_confirm"
# The question "stop messages?" interrupted, asked again if the answer is no.
RESUME = "stop_resume"


def stop_messages(turn: Turn) -> None:
    """Opts out at once, saying what the patient's live tokens will miss."""
    if turn.state.step == CONFIRM:
        resume(turn)  # START then comes back to the question that was being asked
    turn.state.opted_out = True
    tokens = _tokens(turn)
    if not tokens:
        turn.say(t("You will not get any more messages from us. Send START at any time to come back."))
        return
    turn.say(
        tn(
            "You will not get any more messages from us, so we cannot tell you when the doctor is ready for your token "
            "({tokens}). It stays booked. Send START at any time to come back.",
            "You will not get any more messages from us, so we cannot tell you when the doctor is ready for your tokens "
            "({tokens}). They stay booked. Send START at any time to come back.",
            len(tokens),
            tokens=tokens,
        ),
        # No token list: a patient's tokens can fill an SMS on their own.
        sms=sms("Messages stopped. Your token stays booked, but we cannot tell you when the doctor is ready. Send START to come back."),
    )


def ask_to_stop(turn: Turn) -> None:
    """Asks before stopping, remembering the question to come back to."""
    if turn.state.step != CONFIRM:
        turn.data[RESUME] = turn.state.step
    turn.goto(CONFIRM)


def answers_confirm(turn: Turn, text: str) -> bool:
    """Tell whether a message answers "stop messages?" rather than the question before it."""
    return resolve_choice(turn.inbound, fold(text), turn.step(CONFIRM).ask(turn).choices, turn.ports.labels) is not None


def resume(turn: Turn) -> str:
    """Return to the question "stop messages?" interrupted, without asking it; return its name."""
    registered = turn.ports.patients.profile() is not None
    step = turn.data.pop(RESUME, None) or ("menu" if registered else "language")
    turn.state.step = step
    return step


def _tokens(turn: Turn) -> tuple[Text, ...]:
    """Return the labels of the live tokens of a registered patient (only they can hold one)."""
    if turn.ports.role != "patient" or turn.ports.patients.profile() is None:
        return ()
    return tuple(token_label(token) for token in turn.ports.bookings.live_tokens())


class StopConfirmStep(Step):
    """Asks whether a softer word meant "stop all messages"; carrying on comes first."""

    name = CONFIRM

    def ask(self, turn: Turn) -> Reply:
        tokens = _tokens(turn)
        short = sms("Stop all messages from us? If you only meant wait, send 1.\n1 No, keep them 2 Yes, stop")
        if tokens:
            short = sms("Stop all messages? Then we cannot tell you when the doctor is ready for your token.\n1 No, keep them 2 Yes, stop")
            question = tn(
                "Do you want to stop all messages from us? You have a token booked ({tokens}): if messages stop, "
                "we cannot tell you when the doctor is ready. If you only meant “wait”, choose “No”.",
                "Do you want to stop all messages from us? You have tokens booked ({tokens}): if messages stop, "
                "we cannot tell you when the doctor is ready. If you only meant “wait”, choose “No”.",
                len(tokens),
                tokens=tokens,
            )
        else:
            question = t("Do you want to stop all messages from us? If you only meant “wait”, choose “No”.")
        return Reply(
            question,
            (
                Choice("keep", t("No, keep the messages"), NO_WORDS + ("wait", "keep", "carry on", "go on")),
                Choice("stop", t("Yes, stop all messages"), YES_WORDS),
            ),
            sms=short,
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stops, or carries on with the question that was interrupted."""
        if answer.choice == "stop":
            stop_messages(turn)
            return
        if answer.choice == "keep":
            turn.say(t("All right, you will keep getting our messages."))
        turn.goto(resume(turn))


STEPS: tuple[Step, ...] = (StopConfirmStep(),)
