"""channels and delivery: verified phones, provider status, crash recoveries, SMS fallback

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('identities') as batch:
        batch.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch.create_index(batch.f('ix_identities_phone'), ['phone'], unique=False)
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('provider_status', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('provider_status_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('recoveries', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('fallback_of', BIG_ID, nullable=True))
        batch.create_unique_constraint(batch.f('uq_outbox_fallback_of'), ['fallback_of'])
        batch.create_foreign_key('fk_outbox_fallback_of', 'outbox', ['fallback_of'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('outbox') as batch:
        batch.alter_column('recoveries', server_default=None)
    op.create_table('delivery_events',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('provider_id', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('outbox_id', BIG_ID, nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider_id', 'status', name='uq_delivery_events_provider_id_status')
    )
    op.create_index(op.f('ix_delivery_events_outbox_id'), 'delivery_events', ['outbox_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_delivery_events_outbox_id'), table_name='delivery_events')
    op.drop_table('delivery_events')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_constraint('fk_outbox_fallback_of', type_='foreignkey')
        batch.drop_constraint(batch.f('uq_outbox_fallback_of'), type_='unique')
        batch.drop_column('fallback_of')
        batch.drop_column('recoveries')
        batch.drop_column('provider_status_at')
        batch.drop_column('provider_status')
    with op.batch_alter_table('identities') as batch:
        batch.drop_index(batch.f('ix_identities_phone'))
        batch.drop_column('phone')
