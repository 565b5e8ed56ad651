"""The SMS walk's pieces: a patient writing by SMS to the pure flows, and every message they get
rendered exactly as the SMS channel sends it (translated with the SMS form, laid out by
bot/channels/twilio.py render_sms, cut into parts by sms_parts), measured against the budget.

DESIGN.md: a feature-phone patient gets "short messages (Devanagari SMS costs 70 chars a
segment)"; issue 15 item 1: every SMS within 2 segments (UCS-2 134 / GSM-7 306 units), the
doctor's advice alone in numbered parts of 2 segments each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir

from bot.channels.base import OutgoingDocument
from bot.channels.sms_text import (
    MAX_SMS_SEGMENTS,
    is_gsm7,
    segments,
    sms_bodies,
    sms_parts,
)
from bot.outbox.payloads import translate
from bot.platform.i18n import Catalogs
from bot.services.opds import DEMO_OPDS
from flows.conversation import handle
from flows.engine import Inbound, State
from flows.messages import ByLanguage, Lines, Reply, Text, reply_to_json
from flows.notices import Notify
from flows.ports import (
    BookingOutcome,
    BookingResult,
    CallEnd,
    CallState,
    Intake,
    Joined,
    Party,
    Ports,
    Profile,
    Session,
)
from tests.helpers import (
    FAKE_OPDS,
    IN_MEMORY_NOW,
    FakeBookings,
    FakePatients,
    opd,
    registered_profile,
)

ROOT = Path(__file__).resolve().parents[1]
PHONE = "+919876543210"
# A state's deployment: the consent SMS points to its /privacy page.
PUBLIC_URL = "https://teleopd.health.example-state.gov.in"
# A prescription link (bot/services/prescriptions.py) at its longest: a state's public URL, a
# 12-digit consultation, the longest language, the signer's timestamp and HMAC-SHA1 signature.
LONGEST_LINK = "https://teleopd.health.example-state.gov.in/rx/999999999999.hi-Latn.ZZZZZZ." + "s" * 27
# The one message that goes word for word however long (the doctor's advice): numbered parts.
ADVICE_SMS = "Advice from Dr. {doctor}:\n{advice}\nHow was your consultation? Reply 1-5 (5 = very good)."
# A health advisory: an operator's words, up to 480 characters a language, go whole in numbered
# parts like the advice (each part within 2 segments), not cut to fit.
ADVISORY_SMS = "Health advisory: {advisory}\nTo stop advisories, send NO ADVISORIES."
WHOLE_IN_PARTS = (ADVICE_SMS, ADVISORY_SMS)
LANGUAGE_QUESTION = "Which language would you like to use?"
# Words a feature phone cannot act on: it has no buttons to tap.
NO_BUTTON_WORDS = ("tap", "button", "बटन", "दबाएँ", "दबाएं")


def _longest(values: list[str]) -> str:
    return max(values, key=lambda v: len(v.encode("utf-16-le")))


# The walk's OPDs carry the longest names of the demo catalogue: what the budget must hold.
LONGEST_OPD = ByLanguage(en=_longest([o.name_en for o in DEMO_OPDS]), hi=_longest([o.name_hi for o in DEMO_OPDS]))
# and as many as the demo catalogue (its other specialties closed): "which OPD?" lists them all.
_MORE = [o for o in DEMO_OPDS if o.specialty not in {f.specialty for f in FAKE_OPDS}]
WALK_OPDS = (
    *(dataclasses.replace(o, name=LONGEST_OPD) if o.id in (1, 2) else o for o in FAKE_OPDS),
    *(opd(n, o.code, o.specialty, o.name_en, o.name_hi, open_now=False, opens_in_hours=20) for n, o in enumerate(_MORE, len(FAKE_OPDS) + 1)),
)


@dataclasses.dataclass
class Recorder:
    """Every SMS one walk sent, in one language: the msgids seen and what broke the budget."""

    catalogs: Catalogs
    lang: str
    seen: set[str] = dataclasses.field(default_factory=set)
    problems: list[str] = dataclasses.field(default_factory=list)
    # (msgid, what is wrong) already told: each is told once, at its first step.
    _told: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    bodies: list[str] = dataclasses.field(default_factory=list)
    # The steps the walk's patients were at, before or after a message.
    steps: set[str] = dataclasses.field(default_factory=set)

    def record(self, reply: Reply, where: str) -> list[str]:
        """Render one reply as the SMS channel would, check it, and return the SMS bodies sent."""
        payload = json.loads(json.dumps(reply_to_json(reply)))  # as the outbox keeps it
        # A document's link (an e-prescription) is made when the message is sent: the longest one.
        document = OutgoingDocument("e-prescription.pdf", LONGEST_LINK, bytes) if payload.get("attachment") else None
        message = translate(self.catalogs, payload, self.lang, sms=True, document=document)
        parts = sms_bodies(message)
        body = "\n".join(parts)
        sent = reply.sms if reply.sms is not None else reply.text
        self._collect(reply.text)  # the full text (and what it is made of) is covered by its SMS form
        self._collect(sent)
        for choice in reply.choices:
            if isinstance(choice.label, Text):
                self._collect(choice.label)
        label = f"{sent.msgid!r} [{self.lang}] at {where}"
        over = [n for n, part in enumerate(parts, 1) if segments(part) > MAX_SMS_SEGMENTS]
        if over:
            self._problem(sent, "long", f"{label}: SMS {over} of {len(parts)} over {MAX_SMS_SEGMENTS} segments: {parts!r}")
        elif sent.msgid not in WHOLE_IN_PARTS and len(sms_parts(message.text.strip())) > 1:
            # Only the advice and an advisory go in numbered parts; a list of choices may go on in a second SMS.
            self._problem(sent, "long", f"{label}: {segments(message.text)} segments without its choices: {message.text!r}")
        if self.lang == "en" or self.lang.endswith("-Latn"):
            # One curly quote or dash turns a Latin SMS into UCS-2 and halves its room.
            # The choices too (a star is a box on many feature phones), but for the language
            # question, whose choices are each language named in its own script.
            laid_out = message.text if sent.msgid == LANGUAGE_QUESTION else body
            if not is_gsm7(laid_out):
                self._problem(sent, "gsm", f"{label}: not GSM-7: {laid_out!r}")
        words = re.findall(r"\w+", body.lower())
        if any(word in words for word in NO_BUTTON_WORDS) or any(word in body for word in NO_BUTTON_WORDS if not word.isascii()):
            self._problem(sent, "buttons", f"{label}: speaks of buttons: {body!r}")
        self.bodies.extend(parts)
        return parts

    def _problem(self, sent: Text, kind: str, told: str) -> None:
        if (sent.msgid, kind) not in self._told:
            self._told.add((sent.msgid, kind))
            self.problems.append(told)

    def _collect(self, text: Text) -> None:
        self.seen.add(text.msgid)
        for _, value in text.params:
            for item in value if isinstance(value, tuple) else value.items if isinstance(value, Lines) else (value,):
                if isinstance(item, Text):
                    self._collect(item)

    def notices(self, notices: list[Any], patient: int, where: str) -> None:
        """Record the messages among a turn's notices that go to the patient's chat."""
        for notice in notices:
            if isinstance(notice, Notify) and notice.identity_id == patient:
                self.record(notice.reply, where)


class SmsPatient:
    """One patient writing by SMS (their address is their number) to flows.conversation.handle."""

    def __init__(
        self, recorder: Recorder, profile: Profile | None = None, step: str | None = None,
        data: dict[str, Any] | None = None, **ports: Any,
    ):
        self.recorder = recorder
        self.state = State(step=step, data=dict(data or {}), language=recorder.lang if step else None)
        self.patients = FakePatients(profile)
        self.ports: dict[str, Any] = {"bookings": FakeBookings(opd_list=WALK_OPDS), "public_url": PUBLIC_URL, **ports}
        self.last: list[Reply] = []

    @property
    def step(self) -> str | None:
        """Return the step the conversation is at."""
        return self.state.step

    def send(self, text: str, media: tuple[str, ...] = ()) -> list[Reply]:
        """Send one SMS (an MMS with media, where the provider carries it); record every reply as the patient's phone would show it."""
        ports = Ports(patients=self.patients, labels=self.recorder.catalogs, default_language="en", **self.ports)
        before = self.state.step
        inbound = Inbound(text=text, received_at=IN_MEMORY_NOW, channel_phone=PHONE, media=media)
        outcome = handle(self.state, inbound, ports)
        self.state = outcome.state
        self.recorder.steps |= {step for step in (before, self.state.step) if step}
        assert outcome.replies or self.state.opted_out, f"no reply to {text!r} at {before}"
        for reply in outcome.replies:
            self.recorder.record(reply, f"{before} <- {text!r}")
        self.last = outcome.replies or self.last
        return outcome.replies

    def number_of(self, key: str) -> str:
        """Return the number an SMS patient sends for a choice of the last question."""
        choices = self.last[-1].choices
        keys = [c.key for c in choices]
        assert key in keys, f"{key!r} is not offered at {self.step}: {keys}"
        return str(keys.index(key) + 1)

    def pick(self, key: str) -> list[Reply]:
        """Answer the last question with the number of a choice, as a feature phone does."""
        return self.send(self.number_of(key))


