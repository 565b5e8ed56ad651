"""OPD sessions and queues in India's days: when an OPD holds a session, which days a doctor calls, a token's place.

Shared by booking (bot/services/booking.py), the doctor's desk and the call timers
(bot/services/desk.py, calls.py) and the dashboard; it imports none of them.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session as DbSession

from bot.platform.clock import IST
from bot.store.models import Opd, Token, TokenStatus
from flows.ports import Session

# How far ahead a session is looked for before saying there is none.
LOOKAHEAD_DAYS = 14


def round_the_clock(opd: Opd) -> bool:
    """Return True for an OPD that never closes (opening and closing times are equal)."""
    return opd.opens_at == opd.closes_at


def works_on(opd: Opd, day: dt.date) -> bool:
    """Return True if the OPD holds a session on that day."""
    return str(day.isoweekday()) in opd.working_days


def session_on(opd: Opd, day: dt.date, now: dt.datetime) -> Session | None:
    """Return the OPD's session on a day if it is still to come or going on at `now`."""
    if not works_on(opd, day):
        return None
    if round_the_clock(opd):
        start = dt.datetime.combine(day, dt.time(0), IST)
        end = start + dt.timedelta(days=1)
    else:
        start = dt.datetime.combine(day, opd.opens_at, IST)
        end = dt.datetime.combine(day, opd.closes_at, IST)
    if now >= end:
        return None
    return Session(day=day, starts_at=max(start, now).astimezone(dt.UTC))


def upcoming_sessions(opd: Opd, now: dt.datetime):  # type: ignore[no-untyped-def]
    """Yield the OPD's sessions from now on, for LOOKAHEAD_DAYS days."""
    today = now.astimezone(IST).date()
    for offset in range(LOOKAHEAD_DAYS):
        found = session_on(opd, today + dt.timedelta(days=offset), now)
        if found is not None:
            yield found


def calling_days(opd: Opd, now: dt.datetime) -> tuple[dt.date, ...]:
    """Return the IST days whose waiting tokens a doctor may call now, oldest first.

    A token belongs to the IST day it was booked for. A day OPD's session ended hours
    before midnight, so after it only today's tokens are called: yesterday's token 1 is
    never called as today's. A round-the-clock OPD's queue runs through midnight, so its
    patients still waiting from yesterday are called first, with their own date and number,
    instead of being dropped when the date changes.
    """
    today = now.astimezone(IST).date()
    return (today - dt.timedelta(days=1), today) if round_the_clock(opd) else (today,)


def is_open(opd: Opd, now: dt.datetime) -> bool:
    """Return True if the OPD is holding a session right now."""
    current = session_on(opd, now.astimezone(IST).date(), now)
    return current is not None and current.starts_at <= now


def queue_position(session: DbSession, token: Token) -> int:
    """Return the token's place among those still waiting: priority first, then by number."""
    ahead = session.scalar(
        ahead_statement(bool(token.priority)), {"b_opd_id": token.opd_id, "b_day": token.day, "b_number": token.number},
    )
    return (ahead or 0) + 1


@functools.cache
def ahead_statement(priority: bool) -> Select[tuple[int]]:
    """How many waiting tokens of an OPD's day (b_opd_id, b_day) are ahead of a token (b_number) with this
    priority, as `ahead`; built once for each (every booking and every "where am I" asks)."""
    earlier = and_(Token.priority.is_(priority), Token.number < bindparam("b_number"))
    ahead_condition = earlier if priority else or_(Token.priority.is_(True), earlier)
    return (
        select(func.count().label("ahead"))
        .select_from(Token)
        .where(Token.opd_id == bindparam("b_opd_id"), Token.day == bindparam("b_day"), Token.status == TokenStatus.WAITING, ahead_condition)
    )
