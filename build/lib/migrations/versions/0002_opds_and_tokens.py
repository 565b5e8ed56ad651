"""opds and tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('opds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('specialty', sa.String(length=30), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('name_hi', sa.String(length=80), nullable=False),
    sa.Column('opens_at', sa.Time(), nullable=False),
    sa.Column('closes_at', sa.Time(), nullable=False),
    sa.Column('working_days', sa.String(length=7), nullable=False),
    sa.Column('daily_capacity', sa.Integer(), nullable=False),
    sa.Column('languages', sa.String(length=20), nullable=False),
    sa.Column('consult_minutes', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('opds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opds_specialty'), ['specialty'], unique=False)

    op.create_table('opd_days',
    sa.Column('opd_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['opd_id'], ['opds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('opd_id', 'day')
    )
    op.create_table('tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('opd_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.Boolean(), nullable=False),
    sa.Column('red_flags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('intake', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opd_id'], ['opds.id'], ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('opd_id', 'day', 'number', name='uq_tokens_opd_day_number')
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tokens_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tokens_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_tokens_queue', ['opd_id', 'day', 'status', 'number'], unique=False)
        batch_op.create_index('uq_tokens_live_patient', ['opd_id', 'day', 'person_id'], unique=True, postgresql_where=sa.text("status IN ('waiting', 'called', 'in_consultation')"), sqlite_where=sa.text("status IN ('waiting', 'called', 'in_consultation')"))

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guardian_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index(batch_op.f('ix_people_guardian_id'), ['guardian_id'], unique=False)
        batch_op.create_foreign_key('fk_people_guardian_id', 'people', ['guardian_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_constraint('fk_people_guardian_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_people_guardian_id'))
        batch_op.drop_column('guardian_id')

    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_index('uq_tokens_live_patient', postgresql_where=sa.text("status IN ('waiting', 'called', 'in_consultation')"), sqlite_where=sa.text("status IN ('waiting', 'called', 'in_consultation')"))
        batch_op.drop_index('ix_tokens_queue')
        batch_op.drop_index(batch_op.f('ix_tokens_person_id'))
        batch_op.drop_index(batch_op.f('ix_tokens_identity_id'))

    op.drop_table('tokens')
    op.drop_table('opd_days')
    with op.batch_alter_table('opds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opds_specialty'))

    op.drop_table('opds')
