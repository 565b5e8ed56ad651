"""Migration 0011: the voice line's call-back requests, one open per number, on SQLite and PostgreSQL.

tests/test_migrations.py checks every revision goes down and up and matches the models; this
checks what 0011 is for: a second open request from a number is refused by the database
itself (whatever process asks), while closed ones (open_phone cleared) may pile up.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.migrate import current_revision, upgrade
from tests.test_migrations import downgrade, empty_db, table_names  # noqa: F401  (fixture)

pytestmark = pytest.mark.both_databases

INSERT = text(
    "INSERT INTO callback_requests (phone, open_phone, language, requested_at) "
    "VALUES ('+919745786257', :open, 'hi', CURRENT_TIMESTAMP)"
)


def test_0011_allows_one_open_request_per_number_and_any_number_of_closed_ones(empty_db: Database) -> None:  # noqa: F811
    upgrade(empty_db.url, empty_db.engine, "0010")
    assert "callback_requests" not in table_names(empty_db)
    upgrade(empty_db.url, empty_db.engine, "0011")
    with empty_db.engine.begin() as connection:
        for _ in range(2):
            connection.execute(INSERT, {"open": None})  # closed: called back
        connection.execute(INSERT, {"open": "+919745786257"})
    with pytest.raises(IntegrityError), empty_db.engine.begin() as connection:
        connection.execute(INSERT, {"open": "+919745786257"})
    with empty_db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM callback_requests")).scalar() == 3
    downgrade(empty_db, "0010")
    assert current_revision(empty_db.engine) == "0010" and "callback_requests" not in table_names(empty_db)
