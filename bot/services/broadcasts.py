"""Broadcasts: an operator's health advisory to a segment of opted-in patients — compose, count, approve, follow.

An operator (`teleopd broadcast`, the dashboard's Broadcasts page) writes the advisory in each
language, or picks an approved template (flows/steps/advisories.py TEMPLATES), and chooses a
segment: states, districts, languages, channels, patients seen in the last N days. The
segment's count is a SQL count over patients and their identities, only those who said yes to
advisories (their own consent question) and did not send STOP, one identity a person (the one
they last wrote from, as every unprompted message goes: bot/services/identities.py).

A broadcast to more patients than TELEOPD_BROADCAST_APPROVAL_ABOVE waits for a second
operator's approval (may_send_broadcast: any signed-in operator but its author, until
operator roles say more). Sending is bot/services/broadcast_sender.py's durable job.

    draft ──send──▶ sending ──(every recipient queued)──▶ done
      └──send (above the threshold)──▶ awaiting_approval ──approve──▶ approved ──send──▶ sending
    draft, awaiting_approval, approved, sending ──cancel──▶ cancelled
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.services.operators import ACTING_ROLES
from bot.store.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastStatus,
    Consultation,
    Identity,
    Operator,
    OutboxMessage,
    OutboxStatus,
    Patient,
    Person,
    RecipientStatus,
    Role,
)
from flows.engine import LANGUAGES, ROMANISED_HINDI
from flows.messages import ByLanguage, Reply
from flows.steps.advisories import TEMPLATES, advisory
from flows.understanding.india import state_by_code

# An advisory is read on a phone, and by SMS in numbered parts: a few sentences at most.
MAX_TEXT = 480
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class BroadcastRefused(Exception):
    """An operator's request that cannot be done; `code` says why (the CLI and the dashboard word it)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Segment:
    """Who a broadcast goes to, among patients who opted in to advisories; an empty filter takes everyone."""

    states: tuple[str, ...] = ()  # ISO 3166-2 codes: "IN-UP"
    districts: tuple[str, ...] = ()  # as patients typed them; compared without case
    languages: tuple[str, ...] = ()  # "en", "hi", "hi-Latn"
    channels: tuple[str, ...] = ()  # "telegram", "whatsapp", "sms", "web"
    seen_within_days: int | None = None  # only patients with a consultation in the last N days

    def to_json(self) -> dict[str, Any]:
        """Return the segment as the broadcasts table keeps it."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Segment:
        """Return a segment kept in the broadcasts table."""
        days = data.get("seen_within_days")
        return cls(
            states=tuple(data.get("states") or ()), districts=tuple(data.get("districts") or ()),
            languages=tuple(data.get("languages") or ()), channels=tuple(data.get("channels") or ()),
            seen_within_days=int(days) if days is not None else None,
        )


def audience_query(segment: Segment, now: dt.datetime) -> Select[Any]:
    """Return the SELECT of a segment's recipients now: (identity id, channel, language), one identity a person.

    Only registered patients who said yes to advisories, on an identity that has not sent STOP.
    """
    language = func.coalesce(Identity.language, Person.language)
    query = (
        select(Identity.id, Identity.channel, language.label("language"))
        .join(Person, Person.id == Identity.person_id)
        .join(Patient, Patient.person_id == Person.id)
        .where(Person.role == Role.PATIENT, Patient.advisories_opted_in_at.is_not(None), Identity.opted_out.is_(False))
    )
    if segment.states:
        query = query.where(Patient.state_code.in_(segment.states))
    if segment.districts:
        query = query.where(func.lower(Patient.district).in_([d.strip().lower() for d in segment.districts]))
    if segment.languages:
        query = query.where(language.in_(segment.languages))
    if segment.channels:
        query = query.where(Identity.channel.in_(segment.channels))
    if segment.seen_within_days is not None:
        since = now - dt.timedelta(days=segment.seen_within_days)
        query = query.where(exists().where(Consultation.patient_id == Person.id, Consultation.called_at >= since))
    # One identity a person: none of theirs (on the segment's channels) was written from later.
    other = aliased(Identity)
    last, other_last = func.coalesce(Identity.last_inbound_at, EPOCH), func.coalesce(other.last_inbound_at, EPOCH)
    better = [other.person_id == Identity.person_id, other.id != Identity.id, other.opted_out.is_(False)]
    if segment.channels:
        better.append(other.channel.in_(segment.channels))
    query = query.where(~exists().where(*better, or_(other_last > last, and_(other_last == last, other.id > Identity.id))))
    return query


def count_audience(session: Session, segment: Segment, now: dt.datetime) -> int:
    """Return how many patients a segment reaches now."""
    return session.scalar(select(func.count()).select_from(audience_query(segment, now).subquery())) or 0


@dataclass(frozen=True)
class Preview:
    """A segment's count, by channel and by language, and the advisory as each language reads it."""

    total: int
    by_channel: dict[str, int]
    by_language: dict[str, int]
    reply: Reply


