"""The voice line's database side: who is calling, their line's port, a key's effects, a missed call's SMS.

A caller is known by the number they call from. Their voice line is an identity of its own
(channel "voice", address the number): it keeps the language chosen by keypad and, in its
conversation's data, whether "the doctor is ready" should phone them (`call_me`; bot/services/voice_lines.py). It is never
linked to a person and never has `last_inbound_at` set, so nothing meant for the patient's
chats is routed to it (bot/services/identities.py notification_identity); only a Notify
`exact` to it (flows/steps/visit.py called_notices) places a call.

Whose tokens a caller hears: the person behind a chat whose number the provider verified
(a WhatsApp or SMS sender, a Telegram contact of one's own), else a walk-in's, whose SMS chat
is that number. Caller ID is the same kind of proof as an SMS sender, no more: a caller can
hear and cancel the tokens of that number, as an SMS from it can.

Each answer runs in one transaction, like a message: the key is recorded first as an
inbound row keyed by (CallSid, the answer's number in the call, stage, key), so Twilio
retrying an action (a timeout on our side) finds it and changes nothing a second time: it
hears the status and the menu again. The same key pressed again later is a new answer.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.outbox.enqueue import apply_notices, enqueue
from bot.platform.clock import IST
from bot.services.booking import BookingRecords
from bot.services.desk import booked_by
from bot.services.identities import dialect_insert, ensure_identity
from bot.services.visits import VisitRecords
from bot.services.voice_lines import CALL_ME, VOICE, conversation_of, set_call_me
from bot.store.db import Database
from bot.store.models import (
    LIVE_TOKEN_STATUSES,
    CallbackRequest,
    Consultation,
    Identity,
    Person,
    Token,
    utcnow,
)
from bot.store.models import InboundMessage as InboundRow
from flows.messages import reply_to_json
from flows.ports import BookedBy, Bookings, NoBookings
from flows.steps import voice
from flows.steps.tokens import status_replies

log = logging.getLogger(__name__)

# A missed call's status goes by SMS: the walk-ins' channel (bot/services/walkins.py).
SMS = "sms"


def caller_person(session: Session, phone: str) -> Person | None:
    """Return the patient a number belongs to: a verified chat's person, else the person its SMS chat is."""
    person_id = session.scalar(
        select(Identity.person_id)
        .where(Identity.phone == phone, Identity.person_id.is_not(None), Identity.channel != VOICE)
        .order_by(Identity.last_inbound_at.desc().nulls_last(), Identity.id)
        .limit(1)
    )
    if person_id is None:
        person_id = session.scalar(select(Identity.person_id).where(Identity.channel == SMS, Identity.address == phone))
    return session.get(Person, person_id) if person_id is not None else None


class CallerLine:
    """One caller's voice line, inside the caller's transaction: flows' VoiceLine port."""

    def __init__(self, session: Session, identity: Identity, person: Person | None, now: dt.datetime):
        self.session = session
        self.identity = identity
        self.person = person
        self.now = now

    def registered(self) -> bool:
        """Tell whether the number is a registered patient's."""
        return self.person is not None and self.person.patient is not None

    def request_callback(self) -> bool:
        """Record a callback request; False when this number has one open already."""
        phone = self.identity.address
        created = self.session.execute(
            dialect_insert(self.session)(CallbackRequest)
            .values(
                phone=phone, open_phone=phone, person_id=self.person.id if self.person else None,
                language=self.identity.language or (self.person.language if self.person else None) or "hi", requested_at=self.now,
            )
            .on_conflict_do_nothing(index_elements=["open_phone"])
            .returning(CallbackRequest.id)
        ).scalar_one_or_none()
        return created is not None

    def booked_by(self) -> BookedBy | None:
        """Return the health worker who booked the caller's next live walk-in token, while they are on."""
        if self.person is None:
            return None
        today = self.now.astimezone(IST).date()
        tokens = self.session.scalars(
            select(Token)
            .where(Token.person_id == self.person.id, Token.status.in_(LIVE_TOKEN_STATUSES), Token.day >= today)
            .order_by(Token.day, Token.number)
        )
        for token in tokens:
            worker = booked_by(self.session, token)
            if worker is not None:
                return BookedBy(worker, self.person.name, token.number, self.identity.address)
        return None

    def call_me(self) -> bool:
        """Tell whether "the doctor is ready" phones this number."""
        return bool((conversation_of(self.session, self.identity).data or {}).get(CALL_ME))

    def set_call_me(self, on: bool) -> None:
        """Remember whether "the doctor is ready" phones this number."""
        set_call_me(self.session, self.identity, on)


