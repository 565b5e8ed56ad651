"""Test users: one on the local channel through the real runtime, one on the pure flows with in-memory ports."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.outbox.payloads import translate
from bot.platform.i18n import Catalogs
from bot.runtime import Services
from flows.conversation import handle, steps
from flows.engine import LANGUAGES, Inbound, State
from flows.messages import ByLanguage, Reply, reply_to_json
from flows.notices import Notice
from flows.ports import (
    BookingOutcome,
    BookingResult,
    Cancelled,
    ConsultationView,
    Dependent,
    DoctorState,
    DoctorView,
    Intake,
    Joined,
    OpdInfo,
    Party,
    Ports,
    Profile,
    Session,
    TokenInfo,
    WalkIn,
)
from flows.ports import VisitOutcome as ClinicOutcome

_ids = itertools.count(1)


@dataclass
class Said:
    """The bot's messages after one thing the user said."""

    texts: list[str]
    choices: list[list[dict[str, str]]]

    @property
    def all_text(self) -> str:
        """Return every message's text, joined."""
        return "\n".join(self.texts)

    @property
    def last_choices(self) -> list[str]:
        """Return the labels of the last message's choices."""
        return [c["label"] for c in self.choices[-1]] if self.choices else []


class LocalUser:
    """Drives one local-channel user through the real dispatcher and outbox worker."""

    def __init__(self, services: Services, user: str = "u1", opened_as: str | None = None):
        self.services = services
        self.user = user
        self.cursor = 0
        # The role the chat was opened as (the web chat's doctor and health-worker tabs).
        self.opened_as = opened_as

    def say(self, text: str = "", choice: str | None = None, provider_id: str | None = None) -> Said:
        """Send a message and return what the bot answered."""
        self.services.dispatcher.dispatch(
            InboundMessage(
                channel=local.NAME,
                address=self.user,
                provider_id=provider_id or f"{self.user}:{next(_ids)}",
                text=text,
                choice=choice,
                opened_as=self.opened_as,
            )
        )
        return self.receive()

    def receive(self) -> Said:
        """Send what is due and return the messages shown since the last call."""
        self.services.worker.drain(channel=local.NAME)
        messages, self.cursor = local.messages_after(self.services.db, self.user, self.cursor)
        return Said([m.text for m in messages], [list(m.choices) for m in messages])


class PhoneUser:
    """Writes from a phone number on WhatsApp or SMS through the real dispatcher (the provider vouches for the number).

    No provider is configured in these tests: the replies stay in the outbox, where a test reads them.
    """

    def __init__(self, services: Services, channel: str, phone: str):
        self.services = services
        self.channel = channel
        self.phone = phone
        self.address = f"whatsapp:{phone}" if channel == "whatsapp" else phone

    def say(self, text: str = "", choice: str | None = None) -> None:
        """Send a message from the number."""
        self.services.dispatcher.dispatch(
            InboundMessage(
                channel=self.channel,
                address=self.address,
                provider_id=f"{self.channel}-{next(_ids)}",
                text=text,
                choice=choice,
                channel_phone=self.phone,
            )
        )

# --- the pure flows with in-memory ports -------------------------------------------------------
# flows.conversation.handle() is the functional core the dispatcher runs; these ports keep
# one identity's world in memory, so dialogs run in milliseconds and without a database.

IN_MEMORY_NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)  # 3 pm in India, a Wednesday


class FakePatients:
    """The Patients port, in memory: one identity's profile in a variable."""

    def __init__(self, saved: Profile | None = None) -> None:
        self.saved = saved

    def profile(self) -> Profile | None:
        return self.saved

    def save_profile(self, profile: Profile) -> None:
        self.saved = profile

    def erase(self) -> tuple[Cancelled, ...]:
        self.saved = None
        return ()


