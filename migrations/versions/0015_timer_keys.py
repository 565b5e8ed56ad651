"""timers' keys in a column of their own, indexed with the kind: replacing or cancelling a timer (a token's reminder, a call's no-show window) is an index lookup, not a scan of every pending timer's JSON

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('timers') as batch:
        batch.add_column(sa.Column('key', sa.String(length=120), nullable=True))
        batch.create_index('ix_timers_kind_key', ['kind', 'key'])
    # The pending timers' keys move out of their payloads (fired and cancelled ones are never looked up).
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE timers SET key = payload->>'key', payload = payload - 'key' WHERE status = 'pending' AND payload ? 'key'")
    else:
        op.execute(
            "UPDATE timers SET key = json_extract(payload, '$.key'), payload = json_remove(payload, '$.key') "
            "WHERE status = 'pending' AND json_extract(payload, '$.key') IS NOT NULL"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE timers SET payload = payload || jsonb_build_object('key', key) WHERE key IS NOT NULL")
    else:
        op.execute("UPDATE timers SET payload = json_set(payload, '$.key', key) WHERE key IS NOT NULL")
    with op.batch_alter_table('timers') as batch:
        batch.drop_index('ix_timers_kind_key')
        batch.drop_column('key')
