"""language columns take a BCP 47 tag with a script: "hi-Latn" (romanised Hindi) is 7 characters

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, nullable) of every language column; a tag like "hi-Latn-IN" still fits 16.
COLUMNS = (("people", False), ("identities", True), ("outbox", False))


def _widens() -> bool:
    # SQLite never enforces a VARCHAR's length, and rebuilding `people` there (the only way it
    # changes a column's type) would delete every patient row through the foreign keys: its
    # columns stay as created (bot/store/models/base.py LanguageTag).
    return op.get_bind().dialect.name != "sqlite"


def upgrade() -> None:
    if not _widens():
        return
    for table, nullable in COLUMNS:
        op.alter_column(table, 'language', existing_type=sa.String(length=5), type_=sa.String(length=16), existing_nullable=nullable)


def downgrade() -> None:
    # A longer tag does not fit back: romanised Hindi goes back to Hindi, its nearest language.
    for table, _nullable in COLUMNS:
        op.execute(sa.text(f"UPDATE {table} SET language = 'hi' WHERE language = 'hi-Latn'"))
    if not _widens():
        return
    for table, nullable in COLUMNS:
        op.alter_column(table, 'language', existing_type=sa.String(length=16), type_=sa.String(length=5), existing_nullable=nullable)
