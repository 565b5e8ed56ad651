"""The voice line's own table: callers who asked a health worker to call them back."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models.base import Base, BigId, UTCDateTime, utcnow


class CallbackRequest(Base):
    """A caller's key 3 on the voice line: a health worker or coordinator is to phone them back.

    One open request per number: `open_phone` holds the number while the request is open and
    is cleared when it is done, and a unique index allows any number of cleared (NULL) ones.
    """

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    open_phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    # The registered patient the number belongs to, when it is one.
    person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("people.id", ondelete="SET NULL"), index=True)
    # The language the caller chose on the line: the one to call them back in.
    language: Mapped[str] = mapped_column(String(5), default="hi")
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
