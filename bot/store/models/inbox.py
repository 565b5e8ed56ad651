"""The coordinators' inbox: conversations that need a person, what was said in them, and the audit log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, BigId, UTCDateTime, utcnow


class InboxItem(Base):
    """A conversation flagged for a person (bot/services/inbox.py): why, since when, who holds it.

    One open item per chat: `open_identity_id` holds the identity while the item is open and
    is cleared when it closes; a unique index allows any number of cleared (NULL) ones.
    """

    __tablename__ = "inbox_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity_id: Mapped[int] = mapped_column(BigId, ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    open_identity_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    # asked (the patient asked for a person), stuck, danger, undelivered: bot/services/inbox.py REASONS.
    reason: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The coordinator who took it over, and when: set by one conditional UPDATE, so never two.
    held_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("operators.id"))
    held_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class InboxMessage(Base):
    """A message of an inbox conversation: the patient's words (kept only here) or a coordinator's reply."""

    __tablename__ = "inbox_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("inbox_items.id", ondelete="CASCADE"), index=True)
    # "in" from the patient, "out" from a coordinator.
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    operator_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("operators.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OperatorAction(Base):
    """The audit log: one row for everything an operator does to a conversation (who, what, when, which)."""

    __tablename__ = "operator_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(BigId, ForeignKey("operators.id"), index=True)
    # opened, took_over, replied, handed_back, released (bot/services/inbox.py).
    action: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("inbox_items.id", ondelete="SET NULL"), index=True)
    identity_id: Mapped[int | None] = mapped_column(BigId)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
