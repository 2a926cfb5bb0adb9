"""a creator's own multi-shop show, and flash sales proposed to a shop for its consent

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:00:00.000000

``shows.shop_id`` may be NULL: a creator's own show, whose lineup takes products of several
shops (each one the creator has an active affiliate plan for). Every existing show keeps its
shop. A new table, ``flash_sale_proposals``: a flash sale a creator proposes for another
shop's product, which starts only once that shop approved it.

SQLite cannot drop a NOT NULL: the table is copied. With foreign keys on, dropping the old
``shows`` would cascade to every table that points at it (the lineup, chat, sales), so the
copy runs with foreign keys off, outside a transaction, and is checked afterwards.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.core.db import UTCDateTime

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _shop_id_nullable(nullable: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column('shows', 'shop_id', existing_type=sa.Integer(), nullable=nullable)
        return
    # PRAGMA foreign_keys is a no-op inside a transaction: end Alembic's, copy, begin again
    # (Alembic records the revision in the new one).
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        with op.batch_alter_table('shows', recreate='always') as batch:
            batch.alter_column('shop_id', existing_type=sa.Integer(), nullable=nullable)
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by copying shows: {broken[:5]}")
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        bind.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade() -> None:
    _shop_id_nullable(True)
    op.create_table(
        'flash_sale_proposals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('show_id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('variant_id', sa.Integer(), nullable=False),
        sa.Column('creator_id', sa.Integer(), nullable=False),
        sa.Column('prices', sa.JSON(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('per_buyer_limit', sa.Integer(), nullable=False),
        sa.Column('duration_seconds', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('sale_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('quantity > 0',
                           name=op.f('ck_flash_sale_proposals_quantity_positive')),
        sa.ForeignKeyConstraint(['creator_id'], ['users.id'],
                                name=op.f('fk_flash_sale_proposals_creator_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'],
                                name=op.f('fk_flash_sale_proposals_decided_by_users')),
        sa.ForeignKeyConstraint(['sale_id'], ['flash_sales.id'],
                                name=op.f('fk_flash_sale_proposals_sale_id_flash_sales')),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'],
                                name=op.f('fk_flash_sale_proposals_shop_id_shops'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['show_id'], ['shows.id'],
                                name=op.f('fk_flash_sale_proposals_show_id_shows'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['variant_id'], ['variants.id'],
                                name=op.f('fk_flash_sale_proposals_variant_id_variants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_flash_sale_proposals')),
    )
    for column in ('show_id', 'shop_id', 'status'):
        op.create_index(op.f(f'ix_flash_sale_proposals_{column}'), 'flash_sale_proposals',
                        [column], unique=False)


def downgrade() -> None:
    for column in ('status', 'shop_id', 'show_id'):
        op.drop_index(op.f(f'ix_flash_sale_proposals_{column}'),
                      table_name='flash_sale_proposals')
    op.drop_table('flash_sale_proposals')
    # A creator's own show has no shop to give back: it goes (with its lineup and chat).
    op.execute("DELETE FROM shows WHERE shop_id IS NULL")
    _shop_id_nullable(False)
