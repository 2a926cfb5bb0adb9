"""shopify csv import: handle and variant links, import runs, pending images

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:30:00.000000

The Shopify adapter's own tables (liveshop/integrations/shopify/orm.py), and an index on
variants (shop_id, lower(sku)) for the catalog's case-blind SKU check, which an import asks
once per batch. Only new tables and an index: an existing database keeps every row.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveshop.core.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A shop's SKUs are compared without case (lower(sku) IN ...) for every product saved and
    # every batch imported: an index, so that no longer reads the whole variants table.
    op.create_index('ix_variants_shop_id_lower_sku', 'variants',
                    ['shop_id', sa.text('lower(sku)')], unique=False)
    op.create_table('shopify_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('market', sa.String(length=2), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('started_at', liveshop.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', liveshop.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shopify_imports_shop_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_shopify_imports_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_imports'))
    )
    with op.batch_alter_table('shopify_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shopify_imports_shop_id'), ['shop_id'], unique=False)

    op.create_table('shopify_pending_images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('src', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('alt', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_shopify_pending_images_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_pending_images')),
    sa.UniqueConstraint('product_id', 'src', name=op.f('uq_shopify_pending_images_product_id'))
    )
    with op.batch_alter_table('shopify_pending_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shopify_pending_images_product_id'), ['product_id'], unique=False)

    op.create_table('shopify_product_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('handle', sa.String(length=255), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('imported', sa.JSON(), nullable=False),
    sa.Column('imported_at', liveshop.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_shopify_product_links_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_shopify_product_links_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_product_links')),
    sa.UniqueConstraint('product_id', name=op.f('uq_shopify_product_links_product_id')),
    sa.UniqueConstraint('shop_id', 'handle', name=op.f('uq_shopify_product_links_shop_id'))
    )
    op.create_table('shopify_variant_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_link_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=255), nullable=False),
    sa.Column('options_key', sa.String(length=200), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['product_link_id'], ['shopify_product_links.id'], name=op.f('fk_shopify_variant_links_product_link_id_shopify_product_links'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_shopify_variant_links_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_variant_links')),
    sa.UniqueConstraint('product_link_id', 'sku', 'options_key', name=op.f('uq_shopify_variant_links_product_link_id')),
    sa.UniqueConstraint('variant_id', name=op.f('uq_shopify_variant_links_variant_id'))
    )
    with op.batch_alter_table('shopify_variant_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shopify_variant_links_product_link_id'), ['product_link_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_variants_shop_id_lower_sku', table_name='variants')
    with op.batch_alter_table('shopify_variant_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shopify_variant_links_product_link_id'))

    op.drop_table('shopify_variant_links')
    op.drop_table('shopify_product_links')
    with op.batch_alter_table('shopify_pending_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shopify_pending_images_product_id'))

    op.drop_table('shopify_pending_images')
    with op.batch_alter_table('shopify_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shopify_imports_shop_id'))

    op.drop_table('shopify_imports')
