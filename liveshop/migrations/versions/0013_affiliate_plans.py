"""affiliate plans, and the terms an order line was paid under

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:00:00.000000

A new table, ``affiliate_plans`` (liveshop/creators/orm.py), and four columns on
``order_lines``: the creator who earns the line, the commission rate, the platform's bonus
and the market's fee in force when it was paid. Existing lines keep every value and get no
creator, a rate and bonus of 0 and no fee (NULL: paid before the books, so nothing was
posted for them and a refund of them posts nothing either).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.core.db import UTCDateTime

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'affiliate_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('creator_id', sa.Integer(), nullable=True),
        sa.Column('rate_bp', sa.Integer(), nullable=False),
        sa.Column('paused', sa.Boolean(), nullable=False),
        sa.Column('ends_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['creator_id'], ['users.id'],
                                name=op.f('fk_affiliate_plans_creator_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'],
                                name=op.f('fk_affiliate_plans_product_id_products'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['shop_id'], ['shops.id'],
                                name=op.f('fk_affiliate_plans_shop_id_shops'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_affiliate_plans')),
        sa.UniqueConstraint('product_id', 'creator_id', name='uq_affiliate_plans_targeted'),
    )
    op.create_index(op.f('ix_affiliate_plans_creator_id'), 'affiliate_plans', ['creator_id'],
                    unique=False)
    op.create_index(op.f('ix_affiliate_plans_shop_id'), 'affiliate_plans', ['shop_id'],
                    unique=False)
    op.create_index('uq_affiliate_plans_open', 'affiliate_plans', ['product_id'], unique=True,
                    sqlite_where=sa.text("kind = 'open'"),
                    postgresql_where=sa.text("kind = 'open'"))
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('creator_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('commission_bp', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('bonus_bp', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('fee_bp', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_order_lines_creator_id'), ['creator_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_order_lines_creator_id_users'), 'users',
                                    ['creator_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_order_lines_creator_id_users'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_order_lines_creator_id'))
        batch_op.drop_column('fee_bp')
        batch_op.drop_column('bonus_bp')
        batch_op.drop_column('commission_bp')
        batch_op.drop_column('creator_id')
    op.drop_index('uq_affiliate_plans_open', table_name='affiliate_plans',
                  sqlite_where=sa.text("kind = 'open'"),
                  postgresql_where=sa.text("kind = 'open'"))
    op.drop_index(op.f('ix_affiliate_plans_shop_id'), table_name='affiliate_plans')
    op.drop_index(op.f('ix_affiliate_plans_creator_id'), table_name='affiliate_plans')
    op.drop_table('affiliate_plans')
