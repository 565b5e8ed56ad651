"""The coordinators' inbox: chats that need a person, taken over, answered and handed back.

A chat enters the inbox through an OpenInbox notice (the patient asked for a person, or was
stuck at one question: flows/steps/human.py; a danger-sign token nobody called in time:
bot/services/pings.py), carried out by bot/outbox/enqueue.py apply_notices, or when a message
never reached a patient being called (bot/outbox/delivery.py); one open item per chat
(`open_identity_id` is unique while open).

A coordinator takes an item over with one conditional UPDATE (held_by IS NULL): of two
coordinators pressing at once exactly one gets it, on SQLite and PostgreSQL alike. The chat's
conversation row then names the holder (conversations.held_by), which the dispatcher reads
with the row it locks anyway: the bot stops answering (danger signs still get 108/112), and
the patient's messages are kept here for the coordinator. Replies go out as outbox rows on
the patient's own channel; handing back closes the item and puts the chat at the menu. A
takeover with no reply for TELEOPD_INBOX_TAKEOVER_MINUTES returns to the queue (a timer).

The functions return notices (flows/notices.py) for the caller to carry out with
apply_notices in the same transaction; every coordinator's action is one operator_actions row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.services.identities import dialect_insert
from bot.store.models import (
    LIVE_TOKEN_STATUSES,
    Conversation,
    Identity,
    InboxItem,
    InboxMessage,
    Opd,
    Operator,
    OperatorAction,
    OutboxMessage,
    Patient,
    Person,
    Timer,
    Token,
)
from flows.messages import ByLanguage, reply_from_json
from flows.notices import KEPT_ON_MOVE, CancelTimer, Notice, Notify, ScheduleTimer
from flows.steps import human

ASKED, STUCK = human.ASKED, human.STUCK
DANGER = "danger"  # a danger-sign token no doctor called in time (bot/services/pings.py)
UNDELIVERED = "undelivered"  # a called patient the message did not reach (bot/outbox/delivery.py)
REASONS = (ASKED, STUCK, DANGER, UNDELIVERED)
# The audit log's actions.
OPENED, TOOK_OVER, REPLIED, HANDED_BACK, RELEASED = "opened", "took_over", "replied", "handed_back", "released"
EXPIRY_TIMER = "inbox_takeover"
DEFAULT_TAKEOVER_MINUTES = 15
# A coordinator's reply: WhatsApp takes 1600 characters a message, and nothing we say is longer.
MAX_REPLY = 1000
# The conversation so far: this many of its latest messages.
HISTORY = 60


class InboxError(Exception):
    """An inbox action that cannot be done; `reason` says why (taken, not_held, closed, not_found)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Scope:
    """Who is acting, and which patients they may see (a state-bound operator: their state's)."""

    operator_id: int
    state_code: str | None = None


@dataclass(frozen=True)
class ItemRow:
    """One open item as the inbox lists it."""

    id: int
    identity_id: int
    reason: str
    channel: str
    name: str | None
    state_code: str | None
    opened_at: dt.datetime
    held_by: str | None  # the holder's name


@dataclass(frozen=True)
class Said:
    """One message of the conversation so far: from the patient (text None: not kept), the bot or a coordinator."""

    at: dt.datetime
    by: str  # "patient", "bot", "coordinator"
    text: str | None = None
    payload: dict | None = None  # the bot's message as the outbox keeps it (rendered by the page)
    language: str = "en"


@dataclass(frozen=True)
class TokenLine:
    """A token of the patient's, for the coordinator."""

    number: int
    day: dt.date
    status: str
    opd: ByLanguage


@dataclass(frozen=True)
class ItemDetail:
    """An item opened: the row, the patient's details and tokens, the conversation so far."""

    item: ItemRow
    held_by_id: int | None
    closed: bool
    age: int | None
    sex: str | None
    district: str | None
    phone: str | None
    language: str | None
    tokens: tuple[TokenLine, ...]
    history: tuple[Said, ...]


def open_item(session: Session, identity_id: int, reason: str, now: dt.datetime) -> int | None:
    """Put a chat in the inbox unless it is there already; return the open item's id."""
    existing = session.scalar(select(InboxItem.id).where(InboxItem.open_identity_id == identity_id))
    if existing is not None:
        return existing
    # Two turns at once (another process): the unique open_identity_id lets one insert in.
    created = session.execute(
        dialect_insert(session)(InboxItem)
        .values(identity_id=identity_id, open_identity_id=identity_id, reason=reason, opened_at=now)
        .on_conflict_do_nothing(index_elements=["open_identity_id"])
        .returning(InboxItem.id)
    ).scalar_one_or_none()
    return created if created is not None else session.scalar(select(InboxItem.id).where(InboxItem.open_identity_id == identity_id))


