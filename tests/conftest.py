"""Shared fixtures: a migrated database (SQLite, and PostgreSQL for the tests that ask) and services.

Tests that use `db` (or `services`) run on SQLite. Set TELEOPD_TEST_DATABASE_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test) and the tests marked `both_databases`,
those where the database is what is tested (locks, SKIP LOCKED, upserts, dates and time
zones, unique violations, migrations...), run on PostgreSQL as well.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.services import operators
from bot.services.opds import load_demo
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import Base
from tests.browser import browser  # noqa: F401  (one session-wide Chromium: a fixture defined once, here)
from tests.testdata import MISSING_ID, TESTDATA

PG_URL = os.environ.get("TELEOPD_TEST_DATABASE_URL", "").replace("postgresql://", "postgresql+psycopg://", 1)
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
BOTH_DATABASES = "both_databases"


def backends_for(node: pytest.Item | pytest.Function | pytest.Metafunc) -> list[str]:
    """Return the databases a test runs on: every configured one when marked both_databases, else SQLite."""
    definition = node.definition if isinstance(node, pytest.Metafunc) else node
    return BACKENDS if definition.get_closest_marker(BOTH_DATABASES) else ["sqlite"]


def _parametrized_by_hand(metafunc: pytest.Metafunc, name: str) -> bool:
    """Return whether the test parametrizes `name` itself (@pytest.mark.parametrize(name, ..., indirect=True))."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if name in names:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that uses `db` on SQLite, and also on PostgreSQL when it is marked both_databases."""
    if "db" in metafunc.fixturenames and not _parametrized_by_hand(metafunc, "db"):
        metafunc.parametrize("db", backends_for(metafunc), indirect=True)


@pytest.fixture(scope="session")
def testdata() -> Path:
    """Return the shared test data folder (../shared/testdata); fail loudly if it is missing."""
    assert TESTDATA.is_dir(), f"shared test data not found at {TESTDATA}"
    return TESTDATA


@pytest.fixture(autouse=True)
def fail_without_testdata(request: pytest.FixtureRequest) -> None:
    """Fail (not skip) the stand-in case that data_cases makes when the shared test data is missing."""
    if MISSING_ID in request.node.name:
        pytest.fail(f"shared test data not found under {TESTDATA}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db.url, db.engine)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def sqlite_demo_template(sqlite_template: Path) -> Path:
    """Load the demo catalogue (bot/services/opds.py DEMO_OPDS) into a copy of the template once; `demo` tests get a copy."""
    path = sqlite_template.with_name("demo.db")
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    with db.write() as session:
        load_demo(session)
    db.dispose()
    return path


@contextlib.contextmanager
def fresh_pg_schema(prefix: str) -> Iterator[str]:
    """Create an empty schema in the PostgreSQL test database; yield a URL whose search_path is it; drop it after.

    For tests that need a database with nothing in it (migrations, `teleopd db upgrade`). A
    schema and not a database of its own: CREATE and DROP DATABASE wait for a checkpoint,
    which took from 1 to 33 s a test on this machine.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = Database(PG_URL)
    with admin.engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


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
    # synchronous_commit off: a commit does not wait for its WAL to reach the disk. What the
    # tests check is what commits see and lock, not that a commit survives a crash of the
    # server; waiting for the disk made each of the thousands of commits 1-5 ms dearer.
    url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    db = Database(url)
    upgrade(url, db.engine)
    db.dispose()
    yield url
    with admin.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Return an empty, migrated database: SQLite, or PostgreSQL (pytest_generate_tests chooses)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        path = tmp_path / "teleopd.db"
        # A test that asks for `demo` starts from a copy with the catalogue already in (built once a session).
        template = "sqlite_demo_template" if "demo" in request.fixturenames else "sqlite_template"
        shutil.copy(request.getfixturevalue(template), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_migrated"))
        tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


# The cost teleopd hashes passwords at, read before the suite lowers it.
PRODUCTION_PASSWORD_HASH = operators.PASSWORD_HASH_METHOD


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Hash operators' passwords with scrypt at a work factor of 2**10 instead of werkzeug's 2**15 (250 ms a hash).

    What the tests check is who signs in, and how often they may try, not scrypt's cost; the
    hashes are still scrypt, and the real cost is checked once (test_operator_cookies_and_keys.py test_only_a_scrypt_hash_is_stored). A
    throttling test makes 30 tries, each a hash check.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(operators, "PASSWORD_HASH_METHOD", "scrypt:1024:8:1")
        yield


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
def demo(services: Services) -> Services:
    """Return the services on a database holding the demo catalogue, with its real hours (GEN24 is open round the clock).

    On SQLite the `db` fixture copied it in from a template built once; PostgreSQL loads it here.
    """
    if not services.db.is_sqlite:
        with services.db.write() as session:
            load_demo(session)
    return services


@pytest.fixture
def now() -> dt.datetime:
    """Return a fixed clock reading."""
    return dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
