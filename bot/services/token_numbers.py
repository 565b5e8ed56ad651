"""Gap-free token numbers: an OPD's day's counter, and a token inserted with the number it takes.

Token numbers come from one counter row per OPD and day (opd_days). Issuing a number is a
single conditional UPDATE … SET issued = issued + 1 WHERE issued < capacity RETURNING
issued: on PostgreSQL the row lock makes concurrent bookings queue at that row and each
re-checks the capacity after the wait; on SQLite the write transaction already holds the
database lock. The token row is inserted in the same transaction, so a rollback takes the
number back: numbers start at 1, have no gaps and never pass the capacity.

A booking is the dearest turn a patient has (bench/dispatch_cost.py), so its writes are Core
statements built once: on PostgreSQL the counter's UPDATE and the token's INSERT are one
statement (the UPDATE a data-modifying CTE the INSERT selects its number from), and the token
is made a persistent object of the session from the values it was inserted with
(bot/store/rows.py), instead of the ORM's flush.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import Insert, Table, Update, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session as DbSession

from bot.services.identities import dialect_insert
from bot.store.models import Opd, OpdDay, Token, TokenStatus
from bot.store.rows import as_persistent, column_binds, new_row_values

_tokens = Token.__table__


def issue_number(session: DbSession, opd: Opd, day: dt.date) -> int | None:
    """Take the next token number of an OPD's day, or None when the day is full."""
    take, _ = _counter_statements(dialect_insert(session))
    # Most bookings find the day's row: one statement, which locks the row until COMMIT (every
    # booking of the day queues there). A full day's row is not locked: the UPDATE's WHERE
    # fails first. (An INSERT … ON CONFLICT DO UPDATE … WHERE, one statement in every case,
    # would lock it even then: PostgreSQL locks the conflicting row whether or not the WHERE
    # holds, https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT.)
    number = session.execute(take, _counter_values(opd, day)).scalar_one_or_none()
    return number if number is not None else _first_of_day(session, opd, day)


def _first_of_day(session: DbSession, opd: Opd, day: dt.date) -> int | None:
    """The number when the day's counter did not move: 1 if this makes the day's row, else whatever a second look takes."""
    take, open_day = _counter_statements(dialect_insert(session))
    values = _counter_values(opd, day)
    if opd.daily_capacity >= 1 and session.execute(open_day, values).scalar_one_or_none() is not None:
        return 1  # the day's first token
    # The row is there: the day is full, or another booking made the row since the first look
    # (the INSERT waited for it to commit); look once more.
    return session.execute(take, values).scalar_one_or_none()


def _counter_values(opd: Opd, day: dt.date) -> dict[str, object]:
    return {"b_opd_id": opd.id, "b_day": day, "b_capacity": opd.daily_capacity}


@functools.cache
def _counter_statements(insert: Callable[[Table], Insert]) -> tuple[Update, Insert]:
    """The day's counter moved on while there is room (the capacity kept on the row, which an
    OPD's edit changes), and the day's row made with number 1; built once per dialect (`insert`:
    its INSERT, which knows ON CONFLICT).

    Bound parameters: b_opd_id, b_day, b_capacity (an UPDATE's own names may not be its columns').
    """
    table = OpdDay.__table__
    take = (
        update(table)
        .where(table.c.opd_id == bindparam("b_opd_id"), table.c.day == bindparam("b_day"), table.c.issued < table.c.capacity)
        .values(issued=table.c.issued + 1)
        .returning(table.c.issued)
    )
    open_day = (
        insert(table).values(opd_id=bindparam("b_opd_id"), day=bindparam("b_day"), issued=1, capacity=bindparam("b_capacity"))
        .on_conflict_do_nothing(index_elements=["opd_id", "day"])
        .returning(table.c.issued)
    )
    return take, open_day


def has_room(session: DbSession, opd: Opd, day: dt.date) -> bool:
    """Return True if the OPD's day has tokens left."""
    row = session.execute(select(OpdDay.issued, OpdDay.capacity).where(OpdDay.opd_id == opd.id, OpdDay.day == day)).first()
    if row is None:  # no booking yet that day
        return True
    return row.issued < (row.capacity if row.capacity is not None else opd.daily_capacity)


def book_token(
    session: DbSession, opd: Opd, day: dt.date, person_id: int, identity_id: int, *,
    priority: bool, red_flags: list[str], intake: dict[str, Any], now: dt.datetime,
) -> Token | None:
    """Take the day's next number and insert the waiting token that holds it; None when the day is full."""
    values = new_row_values(_tokens, {
        "opd_id": opd.id, "day": day, "person_id": person_id, "identity_id": identity_id, "status": TokenStatus.WAITING,
        "priority": priority, "red_flags": red_flags, "intake": intake, "created_at": now,
    }, leave_out=("id", "number"))
    bound = {f"t_{key}": value for key, value in values.items()}
    postgres = session.get_bind().dialect.name == "postgresql"
    row = session.execute(_numbered_insert_statement(), {**bound, **_counter_values(opd, day)}).first() if postgres else None
    if row is not None:
        token_id, number = row
    else:  # SQLite; or no row for the day yet, or the day full
        taken = _first_of_day(session, opd, day) if postgres else issue_number(session, opd, day)
        if taken is None:
            return None
        number = taken
        token_id = session.execute(_insert_statement(), {**bound, "t_number": number}).scalar_one()
    return as_persistent(session, Token, {**values, "id": token_id, "number": number})


@functools.cache
def _insert_statement() -> Insert:
    """A token's INSERT with its number given (t_number), returning its id."""
    return insert(_tokens).values(column_binds(_tokens, "t", leave_out=("id",))).returning(_tokens.c.id)


@functools.cache
def _numbered_insert_statement() -> Insert:
    """PostgreSQL: the day's counter moved on and the token inserted with the number it took, one statement
    (the UPDATE a data-modifying CTE, which PostgreSQL requires at the statement's top:
    https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING); no row
    when the counter did not move (no row for the day yet, or the day full)."""
    take, _ = _counter_statements(postgresql.insert)
    taken = take.cte("taken")
    binds = column_binds(_tokens, "t", leave_out=("id", "number"))
    chosen = select(*binds.values(), taken.c.issued)
    return insert(_tokens).add_cte(taken).from_select([*binds, "number"], chosen).returning(_tokens.c.id, _tokens.c.number)
