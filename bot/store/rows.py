"""Objects of rows a Core statement wrote: the ORM's view of them without the ORM's flush.

Every message's load reads its identity, person and conversation as plain columns
(bot/dispatch_store.py), and the dearest turns (a booking, a registration) write their rows
with Core statements built once (bot/services/token_numbers.py, bot/services/patients.py),
their values bound by `column_binds`; the flows' ports then read those rows as objects.
`as_persistent` makes an object of the values a row was written with and adds it to the
session as if loaded: persistent, nothing to flush, its relationships found in the session's
identity map as for any loaded object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import BindParameter, Table, bindparam
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

T = TypeVar("T")


def new_row_values(table: Table, given: Mapping[str, Any], *, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every column of a new row (but those left out: the database's own, such as an id), None where not given."""
    unknown = set(given) - {column.key for column in table.c}
    if unknown:
        raise KeyError(f"{table.name} has no column {sorted(unknown)}")
    return {column.key: given.get(column.key) for column in table.c if column.key not in leave_out}


def column_binds(table: Table, prefix: str, *, leave_out: tuple[str, ...] = ()) -> dict[str, BindParameter[Any]]:
    """A bound parameter for each column of a row written in Core (`{prefix}_{column}`, typed as the
    column, so its values are converted as the ORM would), but those left out."""
    return {column.key: bindparam(f"{prefix}_{column.key}", type_=column.type) for column in table.c if column.key not in leave_out}


def as_persistent(session: Session, cls: type[T], values: Mapping[str, Any]) -> T:
    """The object of these column values (every column, its key included) as the session would have loaded it."""
    obj = cls.__mapper__.class_manager.new_instance()  # type: ignore[attr-defined]
    for key, value in values.items():
        set_committed_value(obj, key, value)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
