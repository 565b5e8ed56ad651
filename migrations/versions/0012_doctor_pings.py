"""doctors' pings: when a doctor was last pinged (one a minute at most), and whether they muted pings

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('doctors') as batch:
        batch.add_column(sa.Column('pinged_at', sa.DateTime(timezone=True), nullable=True))
        # Existing doctors start unmuted; the default is the model's from then on.
        batch.add_column(sa.Column('pings_muted', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('doctors') as batch:
        batch.alter_column('pings_muted', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('doctors') as batch:
        batch.drop_column('pings_muted')
        batch.drop_column('pinged_at')