def opd(opd_id: int, code: str, specialty: str, en: str, hi: str, open_now: bool, opens_in_hours: float = 0) -> OpdInfo:
    """Return an OPD as the Bookings port lists it; a closed one opens opens_in_hours from IN_MEMORY_NOW."""
    next_session = IN_MEMORY_NOW if open_now else IN_MEMORY_NOW + dt.timedelta(hours=opens_in_hours)
    return OpdInfo(opd_id, code, specialty, ByLanguage(en=en, hi=hi), open_now, next_session)


# A small catalogue: a round-the-clock OPD and specialties closed until tomorrow morning.
FAKE_OPDS = (
    opd(1, "GEN24", "general_medicine", "General Medicine (24 hours)", "सामान्य चिकित्सा (24 घंटे)", open_now=True),
    opd(2, "PAED", "paediatrics", "Paediatrics", "बाल रोग", open_now=False, opens_in_hours=18),
    opd(3, "OBG", "obgyn", "Obstetrics & Gynaecology", "स्त्री एवं प्रसूति रोग", open_now=False, opens_in_hours=18),
    opd(4, "DERM", "dermatology", "Dermatology", "त्वचा रोग", open_now=False, opens_in_hours=19),
    opd(5, "PSY", "psychiatry", "Psychiatry (Mental Health)", "मनोरोग (मानसिक स्वास्थ्य)", open_now=False, opens_in_hours=19),
)


@dataclass
class FakeBookings:
    """The Bookings port, in memory: an OPD open now books today, a closed one offers its next session."""

    opd_list: tuple[OpdInfo, ...] = FAKE_OPDS
    tokens: list[TokenInfo] = field(default_factory=list)
    family: list[Dependent] = field(default_factory=list)
    # What book() was asked: (OPD id, person id, intake, priority, day).
    booked: list[tuple[int, int | None, Intake, bool, dt.date | None]] = field(default_factory=list)

    def opds(self) -> list[OpdInfo]:
        return list(self.opd_list)

    def dependents(self) -> list[Dependent]:
        return list(self.family)

    def add_dependent(self, name: str, age: int, sex: str) -> int:
        self.family.append(Dependent(100 + len(self.family), name, age, sex))
        return self.family[-1].person_id

    def live_tokens(self) -> list[TokenInfo]:
        return [t for t in self.tokens if t.status == "waiting"]

    def book(self, opd_id: int, person_id: int | None, intake: Intake, priority: bool, day: dt.date | None = None) -> BookingResult:
        self.booked.append((opd_id, person_id, intake, priority, day))
        chosen = next(o for o in self.opd_list if o.id == opd_id)
        if day is None and not chosen.open_now:
            start = chosen.next_session
            return BookingResult(BookingOutcome.CLOSED, offer=Session(start.date(), start))
        starts_at = chosen.next_session if day is None else dt.datetime.combine(day, chosen.next_session.timetz())
        token = self.token(chosen, len([t for t in self.tokens if t.opd_id == opd_id]) + 1, starts_at, priority)
        self.tokens.append(token)
        return BookingResult(BookingOutcome.BOOKED, token=token)

    def token(self, chosen: OpdInfo, number: int, starts_at: dt.datetime, priority: bool = False) -> TokenInfo:
        """Return a waiting token at an OPD, placed after the tokens already there."""
        return TokenInfo(
            id=len(self.tokens) + 1, opd_id=chosen.id, opd_name=chosen.name, opd_code=chosen.code, number=number,
            day=starts_at.date(), starts_at=starts_at, position=number, wait_minutes=(number - 1) * 10,
            wait_is_estimate_default=False, minutes_per_patient=10, patient_name="Sunita Devi", priority=priority,
            status="waiting", today=starts_at.date() == IN_MEMORY_NOW.date(),
        )

    def sessions(self, opd_id: int, count: int = 3, after: dt.date | None = None) -> list[Session]:
        chosen = next(o for o in self.opd_list if o.id == opd_id)
        days = (chosen.next_session + dt.timedelta(days=n) for n in range(count))
        return [Session(start.date(), start) for start in days]

    def cancel(self, token_id: int) -> Cancelled | None:
        for i, token in enumerate(self.tokens):
            if token.id == token_id and token.status == "waiting":
                self.tokens[i] = dataclasses.replace(token, status="cancelled")
                return Cancelled()
        return None

    def move(self, token_id: int, day: dt.date) -> BookingResult:
        token = next(t for t in self.tokens if t.id == token_id)
        self.cancel(token_id)
        moved = dataclasses.replace(token, id=len(self.tokens) + 1, day=day, today=False)
        self.tokens.append(moved)
        return BookingResult(BookingOutcome.BOOKED, token=moved)


