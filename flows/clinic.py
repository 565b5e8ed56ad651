"""What flows know of doctors and consultations, and the ports through which they act.

The rules (who is called next, atomically; timers; the shared log) live in bot/services/doctors.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from flows.messages import ByLanguage


class DoctorState(StrEnum):
    """A doctor's availability, as the doctor sets it."""

    OFFLINE = "offline"
    FREE = "free"
    BUSY = "busy"
    PAUSED = "paused"


class Outcome(StrEnum):
    """How a doctor ends a consultation."""

    DONE = "done"
    REFERRED = "referred"
    NO_SHOW = "no_show"


@dataclass(frozen=True)
class ConsultationView:
    """A consultation as the doctor sees it: the patient's summary and the room."""

    id: int
    opd: ByLanguage
    token_number: int
    patient_name: str
    age: int
    sex: str
    state: ByLanguage
    symptoms: tuple[ByLanguage, ...]
    own_words: str
    duration: str
    severity: str
    red_flags: tuple[str, ...]
    earlier_consultations: int
    room_url: str
    joined: bool


@dataclass(frozen=True)
class DoctorView:
    """A doctor's own state."""

    name: str
    status: str
    opds: tuple[ByLanguage, ...]
    waiting: int
    consultation: ConsultationView | None


class Desk(Protocol):
    """A doctor's desk: status, the next patient, the consultation in hand (bot/ implements it)."""

    def view(self) -> DoctorView:
        """Return the doctor's state and the consultation in hand."""

    def set_status(self, status: DoctorState) -> None:
        """Set the doctor's availability."""

    def call_next(self) -> ConsultationView | None:
        """Call the next waiting patient (red flags first, then token order); None if nobody waits."""

    def write(self, text: str, private: bool) -> None:
        """Add to the consultation in hand: advice for the patient, or a private note."""

    def finish(self, outcome: Outcome) -> ConsultationView | None:
        """End the consultation in hand and tell the patient; None if there was none."""


class Visits(Protocol):
    """A patient's side of consultations: joining, rating, a follow-up (bot/ implements it)."""

    def join(self, consultation_id: int) -> bool:
        """Record that the patient is joining the call; False if the call is over."""

    def decline(self, consultation_id: int) -> None:
        """Record that the patient cannot come: the call ends as a no-show, the doctor is told."""

    def rate(self, consultation_id: int, stars: int) -> bool:
        """Record the patient's 1-5 rating; False if it is not theirs or already rated."""

    def follow_up(self, consultation_id: int) -> dt.date | None:
        """Book a follow-up with the same doctor's next duty; return its day, None if impossible."""


class Accounts(Protocol):
    """Enrolment of doctors and health workers (bot/ implements it)."""

    def enrol(self, code: str) -> tuple[str, str | None, str | None]:
        """Use a one-time code: return (result, role, name).

        result is "enrolled", "too_many" (codes are not being looked at: too many refused
        lately), or why the code was refused (unknown, used, expired, revoked, disabled): for
        the log only, since every refusal gets the same answer.
        """
