"""operators' roles (admin, coordinator, viewer; the ones before roles are admins) and state; the coordinators' inbox, its messages, the audit log; a conversation's holder and its unrecognised answers in a row

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # Added columns only (ALTER TABLE ADD COLUMN on SQLite too): no table is rebuilt.
    op.add_column('operators', sa.Column('role', sa.String(length=16), server_default='admin', nullable=False))
    op.add_column('operators', sa.Column('state_code', sa.String(length=6), nullable=True))
    op.add_column('conversations', sa.Column('held_by', BIG_ID, nullable=True))
    op.add_column('conversations', sa.Column('misses', sa.Integer(), server_default='0', nullable=False))
    op.create_table('inbox_items',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('identity_id', BIG_ID, nullable=False),
    sa.Column('open_identity_id', BIG_ID, nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('held_by', BIG_ID, nullable=True),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['held_by'], ['operators.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_identity_id')
    )
    op.create_index(op.f('ix_inbox_items_identity_id'), 'inbox_items', ['identity_id'], unique=False)
    op.create_index(op.f('ix_inbox_items_opened_at'), 'inbox_items', ['opened_at'], unique=False)
    op.create_table('inbox_messages',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('item_id', BIG_ID, nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('operator_id', BIG_ID, nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['inbox_items.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_inbox_messages_item_id'), 'inbox_messages', ['item_id'], unique=False)
    op.create_table('operator_actions',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('operator_id', BIG_ID, nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('item_id', BIG_ID, nullable=True),
    sa.Column('identity_id', BIG_ID, nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['inbox_items.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_operator_actions_at'), 'operator_actions', ['at'], unique=False)
    op.create_index(op.f('ix_operator_actions_item_id'), 'operator_actions', ['item_id'], unique=False)
    op.create_index(op.f('ix_operator_actions_operator_id'), 'operator_actions', ['operator_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_operator_actions_operator_id'), table_name='operator_actions')
    op.drop_index(op.f('ix_operator_actions_item_id'), table_name='operator_actions')
    op.drop_index(op.f('ix_operator_actions_at'), table_name='operator_actions')
    op.drop_table('operator_actions')
    op.drop_index(op.f('ix_inbox_messages_item_id'), table_name='inbox_messages')
    op.drop_table('inbox_messages')
    op.drop_index(op.f('ix_inbox_items_opened_at'), table_name='inbox_items')
    op.drop_index(op.f('ix_inbox_items_identity_id'), table_name='inbox_items')
    op.drop_table('inbox_items')
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('misses')
        batch.drop_column('held_by')
    with op.batch_alter_table('operators') as batch:
        batch.drop_column('state_code')
        batch.drop_column('role')
