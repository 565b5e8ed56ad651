"""The database side of media: the files a message carries recorded for the patient's doctor.

`MediaRecords` is the flows' Media port: in the dispatcher's transaction it records each file
of the message as a pending row (fetched later by bot/media/fetcher.py, never in the webhook)
with the chat's live token, or with none, for the next token booked. A provider's retry, or
the same Telegram file sent again from the same chat, finds its (channel, provider_key) row
and adds nothing.
The rest is what the fetcher and the doctor's desk ask: which files a token has, and whom
to tell when one is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.services.calls import doctor_party
from bot.services.identities import dialect_insert
from bot.store.models import (
    LIVE_TOKEN_STATUSES,
    Consultation,
    Identity,
    MediaItem,
    MediaStatus,
    Token,
    TokenStatus,
)
from flows.notices import Notice, Notify
from flows.ports import MediaKept
from flows.ports.media import NEXT_TOKEN, NOW, QUEUE
from flows.steps import media as media_words

# A file sent with no token yet goes with the next token booked within this long.
NEXT_TOKEN_WITHIN = dt.timedelta(hours=24)
# Files that count against the per-visit limit: all but the refused and the failed.
COUNTED = (MediaStatus.PENDING, MediaStatus.FETCHING, MediaStatus.STORED)


@dataclass(frozen=True)
class MediaLimits:
    """How much one patient may send (TELEOPD_MEDIA_MAX_BYTES, TELEOPD_MEDIA_MAX_PER_VISIT)."""

    max_bytes: int = 10 * 1024 * 1024
    max_per_visit: int = 10


class FileRef(Protocol):
    """A file as a channel named it (bot/channels/base.py MediaRef)."""

    kind: str
    ref: str
    unique: str
    mime: str


class MediaLinkMaker(Protocol):
    """Makes the signed links to kept files (bot/media/links.py MediaLinks)."""

    def ready(self) -> None:
        """Get the signing key, outside any write transaction."""
        ...

    def url(self, media_id: int) -> str:
        """Return the link to a kept file."""
        ...


def provider_key(identity_id: int, unique: str) -> str:
    """Return the fixed-length key one chat's file is kept under.

    Per chat: Telegram's file_unique_id is the same for everyone who forwards one photo, and
    each patient's doctor must see their own copy.
    """
    return hashlib.sha256(f"{identity_id}:{unique}".encode()).hexdigest()


class MediaRecords:
    """Records the files of the message being handled (the flows' Media port)."""

    def __init__(self, session: Session, identity: Identity, channel: str, refs: Sequence[FileRef], now: dt.datetime, limits: MediaLimits):
        self.session = session
        self.identity = identity
        self.channel = channel
        self.refs = refs
        self.now = now
        self.limits = limits

    def keep(self) -> MediaKept:
        """Record this message's files with the chat's live token (or for its next one); return what was kept."""
        token = live_token(self.session, self.identity.id)
        if token is None:
            where = NEXT_TOKEN
        elif token.status == TokenStatus.WAITING:
            where = QUEUE
        else:
            where = NOW
        consultation_id = self._open_consultation(token) if where == NOW else None
        held = self._count(token)
        kept: list[str] = []
        too_many = added = 0
        for ref in self.refs:
            if held + added >= self.limits.max_per_visit:
                too_many += 1
                continue
            inserted = self.session.execute(
                dialect_insert(self.session)(MediaItem)
                .values(
                    identity_id=self.identity.id, person_id=self.identity.person_id,
                    token_id=token.id if token else None, consultation_id=consultation_id,
                    channel=self.channel, kind=ref.kind, mime=ref.mime[:100], provider_ref=ref.ref,
                    provider_key=provider_key(self.identity.id, ref.unique), status=MediaStatus.PENDING, attempts=0,
                    due_at=self.now, created_at=self.now,
                )
                .on_conflict_do_nothing(index_elements=["channel", "provider_key"])
                .returning(MediaItem.id)
            ).scalar_one_or_none()
            added += inserted is not None
            # A file sent before is kept already: it is said so again.
            kept.append(ref.kind)
        return MediaKept(tuple(kept), too_many, where, self.limits.max_per_visit)

    def _count(self, token: Token | None) -> int:
        owner = MediaItem.token_id == token.id if token is not None else _unattached(self.identity.id, self.now)
        return self.session.scalar(select(func.count()).select_from(MediaItem).where(owner, MediaItem.status.in_(COUNTED))) or 0

    def _open_consultation(self, token: Token | None) -> int | None:
        if token is None:
            return None
        return self.session.scalar(select(Consultation.id).where(Consultation.token_id == token.id, Consultation.ended_at.is_(None)))


def live_token(session: Session, identity_id: int) -> Token | None:
    """Return the live token this chat booked most lately (waiting, called or in consultation)."""
    return session.scalars(
        select(Token).where(Token.identity_id == identity_id, Token.status.in_(LIVE_TOKEN_STATUSES)).order_by(Token.id.desc()).limit(1)
    ).first()


def _unattached(identity_id: int, now: dt.datetime):  # type: ignore[no-untyped-def]
    return (MediaItem.identity_id == identity_id) & MediaItem.token_id.is_(None) & (MediaItem.created_at >= now - NEXT_TOKEN_WITHIN)


def token_media(session: Session, token: Token) -> list[MediaItem]:
    """Return a token's stored files, oldest first, taking in those its chat sent before booking it."""
    if token.identity_id is not None:
        session.execute(
            update(MediaItem)
            .where(_unattached(token.identity_id, token.created_at), MediaItem.created_at <= token.created_at)
            .values(token_id=token.id)
            .execution_options(synchronize_session=False)
        )
    return list(
        session.scalars(
            select(MediaItem).where(MediaItem.token_id == token.id, MediaItem.status == MediaStatus.STORED).order_by(MediaItem.id)
        )
    )


def stored_notices(session: Session, item: MediaItem, link: str) -> list[Notice]:
    """Return whom to tell of a file just stored: the doctor whose consultation with its patient is open."""
    if item.token_id is None:
        return []
    token = session.get(Token, item.token_id)
    consultation = session.scalars(select(Consultation).where(Consultation.token_id == item.token_id)).first()
    if token is None or consultation is None or consultation.ended_at is not None:
        return []  # waiting: the doctor sees it in the summary when they call the patient
    item.consultation_id = consultation.id
    doctor = doctor_party(session, consultation.doctor_id, last_spoken=True)
    if doctor is None:
        return []
    return [Notify(doctor.identity_id, media_words.arrived(token.number, item.kind, link), exact=True)]


def erase_media(session: Session, person_ids: Sequence[int], identity_ids: Sequence[int]) -> int:
    """Mark the files of erased people and chats for deletion (the fetcher deletes them); return how many."""
    if not person_ids and not identity_ids:
        return 0
    result = session.execute(
        update(MediaItem)
        .where(or_(MediaItem.person_id.in_(person_ids), MediaItem.identity_id.in_(identity_ids)))
        .values(status=MediaStatus.ERASED, person_id=None, identity_id=None, token_id=None, consultation_id=None, provider_ref="")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
