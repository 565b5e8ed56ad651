"""The Alembic migrations and the SQLAlchemy models describe the same schema, on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bot.store.db import Database
from bot.store.migrate import alembic_config, current_revision, head_revision, upgrade
from bot.store.models import Base
from tests.conftest import BACKENDS, fresh_pg_schema

# The database is what is tested here: the migrations and the models agree on each dialect.
pytestmark = pytest.mark.both_databases

APP_TABLES = {table.name for table in Base.metadata.sorted_tables}


def schema_differences(db: Database) -> list[object]:
    """Return what Alembic's autogenerate would change to make the database match the models."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, Base.metadata))


def downgrade(db: Database, revision: str) -> None:
    """Migrate a database down to a revision, the way bot.store.migrate.upgrade migrates up."""
    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def table_names(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Return a database with nothing in it: a new SQLite file, or a new schema in the PostgreSQL test database."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield database
        database.dispose()
        return
    with fresh_pg_schema("teleopd_mig") as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


def test_models_and_migrations_agree(db: Database) -> None:
    assert schema_differences(db) == []


def test_the_migrated_database_is_at_head(db: Database) -> None:
    head = head_revision()
    assert head is not None
    assert current_revision(db.engine) == head


def test_the_migrations_have_one_head_and_one_base() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(scripts.get_heads()) == 1, scripts.get_heads()
    assert len(scripts.get_bases()) == 1, scripts.get_bases()
    for revision in scripts.walk_revisions():
        assert callable(getattr(revision.module, "downgrade", None)), f"{revision.revision} has no downgrade()"


def test_downgrade_to_base_and_upgrade_again(empty_db: Database) -> None:
    head = head_revision()
    upgrade(empty_db.url, empty_db.engine)
    assert current_revision(empty_db.engine) == head
    assert APP_TABLES <= table_names(empty_db)

    downgrade(empty_db, "base")
    assert current_revision(empty_db.engine) is None
    assert table_names(empty_db) & APP_TABLES == set(), "tables left after downgrading to base"

    upgrade(empty_db.url, empty_db.engine)
    assert current_revision(empty_db.engine) == head
    assert schema_differences(empty_db) == []


def test_each_revision_goes_down_and_up_one_step(empty_db: Database) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(empty_db.url))
    revisions = list(reversed(list(scripts.walk_revisions())))  # oldest first
    for revision in revisions:
        upgrade(empty_db.url, empty_db.engine, revision.revision)
        assert current_revision(empty_db.engine) == revision.revision
        downgrade(empty_db, revision.down_revision or "base")
        assert current_revision(empty_db.engine) == revision.down_revision
        upgrade(empty_db.url, empty_db.engine, revision.revision)
    assert current_revision(empty_db.engine) == head_revision()
    assert schema_differences(empty_db) == []


def test_upgrade_keeps_rows(empty_db: Database) -> None:
    """Upgrading a database already at head is a no-op that touches no data."""
    upgrade(empty_db.url, empty_db.engine)
    with empty_db.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO people (role, name, language, created_at) VALUES ('patient', 'Asha', 'hi', CURRENT_TIMESTAMP)")
        )
    upgrade(empty_db.url, empty_db.engine)
    with empty_db.engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM people")).scalars().all() == ["Asha"]


def test_0015_moves_pending_timers_keys_into_their_column_and_back(empty_db: Database) -> None:
    """A pending timer scheduled before 0015 is still found by its key afterwards (and a downgrade puts it back)."""
    upgrade(empty_db.url, empty_db.engine, "0014")
    insert = (
        "INSERT INTO timers (kind, payload, status, due_at, attempts, created_at) "
        "VALUES (:kind, :payload, :status, CURRENT_TIMESTAMP, 0, CURRENT_TIMESTAMP)"
    )
    with empty_db.engine.begin() as connection:
        for status, key in (("pending", "token:7"), ("fired", "token:8")):
            connection.execute(text(insert), {"kind": "no_show", "payload": json.dumps({"token": 7, "key": key}), "status": status})
    upgrade(empty_db.url, empty_db.engine, "0015")
    with empty_db.engine.connect() as connection:
        rows = connection.execute(text("SELECT status, key, payload FROM timers ORDER BY id")).all()
    payloads = [row.payload if isinstance(row.payload, dict) else json.loads(row.payload) for row in rows]
    assert [(row.status, row.key) for row in rows] == [("pending", "token:7"), ("fired", None)]
    assert payloads == [{"token": 7}, {"token": 7, "key": "token:8"}]
    downgrade(empty_db, "0014")
    with empty_db.engine.connect() as connection:
        payload = connection.execute(text("SELECT payload FROM timers ORDER BY id")).scalars().first()
    assert (payload if isinstance(payload, dict) else json.loads(payload)) == {"token": 7, "key": "token:7"}
