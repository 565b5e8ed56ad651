"""media: the photos, documents and voice notes patients send for their doctors

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('media',
    sa.Column('id', _ID, nullable=False),
    sa.Column('identity_id', _ID, nullable=True),
    sa.Column('person_id', _ID, nullable=True),
    sa.Column('token_id', _ID, nullable=True),
    sa.Column('consultation_id', _ID, nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('mime', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('storage_key', sa.String(length=200), nullable=True),
    sa.Column('provider_ref', sa.Text(), nullable=False),
    sa.Column('provider_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'provider_key', name='uq_media_channel_provider_key')
    )
    op.create_index('ix_media_status_due', 'media', ['status', 'due_at'], unique=False)
    op.create_index(op.f('ix_media_identity_id'), 'media', ['identity_id'], unique=False)
    op.create_index(op.f('ix_media_person_id'), 'media', ['person_id'], unique=False)
    op.create_index(op.f('ix_media_token_id'), 'media', ['token_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_media_token_id'), table_name='media')
    op.drop_index(op.f('ix_media_person_id'), table_name='media')
    op.drop_index(op.f('ix_media_identity_id'), table_name='media')
    op.drop_index('ix_media_status_due', table_name='media')
    op.drop_table('media')
