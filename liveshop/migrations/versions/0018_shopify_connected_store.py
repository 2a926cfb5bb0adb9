"""a connected Shopify store: connections, webhooks received, orders pushed

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 17:45:00.000000

Three new tables (liveshop/integrations/shopify/orm.py): ``shopify_connections`` (a shop's
store, its encrypted Admin API token and synced location), ``shopify_webhooks`` (every
webhook by its X-Shopify-Webhook-Id, so a second delivery is a duplicate) and
``shopify_order_pushes`` (each paid order to create in Shopify once). The import's link
tables get nullable columns naming the Shopify ids of a pulled product and variant; rows
written by CSV imports keep theirs NULL (a CSV names no ids).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.core.db import UTCDateTime

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'shopify_connections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('domain', sa.String(length=255), nullable=False),
        sa.Column('token_encrypted', sa.Text(), nullable=False),
        sa.Column('market', sa.String(length=2), nullable=False),
        sa.Column('location_id', sa.String(length=100), nullable=False),
        sa.Column('location_name', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('connected_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_sync_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_sync_report', sa.JSON(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'],
                                name=op.f('fk_shopify_connections_shop_id_shops'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_connections')),
        sa.UniqueConstraint('shop_id', name=op.f('uq_shopify_connections_shop_id')),
    )
    op.create_index(op.f('ix_shopify_connections_domain'), 'shopify_connections', ['domain'],
                    unique=False)
    op.create_table(
        'shopify_webhooks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('webhook_id', sa.String(length=100), nullable=False),
        sa.Column('topic', sa.String(length=60), nullable=False),
        sa.Column('shop_domain', sa.String(length=255), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('triggered_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('processed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_webhooks')),
        sa.UniqueConstraint('webhook_id', name=op.f('uq_shopify_webhooks_webhook_id')),
    )
    op.create_table(
        'shopify_order_pushes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('shopify_order_id', sa.String(length=100), nullable=True),
        sa.Column('shopify_order_name', sa.String(length=40), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('claimed_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('pushed_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_shopify_order_pushes_order_id_orders'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'],
                                name=op.f('fk_shopify_order_pushes_shop_id_shops'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_order_pushes')),
        sa.UniqueConstraint('order_id', name=op.f('uq_shopify_order_pushes_order_id')),
    )
    op.create_index(op.f('ix_shopify_order_pushes_shop_id'), 'shopify_order_pushes',
                    ['shop_id'], unique=False)
    op.create_index(op.f('ix_shopify_order_pushes_status'), 'shopify_order_pushes',
                    ['status'], unique=False)
    op.create_index(op.f('ix_shopify_order_pushes_shopify_order_id'), 'shopify_order_pushes',
                    ['shopify_order_id'], unique=False)
    with op.batch_alter_table('shopify_product_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shopify_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('shopify_updated_at', UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_shopify_product_links_shopify_id'),
                              ['shopify_id'], unique=False)
    with op.batch_alter_table('shopify_variant_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shopify_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('inventory_item_id', sa.String(length=100),
                                      nullable=True))
        batch_op.add_column(sa.Column('shopify_available', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stock_updated_at', UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_shopify_variant_links_inventory_item_id'),
                              ['inventory_item_id'], unique=False)


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), not batch mode: batch mode would copy each link
    # table and drop the old one, and dropping shopify_product_links would delete every
    # variant link by its ON DELETE CASCADE.
    op.drop_index(op.f('ix_shopify_variant_links_inventory_item_id'),
                  table_name='shopify_variant_links')
    for column in ('stock_updated_at', 'shopify_available', 'inventory_item_id', 'shopify_id'):
        op.drop_column('shopify_variant_links', column)
    op.drop_index(op.f('ix_shopify_product_links_shopify_id'),
                  table_name='shopify_product_links')
    for column in ('shopify_updated_at', 'shopify_id'):
        op.drop_column('shopify_product_links', column)
    op.drop_table('shopify_order_pushes')
    op.drop_table('shopify_webhooks')
    op.drop_index(op.f('ix_shopify_connections_domain'), table_name='shopify_connections')
    op.drop_table('shopify_connections')