def record_patient_message(session: Session, identity_id: int, text: str, now: dt.datetime) -> None:
    """Keep a patient's words for the coordinator, while their chat is in the inbox."""
    item_id = session.scalar(select(InboxItem.id).where(InboxItem.open_identity_id == identity_id))
    if item_id is not None and text:
        session.add(InboxMessage(item_id=item_id, direction="in", text=text[:MAX_REPLY * 2], at=now))


def _base_query():  # type: ignore[no-untyped-def]
    return (
        select(InboxItem, Identity.channel, Person.name, Patient.state_code, Operator.username)
        .join(Identity, Identity.id == InboxItem.identity_id)
        .outerjoin(Person, Person.id == Identity.person_id)
        .outerjoin(Patient, Patient.person_id == Identity.person_id)
        .outerjoin(Operator, Operator.id == InboxItem.held_by)
    )


def _row(found) -> ItemRow:  # type: ignore[no-untyped-def]
    item, channel, name, state_code, holder = found
    return ItemRow(item.id, item.identity_id, item.reason, channel, name, state_code, item.opened_at, holder)


def list_open(session: Session, state_code: str | None = None) -> list[ItemRow]:
    """Return the open items, longest waiting first (a state-bound coordinator: their state's only)."""
    query = _base_query().where(InboxItem.closed_at.is_(None)).order_by(InboxItem.opened_at, InboxItem.id)
    if state_code is not None:
        query = query.where(Patient.state_code == state_code)
    return [_row(found) for found in session.execute(query).all()]


def _visible(session: Session, item_id: int, scope: Scope):  # type: ignore[no-untyped-def]
    query = _base_query().where(InboxItem.id == item_id)
    if scope.state_code is not None:
        query = query.where(Patient.state_code == scope.state_code)
    found = session.execute(query).first()
    if found is None:
        raise InboxError("not_found")
    return found


def detail(session: Session, item_id: int, scope: Scope, now: dt.datetime) -> ItemDetail:
    """Return an item with the patient's details, tokens and the conversation so far (noted in the audit log)."""
    found = _visible(session, item_id, scope)
    item: InboxItem = found[0]
    identity = session.get(Identity, item.identity_id)
    assert identity is not None
    person = session.get(Person, identity.person_id) if identity.person_id is not None else None
    patient = session.get(Patient, identity.person_id) if identity.person_id is not None else None
    tokens: tuple[TokenLine, ...] = ()
    if person is not None:
        rows = session.execute(
            select(Token, Opd).join(Opd, Opd.id == Token.opd_id)
            .where(Token.person_id == person.id, Token.status.in_(LIVE_TOKEN_STATUSES))
            .order_by(Token.day, Token.number)
        ).all()
        tokens = tuple(TokenLine(token.number, token.day, token.status, ByLanguage(en=opd.name_en, hi=opd.name_hi)) for token, opd in rows)
    _audit(session, scope.operator_id, OPENED, item, now)
    return ItemDetail(
        _row(found), item.held_by, item.closed_at is not None,
        patient.age if patient else None, patient.sex if patient else None, patient.district if patient else None,
        identity.phone or (person.phone if person else None), identity.language,
        tokens, _history(session, item, identity),
    )


def _history(session: Session, item: InboxItem, identity: Identity) -> tuple[Said, ...]:
    """Return the chat's latest messages in order: the bot's (outbox rows), the patient's kept words, the coordinators'."""
    said: list[Said] = []
    coordinators_words = human.coordinator_says("").text.msgid
    for row in session.scalars(
        # The bot's messages (an SMS copy of one is the same message; a call or a button's ack is none).
        select(OutboxMessage)
        .where(OutboxMessage.identity_id == identity.id, OutboxMessage.kind.in_(("reply", "push")), OutboxMessage.fallback_of.is_(None))
        .order_by(OutboxMessage.id.desc()).limit(HISTORY)
    ):
        if reply_from_json(row.payload).text.msgid == coordinators_words:
            continue  # a coordinator's reply: listed from inbox_messages, with who wrote it
        said.append(Said(row.due_at, "bot", payload=dict(row.payload), language=row.language))
    for message in session.scalars(select(InboxMessage).where(InboxMessage.item_id == item.id).order_by(InboxMessage.id)):
        said.append(Said(message.at, "patient" if message.direction == "in" else "coordinator", message.text))
    said.sort(key=lambda one: one.at)
    return tuple(said[-HISTORY:])