def preview(session: Session, broadcast: Broadcast, now: dt.datetime) -> Preview:
    """Return a broadcast's audience now, counted per channel and language, with its advisory."""
    rows = audience_query(Segment.from_json(broadcast.segment), now).subquery()
    by_channel: dict[str, int] = {}
    by_language: dict[str, int] = {}
    for channel, language, count in session.execute(select(rows.c.channel, rows.c.language, func.count()).group_by(rows.c.channel, rows.c.language)):
        by_channel[channel] = by_channel.get(channel, 0) + count
        by_language[language] = by_language.get(language, 0) + count
    return Preview(sum(by_channel.values()), by_channel, by_language, advisory_of(broadcast))


def advisory_of(broadcast: Broadcast) -> Reply:
    """Return the advisory a broadcast sends (romanised Hindi readers get English when it has no text of theirs)."""
    if broadcast.template_key:
        return advisory(template=broadcast.template_key)
    texts = broadcast.texts or {}
    return advisory(ByLanguage(en=texts["en"], hi=texts["hi"], latn=texts.get(ROMANISED_HINDI)))


def create(
    session: Session, author_id: int, segment: Segment, now: dt.datetime,
    texts: dict[str, str] | None = None, template_key: str | None = None,
) -> Broadcast:
    """Write a draft broadcast, checking its texts (English and Hindi; romanised Hindi optional, plain ASCII) or template."""
    if (texts is None) == (template_key is None):
        raise BroadcastRefused("texts_or_template", "give the advisory's texts or a template, not both")
    if template_key is not None and template_key not in TEMPLATES:
        raise BroadcastRefused("unknown_template", f"no approved template {template_key!r}; there are: {', '.join(sorted(TEMPLATES))}")
    kept: dict[str, str] = {}
    for lang, text in (texts or {}).items():
        text = " ".join((text or "").split())
        if lang not in LANGUAGES:
            raise BroadcastRefused("language", f"no such language {lang!r}: {', '.join(LANGUAGES)}")
        if text:
            kept[lang] = text
    if texts is not None:
        if "en" not in kept or "hi" not in kept:
            raise BroadcastRefused("texts_missing", "an advisory needs its English and its Hindi text")
        too_long = [lang for lang, text in kept.items() if len(text) > MAX_TEXT]
        if too_long:
            raise BroadcastRefused("too_long", f"at most {MAX_TEXT} characters a language: {', '.join(too_long)}")
        latin = kept.get(ROMANISED_HINDI, "")
        if not (latin.isascii() and latin.isprintable()):
            # Romanised Hindi is read on phones without Devanagari, and must stay GSM-7 by SMS.
            raise BroadcastRefused("not_ascii", "the romanised Hindi text must be plain ASCII letters")
    if segment.seen_within_days is not None and segment.seen_within_days < 1:
        raise BroadcastRefused("segment", "'seen within days' is a number of days from 1")
    # "UP", "up" or "IN-UP": the ISO 3166-2 code patients' rows keep.
    places = [state_by_code(code) for code in segment.states]
    if None in places:
        raise BroadcastRefused("segment", f"not a state or union territory code: {', '.join(segment.states)}")
    segment = replace(segment, states=tuple(place.code for place in places if place is not None))
    author = session.get(Operator, author_id)
    if author is None or not may_broadcast_to(author, segment):
        raise BroadcastRefused("not_yours", "a coordinator bound to a state broadcasts to that state alone; a viewer broadcasts nothing")
    broadcast = Broadcast(
        texts=kept, template_key=template_key, segment=segment.to_json(), status=BroadcastStatus.DRAFT,
        author_id=author_id, audience=0, recipients=0, expanded_through=0, expanded=False, created_at=now,
    )
    session.add(broadcast)
    session.flush()
    return broadcast


def may_broadcast_to(operator: Operator, segment: Segment) -> bool:
    """Tell whether an operator may write or send to a segment: admins and coordinators, one bound to a state for that state alone."""
    if operator.disabled_at is not None or operator.role not in ACTING_ROLES:
        return False
    return operator.state_code is None or set(segment.states) == {operator.state_code}


def may_send_broadcast(operator: Operator, broadcast: Broadcast) -> bool:
    """Tell whether an operator may approve (let go) a broadcast that needs a second pair of eyes.

    An admin or coordinator who may broadcast to its segment, and is not its author.
    """
    return may_broadcast_to(operator, Segment.from_json(broadcast.segment)) and operator.id != broadcast.author_id


def _get(session: Session, broadcast_id: int) -> Broadcast:
    broadcast = session.get(Broadcast, broadcast_id, with_for_update=True, populate_existing=True)
    if broadcast is None:
        raise BroadcastRefused("not_found", f"no broadcast {broadcast_id}")
    return broadcast


