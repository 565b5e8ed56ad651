"""The dispatcher's own reads and writes, one message's frame, as statements built once.

Every message pays for these, so they are SQLAlchemy Core statements built once per process
with bound parameters: a statement object that is reused has its cache key computed once
(SQLAlchemy memoizes it on the object) and its compiled form found in the engine's cache,
where a statement built per message pays for both every time (bench/dispatch_cost.py prints
the steps). They run on the session's connection, in its transaction, without the ORM's unit
of work. The objects the flows' ports read (the identity, its person, its conversation) are
made from the load's plain columns and added to the session as loaded, and kept in step with
set_committed_value, so the session has nothing of ours to flush.

Round trips a message, on PostgreSQL: the identity with its locked conversation and person
(one SELECT … FOR UPDATE OF conversations); the dedupe insert with the flood count (one
statement); the flow's own; the turn's writes (conversation, identity, inbound row: one
statement); its outbox rows with the NOTIFY (one statement: bot/outbox/enqueue.py enqueue_turn);
COMMIT.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Insert, Select, bindparam, case, func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.store.models import Conversation, Identity, Person
from bot.store.models import InboundMessage as InboundRow
from bot.store.rows import as_persistent

_conversations = Conversation.__table__
_identities = Identity.__table__
_inbound = InboundRow.__table__
_people = Person.__table__


class _Columns:
    """One mapped class's columns as the load's row carries them: (label, column, attribute) for each,
    and the label of its primary key (None there: the outer join found no row)."""

    def __init__(self, cls: type[Any], prefix: str):
        mapper = inspect(cls)
        self.cls = cls
        self.pairs = [(f"{prefix}_{column.key}", column, mapper.get_property_by_column(column).key) for column in mapper.local_table.c]
        self.key_label = f"{prefix}_{mapper.primary_key[0].key}"


def _labelled(columns: _Columns) -> list[Any]:
    return [column.label(label) for label, column, _ in columns.pairs]


def _as_loaded(session: Session, columns: _Columns, row: Any) -> Any:
    """The object of this row's columns, as the session would have loaded it (persistent, nothing changed);
    None where the outer join found none."""
    if row[columns.key_label] is None:
        return None
    return as_persistent(session, columns.cls, {attribute: row[label] for label, _, attribute in columns.pairs})


class _Statements:
    """The frame's statements for one dialect."""

    def __init__(self, dialect: str):
        self.postgresql = dialect == "postgresql"
        # The person comes in the same row: role_of() and the state's language read it, and a
        # lazy load would be a round trip of its own. FOR UPDATE OF the conversation only: the
        # person is on the nullable side of the outer join (SQLite ignores FOR UPDATE; its
        # write transaction holds the database's lock from BEGIN IMMEDIATE).
        # Read as plain columns and made into the session's objects here (_as_loaded): the
        # ORM's own loading of three entities builds its row processors on every execution,
        # and was a quarter of the dispatcher's time in `teleopd serve` (py-spy).
        self.identity, self.conversation, self.person = _Columns(Identity, "i"), _Columns(Conversation, "c"), _Columns(Person, "p")
        self.load: Select[Any] = (
            select(*_labelled(self.identity), *_labelled(self.conversation), *_labelled(self.person))
            .select_from(_identities.join(_conversations, _conversations.c.identity_id == _identities.c.id)
                         .outerjoin(_people, _people.c.id == _identities.c.person_id))
            .where(_identities.c.channel == bindparam("channel"), _identities.c.address == bindparam("address"))
            .with_for_update(of=_conversations)
        )
        insert = (postgresql.insert if self.postgresql else sqlite.insert)(_inbound)
        self.dedupe: Insert = (
            insert.values({name: bindparam(name) for name in (
                "channel", "provider_id", "identity_id", "kind", "length", "step_before", "received_at", "processed_at")})
            .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
            .returning(_inbound.c.id)
        )
        self.recent = (
            select(func.count())
            .select_from(_inbound)
            .where(
                _inbound.c.identity_id == bindparam("identity_id"),
                _inbound.c.received_at > bindparam("window_start"),
                _inbound.c.received_at <= bindparam("received_at"),
            )
        )
        if self.postgresql:
            # One round trip: the insert as a CTE, the count beside it. The count's snapshot is
            # the statement's, which does not hold the row being inserted: the caller adds it.
            inserted = self.dedupe.cte("inserted")
            self.dedupe_and_count: Select[Any] | None = select(
                select(inserted.c.id).scalar_subquery(), self.recent.scalar_subquery()
            )
        else:
            self.dedupe_and_count = None
        self.save_conversation = (
            update(_conversations)
            .where(_conversations.c.id == bindparam("conversation_key"))
            .values(step=bindparam("step"), data=bindparam("data", type_=_conversations.c.data.type),
                    misses=bindparam("misses"), version=_conversations.c.version + 1, updated_at=bindparam("updated_at"))
        )
        self.save_identity = (
            update(_identities)
            .where(_identities.c.id == bindparam("identity_key"))
            .values(
                language=bindparam("language"), opted_out=bindparam("opted_out"), last_inbound_at=bindparam("last_inbound_at"),
                # Set once, when the identity opts out; kept as it was otherwise.
                opted_out_at=case((bindparam("opting_out"), bindparam("now")), else_=_identities.c.opted_out_at),
            )
        )
        self.step_after = update(_inbound).where(_inbound.c.id == bindparam("inbound_key")).values(step_after=bindparam("step_after"))
        if self.postgresql:
            # The three writes in one round trip: data-modifying CTEs all run, each on its own row.
            self.save_all: Any = self.step_after.add_cte(self.save_conversation.cte("saved_conversation")).add_cte(
                self.save_identity.cte("saved_identity"))
        else:
            self.save_all = None


