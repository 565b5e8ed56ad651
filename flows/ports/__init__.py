"""The ports: what flows ask of the world and what they are told, and the data they pass.

One module a side of the world (patients, booking, clinic, walkins); this package re-exports
every name, so `from flows.ports import TokenInfo` is where flows and bot/ take them from,
and `Ports` is all of them for one turn.

flows/ never imports bot/, Flask, SQLAlchemy or a provider: bot/ implements these Protocols
(bot/services/*) and hands them to a turn in `Ports`. The rules behind them (gap-free token
numbers, who is called next, the shared log) live in bot/services/; flows only ask and tell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.ports.booking import (
    DEFAULT_DANGER_ESCALATION_MINUTES,
    BookingOutcome,
    BookingResult,
    Bookings,
    Dependent,
    Intake,
    NoBookings,
    OpdInfo,
    Ping,
    Session,
    Specialty,
    TokenInfo,
)
from flows.ports.clinic import (
    Accounts,
    CallEnd,
    CallEnded,
    CallState,
    Cancelled,
    ConsultationView,
    Desk,
    DoctorState,
    DoctorView,
    FollowUpOf,
    Joined,
    NewCall,
    Party,
    PastConsultation,
    PlaceThree,
    QueueMoved,
    VisitOutcome,
    Visits,
)
from flows.ports.media import Media, MediaKept
from flows.ports.patients import (
    Advisories,
    AdvisoryConsent,
    Labels,
    Patients,
    Profile,
)
from flows.ports.voice import BookedBy, VoiceLine
from flows.ports.walkins import (
    WalkIn,
    Walkins,
)

__all__ = [
    "DEFAULT_DANGER_ESCALATION_MINUTES",
    "Accounts",
    "Advisories",
    "AdvisoryConsent",
    "BookedBy",
    "BookingOutcome",
    "BookingResult",
    "Bookings",
    "CallEnd",
    "CallEnded",
    "CallState",
    "Cancelled",
    "ConsultationView",
    "Dependent",
    "Desk",
    "DoctorState",
    "DoctorView",
    "FollowUpOf",
    "Intake",
    "Joined",
    "Labels",
    "Media",
    "MediaKept",
    "NewCall",
    "NoBookings",
    "OpdInfo",
    "Party",
    "PastConsultation",
    "Patients",
    "Ping",
    "PlaceThree",
    "Ports",
    "Profile",
    "QueueMoved",
    "Session",
    "Specialty",
    "TokenInfo",
    "VisitOutcome",
    "Visits",
    "VoiceLine",
    "WalkIn",
    "Walkins",
]

# --- all of them, for one turn ---------------------------------------------------------------


@dataclass
class Ports:
    """Everything a step may ask of the world."""

    patients: Patients
    labels: Labels
    default_language: str = "en"
    # The https base URL teleopd is reached at (TELEOPD_PUBLIC_URL), "" when none is set: the
    # consent SMS points to the full notice there (GET /privacy).
    public_url: str = ""
    bookings: Bookings = field(default_factory=NoBookings)
    # patient, doctor or health_worker: set by enrolment codes only.
    role: str = "patient"
    # When the coordinators answer the inbox, India's whole hours from and to (TELEOPD_INBOX_OPENS_HOUR, _CLOSES_HOUR).
    inbox_hours: tuple[int, int] = (9, 17)
    desk: Desk | None = None
    visits: Visits | None = None
    accounts: Accounts | None = None
    walkins: Walkins | None = None
    # How long a danger-sign token may wait uncalled before every on-duty doctor who can see it
    # and the coordinators are alerted (TELEOPD_DANGER_ESCALATION_MINUTES).
    danger_escalation_minutes: int = DEFAULT_DANGER_ESCALATION_MINUTES
    # Keeps the photos, documents and voice notes a message carries for the doctor.
    media: Media | None = None
    # A registered patient's consent to health advisories; None where advisories are off
    # (TELEOPD_ADVISORIES_PER_MONTH=0): the question is never asked (flows/steps/advisories.py).
    advisories: Advisories | None = None
