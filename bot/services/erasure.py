"""A patient's right to erasure (India's DPDP Act 2023, s.12): what is personal, and how it goes.

Erased, in one transaction: the person's name, phone, age, sex, district and consent (the
patients row), the family members registered under them, every identity's address (a phone
number or chat id becomes a random placeholder, so the row stays unique and nothing can be
worked back), the conversations, what they told us (token and consultation intake), the
doctors' notes and advice, the outbox's payloads and addresses, and the voice line of their
numbers (its "call me") with its call-back requests (bot/services/voice.py), and the photos,
documents and voice notes they sent (their rows marked here, their files deleted by the media
fetcher's next pass, bot/media/fetcher.py). What staff were told keeps
its words without the patient's: their doctors' summaries, and the chats (and a booking under
way) of the health workers who booked them as walk-ins. Live tokens are cancelled first, so
no doctor calls an erased patient. On SQLite the write-ahead log, which still holds the old
pages, is folded into the database file and emptied once the erasure has committed.

Kept: the anonymised consultation log (date, OPD, doctor, state/UT, times, outcome,
rating) and token rows (OPD, day, number), so every report adds up the same before and
after. The one message still to go out — "your data has been deleted" — keeps its address
until it is sent; a timer scrubs it (and any row a worker was sending) an hour later.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.outbox.enqueue import apply_notices
from bot.outbox.timers import TimerStatus, schedule
from bot.services.calls import cancel_call, queue_moved
from bot.services.media import erase_media
from bot.services.voice_lines import voice_lines_erased
from bot.store.db import CHECKPOINT_AFTER_COMMIT
from bot.store.models import (
    LIVE_TOKEN_STATUSES,
    Consultation,
    Conversation,
    Identity,
    InboundMessage,
    InboxItem,
    InboxMessage,
    OutboxMessage,
    OutboxStatus,
    Patient,
    Person,
    Role,
    Timer,
    Token,
    TokenStatus,
    utcnow,
)
from flows.ports import Cancelled
from flows.steps import visit
from flows.steps.doctor import HISTORY_ADVICE_MAX, HISTORY_NOTE_MAX, shortened

log = logging.getLogger(__name__)

SCRUB_TIMER = "erasure_scrub"
# Long enough for the confirmation to be sent (retries, SMS fallback), short enough that
# the address does not linger.
SCRUB_AFTER = dt.timedelta(hours=1)
ERASED_ERROR = "erased"
# What a doctor's or health worker's old message shows where it named an erased patient.
REDACTED = "…"
# The keys of a token's intake that hold the patient's own words (flows.ports.Intake).
OWN_WORDS = ("text", "duration_text")


@dataclass(frozen=True)
class Erasure:
    """What one erasure removed, for the operator's command and the log."""

    people: int = 0  # the person and the family members registered under them
    identities: int = 0
    tokens_cancelled: int = 0
    consultations_anonymised: int = 0
    messages_scrubbed: int = 0
    # Who is to be told (flows/steps/visit.py cancelled_notices): the doctors whose calls the
    # cancelled tokens ended, and whoever moved up to place 3 behind them.
    cancelled: tuple[Cancelled, ...] = ()


def placeholder_address() -> str:
    """Return a random, unique stand-in for an erased address (never derived from it)."""
    return f"erased:{secrets.token_hex(12)}"


def erase_identity(session: Session, identity: Identity, now: dt.datetime) -> Erasure:
    """Erase the person behind an identity (or, for someone never registered, the identity alone)."""
    person = identity.person
    if person is None:
        return _erase(session, [], [identity], now)
    return erase_person(session, person, now)


def erase_by_phone(session: Session, phone: str, now: dt.datetime | None = None) -> tuple[list[Erasure], list[str]]:
    """Erase the patients a number belongs to, and chats from it never registered; name the staff left alone.

    A family member registered by someone shares their number and goes with them.
    """
    now = now or utcnow()
    holders = {
        *session.scalars(select(Person).where(Person.phone == phone)),
        *session.scalars(select(Person).join(Identity, Identity.person_id == Person.id).where(Identity.phone == phone)),
    }
    erased, staff = [], []
    for person in sorted(holders, key=lambda p: p.id):
        if person.role != Role.PATIENT:
            staff.append(f"{person.role} {person.name} (id {person.id})")
        elif person.guardian_id is None or person.guardian_id not in {h.id for h in holders}:
            erased.append(erase_person(session, person, now))
    loose = list(session.scalars(select(Identity).where(Identity.phone == phone, Identity.person_id.is_(None))))
    if loose:
        erased.append(_erase(session, [], loose, now))
    # No flow turn carries this erasure (an operator's command): its notices are applied here.
    apply_notices(session, [notice for erasure in erased for told in erasure.cancelled for notice in visit.cancelled_notices(told, now)], now)
    return erased, staff


