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
    ARRAY,
    BigInteger,
    Select,
    Update,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from bot.store.models import Identity, OutboxMessage, OutboxStatus, UTCDateTime

# A worker holding a row this long is taken for dead: recover_stale() gives the row back.
CLAIM_TIMEOUT = dt.timedelta(minutes=5)


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


# How many of the first due rows a claim looks at, for each row it may take: the rest of the
# window covers rows held back behind one of their recipient's being sent.
CANDIDATES_PER_ROW = 4


@functools.cache
def claim_query(one_channel: bool, skipping: bool, windowed: bool = False, postgresql: bool = False) -> Select[Any]:
    """Return the SELECT of claimable rows, built once for each shape.

    Bound parameters: `now`, `limit`, `candidates` when windowed, and `channel` when
    one_channel, `skip_channels` (a list) when skipping.

    Windowed, the rows are looked for among the first `candidates` due rows in claim order,
    and only there are the per-row checks (an earlier row being sent, earlier rows waiting)
    made. Asked of every pending due row, they make a claim's cost grow with the backlog: with
    ~22,000 rows queued, 243–281 ms a claim on PostgreSQL, against 33–38 ms windowed, because
    the planner misjudged how many rows were pending (their number changes faster than its
    statistics) and checked them all before sorting. On PostgreSQL the window is an array
    (`id = ANY(CAST(... AS BIGINT[]))`), which the planner cannot fold into a join, so it is
    taken first and its rows looked up by primary key.
    """
    now = bindparam("now", type_=UTCDateTime())
    earlier = aliased(OutboxMessage)
    # A row of a lower priority (a broadcast's advisory: bot/services/broadcasts.py) keeps its
    # place behind the recipient's earlier messages, but never holds back one above it.
    same_recipient = and_(
        earlier.channel == OutboxMessage.channel, earlier.address == OutboxMessage.address,
        earlier.id < OutboxMessage.id, earlier.kind != "ack", earlier.priority <= OutboxMessage.priority,
    )
    # Both subqueries walk ix_outbox_channel_address (channel, address, id) for one
    # recipient's earlier rows: a few dozen for a patient, far cheaper than a send.
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
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now)
        # Acks keep no order: answering a button press never waits for a message.
        .where(or_(OutboxMessage.kind == "ack", ~in_flight))
        # Replies and pushes (priority 0) before any broadcast's rows, however many are due.
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )
    candidates = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(bindparam("candidates"))
    )
    if one_channel:
        query = query.where(OutboxMessage.channel == bindparam("channel"))
        candidates = candidates.where(OutboxMessage.channel == bindparam("channel"))
    if skipping:
        query = query.where(OutboxMessage.channel.not_in(bindparam("skip_channels", expanding=True)))
        candidates = candidates.where(OutboxMessage.channel.not_in(bindparam("skip_channels", expanding=True)))
    if not windowed:
        return query
    if postgresql:
        window = candidates.subquery("window")
        # The cast makes it an array expression: `= ANY (SELECT ...)` would compare with each row.
        ids = cast(select(func.array_agg(window.c.id)).scalar_subquery(), ARRAY(BigInteger))
        return query.where(OutboxMessage.id == any_(ids))
    return query.where(OutboxMessage.id.in_(candidates))


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


def claim(
    session: Session, now: dt.datetime, limit: int, channel: str | None = None, skip_channels: Sequence[str] = (),
) -> list[Claimed]:
    """Take due rows in this transaction, in order per recipient, and mark them as being sent."""
    params: dict[str, Any] = {"now": now, "limit": limit, "candidates": limit * CANDIDATES_PER_ROW}
    if channel is not None:
        params["channel"] = channel
    if skip_channels:
        params["skip_channels"] = list(skip_channels)
    shape = (channel is not None, bool(skip_channels))
    found = session.execute(claim_query(*shape, windowed=True, postgresql=session.get_bind().dialect.name == "postgresql"), params).all()
    if len(found) < limit:
        # Fewer than asked: there are no more due rows, or the window's were held back behind
        # rows of their recipients (being sent, or waiting for their turn). Every due row is
        # looked at then, which costs little when few are due.
        found = session.execute(claim_query(*shape), params).all()
    rows = first_in_line(found)
    if not rows:
        return []
    claimed_ids = set(session.scalars(claim_update(), {"ids": [r.id for r in rows], "now": now}))
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