def registered(recorder: Recorder, profile: Profile | None = None, **ports: Any) -> SmsPatient:
    """Return a registered SMS patient at the main menu."""
    patient = SmsPatient(recorder, profile or registered_profile(), step="menu", **ports)
    patient.send("MENU")
    return patient


# --- bookings that answer otherwise than FakeBookings ------------------------------------------


@dataclasses.dataclass
class AnsweringBookings(FakeBookings):
    """FakeBookings whose book() and move() give a set outcome (EXISTING, FULL, NO_SESSION…)."""

    outcome: BookingOutcome | None = None
    move_outcome: BookingOutcome | None = None
    no_sessions: bool = False
    # Tokens in the thousands, waits in hours, and the standard estimate of a new OPD.
    big: bool = False

    def token(self, chosen: Any, number: int, starts_at: dt.datetime, priority: bool = False) -> Any:
        token = super().token(chosen, number, starts_at, priority)
        if not self.big:
            return token
        return dataclasses.replace(token, number=number + 12_340, position=number + 1_230, wait_minutes=12_300, wait_is_estimate_default=True)

    def book(self, opd_id: int, person_id: int | None, intake: Intake, priority: bool, day: dt.date | None = None) -> BookingResult:
        if self.outcome is None or day is not None:
            return super().book(opd_id, person_id, intake, priority, day)
        chosen = next(o for o in self.opd_list if o.id == opd_id)
        if self.outcome is BookingOutcome.EXISTING:
            token = self.tokens[0] if self.tokens else self.token(chosen, 4, chosen.next_session)
            return BookingResult(BookingOutcome.EXISTING, token=token)
        if self.outcome is BookingOutcome.FULL:
            start = chosen.next_session + dt.timedelta(days=1)
            return BookingResult(BookingOutcome.FULL, offer=Session(start.date(), start))
        return BookingResult(self.outcome)

    def sessions(self, opd_id: int, count: int = 3, after: dt.date | None = None) -> list[Session]:
        return [] if self.no_sessions else super().sessions(opd_id, count, after)

    def move(self, token_id: int, day: dt.date) -> BookingResult:
        return BookingResult(self.move_outcome) if self.move_outcome is not None else super().move(token_id, day)


