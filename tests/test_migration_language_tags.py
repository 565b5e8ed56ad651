"""Migration 0010: a language column holds "hi-Latn" (romanised Hindi), and upgrading keeps every row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store.db import Database
from bot.store.migrate import current_revision, head_revision, upgrade
from tests.conftest import BACKENDS, fresh_pg_schema
from tests.test_migrations import downgrade, schema_differences

pytestmark = pytest.mark.both_databases


@pytest.fixture(params=BACKENDS)
def at_0009(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Return a database migrated to 0009, before language tags were widened, with a patient in it."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'lang.db'}")
        _fill(database)
        yield database
        database.dispose()
        return
    with fresh_pg_schema("teleopd_lang") as url:
        database = Database(url)
        try:
            _fill(database)
            yield database
        finally:
            database.dispose()


def _fill(database: Database) -> None:
    upgrade(database.url, database.engine, "0009")
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO people (id, role, name, language, created_at) VALUES (1, 'patient', 'Asha', 'hi', CURRENT_TIMESTAMP)"))
        connection.execute(
            text(
                "INSERT INTO patients (person_id, age, sex, state_code, district, consent_at, updated_at) "
                "VALUES (1, 30, 'female', 'IN-UP', 'Varanasi', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO identities (id, channel, address, person_id, language, opted_out, created_at) "
                "VALUES (1, 'sms', '+919876543210', 1, 'hi', false, CURRENT_TIMESTAMP)"
            )
        )


def _languages(database: Database) -> tuple[str, str]:
    with database.engine.connect() as connection:
        person = connection.execute(text("SELECT language FROM people WHERE id = 1")).scalar_one()
        identity = connection.execute(text("SELECT language FROM identities WHERE id = 1")).scalar_one()
    return person, identity


def test_upgrading_keeps_the_patient_and_takes_romanised_hindi(at_0009: Database) -> None:
    upgrade(at_0009.url, at_0009.engine)
    assert current_revision(at_0009.engine) == head_revision()
    assert schema_differences(at_0009) == []
    with at_0009.engine.begin() as connection:
        # Nothing hangs off `people` any less than before: the patient's row and the identity's link.
        assert connection.execute(text("SELECT district FROM patients WHERE person_id = 1")).scalar_one() == "Varanasi"
        assert connection.execute(text("SELECT person_id FROM identities WHERE id = 1")).scalar_one() == 1
        connection.execute(text("UPDATE people SET language = 'hi-Latn' WHERE id = 1"))
        connection.execute(text("UPDATE identities SET language = 'hi-Latn' WHERE id = 1"))
    assert _languages(at_0009) == ("hi-Latn", "hi-Latn")


def test_downgrading_turns_romanised_hindi_into_hindi(at_0009: Database) -> None:
    upgrade(at_0009.url, at_0009.engine)
    with at_0009.engine.begin() as connection:
        connection.execute(text("UPDATE people SET language = 'hi-Latn'"))
        connection.execute(text("UPDATE identities SET language = 'hi-Latn'"))
    downgrade(at_0009, "0009")
    # The nearest language that fits five characters, not a failed downgrade or a cut tag.
    assert _languages(at_0009) == ("hi", "hi")
    upgrade(at_0009.url, at_0009.engine)
    assert schema_differences(at_0009) == []
