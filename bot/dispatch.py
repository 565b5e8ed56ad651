"""Handle one inbound message: dedupe, lock the conversation, run the flow, queue replies.

Everything happens in one database transaction: the inbound record, the new state, the
domain changes and the outbox rows are committed together or not at all. A provider's
retry of a message already handled finds its (channel, provider_id) row and changes
nothing, and one person's messages queue at the conversation lock and are handled one at a
time, in the order they reach it.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import threading
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.channels.base import BLOCKED, MEMBERSHIP_KINDS, UNBLOCKED, InboundMessage
from bot.dispatch_store import (
    load_locked,
    record_inbound,
    save_turn,
)
from bot.outbox.enqueue import TurnMessage, apply_notices, enqueue, enqueue_turn
from bot.platform.i18n import Catalogs
from bot.platform.metrics import count_in
from bot.platform.ratelimit import RateLimiter
from bot.services import inbox
from bot.services.advisories import AdvisoryRecords
from bot.services.booking import BookingRecords
from bot.services.calls import DEFAULT_CALL_WINDOW
from bot.services.desk import DEFAULT_FOLLOW_UP_GRACE, DeskRecords
from bot.services.enrolment import AccountRecords, GuessBudget, role_of
from bot.services.identities import create_identity, link_verified_phone
from bot.services.media import MediaLimits, MediaLinkMaker, MediaRecords
from bot.services.patients import PatientRecords
from bot.services.reminders import ReminderPolicy
from bot.services.visits import VisitRecords
from bot.services.walkins import WalkinRecords
from bot.store.db import Database
from bot.store.models import Conversation, Identity, Role, utcnow
from bot.store.models import InboundMessage as InboundRow
from flows import conversation
from flows.engine import Inbound, State
from flows.messages import reply_to_json
from flows.notices import OpenInbox
from flows.ports import DEFAULT_DANGER_ESCALATION_MINUTES, Ports

log = logging.getLogger(__name__)


class Result(StrEnum):
    """What became of an inbound message."""

    HANDLED = "handled"
    DUPLICATE = "duplicate"
    # Recorded, not run through the flows: the identity sent more than its limit a minute.
    RATE_LIMITED = "rate_limited"


# The inbound_messages.step_after of a message that was over the limit.
RATE_LIMITED_STEP = "rate_limited"
FLOOD_WINDOW = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class DispatchOutcome:
    """The result of dispatching one message, for the webhook's answer and for tests."""

    result: Result
    identity_id: int
    replies: int = 0


