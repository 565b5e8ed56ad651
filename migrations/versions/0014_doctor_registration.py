"""doctors' registration numbers and qualifications, printed on the e-prescription

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: doctors added before this have none on file until `teleopd doctor edit`, and
    # their prescriptions say so (bot/services/prescription_pdf.py).
    with op.batch_alter_table('doctors') as batch:
        batch.add_column(sa.Column('registration_number', sa.String(40), nullable=True))
        batch.add_column(sa.Column('qualification', sa.String(120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('doctors') as batch:
        batch.drop_column('qualification')
        batch.drop_column('registration_number')
