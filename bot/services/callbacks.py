"""Callback requests from the voice line (key 3), as the coordinators' dashboard lists and closes them.

The number is shown masked, as the logs show numbers (+91******4567): the dashboard is seen
over shoulders. Calling back is what the list is for, and a caller we do not know has no name to
look up, so each row opens to the full number (a tel: link) when the coordinator asks for it;
the number is erased with the patient.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.platform.logs import mask_digits
from bot.store.models import CallbackRequest, Person

# The dashboard lists the oldest open requests first, this many at most.
SHOWN = 50


@dataclass(frozen=True)
class CallbackRow:
    """One open request as the dashboard shows it."""

    id: int
    phone: str  # masked
    dial: str  # the full number, E.164, shown when the coordinator opens the row to call
    name: str  # the registered patient's name, or "" for a number we do not know
    language: str
    requested_at: dt.datetime  # aware UTC


def masked(phone: str) -> str:
    """Return a number with its country code and last 4 digits showing (+91******4567)."""
    digits = phone.removeprefix("+")
    return "+" + mask_digits(digits, keep_front=2) if phone.startswith("+91") else "+" + mask_digits(digits)


def open_callbacks(session: Session, limit: int = SHOWN) -> tuple[CallbackRow, ...]:
    """Return the open requests, oldest first."""
    rows = session.execute(
        select(CallbackRequest, Person.name)
        .outerjoin(Person, Person.id == CallbackRequest.person_id)
        .where(CallbackRequest.done_at.is_(None))
        .order_by(CallbackRequest.requested_at, CallbackRequest.id)
        .limit(limit)
    ).all()
    return tuple(CallbackRow(r.id, masked(r.phone), r.phone, name or "", r.language, r.requested_at) for r, name in rows)


def mark_done(session: Session, request_id: int, now: dt.datetime) -> bool:
    """Close an open request (the number may ask again); False when it was not open."""
    result = session.execute(
        update(CallbackRequest)
        .where(CallbackRequest.id == request_id, CallbackRequest.done_at.is_(None))
        .values(done_at=now, open_phone=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
