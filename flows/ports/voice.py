"""The voice line's port: what a telephone caller's keys ask of the world beyond their tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class BookedBy:
    """The health worker who booked a caller's live token as a walk-in, to be told of a call-back request."""

    health_worker: int  # their chat
    patient_name: str
    token_number: int
    phone: str  # the number that called, to call back


class VoiceLine(Protocol):
    """One caller on the voice line, known by the number they call from (bot/ implements it)."""

    def registered(self) -> bool:
        """Tell whether the number is a registered patient's (their tokens can be told)."""

    def request_callback(self) -> bool:
        """Ask for a health worker's call back; False when this number has one open already."""

    def booked_by(self) -> BookedBy | None:
        """Return the health worker who booked the caller's next live token as a walk-in, while they are on."""

    def call_me(self) -> bool:
        """Tell whether "the doctor is ready" reaches this number as a phone call."""

    def set_call_me(self, on: bool) -> None:
        """Have "the doctor is ready" phone this number (on) or not (off)."""
