"""Notices: what a turn does to OTHER people's conversations, returned in its Outcome.

A step answers the person who wrote (Outcome.replies). When it also concerns someone else —
the patient a doctor calls, the health worker who booked that patient, the patient who has
just reached place 3, the doctor whose patient is joining — the step says so here, and the
runtime (bot/outbox/enqueue.py apply_notices) turns each notice into an outbox row, a
conversation move or a timer, in the turn's own transaction. The worker's timers (a call
nobody answers) return the same notices and go through the same function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from flows.messages import Reply


@dataclass(frozen=True)
class Notify:
    """A message to someone other than the sender.

    identity_id is the chat the message is meant for; by default it goes where that chat's
    person last wrote from. `about` is the patient a token message concerns (a walk-in's
    number may be someone else's: bot/services/identities.py notification_identity).
    `exact` sends it to that very chat (a health worker's desk), nowhere else.
    """

    identity_id: int
    reply: Reply
    about: int | None = None
    exact: bool = False


# Conversation steps where nothing is half-done, so a pushed call can take the patient's
# typed answer ("1", "aa raha hoon") as its own (MoveConversation.only_if_idle).
IDLE_STEPS = (None, "menu")
# What a moved conversation keeps of its data: danger signs already said stay with the patient.
KEPT_ON_MOVE = ("red_flags",)


@dataclass(frozen=True)
class MoveConversation:
    """Put another chat at a step so its typed answers fit (a patient called, a doctor freed)."""

    identity_id: int
    step: str
    data: Mapping[str, Any] = field(default_factory=dict)
    # Only when that chat is idle (at the menu or nowhere): nothing half-done is lost.
    only_if_idle: bool = True
    # Or when that chat is still at this step with these data: the question this move
    # answers (the patient at the "called" step of the very consultation that has ended).
    or_at: tuple[str, Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class ScheduleTimer:
    """Fire a timer later (bot/outbox/timers.py), replacing a pending one of the same kind and key."""

    kind: str
    due_at: dt.datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    identity_id: int | None = None
    key: str | None = None


@dataclass(frozen=True)
class CancelTimer:
    """Cancel the pending timers of a kind with this key."""

    kind: str
    key: str


@dataclass(frozen=True)
class OpenInbox:
    """Put a chat in the coordinators' inbox (bot/services/inbox.py): it needs a person.

    identity_id None is the chat of the turn itself (the dispatcher names it).
    """

    reason: str
    identity_id: int | None = None


Notice = Union[Notify, MoveConversation, ScheduleTimer, CancelTimer, OpenInbox]