class Dispatcher:
    """Runs inbound messages through the conversation engine, one transaction each."""

    def __init__(
        self,
        db: Database,
        catalogs: Catalogs,
        default_language: str = "en",
        outbox_signal: threading.Event | None = None,
        video_base_url: str = "https://meet.jit.si/",
        call_window: dt.timedelta = DEFAULT_CALL_WINDOW,
        danger_escalation_minutes: int = DEFAULT_DANGER_ESCALATION_MINUTES,
        follow_up_grace: dt.timedelta = DEFAULT_FOLLOW_UP_GRACE,
        inbound_per_minute: int = 30,
        limiter: RateLimiter | None = None,
        enrol_budget: GuessBudget = GuessBudget(),
        voice_calls: bool = False,
        public_url: str | None = None,
        media_limits: MediaLimits = MediaLimits(),
        media_links: MediaLinkMaker | None = None,
        reminders: ReminderPolicy = ReminderPolicy(),
        inbox_hours: tuple[int, int] = (9, 17),
        advisories_per_month: int = 0,
    ):
        self.db = db
        self.catalogs = catalogs
        self.default_language = default_language
        self.video_base_url = video_base_url
        self.call_window = call_window
        self.danger_escalation_minutes = danger_escalation_minutes
        self.follow_up_grace = follow_up_grace
        # When a token booked in a turn is reminded (bot/services/reminders.py).
        self.reminders = reminders
        self.inbound_per_minute = inbound_per_minute
        # Counts refused enrolment codes, per chat and for everyone (shared through Redis when configured).
        self.limiter = limiter or RateLimiter()
        self.enrol_budget = enrol_budget
        # Whether the voice line places calls: a health worker is then asked about a walk-in's.
        self.voice_calls = voice_calls
        # Where the full consent notice is served (GET /privacy): the consent SMS points there.
        self.public_url = public_url or ""
        # Set after a commit that queued replies, so an in-process worker sends them at once.
        self.outbox_signal = outbox_signal
        # How many files a visit keeps, and how big; the signed links the doctor's summary gives.
        self.media_limits = media_limits
        self.media_links = media_links
        # When the coordinators answer the inbox (India's whole hours): what a patient asking for a person is told.
        self.inbox_hours = inbox_hours
        # Health advisories a patient may get a month (TELEOPD_ADVISORIES_PER_MONTH); 0: off, never asked.
        self.advisories_per_month = advisories_per_month

    def dispatch(self, message: InboundMessage) -> DispatchOutcome:
        """Handle one message exactly once, however often it is delivered."""
        pushed = 0
        if self.media_links is not None:
            self.media_links.ready()  # its key may be read from the database: before the write lock
        with self.db.write() as session:
            found = load_locked(session, message.channel, message.address)
            if found is None:  # first contact: the identity and its conversation are made, then locked
                create_identity(session, message.channel, message.address)
                found = load_locked(session, message.channel, message.address)
                assert found is not None
            identity, conv = found
            role = role_of(identity)
            # Counted under the conversation lock, which serialises this identity's messages:
            # exact across any number of web processes, without Redis. Enrolled doctors and
            # health workers (accounts on) are not limited: a busy desk's NEXT, advice, DONE is their work.
            # Nor is a block: nothing is said to it, and it must always take effect.
            counted = message.kind not in MEMBERSHIP_KINDS and role not in (Role.DOCTOR, Role.HEALTH_WORKER)
            inbound_id, recent = record_inbound(
                session, _inbound_values(message, identity.id, conv.step),
                window_start=message.received_at - FLOOD_WINDOW if counted else None,
            )
            if inbound_id is None:
                count_in(message.channel, Result.DUPLICATE)
                return DispatchOutcome(Result.DUPLICATE, identity.id)
            # Rate-limited messages count too, so a flood that goes on stays limited until its rate falls below the limit.
            limited = counted and recent > self.inbound_per_minute
            notified = False
            if limited:
                identity_id, replies = identity.id, _slow_down(session, identity, inbound_id, message.received_at, self.default_language)
            else:
                identity_id, replies, pushed, notified = self._turn(session, message, identity, conv, role, inbound_id)
            queued = bool(replies or pushed or (message.ack is not None and not limited))
            if queued and not notified:
                self.db.notify_outbox(session)  # a worker in another process wakes at the commit
        if queued and self.outbox_signal is not None:
            self.outbox_signal.set()
        result = Result.RATE_LIMITED if limited else Result.HANDLED
        count_in(message.channel, result)  # once committed
        return DispatchOutcome(result, identity_id, replies)


    def _turn(
        self, session: Session, message: InboundMessage, identity: Identity, conv: Conversation, role: str, inbound_id: int,
    ) -> tuple[int, int, int, bool]:
        """Run one message through the flows and write what it did.

        Return the identity's id, how many replies and notices' messages were queued, and
        whether the outbox's insert already notified the workers.
        """
        verified_phone = message.channel_phone or message.contact_phone
        if verified_phone is not None and identity.phone != verified_phone:
            link_verified_phone(session, identity, verified_phone)
        # A deep copy: steps change nested values (the intake) in place.
        # held_by came with the locked row: a chat a coordinator holds costs no query to know.
        held = conv.held_by is not None
        state = State(
            step=conv.step, data=copy.deepcopy(conv.data or {}), language=identity.language, opted_out=identity.opted_out, held=held,
            misses=conv.misses,
        )
        now = message.received_at
        ports = Ports(
            patients=PatientRecords(session, identity, now),
            labels=self.catalogs,
            default_language=self.default_language,
            public_url=self.public_url,
            bookings=BookingRecords(session, identity, now, follow_up_grace=self.follow_up_grace, reminders=self.reminders),
            role=role,
            # Always there: an "enroll" in this very message may make this identity a doctor's.
            desk=DeskRecords(
                session, identity, now, self.video_base_url, self.call_window, self.follow_up_grace, media_links=self.media_links,
                reminders=self.reminders,
            ),
            visits=VisitRecords(session, identity, now, self.follow_up_grace, self.reminders),
            accounts=AccountRecords(session, identity, now, self.limiter, self.enrol_budget),
            walkins=WalkinRecords(session, identity, now, can_ring=self.voice_calls, reminders=self.reminders),
            danger_escalation_minutes=self.danger_escalation_minutes,
            inbox_hours=self.inbox_hours,
            media=MediaRecords(session, identity, message.channel, message.media, now, self.media_limits),
            advisories=AdvisoryRecords(session, identity, self.advisories_per_month, now) if self.advisories_per_month else None,
        )
        outcome = conversation.handle(state, _to_flow_inbound(message), ports)
        for event in outcome.events:
            log.info("identity %s (%s): %s", identity.id, message.channel, event)
        _save_state(session, identity, conv, outcome.state, inbound_id, message.received_at)
        # The turn's effects on other people's chats (a called patient, a freed doctor,
        # timers), in this transaction: the only place a flow's notices are carried out.
        notices = outcome.notices
        opened = any(isinstance(notice, OpenInbox) for notice in notices)
        if opened:
            notices = [OpenInbox(n.reason, identity.id) if isinstance(n, OpenInbox) and n.identity_id is None else n for n in notices]
        pushed = apply_notices(session, notices, message.received_at)
        if held or opened:
            # The coordinator reads the patient's own words (kept only while the chat is in the inbox).
            inbox.record_patient_message(session, identity.id, message.text or "", message.received_at)
        now = utcnow()
        language = outcome.state.language or self.default_language
        rows = []
        if message.ack is not None:
            # Ahead of the replies: Telegram shows a spinner on the button until answered.
            rows.append(TurnMessage(identity.id, identity.channel, identity.address, identity.language or self.default_language,
                                  "ack", message.ack, now, inbound_id))
        # The address the message came from: an erasure in this turn replaced the identity's
        # own, and its confirmation must still arrive.
        rows += [
            TurnMessage(identity.id, message.channel, message.address, language, reply.kind, reply_to_json(reply), now, inbound_id)
            for reply in outcome.replies
        ]
        if session.new:
            session.flush()  # the notices' rows first: a recipient's messages go in the order they were queued
        notified = enqueue_turn(session, rows, self.db.outbox_channel if not self.db.is_sqlite else None)
        return identity.id, len(outcome.replies), pushed, notified

