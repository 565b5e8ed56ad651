"""The durable job that fetches, checks and stores the files webhooks recorded.

A webhook never fetches: the dispatcher records each file as a pending `media` row in the
message's transaction (bot/services/media.py). A fetcher takes one due row in a short
transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite) and marks it
fetching; fetches it with no transaction open (the network may be slow); checks and stores
the bytes; then, in a second transaction, records the outcome and carries out its notices
through apply_notices, as a timer's handler would: the doctor told of a file that arrived
during their consultation, the patient told why a file was refused. A fetch that fails is
tried again with back-off; a fetcher that dies holding a row leaves it to be taken again
after CLAIM_TIMEOUT. So nothing is lost, and the storage's content keys keep a file fetched
twice stored once.

The same pass deletes the files of erased patients (bot/services/erasure.py marks their rows).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select

from bot.media.checks import check
from bot.media.links import MediaLinks
from bot.media.sources import FetchError, MediaSource, TooBig
from bot.media.storage import Storage
from bot.outbox.enqueue import apply_notices
from bot.outbox.loop import run_until_stopped
from bot.outbox.timers import retry_delay
from bot.services.media import MediaLimits, stored_notices
from bot.store.db import Database
from bot.store.models import MediaItem, MediaStatus, utcnow
from flows.notices import Notice, Notify
from flows.steps import media as media_words

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A row marked fetching longer than this belongs to a fetcher that died: taken again.
CLAIM_TIMEOUT = dt.timedelta(minutes=5)
ERASED_BATCH = 50


@dataclass(frozen=True)
class _Claim:
    id: int
    channel: str
    kind: str
    ref: str
    attempts: int
    identity_id: int | None


class MediaFetcher:
    """Fetches pending files through their channel's source, one row at a time."""

    def __init__(
        self,
        db: Database,
        sources: Mapping[str, MediaSource],
        storage: Storage,
        links: MediaLinks,
        limits: MediaLimits = MediaLimits(),
        clock: Callable[[], dt.datetime] = utcnow,
        outbox_signal: threading.Event | None = None,
    ):
        self.db = db
        self.sources = dict(sources)
        self.storage = storage
        self.links = links
        self.limits = limits
        self.clock = clock
        self.outbox_signal = outbox_signal

    def run_once(self, batch: int = 10) -> int:
        """Fetch up to a batch of due files and delete erased ones; return how many rows were handled."""
        handled = self._delete_erased()
        for _ in range(batch):
            claim = self._claim()
            if claim is None:
                break
            self._fetch(claim)
            handled += 1
        if handled and self.outbox_signal is not None:
            self.outbox_signal.set()
        return handled

    def drain(self, max_rounds: int = 100) -> int:
        """Fetch until nothing is due; return how many rows were handled."""
        total = 0
        for _ in range(max_rounds):
            handled = self.run_once()
            total += handled
            if not handled:
                break
        return total

    def run(self, stop: threading.Event, wake: threading.Event | None = None, idle_seconds: float = 1.0) -> None:
        """Fetch until stopped, polling every idle_seconds."""
        run_until_stopped(self.run_once, stop, wake, idle_seconds, name="media pass")

    def _claim(self) -> _Claim | None:
        now = self.clock()
        due = or_(
            (MediaItem.status == MediaStatus.PENDING) & (MediaItem.due_at <= now),
            (MediaItem.status == MediaStatus.FETCHING) & (MediaItem.claimed_at < now - CLAIM_TIMEOUT),
        )
        # Looked for first in a read: an idle pass every second must not take SQLite's write lock.
        with self.db.read() as session:
            if session.scalar(select(MediaItem.id).where(due).limit(1)) is None:
                return None
        with self.db.write() as session:
            item = session.scalars(
                select(MediaItem).where(due).order_by(MediaItem.due_at, MediaItem.id).limit(1).with_for_update(skip_locked=True)
            ).first()
            if item is None:
                return None
            item.status, item.claimed_at, item.attempts = MediaStatus.FETCHING, now, item.attempts + 1
            return _Claim(item.id, item.channel, item.kind, item.provider_ref, item.attempts, item.identity_id)

    def _fetch(self, claim: _Claim) -> None:
        source = self.sources.get(claim.channel)
        try:
            if source is None:
                raise FetchError(f"no media source for channel {claim.channel!r}", retryable=False)
            data = source.fetch(claim.ref, self.limits.max_bytes)
        except TooBig:
            self._finish(claim, MediaStatus.REFUSED, refused=media_words.TOO_BIG)
            return
        except FetchError as exc:
            log.warning("media %s: try %d failed: %s", claim.id, claim.attempts, exc)
            if exc.retryable and claim.attempts < MAX_ATTEMPTS:
                self._finish(claim, MediaStatus.PENDING, error=str(exc))
            else:
                self._finish(claim, MediaStatus.FAILED, refused=media_words.NOT_RECEIVED, error=str(exc))
            return
        verdict = check(claim.kind, data, self.limits.max_bytes)
        if verdict.refused is not None:
            log.info("media %s refused: %s", claim.id, verdict.refused)
            self._finish(claim, MediaStatus.REFUSED, refused=verdict.refused)
            return
        key, digest = self.storage.put(data)
        self.links.ready()
        self._finish(claim, MediaStatus.STORED, stored=(key, digest, verdict.mime or "", len(data)))

    def _finish(
        self, claim: _Claim, status: MediaStatus, refused: str | None = None, error: str | None = None,
        stored: tuple[str, str, str, int] | None = None,
    ) -> None:
        now = self.clock()
        with self.db.write() as session:
            item = session.get(MediaItem, claim.id, with_for_update=True, populate_existing=True)
            if item is None or item.status != MediaStatus.FETCHING:
                return  # erased meanwhile (or taken again after a stall and finished there)
            message = error or refused
            item.status, item.error = status, message[:200] if message else None
            notices: list[Notice] = []
            if status == MediaStatus.PENDING:
                item.due_at = now + retry_delay(claim.attempts)
            elif stored is not None:
                item.storage_key, item.sha256, item.mime, item.size = stored
                item.stored_at = now
                notices = stored_notices(session, item, self.links.url(item.id))
            elif refused is not None and claim.identity_id is not None:
                reply = media_words.refused(refused, claim.kind, self.limits.max_bytes // (1024 * 1024))
                notices = [Notify(claim.identity_id, reply, exact=True)]
            apply_notices(session, notices, now)

    def _delete_erased(self) -> int:
        """Delete the files (no longer anyone else's) and rows of erased patients' media."""
        with self.db.read() as session:
            if session.scalar(select(MediaItem.id).where(MediaItem.status == MediaStatus.ERASED).limit(1)) is None:
                return 0
        with self.db.write() as session:
            items = list(
                session.scalars(
                    select(MediaItem).where(MediaItem.status == MediaStatus.ERASED).limit(ERASED_BATCH).with_for_update(skip_locked=True)
                )
            )
            for item in items:
                if item.storage_key:
                    # Content keys: the same bytes from someone else are theirs to keep.
                    shared = session.scalar(
                        select(func.count())
                        .select_from(MediaItem)
                        .where(MediaItem.storage_key == item.storage_key, MediaItem.status != MediaStatus.ERASED)
                    )
                    if not shared:
                        self.storage.delete(item.storage_key)
            if items:
                session.execute(delete(MediaItem).where(MediaItem.id.in_([i.id for i in items])))
            return len(items)