class Refusing:
    """The Accounts port when codes are being guessed: every code is refused as one too many."""

    def enrol(self, code: str) -> tuple[str, None, None]:
        return "too_many", None, None


@dataclasses.dataclass
class CalledBookings(FakeBookings):
    """FakeBookings whose one live token (in the ten thousands, the longest OPD) a doctor has called, or is seeing."""

    status: str = "called"

    def live_tokens(self) -> list[Any]:
        token = AnsweringBookings(big=True).token(WALK_OPDS[0], 1, WALK_OPDS[0].next_session)
        return [dataclasses.replace(token, status=self.status, position=0)]


@dataclasses.dataclass
class WalkVisits:
    """The Visits port in memory: consultation 7 is this patient's call; others are over."""

    rated: bool = False
    follow_up_day: dt.date | None = dt.date(2026, 11, 27)
    other_call: CallEnd | None = CallEnd.ADVISED

    def join(self, consultation_id: int) -> Joined | None:
        return Joined(7, 1, Party(5)) if consultation_id == 7 else None

    def decline(self, consultation_id: int) -> None:
        return None

    def call(self, consultation_id: int) -> CallState:
        # Consultation 8 ended while the chat still held it (a skipped move): advised, unless told otherwise.
        return CallState(1, "Anita Sharma", None if consultation_id == 7 else self.other_call, rated=self.rated)

    def rate(self, consultation_id: int, stars: int) -> bool:
        first, self.rated = not self.rated, True
        return first

    def follow_up(self, consultation_id: int) -> dt.date | None:
        return self.follow_up_day


# --- which messages a patient can get ------------------------------------------------------------


def flow_msgids() -> dict[str, set[str]]:
    """Return every msgid marked in flows/ (t, sms, tn), with the modules it is marked in."""
    found: dict[str, set[str]] = {}
    keywords = {"t": None, "sms": None, "tn": (1, 2)}
    for filename, _line, message, _comments, _context in extract_from_dir(str(ROOT / "flows"), [("**.py", "python")], {}, keywords=keywords):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, set()).add(filename)
    return found