def _recorded(session: Session, identity: Identity, key: str, now: dt.datetime) -> bool:
    """Record one answer of a call; return False when it was recorded before (Twilio retried it)."""
    inserted = session.execute(
        dialect_insert(session)(InboundRow)
        .values(channel=VOICE, provider_id=key[:200], identity_id=identity.id, kind="call", length=0, received_at=now, processed_at=utcnow())
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(InboundRow.id)
    ).scalar_one_or_none()
    return inserted is not None


def _visits(session: Session, choice: str | None, person: Person | None, now: dt.datetime) -> VisitRecords | None:
    """Return the patient's side of the consultation a placed call's key names, when it is this caller's."""
    _, _, rest = (choice or "").partition(":")
    if person is None or not (rest.isascii() and rest.isdigit() and len(rest) <= 12):
        return None
    consultation = session.get(Consultation, int(rest))
    token = consultation.token if consultation is not None else None
    if token is None or token.identity_id is None:
        return None
    family = {person.id, *session.scalars(select(Person.id).where(Person.guardian_id == person.id))}
    booker = session.get(Identity, token.identity_id)
    if token.person_id not in family or booker is None:
        return None
    return VisitRecords(session, booker, now)


@dataclass(frozen=True)
class Answered:
    """What the webhook says back, in the caller's language, and whether messages were queued."""

    spoken: voice.Spoken
    queued: bool


def answer_call(
    db: Database, sid: str, phone: str, stage: str | None, key: str | None, now: dt.datetime,
    booking_number: str | None = None, can_ring: bool = True, turn: int = 0,
) -> Answered:
    """Run one answer of the voice line in one transaction: the key's effects, and what the caller hears."""
    with db.write() as session:
        identity = ensure_identity(session, VOICE, phone)
        if not _recorded(session, identity, f"{sid}:{turn}:{stage or voice.START}:{key or '-'}", now):
            log.info("voice call %s: %s/%s again, answered without acting", sid, stage, key)
            stage, key = voice.START, None
        person = caller_person(session, phone)
        language = identity.language or (person.language if person is not None else None)
        line = CallerLine(session, identity, person, now)
        bookings: Bookings = BookingRecords(session, identity, now, patient=person) if line.registered() else NoBookings()
        visits = _visits(session, key, person, now) if (stage or "").startswith(voice.CALL) else None
        heard = voice.answer(stage, key, language, voice.Caller(line, bookings, now, booking_number, visits, can_ring))
        if heard.language is not None or identity.language is None:
            # The language it spoke in is the line's from now on: a call placed to it speaks it too.
            identity.language = heard.language or voice.spoken_language(language)
        queued = apply_notices(session, heard.notices, now) > 0
        if queued:
            db.notify_outbox(session)
        return Answered(heard.spoken, queued)


def missed_call(db: Database, sid: str, phone: str, now: dt.datetime, default_language: str) -> bool:
    """Queue a missed call's answer by SMS: the caller's status, in their language; False for a retry of the same call."""
    with db.write() as session:
        line = ensure_identity(session, VOICE, phone)
        if not _recorded(session, line, f"{sid}:missed", now):
            return False
        person = caller_person(session, phone)
        chat = ensure_identity(session, SMS, phone)
        language = chat.language or line.language or (person.language if person is not None else None) or default_language
        tokens = BookingRecords(session, chat, now, patient=person).live_tokens() if person is not None and person.patient is not None else []
        for reply in status_replies(tokens, now):
            enqueue(
                session, identity_id=chat.id, channel=SMS, address=phone, language=language,
                kind="reply", payload=reply_to_json(reply), due_at=now,
            )
        db.notify_outbox(session)
        return True
