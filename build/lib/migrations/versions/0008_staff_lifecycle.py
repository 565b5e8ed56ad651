"""staff lifecycle: doctors and health workers turned off or removed, enrolment codes revoked

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('people', sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('people', sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('enrolment_codes', sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('enrolment_codes', 'revoked_at')
    op.drop_column('people', 'removed_at')
    op.drop_column('people', 'disabled_at')
