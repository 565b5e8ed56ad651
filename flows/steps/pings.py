"""Doctors' pings: "2 waiting, 1 with danger signs: send NEXT", and a danger sign nobody has seen to.

A booking's facts (BookingResult.pings: which doctors, how many wait, how many with danger
signs; bot/services/pings.py decides who and keeps the one-a-minute rule) become messages
here. A danger-sign token that joined a queue doctors are calling from also starts the
escalation timer: if it still waits when the timer fires, every on-duty doctor who can see it
is told (`escalation_notices`) and the operators' dashboard shows it under "Now".
"""

from __future__ import annotations

import datetime as dt

from flows.messages import ByLanguage, Reply, Text, t, tn
from flows.notices import Notice, Notify, ScheduleTimer
from flows.ports import BookingOutcome, BookingResult, Party, Ping
from flows.steps.danger_words import danger_signs

ESCALATION_TIMER = "danger_escalation"


def ping_text(opd: ByLanguage, waiting: int, danger: int) -> Text:
    """Return a ping: how many wait in the OPD, how many with danger signs, and what to send."""
    if danger:
        return tn(
            "{count} patient waiting in {opd}, {danger} with danger signs: send NEXT.",
            "{count} patients waiting in {opd}, {danger} with danger signs: send NEXT.",
            waiting, opd=opd, danger=danger,
        )
    return tn(
        "{count} patient waiting in {opd}: send NEXT.",
        "{count} patients waiting in {opd}: send NEXT.",
        waiting, opd=opd,
    )


def ping_notices(result: BookingResult, now: dt.datetime, escalation_minutes: int) -> list[Notice]:
    """Return the pings a booking sends, and for a danger sign in a live queue the escalation timer."""
    if result.outcome is not BookingOutcome.BOOKED or result.token is None or not result.joined_queue:
        return []
    notices: list[Notice] = pinged(result.pings)
    if result.token.priority:
        # Red-flag tokens are booked with priority (DESIGN.md "Safety"): if no doctor has called
        # this one in N minutes, everyone who can see it is told (bot/services/pings.py).
        notices.append(
            ScheduleTimer(
                ESCALATION_TIMER, now + dt.timedelta(minutes=escalation_minutes),
                {"token": result.token.id}, key=f"token:{result.token.id}",
            )
        )
    return notices


def pinged(pings: tuple[Ping, ...]) -> list[Notice]:
    """Return a ping to each doctor named."""
    return [Notify(ping.doctor.identity_id, Reply(ping_text(ping.opd_name, ping.waiting, ping.danger))) for ping in pings]


def escalation_text(number: int, opd: ByLanguage, red_flags: tuple[str, ...], minutes: int) -> Text:
    """Return the alert for a danger-sign token no doctor has called."""
    return t(
        "Urgent: token {number} in {opd} has danger signs ({signs}) and has waited {minutes} min with no doctor calling. "
        "Send NEXT if it is in your OPD; otherwise please tell the coordinator you can see this patient.",
        number=number, opd=opd, signs=danger_signs(red_flags), minutes=minutes,
    )


def escalation_notices(doctors: list[Party], number: int, opd: ByLanguage, red_flags: tuple[str, ...], minutes: int) -> list[Notice]:
    """Return the alert to every on-duty doctor who can see the token."""
    text = escalation_text(number, opd, red_flags, minutes)
    return [Notify(doctor.identity_id, Reply(text)) for doctor in doctors]

