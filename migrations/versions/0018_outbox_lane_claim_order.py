"""outbox: each channel's claim order indexed (status, channel, priority, id), so a claim of one
lane's rows walks that channel's pending rows only; and a recipient's rows indexed with their
status (channel, address, status, id, replacing (channel, address, id)), so the claim's checks
of a recipient's earlier rows find only those pending or being sent (bot/outbox/claims.py)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_outbox_lane_claim_order', 'outbox', ['status', 'channel', 'priority', 'id'])
    op.create_index('ix_outbox_recipient', 'outbox', ['channel', 'address', 'status', 'id'])
    op.drop_index('ix_outbox_channel_address', table_name='outbox')


def downgrade() -> None:
    op.create_index('ix_outbox_channel_address', 'outbox', ['channel', 'address', 'id'])
    op.drop_index('ix_outbox_recipient', table_name='outbox')
    op.drop_index('ix_outbox_lane_claim_order', table_name='outbox')
