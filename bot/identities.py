"""Identities: one address on one channel, created on first contact."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.models import Conversation, Identity, utcnow


def dialect_insert(session: Session):  # type: ignore[no-untyped-def]
    """Return the dialect's INSERT, which knows ON CONFLICT DO NOTHING."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def ensure_identity(session: Session, channel: str, address: str) -> Identity:
    """Return the identity for an address, creating it (and its conversation) on first contact."""
    insert = dialect_insert(session)
    now = utcnow()
    session.execute(
        insert(Identity)
        .values(channel=channel, address=address, opted_out=False, created_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "address"])
    )
    identity = session.scalars(select(Identity).where(Identity.channel == channel, Identity.address == address)).one()
    session.execute(
        insert(Conversation)
        .values(identity_id=identity.id, data={}, version=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["identity_id"])
    )
    return identity


