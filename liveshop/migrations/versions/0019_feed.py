"""the feed: interaction events, their daily summaries, "not interested", item neighbours

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 18:00:00.000000

New tables only (liveshop/feed/orm.py): ``feed_events`` (append-only interactions),
``feed_event_days`` (what retention keeps of old events), ``feed_dismissals``,
``feed_item_neighbours`` (the trained item-to-item model) and ``feed_trainings``.
Existing rows are untouched; the feed serves popularity until the first training.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.core.db import UTCDateTime

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'feed_events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('visitor_id', sa.String(length=32), nullable=True),
        sa.Column('item_type', sa.String(length=8), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=True),
        sa.Column('creator_id', sa.Integer(), nullable=True),
        sa.Column('show_id', sa.Integer(), nullable=True),
        sa.Column('market', sa.String(length=2), nullable=True),
        sa.Column('occurred_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_events')),
    )
    op.create_index('ix_feed_events_user_at', 'feed_events', ['user_id', 'occurred_at'])
    op.create_index('ix_feed_events_market_at', 'feed_events', ['market', 'occurred_at'])
    op.create_index(op.f('ix_feed_events_visitor_id'), 'feed_events', ['visitor_id'])
    op.create_index(op.f('ix_feed_events_occurred_at'), 'feed_events', ['occurred_at'])
    op.create_table(
        'feed_event_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('market', sa.String(length=2), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('item_type', sa.String(length=8), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('people', sa.Integer(), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'market', 'kind', 'item_type', 'item_id',
                                name=op.f('pk_feed_event_days')),
    )
    op.create_table(
        'feed_dismissals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('viewer', sa.String(length=40), nullable=False),
        sa.Column('item_type', sa.String(length=8), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_dismissals')),
    )
    op.create_index('ix_feed_dismissals_viewer', 'feed_dismissals', ['viewer'])
    op.create_table(
        'feed_item_neighbours',
        sa.Column('item_code', sa.BigInteger(), nullable=False),
        sa.Column('neighbour_code', sa.BigInteger(), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('item_code', 'neighbour_code',
                                name=op.f('pk_feed_item_neighbours')),
    )
    op.create_table(
        'feed_trainings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('trained_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('items', sa.Integer(), nullable=False),
        sa.Column('neighbour_rows', sa.Integer(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_trainings')),
    )


def downgrade() -> None:
    op.drop_table('feed_trainings')
    op.drop_table('feed_item_neighbours')
    op.drop_index('ix_feed_dismissals_viewer', table_name='feed_dismissals')
    op.drop_table('feed_dismissals')
    op.drop_table('feed_event_days')
    op.drop_index(op.f('ix_feed_events_occurred_at'), table_name='feed_events')
    op.drop_index(op.f('ix_feed_events_visitor_id'), table_name='feed_events')
    op.drop_index('ix_feed_events_market_at', table_name='feed_events')
    op.drop_index('ix_feed_events_user_at', table_name='feed_events')
    op.drop_table('feed_events')
