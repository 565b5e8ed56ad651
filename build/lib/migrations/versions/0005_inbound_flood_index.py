"""inbound flood limit: one identity's messages by time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # bot/dispatch.py counts an identity's messages of the last 60 s under its conversation lock.
    op.create_index('ix_inbound_messages_identity_received', 'inbound_messages', ['identity_id', 'received_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_inbound_messages_identity_received', table_name='inbound_messages')