def _slow_down(session: Session, identity: Identity, inbound_id: int, received_at: dt.datetime, default_language: str) -> int:
    """Record an over-limit message; queue the one notice of a flood; return how many were queued.

    One notice per flood: only when the identity's previous message was answered (was not
    itself over the limit). The rows already say so under the lock, in every process.
    """
    session.execute(update(InboundRow).where(InboundRow.id == inbound_id).values(step_after=RATE_LIMITED_STEP))
    identity.last_inbound_at = max(identity.last_inbound_at or received_at, received_at)  # WhatsApp's 24 h window
    previous = session.scalar(
        select(InboundRow.step_after)
        .where(InboundRow.identity_id == identity.id, InboundRow.id < inbound_id)
        .order_by(InboundRow.id.desc())
        .limit(1)
    )
    if previous == RATE_LIMITED_STEP:
        log.info("identity %s: over the inbound limit, not answered", identity.id)
        return 0
    log.warning("identity %s: over the inbound limit, asked to slow down", identity.id)
    enqueue(
        session, identity_id=identity.id, channel=identity.channel, address=identity.address,
        language=identity.language or default_language, kind="reply",
        payload=reply_to_json(conversation.slow_down()), due_at=utcnow(), inbound_id=inbound_id,
    )
    return 1


def _inbound_values(message: InboundMessage, identity_id: int, step: str | None) -> dict[str, object]:
    """The dedupe row's values."""
    return {
        "channel": message.channel, "provider_id": message.provider_id, "identity_id": identity_id, "kind": message.kind,
        "length": len(message.text or ""), "step_before": step, "received_at": message.received_at, "processed_at": utcnow(),
    }


def _save_state(session: Session, identity: Identity, conv: Conversation, state: State, inbound_id: int, received_at: dt.datetime) -> None:
    """Write the turn's state: the conversation, the identity, the inbound row's step after it, and the person's language."""
    if state.opted_out and not identity.opted_out:
        log.info("identity %s opted out", identity.id)
    save_turn(
        session, identity, conv,
        {"step": state.step, "data": state.data, "misses": state.misses, "language": state.language, "opted_out": state.opted_out},
        inbound_id=inbound_id, received_at=received_at, now=utcnow(),
    )
    person = identity.person
    if person is not None and state.language and person.language != state.language:
        person.language = state.language


def _to_flow_inbound(message: InboundMessage) -> Inbound:
    return Inbound(
        text=message.text or "",
        choice=message.choice,
        received_at=message.received_at,
        channel=message.channel,
        channel_phone=message.channel_phone,
        can_share_contact=message.can_share_contact,
        contact_phone=message.contact_phone,
        opened_as=message.opened_as,
        blocked={BLOCKED: True, UNBLOCKED: False}.get(message.kind),
        media=tuple(ref.kind for ref in message.media),
    )
