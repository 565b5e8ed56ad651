"""Claiming outbox rows: which due rows a worker may take now, in order per recipient, and how it takes them.

Rows are taken by priority, then in order: a broadcast's advisories (priority 1) are claimed
only after every due reply and push, so "the doctor is ready" never waits behind them.

A worker claims a batch in a short transaction — FOR UPDATE SKIP LOCKED on PostgreSQL, so
many workers share the work; on SQLite the claim runs under the database's write lock
(BEGIN IMMEDIATE), which has the same effect. A row is not claimed while an earlier one for
the same (channel, address) is being sent or waits to be, so a patient never gets message 2
before message 1.

The claim's statements are built once per process (claim_query, claim_update) with bound
parameters for what changes from one claim to the next (the time, the limit, the channels):
building the SELECT with its aliased subqueries on every call cost about half of one
message's round trip on SQLite (bench/round_trip.py, bench/RESULTS.md).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Select,
    Update,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, aliased

from bot.store.models import Identity, OutboxMessage, OutboxStatus, UTCDateTime

# A worker holding a row this long is taken for dead: recover_stale() gives the row back.
CLAIM_TIMEOUT = dt.timedelta(minutes=5)
# PostgreSQL: a claim's transaction plans without sorts and bitmap scans (claim() says why).
WALK_IN_CLAIM_ORDER = text("SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)")


@dataclass(frozen=True)
class Claimed:
    """A claimed row, detached from its session, with what is needed to send it."""

    id: int
    channel: str
    address: str
    language: str
    kind: str
    payload: dict[str, Any]
    attempts: int  # counting this one
    opted_out: bool
    identity_id: int = 0
    last_inbound_at: dt.datetime | None = None
    claimed_at: dt.datetime | None = None

    @property
    def recipient(self) -> tuple[str, str]:
        """Return the (channel, address) whose messages keep their order."""
        return (self.channel, self.address)


@functools.cache
def claim_query(one_channel: bool) -> Select[Any]:
    """Return the SELECT of claimable rows, of every channel or of one; built once for each.

    Bound parameters: `now`, `limit`, and `channel` when one_channel.

    The plan wanted walks the claim order's index (status, priority, id), or one channel's
    (status, channel, priority, id), makes the per-row checks (an earlier row being sent,
    earlier rows waiting) on each due row it meets, and stops at `limit`: a claim costs what
    it takes, not what is queued. claim() makes PostgreSQL take that plan (see there).
    """
    now = bindparam("now", type_=UTCDateTime())
    earlier = aliased(OutboxMessage)
    # A row of a lower priority (a broadcast's advisory: bot/services/broadcasts.py) keeps its
    # place behind the recipient's earlier messages, but never holds back one above it.
    same_recipient = and_(
        earlier.channel == OutboxMessage.channel, earlier.address == OutboxMessage.address,
        earlier.id < OutboxMessage.id, earlier.kind != "ack", earlier.priority <= OutboxMessage.priority,
    )
    # Both subqueries look up ix_outbox_recipient (channel, address, status, id): one
    # recipient's earlier rows being sent, or waiting; a handful at most.
    in_flight = exists().where(same_recipient, earlier.status == OutboxStatus.SENDING)
    # Every earlier pending row counts, due or not: one put back until later (a chat's next
    # second, a backoff) holds back the rows queued after it, or the next turn's reply would
    # overtake it.
    waiting = (
        select(func.count()).where(same_recipient, earlier.status == OutboxStatus.PENDING)
        .correlate(OutboxMessage).scalar_subquery()
    )
    query = (
        select(
            OutboxMessage.id, OutboxMessage.channel, OutboxMessage.address, OutboxMessage.language,
            OutboxMessage.kind, OutboxMessage.payload, OutboxMessage.attempts, OutboxMessage.identity_id,
            Identity.opted_out, Identity.last_inbound_at, waiting.label("waiting"),
        )
        .join(Identity, Identity.id == OutboxMessage.identity_id)
        # The due time as an expression no index serves: SQLite (without statistics, as it
        # runs) otherwise gathers the due rows through ix_outbox_due and sorts them all,
        # checking each, where walking the claim order stops at `limit` (EXPLAIN QUERY PLAN
        # in tests/test_outbox_delivery_order.py).
        .where(OutboxMessage.status == OutboxStatus.PENDING, func.coalesce(OutboxMessage.due_at, now) <= now)
        # Acks keep no order: answering a button press never waits for a message.
        .where(or_(OutboxMessage.kind == "ack", ~in_flight))
        # Replies and pushes (priority 0) before any broadcast's rows, however many are due.
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )
    if one_channel:
        query = query.where(OutboxMessage.channel == bindparam("channel"))
    return query


@functools.cache
def claim_update() -> Update:
    """Return the UPDATE that marks a claim's rows, those still pending, as being sent; built once.

    Bound parameters: `ids` (a list) and `now`. Its session holds no objects, so there is
    nothing in it to synchronise.
    """
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(bindparam("ids", expanding=True)), OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, claimed_at=bindparam("now", type_=UTCDateTime()), attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )


def claim(session: Session, now: dt.datetime, limit: int, channels: Sequence[str] = ()) -> list[Claimed]:
    """Take due rows in this transaction, in order per recipient, and mark them as being sent.

    `channels`: up to `limit` rows of each of these channels (a drain of one channel, or a
    running worker whose other lanes are full), each channel's own rows looked at, never the
    rest of the queue; none named, up to `limit` rows of any channel.
    """
    if session.get_bind().dialect.name == "postgresql":
        # For this transaction only (set_config's is_local), no plan that sorts or builds a
        # bitmap: the claim then walks the claim-order index and stops at `limit`, and its
        # UPDATE finds its rows by primary key. PostgreSQL otherwise picks by its statistics,
        # which trail a queue growing by thousands a minute (or are missing: a new table, no
        # autovacuum yet), and then gathers every pending row, checks each and sorts them.
        # With ~14,000 rows queued and no statistics, EXPLAIN ANALYZE: 187 ms a claim's
        # SELECT against 2 ms, its UPDATE's scan 3.1 ms against 0.2 ms (bench/RESULTS.md).
        # With fresh statistics PostgreSQL picks these plans itself.
        session.execute(WALK_IN_CLAIM_ORDER)
    # Plain rows off the connection: the ORM's row processing was a sixth of a claim's time.
    connection = session.connection()
    if channels:
        # One channel at a time: a recipient's rows are all of one channel, so each channel's
        # rows keep their order. Leaving channels out instead (NOT IN) walked every pending
        # row of theirs to find none: 47 ms a claim, half of PostgreSQL's time in a 30,000-
        # message run when both busy lanes were full (bench/RESULTS.md).
        found = [row for name in channels for row in connection.execute(claim_query(True), {"now": now, "limit": limit, "channel": name})]
    else:
        found = connection.execute(claim_query(False), {"now": now, "limit": limit}).all()
    rows = first_in_line(found)
    if not rows:
        return []
    claimed_ids = set(connection.execute(claim_update(), {"ids": [r.id for r in rows], "now": now}).scalars())
    return [
        Claimed(
            r.id, r.channel, r.address, r.language, r.kind, r.payload, r.attempts + 1, r.opted_out,
            r.identity_id, r.last_inbound_at, now,
        )
        for r in rows
        if r.id in claimed_ids
    ]


def first_in_line(rows: Sequence[Any]) -> list[Any]:
    """Keep the rows whose recipient's earlier pending rows are all in this batch ahead of them.

    An earlier row missing from the batch is not due yet, or is being claimed by another
    worker right now (PostgreSQL skipped its lock): what follows it waits for a later claim.
    """
    kept, taken = [], Counter[tuple[str, str]]()
    for row in rows:
        recipient = (row.channel, row.address)
        if row.kind != "ack":
            if row.waiting != taken[recipient]:
                continue
            taken[recipient] += 1
        kept.append(row)
    return kept


def in_order_groups(claimed: Sequence[Claimed]) -> list[list[Claimed]]:
    """Return the batch as one list per recipient, in id order; each ack alone."""
    groups: dict[object, list[Claimed]] = {}
    for row in claimed:
        groups.setdefault(("ack", row.id) if row.kind == "ack" else row.recipient, []).append(row)
    return list(groups.values())


def recover_stale(session: Session, older_than: dt.datetime) -> tuple[int, int]:
    """Put rows claimed before `older_than` back in the queue, once; return (returned, failed).

    A row that goes stale a second time fails ("crash_repeat"): it may have been sent twice
    already, never a third time.
    """
    stale = and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < older_than)
    failed = session.execute(
        update(OutboxMessage).where(stale, OutboxMessage.recoveries >= 1)
        .values(status=OutboxStatus.FAILED, error_code="crash_repeat", error="worker died holding it twice")
    ).rowcount or 0
    count = session.execute(
        update(OutboxMessage).where(stale, OutboxMessage.recoveries == 0)
        .values(status=OutboxStatus.PENDING, recoveries=OutboxMessage.recoveries + 1)
    ).rowcount or 0
    return count, failed
