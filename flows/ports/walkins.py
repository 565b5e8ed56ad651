"""The walk-in port: a health worker books for a patient in front of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flows.ports.booking import BookingResult, Intake
from flows.ports.clinic import Joined


@dataclass(frozen=True)
class WalkIn:
    """A walk-in patient as the health worker registers them."""

    phone: str
    name: str
    age: int
    sex: str
    # The language of their SMS ("en", "hi", "hi-Latn"), asked by the health worker; None: not asked.
    language: str | None = None


class Walkins(Protocol):
    """Booking for walk-in patients (bot/ implements it)."""

    def clinic(self) -> tuple[str, str]:
        """Return the health worker's name and clinic."""

    def book(self, patient: WalkIn, opd_id: int, intake: Intake, priority: bool) -> BookingResult:
        """Register the patient as a person of their own (a typed number proves nothing) and book the OPD's next session."""

    def can_ring(self) -> bool:
        """Tell whether "the doctor is ready" can reach a walk-in as a phone call (the voice line places calls)."""

    def ring(self, phone: str) -> None:
        """Have "the doctor is ready" phone this walk-in's number as well as text it (bot/services/voice.py)."""

    def join_with(self, consultation_id: int) -> Joined | None:
        """Record that the health worker is joining the call with a walk-in they booked; None if it is over or not theirs."""