def send(session: Session, broadcast_id: int, operator: Operator, now: dt.datetime, approval_above: int) -> Broadcast:
    """Start sending a draft or approved broadcast; a draft above the threshold goes for approval instead."""
    broadcast = _get(session, broadcast_id)
    if not may_broadcast_to(operator, Segment.from_json(broadcast.segment)):
        raise BroadcastRefused("not_yours", "a coordinator bound to a state broadcasts to that state alone; a viewer broadcasts nothing")
    if broadcast.status == BroadcastStatus.DRAFT:
        broadcast.audience = count_audience(session, Segment.from_json(broadcast.segment), now)
        if broadcast.audience > approval_above:
            broadcast.status = BroadcastStatus.AWAITING_APPROVAL
            return broadcast
    elif broadcast.status != BroadcastStatus.APPROVED:
        raise BroadcastRefused("status", f"broadcast {broadcast.id} is {broadcast.status}: only a draft or an approved one is sent")
    broadcast.status = BroadcastStatus.SENDING
    broadcast.started_at = now
    return broadcast


def approve(session: Session, broadcast_id: int, operator: Operator, now: dt.datetime) -> Broadcast:
    """Approve a broadcast awaiting approval, as a second operator."""
    broadcast = _get(session, broadcast_id)
    if broadcast.status != BroadcastStatus.AWAITING_APPROVAL:
        raise BroadcastRefused("status", f"broadcast {broadcast.id} is {broadcast.status}, not awaiting approval")
    if not may_send_broadcast(operator, broadcast):
        raise BroadcastRefused("second_operator", "a broadcast is approved by a second operator, not by its author")
    broadcast.status = BroadcastStatus.APPROVED
    broadcast.approver_id = operator.id
    broadcast.approved_at = now
    return broadcast


def cancel(session: Session, broadcast_id: int, now: dt.datetime) -> Broadcast:
    """Stop a broadcast: nothing more is queued (what is queued already goes)."""
    broadcast = _get(session, broadcast_id)
    if broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
        raise BroadcastRefused("status", f"broadcast {broadcast.id} is {broadcast.status} already")
    broadcast.status = BroadcastStatus.CANCELLED
    broadcast.finished_at = now
    return broadcast


@dataclass(frozen=True)
class Progress:
    """Where a broadcast's recipients are: to queue, on their way, sent, delivered, failed, not sent; and the opt-outs since."""

    audience: int
    recipients: int
    pending: int  # not queued yet
    queued: int  # in the outbox, not sent yet
    sent: int
    delivered: int
    failed: int
    not_sent: int  # stopped (STOP, or advisories revoked) before their turn, or at the month's cap
    opted_out: int  # recipients who stopped advisories or all messages since it started


def progress(session: Session, broadcast: Broadcast) -> Progress:
    """Return a broadcast's progress, from its recipients and their outbox rows."""
    counts: dict[str, int] = {}
    rows = session.execute(
        select(BroadcastRecipient.status, OutboxMessage.status, OutboxMessage.provider_status, func.count())
        .outerjoin(OutboxMessage, OutboxMessage.id == BroadcastRecipient.outbox_id)
        .where(BroadcastRecipient.broadcast_id == broadcast.id)
        .group_by(BroadcastRecipient.status, OutboxMessage.status, OutboxMessage.provider_status)
    )
    for recipient, outbox, provider, count in rows:
        counts[_bucket(recipient, outbox, provider)] = counts.get(_bucket(recipient, outbox, provider), 0) + count
    opted_out = 0
    if broadcast.started_at is not None:
        since = broadcast.started_at
        opted_out = session.scalar(
            select(func.count()).select_from(BroadcastRecipient)
            .join(Identity, Identity.id == BroadcastRecipient.identity_id)
            .outerjoin(Patient, Patient.person_id == Identity.person_id)
            .where(
                BroadcastRecipient.broadcast_id == broadcast.id,
                or_(Identity.opted_out_at >= since, Patient.advisories_opted_out_at >= since),
            )
        ) or 0
    return Progress(
        audience=broadcast.audience, recipients=sum(counts.values()), pending=counts.get("pending", 0), queued=counts.get("queued", 0),
        sent=counts.get("sent", 0), delivered=counts.get("delivered", 0), failed=counts.get("failed", 0),
        not_sent=counts.get("not_sent", 0), opted_out=opted_out,
    )


def _bucket(recipient: str, outbox: str | None, provider: str | None) -> str:
    if recipient == RecipientStatus.PENDING:
        return "pending"
    if recipient == RecipientStatus.SKIPPED or outbox == OutboxStatus.SUPPRESSED:
        return "not_sent"
    if outbox == OutboxStatus.DELIVERED or provider in ("delivered", "read"):
        return "delivered"
    if outbox == OutboxStatus.REROUTED:  # WhatsApp could not deliver it: its SMS copy went instead
        return "sent"
    if outbox == OutboxStatus.FAILED or provider in ("failed", "undelivered"):
        return "failed"
    return "sent" if outbox == OutboxStatus.SENT else "queued"


def listed(session: Session, limit: int = 50) -> list[Broadcast]:
    """Return the latest broadcasts, newest first."""
    return list(session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)))