_BY_DIALECT: dict[str, _Statements] = {}


def _statements(session: Session) -> _Statements:
    dialect = session.get_bind().dialect.name
    found = _BY_DIALECT.get(dialect)
    if found is None:
        found = _BY_DIALECT.setdefault(dialect, _Statements(dialect))
    return found


def load_locked(session: Session, channel: str, address: str) -> tuple[Identity, Conversation] | None:
    """Return the identity at this address and its conversation, locked for the transaction; None on first contact.

    The person behind the identity (if any) is loaded in the same row.
    """
    statements = _statements(session)
    row = session.connection().execute(statements.load, {"channel": channel, "address": address}).mappings().first()
    if row is None:
        return None
    identity = _as_loaded(session, statements.identity, row)
    set_committed_value(identity, "person", _as_loaded(session, statements.person, row))
    return identity, _as_loaded(session, statements.conversation, row)


def record_inbound(
    session: Session, values: Mapping[str, Any], *, window_start: dt.datetime | None,
) -> tuple[int | None, int]:
    """Insert the dedupe row; return its id (None: handled before) and, with a window, the identity's messages in it, this one included."""
    statements = _statements(session)
    connection = session.connection()
    if window_start is None:
        return connection.execute(statements.dedupe, dict(values)).scalar_one_or_none(), 0
    if statements.dedupe_and_count is not None:
        inbound_id, before = connection.execute(statements.dedupe_and_count, {**values, "window_start": window_start}).one()
        return inbound_id, (before or 0) + 1
    inbound_id = connection.execute(statements.dedupe, dict(values)).scalar_one_or_none()
    if inbound_id is None:
        return None, 0
    recent = connection.execute(statements.recent, {
        "identity_id": values["identity_id"], "window_start": window_start, "received_at": values["received_at"]}).scalar()
    return inbound_id, recent or 0


def save_turn(
    session: Session,
    identity: Identity,
    conversation: Conversation,
    state: Mapping[str, Any],
    *,
    inbound_id: int,
    received_at: dt.datetime,
    now: dt.datetime,
) -> None:
    """Write the turn's state (`state`: step, data, misses, language, opted_out): the conversation, the identity, and the inbound row's step after it.

    The ORM objects are given the same values as committed ones: later reads in this
    transaction see them, and nothing is left for the session to flush.
    """
    statements = _statements(session)
    connection = session.connection()
    opting_out = bool(state["opted_out"] and not identity.opted_out)
    last_inbound_at = max(identity.last_inbound_at or received_at, received_at)
    values = {
        "conversation_key": conversation.id, "step": state["step"], "data": state["data"], "misses": state["misses"],
        "updated_at": now, "identity_key": identity.id, "language": state["language"], "opted_out": state["opted_out"],
        "last_inbound_at": last_inbound_at, "opting_out": opting_out, "now": now, "inbound_key": inbound_id, "step_after": state["step"],
    }
    if statements.save_all is not None:
        connection.execute(statements.save_all, values)
    else:
        connection.execute(statements.save_conversation, values)
        connection.execute(statements.save_identity, values)
        connection.execute(statements.step_after, values)
    for key in ("step", "data", "misses"):
        set_committed_value(conversation, key, state[key])
    set_committed_value(conversation, "version", conversation.version + 1)
    set_committed_value(conversation, "updated_at", now)
    set_committed_value(identity, "language", state["language"])
    set_committed_value(identity, "opted_out", state["opted_out"])
    set_committed_value(identity, "last_inbound_at", last_inbound_at)
    if opting_out:
        set_committed_value(identity, "opted_out_at", now)
