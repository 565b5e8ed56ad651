"""Identities: one address on one channel, created on first contact."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.store.db import Database
from bot.store.models import Conversation, Identity, Person, utcnow

log = logging.getLogger(__name__)


def dialect_insert(session: Session):  # type: ignore[no-untyped-def]
    """Return the dialect's INSERT, which knows ON CONFLICT DO NOTHING."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def ensure_identity(session: Session, channel: str, address: str) -> Identity:
    """Return the identity for an address, creating it (and its conversation) on first contact."""
    # Every message but a person's first finds both: one round trip instead of three.
    found = session.execute(
        select(Identity, Conversation.id)
        .outerjoin(Conversation, Conversation.identity_id == Identity.id)
        .where(Identity.channel == channel, Identity.address == address)
    ).first()
    if found is not None and found[1] is not None:
        return found[0]
    create_identity(session, channel, address)
    return session.scalars(select(Identity).where(Identity.channel == channel, Identity.address == address)).one()


def create_identity(session: Session, channel: str, address: str) -> None:
    """Make the identity at an address and its conversation, either or both, where missing: two
    statements, whoever else makes them at the same moment (ON CONFLICT DO NOTHING).

    The conversation's INSERT finds its identity's id itself (INSERT … SELECT), so the caller
    that has just missed both (bot/dispatch.py, on a first contact) pays no read in between.
    """
    insert = dialect_insert(session)
    now = utcnow()
    session.execute(
        insert(Identity)
        .values(channel=channel, address=address, opted_out=False, created_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "address"])
    )
    # SQLite parses an INSERT … SELECT … ON CONFLICT only when the SELECT has a WHERE
    # (https://sqlite.org/lang_upsert.html, "Parsing Ambiguity"): this one always has.
    owner = select(
        Identity.id, literal({}, Conversation.data.type), literal(0), literal(now, Conversation.updated_at.type),
    ).where(Identity.channel == channel, Identity.address == address)
    session.execute(
        insert(Conversation)
        .from_select(["identity_id", "data", "version", "updated_at"], owner)
        .on_conflict_do_nothing(index_elements=["identity_id"])
    )


def set_opted_out(db: Database, channel: str, address: str, opted_out: bool, at: dt.datetime) -> bool:
    """Record that a user blocked (or unblocked) us on a channel; return True when it changed."""
    with db.write() as session:
        identity = ensure_identity(session, channel, address)
        if identity.opted_out == opted_out:
            return False
        identity.opted_out = opted_out
        identity.opted_out_at = at if opted_out else None
        log.info("identity %s %s on %s", identity.id, "opted out" if opted_out else "opted back in", channel)
        return True


def link_verified_phone(session: Session, identity: Identity, phone: str) -> None:
    """Note a number the provider vouches for, and join the identity to the person it belongs to.

    Only provider-verified numbers link identities (a WhatsApp or SMS sender, a contact a
    Telegram user shared of themselves): a typed number could be anyone's.
    """
    identity.phone = phone
    others = session.scalars(
        select(Identity).where(Identity.phone == phone, Identity.id != identity.id).order_by(Identity.id)
    ).all()
    if identity.person_id is None:
        owner = next((other.person_id for other in others if other.person_id is not None), None)
        if owner is not None:
            identity.person_id = owner
            session.flush()
            session.refresh(identity)
            log.info("identity %s linked to person %s by its verified number", identity.id, owner)
    if identity.person_id is not None:
        for other in others:
            if other.person_id is None:
                other.person_id = identity.person_id


def notification_identity(session: Session, identity_id: int, about: int | None = None) -> Identity | None:
    """Return where a person should hear from us: their identity used last, among those not opted out.

    One person can write from Telegram, WhatsApp and SMS (linked by a verified number); an
    unprompted message goes where they last spoke to us, or to the identity asked for
    when it is the only one or all are silent. A message about someone else's token (`about`,
    a person who is neither the identity's owner nor in their care: a walk-in whose number
    is shared) goes to the identity asked for only, never to the owner's other chats.
    """
    identity = session.get(Identity, identity_id)
    if identity is None or identity.person_id is None:
        return identity
    if about is not None and about != identity.person_id:
        guardian = session.scalar(select(Person.guardian_id).where(Person.id == about))
        if guardian != identity.person_id:
            return identity
    candidates = session.scalars(
        select(Identity).where(
            Identity.person_id == identity.person_id,
            Identity.opted_out.is_(False),
            Identity.last_inbound_at.is_not(None),
        )
    ).all()
    latest = max(candidates, key=lambda other: other.last_inbound_at, default=None)  # type: ignore[arg-type, return-value]
    return latest or identity