def take_over(session: Session, item_id: int, scope: Scope, now: dt.datetime, minutes: int = DEFAULT_TAKEOVER_MINUTES) -> list[Notice]:
    """Give an open item to this coordinator, unless someone holds it; the bot stops answering the chat.

    One conditional UPDATE decides: of two coordinators at once, one changes the row and the
    other finds it held (InboxError "taken").
    """
    found = _visible(session, item_id, scope)
    item: InboxItem = found[0]
    taken = session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id, InboxItem.held_by.is_(None), InboxItem.closed_at.is_(None))
        .values(held_by=scope.operator_id, held_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise InboxError("taken" if item.closed_at is None else "closed")
    session.execute(update(Conversation).where(Conversation.identity_id == item.identity_id).values(held_by=scope.operator_id))
    _audit(session, scope.operator_id, TOOK_OVER, item, now)
    return [
        Notify(item.identity_id, human.taken_over(), exact=True),
        # Not answered in time, the chat goes back to the queue for another coordinator.
        ScheduleTimer(EXPIRY_TIMER, now + dt.timedelta(minutes=minutes), {"item": item_id, "operator": scope.operator_id}, key=_key(item_id)),
    ]


def _held(session: Session, item_id: int, scope: Scope) -> InboxItem:
    """Return the item this coordinator holds, locked, or raise InboxError."""
    _visible(session, item_id, scope)
    item = session.scalars(select(InboxItem).where(InboxItem.id == item_id).with_for_update()).one()
    if item.closed_at is not None:
        raise InboxError("closed")
    if item.held_by != scope.operator_id:
        raise InboxError("not_held")
    return item


def reply(session: Session, item_id: int, scope: Scope, text: str, now: dt.datetime) -> list[Notice]:
    """Send a coordinator's words to the patient, on their own channel, and keep them in the conversation."""
    text = text.strip()[:MAX_REPLY]
    if not text:
        return []
    item = _held(session, item_id, scope)
    session.add(InboxMessage(item_id=item.id, direction="out", text=text, operator_id=scope.operator_id, at=now))
    _audit(session, scope.operator_id, REPLIED, item, now)
    # Answered: the takeover no longer returns to the queue by itself.
    return [Notify(item.identity_id, human.coordinator_says(text), exact=True), CancelTimer(EXPIRY_TIMER, _key(item.id))]


def hand_back(session: Session, item_id: int, scope: Scope, now: dt.datetime) -> list[Notice]:
    """Close an item (held by this coordinator, or held by nobody) and give the chat back to the bot, at the menu."""
    _visible(session, item_id, scope)
    item = session.scalars(select(InboxItem).where(InboxItem.id == item_id).with_for_update()).one()
    if item.closed_at is not None:
        raise InboxError("closed")
    if item.held_by not in (None, scope.operator_id):
        raise InboxError("not_held")
    was_held = item.held_by is not None
    item.closed_at, item.open_identity_id = now, None
    conv = session.scalars(select(Conversation).where(Conversation.identity_id == item.identity_id).with_for_update()).first()
    identity = session.get(Identity, item.identity_id)
    registered = identity is not None and identity.person_id is not None and session.get(Patient, identity.person_id) is not None
    if conv is not None:
        conv.held_by, conv.misses = None, 0
    if conv is not None and registered:
        # As MENU does: what was half-done is dropped; danger signs already said stay with the patient.
        conv.step, conv.data = "menu", {key: value for key, value in (conv.data or {}).items() if key in KEPT_ON_MOVE}
    _audit(session, scope.operator_id, HANDED_BACK, item, now)
    notices: list[Notice] = [CancelTimer(EXPIRY_TIMER, _key(item.id))]
    if was_held:
        notices += [Notify(item.identity_id, back, exact=True) for back in human.handed_back(registered)]
    return notices


def release_unanswered(session: Session, timer: Timer, now: dt.datetime) -> None:
    """The takeover timer's handler: a takeover with no reply returns to the queue, and the bot answers again meanwhile."""
    item_id, operator_id = timer.payload.get("item"), timer.payload.get("operator")
    item = session.scalars(select(InboxItem).where(InboxItem.id == item_id).with_for_update()).first()
    if item is None or item.closed_at is not None or item.held_by != operator_id:
        return  # handed back, or released and taken again meanwhile
    answered = session.scalar(
        select(InboxMessage.id).where(InboxMessage.item_id == item.id, InboxMessage.direction == "out", InboxMessage.at >= item.held_at).limit(1)
    )
    if answered is not None:
        return
    item.held_by, item.held_at = None, None
    session.execute(update(Conversation).where(Conversation.identity_id == item.identity_id).values(held_by=None))
    session.add(OperatorAction(operator_id=operator_id, action=RELEASED, item_id=item.id, identity_id=item.identity_id, at=now))


TIMER_HANDLERS = {EXPIRY_TIMER: release_unanswered}


def _key(item_id: int) -> str:
    return f"inbox:{item_id}"


def _audit(session: Session, operator_id: int, action: str, item: InboxItem, now: dt.datetime) -> None:
    session.add(OperatorAction(operator_id=operator_id, action=action, item_id=item.id, identity_id=item.identity_id, at=now))


def audit_log(session: Session, item_id: int) -> list[tuple[dt.datetime, str, str]]:
    """Return what operators did to an item: (when, who, what), oldest first."""
    rows = session.execute(
        select(OperatorAction.at, Operator.username, OperatorAction.action)
        .join(Operator, Operator.id == OperatorAction.operator_id)
        .where(OperatorAction.item_id == item_id).order_by(OperatorAction.id)
    ).all()
    return [(at, name, action) for at, name, action in rows]
