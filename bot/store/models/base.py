"""What every model is built on: the base class, the column types and the clock.

Every timestamp is stored timezone-aware in UTC (Babel treats a naive datetime as UTC and
reports in IST only when told to; see PROVIDERS.md §D).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    String,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JsonDict = JSON().with_variant(JSONB(), "postgresql")
# BIGINT ids on PostgreSQL (a national outbox passes 2**31 rows); SQLite needs INTEGER for
# its rowid alias to autoincrement.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# A language tag (flows/engine.py LANGUAGES: "en", "hi", "hi-Latn"). PostgreSQL holds it to 16
# characters (migration 0010 widened it from 5). SQLite never enforces a VARCHAR's length
# (https://www.sqlite.org/datatype3.html §3.1), so its columns stay as they were created:
# widening them would rebuild `people`, and with foreign keys on, SQLite's DROP TABLE deletes
# every patient row with it.
LanguageTag = String(16).with_variant(String(5), "sqlite")


def utcnow() -> dt.datetime:
    """Return the current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that always comes back aware in UTC (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC times")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Base class of every model."""