@dataclass
class FakeDesk:
    """The Desk port, in memory: a doctor's status, a queue of waiting patients and the one in hand."""

    status: str = DoctorState.OFFLINE
    waiting: list[ConsultationView] = field(default_factory=list)
    consultation: ConsultationView | None = None
    written: list[tuple[str, bool]] = field(default_factory=list)
    pings_muted: bool = False

    def view(self) -> DoctorView:
        return DoctorView(
            "Anita Sharma", self.status, (ByLanguage("General Medicine", "सामान्य चिकित्सा"),), len(self.waiting), self.consultation,
            pings_muted=self.pings_muted,
        )

    def mute_pings(self, muted: bool) -> None:
        self.pings_muted = muted

    def set_status(self, status: DoctorState) -> None:
        self.status = status

    def call_next(self) -> ConsultationView | None:
        if not self.waiting:
            return None
        self.consultation, self.status = self.waiting.pop(0), DoctorState.BUSY
        return self.consultation

    def write(self, text: str, private: bool) -> None:
        self.written.append((text, private))

    def finish(self, outcome: ClinicOutcome) -> ConsultationView | None:
        ended, self.consultation = self.consultation, None
        return ended


@dataclass
class FakeWalkins:
    """The Walkins port in memory: books through FakeBookings, keeps what it was asked, and names
    the walk-in's own SMS chat when it is given one (as bot/services/walkins.py does)."""

    bookings: FakeBookings = field(default_factory=FakeBookings)
    patient_chat: Party | None = None
    booked: list[tuple[WalkIn, Intake, bool]] = field(default_factory=list)

    def clinic(self) -> tuple[str, str]:
        return "Asha Kumari", "PHC Sarnath"

    # Whether the voice line places calls (then the health worker is asked about phoning), and the numbers to phone.
    rings: bool = False
    rung: list[str] = field(default_factory=list)

    def book(self, patient: WalkIn, opd_id: int, intake: Intake, priority: bool) -> BookingResult:
        self.booked.append((patient, intake, priority))
        return dataclasses.replace(self.bookings.book(opd_id, None, intake, priority), patient_chat=self.patient_chat)

    def can_ring(self) -> bool:
        return self.rings

    def ring(self, phone: str) -> None:
        self.rung.append(phone)

    # The calls this health worker may join, by consultation id (the rest are not theirs), and those joined.
    calls: dict[int, int] = field(default_factory=dict)
    joined: list[int] = field(default_factory=list)

    def join_with(self, consultation_id: int) -> Joined | None:
        if consultation_id not in self.calls:
            return None
        first = consultation_id not in self.joined
        self.joined.append(consultation_id)
        return Joined(consultation_id, self.calls[consultation_id], Party(identity_id=901) if first else None, first=first)


def consultation_view(consultation_id: int = 7) -> ConsultationView:
    """Return a consultation as a doctor's desk shows it."""
    return ConsultationView(
        id=consultation_id, opd=FAKE_OPDS[0].name, token_number=1, patient_name="Sunita Devi", age=34, sex="female",
        state=ByLanguage("Uttar Pradesh", "उत्तर प्रदेश"), symptoms=(), own_words="fever", duration="2 days", severity="mild",
        red_flags=(), earlier_consultations=0, room_url="https://meet.example/room", joined=False,
    )