def erase_person(session: Session, person: Person, now: dt.datetime) -> Erasure:
    """Erase a patient and the family members registered under them; keep the anonymised log."""
    # Lock the person first: their other identities may be writing at this moment.
    session.execute(select(Person.id).where(Person.id == person.id).with_for_update())
    family = [person, *session.scalars(select(Person).where(Person.guardian_id == person.id).order_by(Person.id))]
    identities = list(session.scalars(select(Identity).where(Identity.person_id.in_([p.id for p in family])).order_by(Identity.id)))
    return _erase(session, family, identities, now)


def _erase(session: Session, people: list[Person], identities: list[Identity], now: dt.datetime) -> Erasure:
    person_ids = [p.id for p in people]
    # The voice line of their numbers (its language, "call me") and its call-back requests go too.
    phones = {p.phone for p in people if p.phone} | {i.phone or i.address for i in identities if i.phone or i.channel == "sms"}
    identities = identities + [line for line in voice_lines_erased(session, phones, person_ids) if line not in identities]
    identity_ids = [i.id for i in identities]
    cancelled, told = _cancel_live_tokens(session, person_ids, now) if person_ids else (0, ())
    consultations = 0
    if person_ids:
        _redact_staff_messages(session, people, person_ids)
        session.execute(update(Token).where(Token.person_id.in_(person_ids)).values(intake={}, red_flags=[]))
        consultations = session.execute(
            update(Consultation).where(Consultation.patient_id.in_(person_ids)).values(intake={}, notes="", advice="")
        ).rowcount
        for patient in session.scalars(select(Patient).where(Patient.person_id.in_(person_ids))):
            session.delete(patient)
        for person in people:
            person.name, person.phone, person.guardian_id = "", None, None
    scrubbed = _scrub_outbox(session, identity_ids, keep_pending=True)
    # Their photos, documents and voice notes: the rows are marked, the media fetcher deletes the files.
    erase_media(session, person_ids, identity_ids)
    for identity in identities:
        new_address = placeholder_address()
        # The web chat's message ids begin with the chat's own id (webhooks/webchat.py).
        prefix = f"{identity.address}:"
        session.execute(
            update(InboundMessage)
            .where(InboundMessage.identity_id == identity.id, InboundMessage.provider_id.startswith(prefix, autoescape=True))
            .values(provider_id=f"{new_address}:" + func.substr(InboundMessage.provider_id, len(prefix) + 1))
        )
        identity.address, identity.phone, identity.person = new_address, None, None
    if identity_ids:
        session.execute(update(Conversation).where(Conversation.identity_id.in_(identity_ids)).values(step=None, data={}, held_by=None))
        # The coordinators' inbox kept their own words: gone, and an open item closes (the audit log names no one).
        items = select(InboxItem.id).where(InboxItem.identity_id.in_(identity_ids))
        session.execute(delete(InboxMessage).where(InboxMessage.item_id.in_(items)))
        session.execute(
            update(InboxItem).where(InboxItem.identity_id.in_(identity_ids), InboxItem.closed_at.is_(None)).values(closed_at=now, open_identity_id=None)
        )
        session.execute(
            update(Timer)
            .where(Timer.identity_id.in_(identity_ids), Timer.status == TimerStatus.PENDING)
            .values(status=TimerStatus.CANCELLED, payload={})
        )
        schedule(session, SCRUB_TIMER, now + SCRUB_AFTER, {"identities": identity_ids}, key=f"erasure:{identity_ids[0]}")
    session.flush()
    session.info[CHECKPOINT_AFTER_COMMIT] = True  # SQLite's log still holds what was erased
    log.info("erased %s people, %s identities; %s live tokens cancelled", len(people), len(identities), cancelled)
    return Erasure(len(people), len(identities), cancelled, consultations, scrubbed, told)


def _personal_values(session: Session, people: list[Person], person_ids: list[int]) -> set[str]:
    """Return what staff's messages may quote of these people: names, phones, their own words, notes."""
    values = {p.name for p in people} | {p.phone for p in people if p.phone}
    values |= {p.district for p in session.scalars(select(Patient).where(Patient.person_id.in_(person_ids)))}
    for intake in session.scalars(select(Token.intake).where(Token.person_id.in_(person_ids))):
        # Their own words only: the rest are codes, and the name of the health worker who booked.
        values |= {v for k, v in (intake or {}).items() if k in OWN_WORDS and isinstance(v, str)}
    for notes, advice in session.execute(select(Consultation.notes, Consultation.advice).where(Consultation.patient_id.in_(person_ids))):
        values |= {*notes.splitlines(), *advice.splitlines()}
        # As later summaries list them (flows/steps/doctor.py): on one line, cut at a word.
        values |= {shortened(notes, HISTORY_NOTE_MAX).removesuffix("…"), shortened(advice, HISTORY_ADVICE_MAX).removesuffix("…")}
    # Short values ("5", "f") would blank unrelated words.
    return {v.strip() for v in values if v and len(v.strip()) >= 3}


