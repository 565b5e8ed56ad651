"""Shared fixtures: a migrated database (SQLite always, PostgreSQL when configured) and services.

Set TELEOPD_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to
run every database test on PostgreSQL as well as on SQLite.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import Base
from tests.browser import browser  # noqa: F401  (one session-wide Chromium: a fixture defined once, here)

SHARED_TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
PG_URL = os.environ.get("TELEOPD_TEST_DATABASE_URL", "").replace("postgresql://", "postgresql+psycopg://", 1)
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def testdata() -> Path:
    """Return the shared test data folder (../shared/testdata); fail loudly if it is missing."""
    assert SHARED_TESTDATA.is_dir(), f"shared test data not found at {SHARED_TESTDATA}"
    return SHARED_TESTDATA


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db.url, db.engine)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> Iterator[str]:
    """Migrate a schema of this run's own in the PostgreSQL test database; drop it at the end.

    A schema per run (through the connection's search_path) lets two test runs share one
    database without dropping each other's tables.
    """
    schema = f"teleopd_test_{os.getpid()}"
    admin = Database(PG_URL)
    with admin.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    db = Database(url)
    upgrade(url, db.engine)
    db.dispose()
    yield url
    with admin.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Return an empty, migrated database: SQLite, and PostgreSQL when configured."""
    if request.param == "sqlite":
        path = tmp_path / "teleopd.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_migrated"))
        tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    """Return the real catalogs, loaded once."""
    return Catalogs()


@pytest.fixture
def services(db: Database, catalogs: Catalogs) -> Services:
    """Return the runtime wired to the test database, with no provider channels."""
    # Scripted conversations send dozens of messages within a second of real time; the
    # inbound flood limit has tests of its own (tests/test_inbound_flood.py).
    return build_services(Settings(database_url=db.url, inbound_per_minute=1000), db=db, catalogs=catalogs)


@pytest.fixture
def now() -> dt.datetime:
    """Return a fixed clock reading."""
    return dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
