"""How a token is told: its date and time, the wait, and the whole token message.

Booking tells a new token, the token menu an existing one, the health worker a walk-in's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flows.engine import Turn
from flows.messages import Lines, ParamValue, Text, TimeOfDay, sms, t, tn
from flows.ports import TokenInfo


def token_when(token: TokenInfo, now: dt.datetime) -> Text:
    """Return the token's date, with the time the session starts when that is still to come."""
    if token.today and token.starts_at <= now:
        return t("today, {date}", date=token.day)
    return t("{date}, from {time}", date=token.day, time=TimeOfDay(token.starts_at))


def token_wait(token: TokenInfo) -> Text:
    """Return the estimated wait, saying when it is a standard estimate."""
    if token.position <= 1:
        return t("no wait, you are next")
    if token.wait_is_estimate_default:
        return tn(
            "about {count} minute (we count {per} minutes per patient until this OPD has enough consultations of its own)",
            "about {count} minutes (we count {per} minutes per patient until this OPD has enough consultations of its own)",
            token.wait_minutes,
            per=token.minutes_per_patient,
        )
    return tn("about {count} minute", "about {count} minutes", token.wait_minutes)


def whose(token: TokenInfo, value: ParamValue) -> ParamValue:
    """Return a value of the token's message, and under it, for a follow-up, whose follow-up it is."""
    if not token.follow_up_doctor:
        return value
    return Lines((value, t("Follow-up with Dr. {doctor}", doctor=token.follow_up_doctor)))


def say_token(turn: Turn, token: TokenInfo, new: bool) -> None:
    """Tells the patient their token plainly: OPD, number, date, place in the queue, wait."""
    if token.priority:
        turn.say(t("Because of the danger signs you told us about, you will be seen first."))
    params: dict[str, Any] = dict(
        opd=whose(token, token.opd_name),
        number=token.number,
        name=token.patient_name,
        when=token_when(token, turn.now),
        position=token.position,
        wait=token_wait(token),
    )
    short = (
        # First in the queue: "wait ~0 min" would read as a promise of no wait at all.
        sms("Token {number}, {opd}, {date}. You are next. STATUS for updates.", number=token.number, opd=token.opd_name, date=token.day)
        if token.position <= 1
        else sms(
            "Token {number}, {opd}, {date}. Place {position}, wait ~{minutes} min. STATUS for updates.",
            number=token.number, opd=token.opd_name, date=token.day, position=token.position, minutes=token.wait_minutes,
        )
    )
    if new:
        text = t(
            "Your token is booked.\nOPD: {opd}\nToken number: {number}\nPatient: {name}\nDate: {when}\n"
            "Place in the queue: {position}\nEstimated wait: {wait}\n"
            "We will message you when the doctor is ready for you. Send STATUS to see your place in the queue, or CANCEL to cancel.",
            **params,
        )
    else:
        text = t(
            "OPD: {opd}\nToken number: {number}\nPatient: {name}\nDate: {when}\nPlace in the queue: {position}\nEstimated wait: {wait}",
            **params,
        )
    turn.say(text, sms=short)
