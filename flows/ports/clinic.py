"""The clinic's ports: a doctor's desk, the patient's side of a visit, accounts.

They return facts (who was called, whose chat, who is now third), never messages: the flow's
steps turn facts into notices (flows/notices.py).
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
    queue: QueueMoved = QueueMoved()
    # The patient's voice line, when they (or their health worker) asked to be phoned: "the
    # doctor is ready" is also a phone call (flows/steps/voice_call.py).
    ring: Party | None = None


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


class CallEnd(StrEnum):
    """How a call the patient was called to is over, as the patient is told it."""

    ADVISED = "advised"  # DONE or REFER: the doctor's advice was sent
    MISSED = "missed"  # a no-show: the patient did not join, or could not come
    CANCELLED = "cancelled"  # the patient cancelled the token
    HANDED_BACK = "handed_back"  # the doctor could not go on: the token is back in the queue


@dataclass(frozen=True)
class CallState:
    """Where a patient's call stands now, whatever their conversation last heard of it."""

    token_number: int
    doctor: str
    ended: CallEnd | None = None  # None while the call goes on
    rated: bool = False


@dataclass(frozen=True)
class Cancelled:
    """A token cancelled: the call it ends, if a doctor had called it, and the queue behind it."""

    call: CallEnded | None = None
    queue: QueueMoved = QueueMoved()


@dataclass(frozen=True)
class PastConsultation:
    """One of the patient's own earlier consultations, as the doctor's summary lists it.

    It holds the doctors' private notes: only a doctor's summary (flows/steps/doctor.py) may show
    it, never a message to the patient or their health worker.
    """

    day: dt.date  # India's date of the call
    doctor: str
    advice: str
    notes: str
    red_flags: tuple[str, ...] = ()
    referred: bool = False


@dataclass(frozen=True)
class FollowUpOf:
    """The consultation a follow-up token was booked after: whose it was, and when."""

    doctor: str
    day: dt.date  # India's date


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
    # The chat of the health worker who booked this walk-in, while it is theirs and they are on.
    health_worker: int | None = None
    # A walk-in booked at a spoke clinic: the number the doctor calls, and where they are.
    walk_in_phone: str = ""
    clinic: str = ""
    # Set by Desk.call_next on the call it has just made (None when it hands back the open one).
    call: NewCall | None = None
    # The patient's last earlier consultations, newest first (doctors only: private notes).
    history: tuple[PastConsultation, ...] = ()
    # For a follow-up token: the consultation it follows.
    follow_up_of: FollowUpOf | None = None
    # The photos, documents and voice notes the patient sent: (kind, signed link), oldest first.
    media: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DoctorView:
    """A doctor's own state."""

    name: str
    status: str
    opds: tuple[ByLanguage, ...]
    waiting: int
    consultation: ConsultationView | None
    # The doctor sent MUTE: no "patients waiting" pings until UNMUTE (flows/steps/pings.py).
    pings_muted: bool = False


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

    def mute_pings(self, muted: bool) -> None:
        """Stop (or start again) the pings that say patients joined the doctor's queues."""


class Visits(Protocol):
    """A patient's side of consultations: joining, rating, a follow-up (bot/ implements it)."""

    def join(self, consultation_id: int) -> Joined | None:
        """Record that the patient is joining the call; None if the call is over."""

    def decline(self, consultation_id: int) -> CallEnded | None:
        """Record that the patient cannot come: the call ends as a no-show; the doctor to tell, None if no call."""

    def call(self, consultation_id: int) -> CallState | None:
        """Return where the patient's call stands now; None if it is not theirs."""

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
