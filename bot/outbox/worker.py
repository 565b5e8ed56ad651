"""The outbox worker: claim due messages, translate them, lay them out for their channel, send, record.

Rows are committed by the dispatcher together with the state change that caused them
(transactional outbox). A worker claims a batch in a short transaction (bot/outbox/claims.py),
then sends outside any transaction, one recipient's rows in order on one thread and
recipients side by side, and marks each row as soon as its send returns. What becomes of a
send that did not go, the retry policy, is in bot/outbox/retry.py.

A patient never gets message 2 before message 1: a row is not claimed while an earlier one
for the same (channel, address) is being sent or waits to be, and when a row is put back
(rate limit, temporary error) the rows after it for that recipient are put back with it.

A worker that dies after claiming leaves rows in "sending"; recover_stale() returns them
to "pending" after the claim timeout, once: a row that goes stale a second time fails
("crash_repeat"), so a crash between send and mark repeats a send at most once.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from sqlalchemy import func, select, update

from bot.channels.base import (
    ChannelAdapter,
    OutgoingDocument,
    OutgoingMessage,
    RateLimited,
    SendError,
)
from bot.outbox import claims, retry
from bot.outbox.claims import CLAIM_TIMEOUT, Claimed, in_order_groups
from bot.outbox.delivery import SentMark, record_sent
from bot.outbox.documents import DocumentGone
from bot.outbox.group_commit import GroupCommit
from bot.outbox.heartbeat import Heartbeat
from bot.outbox.loop import run_until_stopped
from bot.outbox.payloads import SMS_CHANNELS, translate
from bot.outbox.retry import (
    ACK_ATTEMPTS,
    ACK_RETRY_S,
    BACKOFF_CAP_S,
    MAX_ATTEMPTS,
    RATE_LIMIT_WAIT_S,
    backoff,
)
from bot.platform.i18n import Catalogs
from bot.platform.logs import log_context
from bot.platform.metrics import count_send_error, count_sent
from bot.store.db import Database
from bot.store.models import Identity, OutboxMessage, OutboxStatus, utcnow

# What callers and tests import from here; claims.py and retry.py hold the rest.
__all__ = [
    "ACK_ATTEMPTS", "BACKOFF_CAP_S", "CLAIM_TIMEOUT", "MAX_ATTEMPTS", "SMS_CHANNELS", "Claimed", "OutboxWorker", "backoff",
    "translate",
]

log = logging.getLogger(__name__)

# WhatsApp takes free-form messages only within 24 h of the user's last message
# (PROVIDERS.md B5; Twilio error 63016); outside it only an approved template.
WHATSAPP_CHANNEL = "whatsapp"
WHATSAPP_WINDOW = dt.timedelta(hours=24)
# Recipients sent to side by side within a batch, per channel: provider round trips, waits
# at the limiter and the marks' commits overlap. The threads mostly wait, on sockets and for
# the GIL on a machine busy with the web tier: with 8, a 2-core machine offered 200 msg/s
# (bench/webhook_load.py) sent WhatsApp replies 9 s late at the median, with 32 in 0.5 s,
# and the limits still held at the fakes (bench/outbound_drain.py: at most the limit in any
# second). Their marks share transactions (bot/outbox/group_commit.py), so 32 threads do not
# need 32 database connections.
CONCURRENCY = 32
# While sends are in flight, look for more rows this often.
CLAIM_EVERY_S = 0.05
# A running worker's threads mostly wait on sockets (Redis, the providers, the database); each
# time one returns it waits for the GIL, by default up to 5 ms. A let-through request
# delayed that way reaches the provider late (bench/outbound_drain.py measured 1 ms here
# worth about 5 % of Telegram's drain). The limiter's jitter bound (bot/platform/ratelimit.py) counts on it.
GIL_SWITCH_INTERVAL_S = 0.001


class OutboxWorker:
    """Sends what the outbox holds, through the registered channel adapters."""

    def __init__(
        self,
        db: Database,
        catalogs: Catalogs,
        channels: Mapping[str, ChannelAdapter],
        batch_size: int = 50,
        clock: Callable[[], dt.datetime] = utcnow,
        claim_timeout: dt.timedelta = CLAIM_TIMEOUT,
        concurrency: int = CONCURRENCY,
        documents: Callable[[Mapping[str, object], str], OutgoingDocument | None] | None = None,
    ):
        self.db = db
        self.catalogs = catalogs
        self.channels = dict(channels)
        self.batch_size = batch_size
        self.clock = clock
        self.claim_timeout = claim_timeout
        self.concurrency = max(1, concurrency)
        # Makes the documents payloads name (bot/outbox/documents.py); None: a row with one cannot be sent.
        self.documents = documents
        self._last_recovery = dt.datetime.min.replace(tzinfo=dt.UTC)
        # Written while run() goes round, so GET /healthz can tell the worker is alive.
        self.heartbeat = Heartbeat(db, clock)
        # The send threads' marks, committed together (bot/outbox/group_commit.py).
        self.marks: GroupCommit[SentMark] = GroupCommit(self._write_marks)

    # --- the loop -----------------------------------------------------------------------

    def run_once(self, channel: str | None = None) -> int:
        """Send one batch of due messages; return how many rows were handled."""
        claimed = self.claim((channel,) if channel is not None else ())
        groups = in_order_groups(claimed)
        if len(groups) <= 1 or self.concurrency == 1:
            for group in groups:
                self._send_group(group)
        else:
            with ThreadPoolExecutor(min(self.concurrency, len(groups)), thread_name_prefix="outbox") as pool:
                for future in [pool.submit(self._send_group, group) for group in groups]:
                    future.result()  # re-raise a database error; its rows stay claimed and come back
        return len(claimed)

    def drain(self, channel: str | None = None, max_batches: int = 1000, patience_s: float = 1.0) -> int:
        """Send until nothing is due; return how many rows were handled.

        Rows waiting behind a recipient's message that another worker is sending are
        waited for, up to patience_s without progress.
        """
        return self._pump(channel, max_batches, patience_s)

    def run(self, stop: threading.Event, wake: threading.Event | None = None, idle_seconds: float = 0.5) -> None:
        """Send until stopped, waking early when the dispatcher signals new rows."""
        # What startup allocated (modules, catalogs, clients) stays: a full collection that
        # scans it stops every thread for ~100 ms, between a request's place at the rate
        # limiter and its send (measured by bench/outbound_drain.py).
        gc.freeze()
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
        # The lanes' threads live as long as the worker, not a pass: a pass ends whenever the
        # queue runs dry, and each pass started its 32 threads a lane again.
        lanes: dict[str, ThreadPoolExecutor] = {}
        try:
            run_until_stopped(lambda: self._pump(linger_s=idle_seconds, stop=stop, lanes=lanes), stop, wake, idle_seconds,
                              name="outbox pass")
        finally:
            for lane in lanes.values():
                lane.shutdown(wait=True)

    def _recover_now_and_then(self) -> None:
        """Run recover_stale() every minute (or half a claim timeout), even while busy."""
        if self.clock() - self._last_recovery > min(dt.timedelta(minutes=1), self.claim_timeout / 2):
            self.recover_stale()
            self._last_recovery = self.clock()

    def _pump(
        self, channel: str | None = None, max_batches: int = 1_000_000, patience_s: float = 0.0,
        linger_s: float = 0.0, stop: threading.Event | None = None, lanes: dict[str, ThreadPoolExecutor] | None = None,
    ) -> int:
        """Keep up to batch_size rows in flight, claiming more as sends finish; return how many were handled.

        Nothing waits for a whole batch: a recipient whose sends are slow, or a channel
        waiting at its rate limiter, holds up only its own rows. Each channel has its own
        threads, so one channel's limiter never takes another's. The lanes (a channel's threads)
        are the caller's when given, kept from pass to pass; else this pass's own.
        """
        own_lanes = lanes is None
        lanes = {} if lanes is None else lanes
        in_flight: dict[Future[None], tuple[str, int]] = {}
        total, batches, idle_since, error = 0, 0, None, None
        last_claim = 0.0
        try:
            while True:
                if stop is not None:  # a running worker, as opposed to a drain
                    self._recover_now_and_then()
                    self.heartbeat.beat()
                # Each channel keeps up to batch_size rows in flight. A channel whose lane is
                # full is left out of the claim, so rows queued behind a slow or rate-limited
                # channel (a burst to WhatsApp) never hold back another's (SMS, Telegram).
                busy: dict[str, int] = {}
                for name, count in in_flight.values():
                    busy[name] = busy.get(name, 0) + count
                full = tuple(name for name, count in busy.items() if self.batch_size - count < max(1, self.batch_size // 4))
                stopping = error is not None or batches >= max_batches or (stop is not None and stop.is_set())
                # Claim when idle, or at most every CLAIM_EVERY_S while sends are in flight:
                # a claim is a write transaction, not to be run on every finished send.
                due_to_claim = not in_flight or time.monotonic() - last_claim >= CLAIM_EVERY_S
                # A drain of one channel claims that lane; a worker with a lane full claims the
                # other lanes' rows channel by channel, and with every lane full, none.
                if channel is not None:
                    to_claim: tuple[str, ...] = (channel,) if channel not in full else ()
                else:
                    to_claim = tuple(name for name in self.channels if name not in full) if full else ()
                room = bool(to_claim) or (channel is None and not full)
                claimed = []
                if not stopping and due_to_claim and room:
                    claimed = self.claim(to_claim, limit=self.batch_size)
                    last_claim = time.monotonic()
                batches += bool(claimed)
                total += len(claimed)
                groups = in_order_groups(claimed)
                if stop is None and len(groups) == 1 and not in_flight:
                    # A drain with one recipient's rows (a chat turn, a test): nothing to
                    # overlap, so no thread is started for it.
                    self._send_group(groups[0])
                    continue
                for group in groups:
                    lane = lanes.get(group[0].channel) or lanes.setdefault(
                        group[0].channel, ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"outbox-{group[0].channel}")
                    )
                    in_flight[lane.submit(self._send_group, group)] = (group[0].channel, len(group))
                if in_flight:
                    idle_since = None
                    done, _ = wait(in_flight, timeout=CLAIM_EVERY_S, return_when=FIRST_COMPLETED)
                    for future in done:
                        del in_flight[future]
                        error = error or future.exception()  # its rows stay claimed and come back
                    continue
                if error is not None:
                    raise error
                next_due = None if stopping else self._next_due(channel)
                if next_due is None:
                    return total
                wait_s = (next_due - self.clock()).total_seconds()
                if wait_s > 0:  # nothing due yet: linger for what is due soon (a rate limit's retry)
                    if wait_s > linger_s:
                        return total
                    (stop.wait if stop is not None else time.sleep)(wait_s)
                    continue
                # Due, yet not claimable: behind a message another worker is sending.
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > patience_s:
                    return total
                time.sleep(0.01)
        finally:
            if own_lanes:
                for lane in lanes.values():
                    lane.shutdown(wait=True)
            else:  # the threads stay; this pass's sends are still its own to see through
                wait(in_flight)

    # --- claiming and recovering ----------------------------------------------------------

    def claim(self, channels: Sequence[str] = (), limit: int | None = None) -> list[Claimed]:
        """Take due rows of these channels (none named: of any) for this worker alone, in order per
        recipient, and mark them as being sent (claims.claim)."""
        with self.db.write() as session:
            return claims.claim(session, self.clock(), limit or self.batch_size, channels)

    def recover_stale(self) -> int:
        """Put rows claimed by a worker that died back in the queue, once; return how many came back."""
        with self.db.write() as session:
            count, failed = claims.recover_stale(session, self.clock() - self.claim_timeout)
        if count or failed:
            log.warning("stale outbox rows: %d returned to the queue, %d failed after a second crash", count, failed)
        return count

    def _next_due(self, channel: str | None) -> dt.datetime | None:
        """Return when the soonest pending row is due."""
        query = select(func.min(OutboxMessage.due_at)).where(OutboxMessage.status == OutboxStatus.PENDING)
        if channel is not None:
            query = query.where(OutboxMessage.channel == channel)
        with self.db.read() as session:
            return session.scalar(query)

    # --- sending ------------------------------------------------------------------------------

    def _send_group(self, group: Sequence[Claimed]) -> None:
        """Send one recipient's rows in order, stopping at the first that has to wait."""
        for index, row in enumerate(group):
            if row.claimed_at is not None and self.clock() - row.claimed_at > self.claim_timeout / 2:
                # A batch this slow could be taken for a dead worker's: give the rest back.
                with self.db.write() as session:
                    retry.hold(session, group[index:], self.clock())
                return
            with log_context(outbox_id=row.id, channel=row.channel):  # every line of this send says which
                sent = self._send(row, group[index + 1 :])
            if not sent:
                return

    def _send(self, row: Claimed, followers: Sequence[Claimed]) -> bool:
        """Send one row and record what came of it; return False when it was put back with its followers."""
        if row.opted_out and row.kind == "push":
            self._finish(row.id, status=OutboxStatus.SUPPRESSED)
            return True
        adapter = self.channels.get(row.channel)
        if adapter is None:
            self._finish(row.id, status=OutboxStatus.FAILED, error_code="channel_off", error=f"channel {row.channel} is not configured")
            return True
        if row.kind == "ack":
            self._acknowledge(adapter, row)
            return True
        try:
            message = self.translate(row)
        except DocumentGone as exc:  # the patient erased their data since: nothing to send, nothing wrong
            log.info("outbox row %s not sent: %s", row.id, exc)
            self._finish(row.id, status=OutboxStatus.FAILED, error_code="document_gone", error=str(exc)[:500])
            return True
        except Exception as exc:  # a row we cannot render will never send: say why, once
            log.exception("outbox row %s cannot be rendered", row.id)
            self._finish(row.id, status=OutboxStatus.FAILED, error_code="render", error=repr(exc)[:500])
            return True
        try:
            result = adapter.send(row.address, message, row.id)
        except SendError as exc:
            return self._failed(row, exc, followers)
        except Exception as exc:
            log.exception("unexpected error sending outbox row %s", row.id)
            return self._failed(row, SendError(repr(exc)[:500], code="unexpected"), followers)
        rendered = {
            **message.to_json(),
            **({"detail": dict(result.detail)} if result.detail else {}),
            **({"parts": result.parts} if result.parts > 1 else {}),
        }
        self._mark_sent(row, result.provider_id, rendered)
        count_sent(row.channel, result.parts)
        return True

    def _mark_sent(self, row: Claimed, provider_id: str | None, rendered: dict[str, object] | None) -> None:
        """Record a row as sent (an ack: nothing rendered), in a commit shared with the sends beside it."""
        mark = SentMark(row.id, row.channel, provider_id, rendered, self.clock())
        self._record_through_outage(row, lambda: self.marks.submit(mark))

    def _write_marks(self, marks: Sequence[SentMark]) -> None:
        with self.db.write() as session:  # with any status callback that came before this commit
            record_sent(session, marks)

    def translate(self, row: Claimed) -> OutgoingMessage:
        """Return a claimed row as its recipient will read it, at this moment."""
        session_open = True
        if row.channel == WHATSAPP_CHANNEL:
            session_open = row.last_inbound_at is not None and self.clock() - row.last_inbound_at < WHATSAPP_WINDOW
        attachment = row.payload.get("attachment")
        document = None
        if isinstance(attachment, Mapping):
            if self.documents is None:
                raise ValueError("this worker makes no documents")
            document = self.documents(attachment, row.language)
        return translate(
            self.catalogs, row.payload, row.language, sms=row.channel in SMS_CHANNELS, session_open=session_open, document=document
        )

    def _failed(self, row: Claimed, exc: SendError, followers: Sequence[Claimed]) -> bool:
        """Record a failed send as its kind says; return False when the row will be tried again."""
        now = self.clock()
        if isinstance(exc, RateLimited):
            # Nothing reached the provider: not an attempt.
            wait = exc.retry_after if exc.retry_after is not None else RATE_LIMIT_WAIT_S
            self._put_back(row, now + dt.timedelta(seconds=wait), followers, counted=False, spacing=exc.spacing)
            return False
        count_send_error(row.channel, exc.code)
        if exc.retryable and row.attempts < MAX_ATTEMPTS:
            # A provider's Retry-After (Telegram RetryAfter, Twilio 20429) is honoured exactly.
            wait = dt.timedelta(seconds=exc.retry_after) if exc.retry_after is not None else backoff(row.attempts)
            self._put_back(row, now + wait, followers, counted=True, error_code=exc.code, error=str(exc)[:500])
            return False
        with self.db.write() as session:
            status = OutboxStatus.FAILED
            if exc.fallback:
                status = retry.fall_back_to_sms(session, row, exc, now)
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row.id)
                .values(status=status, error_code=exc.code, error=str(exc)[:500])
            )
            if exc.opted_out:
                session.execute(update(Identity).where(Identity.id == row.identity_id).values(opted_out=True, opted_out_at=now))
        return True

    def _acknowledge(self, adapter: ChannelAdapter, row: Claimed) -> None:
        """Answer what the provider wants acknowledged; retry briefly, then drop it quietly."""
        acknowledge = getattr(adapter, "acknowledge", None)
        if acknowledge is None:
            self._finish(row.id, status=OutboxStatus.FAILED, error_code="no_ack", error=f"channel {row.channel} takes no acks")
            return
        try:
            acknowledge(row.address, row.payload)
        except Exception as exc:
            retry_after = getattr(exc, "retry_after", None)
            wait = dt.timedelta(seconds=retry_after if retry_after is not None else ACK_RETRY_S)
            code = getattr(exc, "code", None) or "unexpected"
            if isinstance(exc, RateLimited):
                self._put_back(row, self.clock() + wait, (), counted=False)
            elif row.attempts < ACK_ATTEMPTS and getattr(exc, "retryable", True):
                self._put_back(row, self.clock() + wait, (), counted=True, error_code=code, error=str(exc)[:500])
            else:
                log.info("outbox ack %s dropped: %s", row.id, code)
                self._finish(row.id, status=OutboxStatus.FAILED, error_code=code, error=str(exc)[:500])
            return
        self._mark_sent(row, None, None)

    def _put_back(
        self, row: Claimed, due: dt.datetime, followers: Sequence[Claimed], counted: bool, spacing: float | None = None, **values: object,
    ) -> None:
        """Return a row to the queue until `due`, with every later row for its recipient (`spacing` seconds apart, if given)."""
        if not counted:
            values["attempts"] = OutboxMessage.__table__.c.attempts - 1  # the claim counted it

        def put_back() -> None:
            with self.db.write() as session:
                retry.put_back(session, row, due, followers, spacing=spacing, **values)

        self._record_through_outage(row, put_back)

    def _record_through_outage(self, row: Claimed, write: Callable[[], None]) -> None:
        """Commit what became of a send, waiting out a database outage (retry.record_through_outage)."""
        retry.record_through_outage(row, write, self.clock, self.claim_timeout)

    def _finish(self, outbox_id: int, **values: object) -> None:
        table = OutboxMessage.__table__
        with self.db.write() as session:  # Core, on the table: no ORM objects to keep in step
            session.connection().execute(update(table).where(table.c.id == outbox_id).values(**values))

