"""broadcasts: advisories to opted-in patients (the broadcasts and broadcast_recipients tables), the
patients' consent to advisories (asked, opted in, opted out), and the outbox's priority (a
broadcast's rows are claimed after replies and pushes), indexed in the claim's order

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JsonDict = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('patients') as batch:
        batch.add_column(sa.Column('advisories_asked_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('advisories_opted_in_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('advisories_opted_out_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
        batch.create_index('ix_outbox_claim_order', ['status', 'priority', 'id'])
    op.create_table(
        'broadcasts',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('texts', JsonDict, nullable=False),
        sa.Column('template_key', sa.String(length=40), nullable=True),
        sa.Column('segment', JsonDict, nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('author_id', BigId, sa.ForeignKey('operators.id', ondelete='RESTRICT'), nullable=False),
        sa.Column('approver_id', BigId, sa.ForeignKey('operators.id', ondelete='RESTRICT'), nullable=True),
        sa.Column('audience', sa.Integer(), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('expanded_through', BigId, nullable=False),
        sa.Column('expanded', sa.Boolean(), nullable=False),
        sa.Column('paced_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'broadcast_recipients',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('broadcast_id', BigId, sa.ForeignKey('broadcasts.id', ondelete='CASCADE'), nullable=False),
        sa.Column('identity_id', BigId, sa.ForeignKey('identities.id', ondelete='CASCADE'), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('outbox_id', BigId, sa.ForeignKey('outbox.id', ondelete='SET NULL'), nullable=True),
        sa.UniqueConstraint('broadcast_id', 'identity_id', name='uq_broadcast_recipients_broadcast_identity'),
    )
    op.create_index('ix_broadcast_recipients_broadcast_status', 'broadcast_recipients', ['broadcast_id', 'status', 'id'])
    op.create_index('ix_broadcast_recipients_identity_id', 'broadcast_recipients', ['identity_id'])
    op.create_index('ix_broadcast_recipients_outbox_id', 'broadcast_recipients', ['outbox_id'])


def downgrade() -> None:
    op.drop_table('broadcast_recipients')
    op.drop_table('broadcasts')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_index('ix_outbox_claim_order')
        batch.drop_column('priority')
    with op.batch_alter_table('patients') as batch:
        batch.drop_column('advisories_opted_out_at')
        batch.drop_column('advisories_opted_in_at')
        batch.drop_column('advisories_asked_at')
