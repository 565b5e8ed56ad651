"""Enrolment: a doctor or health worker links a chat to their account with a one-time code.

The operator's commands print the code as "ENROLL CODE" and alone on a line (`teleopd doctor
add`, `worker-user add`, `demo`). Whatever of that is pasted is taken: with or without the
word (the web chat's enrolment box puts its own word before it, so "enroll ENROLL CODE"
arrives), in any case, with spaces or dashes inside. The code alone counts only where a code
is what the chat is for: the web chat's doctor and health-worker tabs, which never start a
patient's registration (their user ids carry the role: webhooks/chat_requests.py).

Every refused code gets one answer, whether it was mistyped, used, expired or never existed:
the answer must not tell someone guessing which codes exist. bot/services/enrolment.py counts the
refusals and stops answering codes for a while after too many (one chat's, and everyone's).
"""

from __future__ import annotations

import re

from flows.engine import Answer, Step, Turn
from flows.messages import Reply, Text, sms, t
from flows.understanding.text import to_ascii_digits

STAFF_ROLES = ("doctor", "health_worker")
# The role (Ports.role) of a doctor's or health worker's chat while their account is turned off.
DISABLED = "disabled"
# The word before a code, once or twice ("enroll ENROLL CODE"), with what may follow it.
WORD = re.compile(r"^/?(?:enrol{1,2}|नामांकन)(?![A-Za-z])[\s:.,-]*", re.IGNORECASE)
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]*$")
# Codes are 8 characters (bot/services/enrolment.py); a little either way is still a try at one.
CODE_LENGTHS = range(4, 17)


def code_in(text: str, bare: bool = False) -> str | None:
    """Return the code a message gives ("enroll CODE"; the code alone when `bare`), cleaned, or None."""
    rest, worded = text.strip(), False
    while (word := WORD.match(rest)) is not None:
        rest, worded = rest[word.end():], True
    rest = to_ascii_digits(rest.strip())
    if not (worded or bare) or not CODE.match(rest):
        return None
    code = "".join(rest.split()).replace("-", "").upper()
    return code if len(code) in CODE_LENGTHS else None


def refused(result: str) -> Text:
    """Return the answer to a code that did not enrol (the same for every reason but too many tries)."""
    if result == "too_many":
        return t("Too many wrong codes have been tried. Please try again in an hour, or ask your coordinator for help.")
    return t(
        "That code did not work. It may be mistyped, used already or expired. "
        "Please check it and send it again, or ask your coordinator for a new one."
    )


def refused_sms(result: str) -> Text:
    """Return the SMS form of the answer to a code that did not enrol (anyone may type "enroll …")."""
    if result == "too_many":
        return sms("Too many wrong codes were tried. Please try again in an hour.")
    return sms("That code did not work. Check it and send it again, or ask your coordinator for a new one.")


class EnrolCodeStep(Step):
    """A chat opened as a doctor's or health worker's waits for the code (it is nobody's patient)."""

    name = "enrol_code"

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t(
                "This chat is for doctors and health workers. Please send the code your coordinator gave you. "
                "To see a doctor as a patient, open the Patient tab."
            )
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """A code is taken before any step sees it (flows.conversation); anything else is asked again."""
        turn.ask_again()


def account_off(kind: str = "reply") -> Reply:
    """Return what a disabled doctor's or health worker's chat is told: when it is turned off ("push"), and to whatever it sends."""
    return Reply(
        t(
            "Your coordinator has turned off your account, so this chat is no longer your desk: "
            "no patients will come here. Please talk to your coordinator if you need it back."
        ),
        kind=kind,
    )


def chat_unlinked() -> Reply:
    """Return what a staff chat is told as it is unlinked (the person was removed, or given a new code)."""
    return Reply(
        t(
            "This chat is no longer linked to your doctor or health worker account: your coordinator removed it "
            "or gave you a new code. Nothing about patients will come here any more."
        ),
        kind="push",
    )


STEPS: tuple[Step, ...] = (EnrolCodeStep(),)