def _redacted(value: object, values: list[str]) -> object:
    if isinstance(value, str):
        for personal in values:
            value = value.replace(personal, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _redacted(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, values) for v in value]
    return value


def _redact_staff_messages(session: Session, people: list[Person], person_ids: list[int]) -> None:
    """Take the patient out of what staff were told: their doctors' summaries, their health workers' chats.

    Doctors' messages since the patient's first token (the summary quotes name and
    complaint); every message of the health workers who booked for them (the booking's own
    questions name the patient before there is a token: "How old is …?"), and what a health
    worker's chat holds of a booking begun again. Each message stays readable (and a pending
    one still goes), with the personal words replaced: the web chat shows these rows.
    """
    intakes = list(session.scalars(select(Token.intake).where(Token.person_id.in_(person_ids))))
    workers = {i["health_worker_identity"] for i in intakes if isinstance((i or {}).get("health_worker_identity"), int)}
    doctors = set(session.scalars(select(Consultation.doctor_id).where(Consultation.patient_id.in_(person_ids))))
    since = session.scalar(select(func.min(Token.created_at)).where(Token.person_id.in_(person_ids)))
    if not workers and (not doctors or since is None):
        return
    # Longest first: a shortened advice holds its lines, and must go whole before they do.
    values = sorted(_personal_values(session, people, person_ids), key=len, reverse=True)
    told = [OutboxMessage.identity_id.in_(workers)]
    if doctors and since is not None:
        told.append(and_(OutboxMessage.identity_id.in_(select(Identity.id).where(Identity.person_id.in_(doctors))), OutboxMessage.created_at >= since))
    for row in session.scalars(select(OutboxMessage).where(or_(*told))):
        payload, rendered = _redacted(row.payload, values), _redacted(row.rendered, values)
        if payload != row.payload:
            row.payload = payload  # type: ignore[assignment]
        if rendered != row.rendered:
            row.rendered = rendered  # type: ignore[assignment]
    for conversation in session.scalars(select(Conversation).where(Conversation.identity_id.in_(workers))):
        data = _redacted(conversation.data, values)
        if data != conversation.data:
            conversation.data = data  # type: ignore[assignment]


def _cancel_live_tokens(session: Session, person_ids: list[int], now: dt.datetime) -> tuple[int, tuple[Cancelled, ...]]:
    """Cancel waiting and called tokens, closing a call a doctor is waiting on; return how many, and who is to be told."""
    tokens = list(
        session.scalars(
            select(Token).where(Token.person_id.in_(person_ids), Token.status.in_(LIVE_TOKEN_STATUSES)).with_for_update()
        )
    )
    told: list[Cancelled] = []
    for token in tokens:
        called = token.status != TokenStatus.WAITING
        token.status, token.cancelled_at = TokenStatus.CANCELLED, now
        session.flush()
        ended = cancel_call(session, token, now) if called else None
        if ended is not None:  # the doctor is freed, and to be told
            told.append(Cancelled(call=ended))
    for opd_id, day in sorted({(token.opd_id, token.day) for token in tokens}):
        # Everyone behind moved up: whoever reached place 3 is to be told to get ready.
        told.append(Cancelled(queue=queue_moved(session, opd_id, day, now)))
    return len(tokens), tuple(told)


def _scrub_outbox(session: Session, identity_ids: list[int], keep_pending: bool) -> int:
    """Blank the outbox rows to these identities; pending ones are not sent.

    Rows a worker holds, and (with keep_pending) the ack of the button just pressed, are
    left for the scrub timer.
    """
    if not identity_ids:
        return 0
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.identity_id.in_(identity_ids)))
    count = 0
    for row in rows:
        if row.status == OutboxStatus.SENDING:
            continue
        if row.status == OutboxStatus.PENDING:
            if keep_pending and row.kind == "ack":  # answers the button just pressed
                continue
            row.status, row.error_code = OutboxStatus.SUPPRESSED, ERASED_ERROR
        row.address, row.payload, row.rendered, row.error = placeholder_address(), {}, None, None
        count += 1
    return count


def on_erasure_scrub(session: Session, timer: object, now: dt.datetime) -> None:
    """An hour after an erasure: blank what was still on its way out then."""
    payload = getattr(timer, "payload", {}) or {}
    ids = [int(i) for i in payload.get("identities", [])]
    for row in session.scalars(select(OutboxMessage).where(OutboxMessage.identity_id.in_(ids))):
        if row.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            row.status, row.error_code = OutboxStatus.SUPPRESSED, ERASED_ERROR
        row.address, row.payload, row.rendered, row.error = placeholder_address(), {}, None, None
    session.info[CHECKPOINT_AFTER_COMMIT] = True


TIMER_HANDLERS = {SCRUB_TIMER: on_erasure_scrub}
