"""A person instead of the bot: a patient asks for one, a coordinator takes the chat over and hands it back.

What the patient is told at each point is here, as catalog text; the inbox itself (who holds
the chat, the coordinators' page) is bot/services/inbox.py and webhooks/operators/inbox.py.
While a coordinator holds a chat the flows answer nothing but danger signs, which still get
108/112 first (flows/conversation.py handle).
"""

from __future__ import annotations

import datetime as dt

from flows.engine import Turn
from flows.messages import Reply, TimeOfDay, sms, t
from flows.notices import OpenInbox
from flows.steps.menu import menu_question

# Why a chat is in the inbox (bot/services/inbox.py REASONS has them all).
ASKED = "asked"
STUCK = "stuck"
# India keeps one offset all year (no daylight saving): office hours are read in it.
INDIA = dt.timezone(dt.timedelta(hours=5, minutes=30))
# How many answers in a row that fit none of a question's choices make a patient "stuck".
STUCK_AFTER = 3


def in_office_hours(now: dt.datetime, hours: tuple[int, int]) -> bool:
    """Return True when India's clock is within the coordinators' hours (from, to: whole hours)."""
    opens, closes = hours
    return opens <= now.astimezone(INDIA).hour < closes


def _at_hour(now: dt.datetime, hour: int) -> TimeOfDay:
    midnight = now.astimezone(INDIA).replace(hour=0, minute=0, second=0, microsecond=0)
    return TimeOfDay(midnight + dt.timedelta(hours=hour))  # 24: the midnight the day ends with


def ask_for_person(turn: Turn) -> None:
    """Puts the chat in the coordinators' inbox and tells the patient when a person will answer."""
    turn.notices.append(OpenInbox(ASKED))
    hours = turn.ports.inbox_hours
    if in_office_hours(turn.now, hours):
        turn.say(
            t("I have asked a person from our team to reply to you here. They will answer soon. In an emergency, call 108 or 112 now."),
            sms=sms("A person from our team will reply here soon. Emergency: call 108 or 112."),
        )
    else:
        opens, closes = _at_hour(turn.now, hours[0]), _at_hour(turn.now, hours[1])
        turn.say(
            t(
                "I have asked a person from our team to reply to you here. Our team works from {opens} to {closes}, "
                "so they will answer after {opens}. In an emergency, call 108 or 112 now.",
                opens=opens, closes=closes,
            ),
            sms=sms("Our team will reply here after {time}. Emergency: call 108 or 112.", time=opens),
        )


def count_unrecognised(turn: Turn) -> None:
    """Counts answers in a row that fit no choice at one question; the third puts the chat in the inbox (once)."""
    turn.state.misses += 1
    if turn.state.misses == STUCK_AFTER:
        turn.notices.append(OpenInbox(STUCK))


def taken_over() -> Reply:
    """What a patient is told when a coordinator takes their chat over from the bot."""
    return Reply(
        t("A person from our team is now answering you in this chat. The assistant will not reply until they are done."),
        sms=sms("A person from our team is now answering you here."),
    )


def coordinator_says(text: str) -> Reply:
    """A coordinator's own words to a patient, sent like any other message.

    No short SMS form: the words are the coordinator's, as long as they wrote them (bot/services/inbox.py MAX_REPLY).
    """
    return Reply(t("teleopd team: {text}", text=text))


def handed_back(registered: bool) -> tuple[Reply, ...]:
    """What a patient is told when the coordinator hands the chat back: the bot is back, and its menu (once registered)."""
    back = Reply(
        t("Thank you for talking with our team. The teleopd assistant is answering you again."),
        sms=sms("Our team has finished. The teleopd assistant is answering you again."),
    )
    return (back, menu_question()) if registered else (back,)