def registered_profile(sex: str = "female", age: int = 34) -> Profile:
    """Return a registered patient's profile."""
    return Profile("Sunita Devi", age, sex, "IN-UP", "Varanasi", None, IN_MEMORY_NOW)


# What each reply read in every language, by the reply as the outbox keeps it (JSON): the hostile-input
# walks get the same "please choose" thousands of times, and translating it again checks nothing new.
_RENDERED: dict[tuple[int, str], dict[str, str]] = {}
_RENDERED_MAX = 20_000


def rendered_in_every_language(catalogs: Catalogs, reply: Reply) -> dict[str, str]:
    """Return the reply's text in every language, checking that each renders: text, and choices with keys and labels."""
    stored = json.dumps(reply_to_json(reply), ensure_ascii=False, sort_keys=True)  # as the outbox keeps it
    key = (id(catalogs), stored)
    texts = _RENDERED.get(key)
    if texts is None:
        texts = {}
        for lang in LANGUAGES:
            message = translate(catalogs, json.loads(stored), lang)
            assert isinstance(message.text, str) and message.text.strip()
            assert all(c.key and c.label for c in message.choices)
            texts[lang] = message.text
        if len(_RENDERED) >= _RENDERED_MAX:
            _RENDERED.clear()
        _RENDERED[key] = texts
    return texts


class FlowChat:
    """One identity's conversation run through handle() with in-memory ports.

    Every turn is checked the way the runtime would need it: a reply, a known step, data the
    dispatcher can store, and replies that render in both languages.
    """

    def __init__(
        self, catalogs: Catalogs, lang: str, state: State | None = None, opened_as: str | None = None, channel: str | None = None,
        **ports: Any,
    ):
        self.catalogs = catalogs
        self.lang = lang
        self.state = state or State()
        self.opened_as = opened_as  # a web tab opened as a doctor's or health worker's (Inbound.opened_as)
        self.channel = channel  # Inbound.channel: "sms" for a feature phone's messages
        self.patients: FakePatients = ports.pop("patients", None) or FakePatients()
        self.ports = ports
        self.replies: list[Reply] = []
        self.notices: list[Notice] = []
        self.last_texts: list[str] = []

    def send(self, text: str = "", choice: str | None = None, at: dt.datetime | None = None) -> list[str]:
        """Handle one message; return the replies rendered in the conversation's language."""
        ports = Ports(patients=self.patients, labels=self.catalogs, **{"default_language": "en", **self.ports})
        inbound = Inbound(text=text, choice=choice, received_at=at or IN_MEMORY_NOW, opened_as=self.opened_as, channel=self.channel)
        outcome = handle(self.state, inbound, ports)
        self.state = outcome.state
        assert outcome.replies, f"no reply to {text!r} at {self.state.step}"
        assert self.state.step in steps(), f"unknown step {self.state.step!r}"
        assert self.state.language in (None, *LANGUAGES)
        # What the dispatcher stores must be storable: JSON, UTF-8, no NUL (PostgreSQL refuses it).
        stored = json.dumps(self.state.data, ensure_ascii=False)
        stored.encode("utf-8")
        assert "\\u0000" not in stored and "\x00" not in stored
        shown = self.state.language or "en"
        self.replies = outcome.replies
        self.notices = outcome.notices  # what the turn does to other chats (flows/notices.py)
        self.last_texts = [rendered_in_every_language(self.catalogs, reply)[shown] for reply in outcome.replies]
        return self.last_texts

    @property
    def last_choices(self) -> list[str]:
        """Return the keys of the choices under the last reply."""
        return [c.key for c in self.replies[-1].choices] if self.replies else []


def registered_chat(catalogs: Catalogs, lang: str, profile: Profile | None = None, **ports: Any) -> FlowChat:
    """Return a registered patient's conversation waiting at the main menu."""
    ports.setdefault("bookings", FakeBookings())
    chat = FlowChat(catalogs, lang, State(step="menu", language=lang), patients=FakePatients(profile or registered_profile()), **ports)
    return chat
