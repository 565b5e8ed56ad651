"""the voice line's callback requests: one open request per number

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('callback_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('open_phone', sa.String(length=20), nullable=True),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_phone')
    )
    op.create_index(op.f('ix_callback_requests_person_id'), 'callback_requests', ['person_id'], unique=False)
    op.create_index(op.f('ix_callback_requests_requested_at'), 'callback_requests', ['requested_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_callback_requests_requested_at'), table_name='callback_requests')
    op.drop_index(op.f('ix_callback_requests_person_id'), table_name='callback_requests')
    op.drop_table('callback_requests')
