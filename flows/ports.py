"""The ports: what flows ask of the world and what they are told, and the data they pass.

flows/ never imports bot/, Flask, SQLAlchemy or a provider: bot/ implements these Protocols
(bot/services/*) and hands them to a turn in `Ports`. The rules behind them (gap-free token
numbers, who is called next, the shared log) live in bot/services/; flows only ask and tell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from flows.messages import ByLanguage, Text

# --- patients ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """A registered patient's details, as collected by onboarding."""

    name: str
    age: int
    sex: str
    state_code: str
    district: str
    phone: str | None
    consent_at: dt.datetime


class Patients(Protocol):
    """Where registered patients' details are kept (bot/ implements it)."""

    def profile(self) -> Profile | None:
        """Return this identity's registered profile, if any."""

    def save_profile(self, profile: Profile) -> None:
        """Create or update this identity's patient record."""

    def erase(self) -> tuple[Cancelled, ...]:
        """Erase this person's personal data; keep only the anonymised consultation log.

        Returns the live tokens' cancellations: the doctors and patients the flow tells.
        """


class Labels(Protocol):
    """Renders a label in every language, so a typed answer can match a choice in either."""

    def variants(self, label: Text | ByLanguage | dt.date) -> Iterable[str]:
        """Return the label's text in every supported language."""


# --- OPDs, tokens and booking -------------------------------------------------------------


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
class BookingResult:
    """A token, or the session offered instead."""

    outcome: BookingOutcome
    token: TokenInfo | None = None
    offer: Session | None = None
    # A walk-in's own SMS chat, to be told of the token (Walkins.book), and the patient it is.
    patient_chat: Party | None = None


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


# --- doctors and consultations --------------------------------------------------------------


class DoctorState(StrEnum):
    """A doctor's availability, as the doctor sets it."""

    OFFLINE = "offline"
    FREE = "free"
    BUSY = "busy"
    PAUSED = "paused"


class VisitOutcome(StrEnum):
    """How a doctor ends a consultation."""

    DONE = "done"
    REFERRED = "referred"
    NO_SHOW = "no_show"


@dataclass(frozen=True)
class Party:
    """Someone a turn's notices go to: their chat, and for a token message the patient it concerns."""

    identity_id: int
    # The patient the message is about (a walk-in's number may be someone else's).
    about: int | None = None


@dataclass(frozen=True)
class PlaceThree:
    """The patient who has just reached place 3 of a queue, to be told to get ready (once)."""

    patient: Party
    opd: ByLanguage
    number: int


@dataclass(frozen=True)
class QueueMoved:
    """What became of a queue when a token left it (called, cancelled, erased)."""

    reached: PlaceThree | None = None
    # (OPD id, ISO day): the token at place 3 was locked by another doctor's call; look again
    # once that call has committed.
    look_again: tuple[int, str] | None = None


@dataclass(frozen=True)
class NewCall:
    """What a call just made changes for others: the facts the flow builds its notices from."""

    window_seconds: float  # the patient's window to answer before the one reminder
    # The chat of the health worker who booked this walk-in, while it is theirs and they are on.
    health_worker: int | None = None
    queue: QueueMoved = QueueMoved()


@dataclass(frozen=True)
class CallEnded:
    """A call closed without the doctor's word (the patient declined or cancelled, or never came): the doctor to free."""

    consultation_id: int
    token_number: int
    doctor: Party | None


@dataclass(frozen=True)
class Joined:
    """The patient's "I am joining": the doctor to tell, the first time."""

    consultation_id: int
    token_number: int
    doctor: Party | None
    # False for a second "I am joining": the doctor knows already.
    first: bool = True


@dataclass(frozen=True)
class Cancelled:
    """A token cancelled: the call it ends, if a doctor had called it, and the queue behind it."""

    call: CallEnded | None = None
    queue: QueueMoved = QueueMoved()


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
    # Who the consultation's messages go to, the doctor's name and the advice written so far.
    patient: Party | None = None
    doctor: str = ""
    advice: str = ""
    health_worker: int | None = None  # the chat of the health worker who booked this walk-in
    # Set by Desk.call_next on the call it has just made (None when it hands back the open one).
    call: NewCall | None = None


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
        """Call the next waiting patient (red flags first, then token order); None if nobody waits.

        The flow tells the patient and the others (its `call` facts); the desk only records the call.
        """

    def write(self, text: str, private: bool) -> None:
        """Add to the consultation in hand: advice for the patient, or a private note."""

    def finish(self, outcome: VisitOutcome) -> ConsultationView | None:
        """End the consultation in hand (as it was before the end); None if there was none."""


class Visits(Protocol):
    """A patient's side of consultations: joining, rating, a follow-up (bot/ implements it)."""

    def join(self, consultation_id: int) -> Joined | None:
        """Record that the patient is joining the call; None if the call is over."""

    def decline(self, consultation_id: int) -> CallEnded | None:
        """Record that the patient cannot come: the call ends as a no-show; the doctor to tell, None if no call."""

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


# --- walk-ins booked by a health worker ---------------------------------------------------------


@dataclass(frozen=True)
class WalkIn:
    """A walk-in patient as the health worker registers them."""

    phone: str
    name: str
    age: int
    sex: str


class Walkins(Protocol):
    """Booking for walk-in patients (bot/ implements it)."""

    def clinic(self) -> tuple[str, str]:
        """Return the health worker's name and clinic."""

    def book(self, patient: WalkIn, opd_id: int, intake: Intake, priority: bool) -> BookingResult:
        """Register the patient as a person of their own (a typed number proves nothing) and book the OPD's next session."""


# --- all of them, for one turn ---------------------------------------------------------------


@dataclass
class Ports:
    """Everything a step may ask of the world."""

    patients: Patients
    labels: Labels
    default_language: str = "en"
    bookings: Bookings = field(default_factory=NoBookings)
    # patient, doctor or health_worker: set by enrolment codes only.
    role: str = "patient"
    desk: Desk | None = None
    visits: Visits | None = None
    accounts: Accounts | None = None
    walkins: Walkins | None = None
