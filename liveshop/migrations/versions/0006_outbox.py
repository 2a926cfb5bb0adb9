"""outbox of durable domain events

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:30:00.000000

Durable domain events (liveshop/core/events.py) are written here in the transaction that
records them and delivered to their handlers at least once afterwards.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.core.db import UTCDateTime

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('topic', sa.String(length=200), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('delivered_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    )
    op.create_index(op.f('ix_outbox_delivered_at'), 'outbox', ['delivered_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_outbox_delivered_at'), table_name='outbox')
    op.drop_table('outbox')
