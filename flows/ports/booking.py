"""The booking port: OPDs, sessions, tokens and queues for one user."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from flows.messages import ByLanguage
from flows.ports.clinic import Cancelled, Party

# How long a danger-sign token may wait before the escalation (TELEOPD_DANGER_ESCALATION_MINUTES).
DEFAULT_DANGER_ESCALATION_MINUTES = 10


class Specialty(StrEnum):
    """The kinds of OPD the service runs (eSanjeevani OPD's common specialties)."""

    GENERAL_MEDICINE = "general_medicine"
    PAEDIATRICS = "paediatrics"
    OBGYN = "obgyn"
    DERMATOLOGY = "dermatology"
    ENT = "ent"
    OPHTHALMOLOGY = "ophthalmology"
    ORTHOPAEDICS = "orthopaedics"
    PSYCHIATRY = "psychiatry"
    DENTISTRY = "dentistry"
    AYUSH = "ayush"


@dataclass(frozen=True)
class OpdInfo:
    """An OPD as a patient chooses it."""

    id: int
    code: str
    specialty: str
    name: ByLanguage
    open_now: bool
    # When its next session starts (now, if it is open), aware UTC.
    next_session: dt.datetime


@dataclass(frozen=True)
class Session:
    """One day's session of an OPD that still has tokens."""

    day: dt.date
    starts_at: dt.datetime  # aware UTC: the opening time, or now if it is open already


@dataclass(frozen=True)
class TokenInfo:
    """A token as the patient sees it: no id to type, everything said plainly."""

    id: int
    opd_id: int
    opd_name: ByLanguage
    opd_code: str
    number: int
    day: dt.date
    starts_at: dt.datetime  # when the session starts (aware UTC); in the past for today's open session
    position: int  # 1 = next to be called
    wait_minutes: int
    # True while the OPD has too few consultations of its own to estimate from.
    wait_is_estimate_default: bool
    minutes_per_patient: int
    patient_name: str
    priority: bool
    status: str
    today: bool
    # A follow-up: the doctor it waits for ("" for a token any doctor calls).
    follow_up_doctor: str = ""


@dataclass(frozen=True)
class Dependent:
    """A family member the user books for."""

    person_id: int
    name: str
    age: int
    sex: str


@dataclass(frozen=True)
class Intake:
    """What the patient told us, kept for the doctor."""

    text: str
    symptoms: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    duration_days: int | None = None
    duration_text: str | None = None
    severity: str | None = None
    red_flags: tuple[str, ...] = ()
    for_whom: str = "self"

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        return {
            "text": self.text,
            "symptoms": list(self.symptoms),
            "unknown": list(self.unknown),
            "duration_days": self.duration_days,
            "duration_text": self.duration_text,
            "severity": self.severity,
            "red_flags": list(self.red_flags),
            "for_whom": self.for_whom,
        }


class BookingOutcome(StrEnum):
    """What a booking attempt came to."""

    BOOKED = "booked"
    EXISTING = "existing"  # the patient already holds a live token there that day
    CLOSED = "closed"  # not open now: the next session is offered
    FULL = "full"  # no tokens left that day: the next session is offered
    NO_SESSION = "no_session"  # nothing in the next two weeks


@dataclass(frozen=True)
class Ping:
    """A doctor to tell that patients wait in one of their OPDs (bot/services/pings.py decides who)."""

    doctor: Party
    opd_name: ByLanguage
    waiting: int  # tokens waiting in that OPD's queue now, the new one included
    danger: int  # of them, with danger signs


@dataclass(frozen=True)
class BookingResult:
    """A token, or the session offered instead."""

    outcome: BookingOutcome
    token: TokenInfo | None = None
    offer: Session | None = None
    # A walk-in's own SMS chat, to be told of the token (Walkins.book), and the patient it is.
    patient_chat: Party | None = None
    # True when the new token is in a queue doctors are calling from now (today, the OPD open):
    # then a danger sign starts the escalation clock (flows/steps/pings.py).
    joined_queue: bool = False
    # The free, on-duty, unmuted doctors of the OPD to ping now (each at most once a minute,
    # at once for a danger sign).
    pings: tuple[Ping, ...] = ()


class Bookings(Protocol):
    """OPDs, tokens and queues for one user (bot/ implements it)."""

    def opds(self) -> list[OpdInfo]:
        """Return the active OPDs."""

    def dependents(self) -> list[Dependent]:
        """Return the family members this user has booked for before."""

    def add_dependent(self, name: str, age: int, sex: str) -> int:
        """Register a family member under this user; return their person id."""

    def live_tokens(self) -> list[TokenInfo]:
        """Return this user's (and their family's) live tokens, soonest first."""

    def book(self, opd_id: int, person_id: int | None, intake: Intake, priority: bool, day: dt.date | None = None) -> BookingResult:
        """Book a token for the patient (None = the user), today or on an offered day."""

    def sessions(self, opd_id: int, count: int = 3, after: dt.date | None = None) -> list[Session]:
        """Return the OPD's next sessions that still have tokens."""

    def cancel(self, token_id: int) -> Cancelled | None:
        """Cancel one of this user's live tokens; None if it is not theirs or not live."""

    def move(self, token_id: int, day: dt.date) -> BookingResult:
        """Move a token to another day (a new number that day; the old one is cancelled)."""


@dataclass
class NoBookings:
    """A Bookings port with no OPDs, for flows that run without a database (tests of onboarding)."""

    calls: list[str] = field(default_factory=list)

    def opds(self) -> list[OpdInfo]:
        return []

    def dependents(self) -> list[Dependent]:
        return []

    def add_dependent(self, name: str, age: int, sex: str) -> int:
        raise LookupError("no bookings here")

    def live_tokens(self) -> list[TokenInfo]:
        return []

    def book(self, opd_id: int, person_id: int | None, intake: Intake, priority: bool, day: dt.date | None = None) -> BookingResult:
        return BookingResult(BookingOutcome.NO_SESSION)

    def sessions(self, opd_id: int, count: int = 3, after: dt.date | None = None) -> list[Session]:
        return []

    def cancel(self, token_id: int) -> Cancelled | None:
        return None

    def move(self, token_id: int, day: dt.date) -> BookingResult:
        return BookingResult(BookingOutcome.NO_SESSION)
