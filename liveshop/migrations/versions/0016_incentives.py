"""incentives: market fees, the fee holiday, bonus campaigns and vouchers

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:28:03.231319

New tables (liveshop/incentives/orm.py) and a ``discount`` column on ``checkouts``,
``orders`` and ``order_lines``: what a platform-funded voucher paid. Existing rows get 0 (no
voucher existed), so their totals and refunds are as before; markets without a fee row keep
the 5% default, and without a holiday row nobody is on a fee holiday.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.core.db import UTCDateTime

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fee_holiday_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('gmv_limits', sa.JSON(), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_holiday_policy'))
    )
    op.create_table('market_fees',
    sa.Column('market', sa.String(length=2), nullable=False),
    sa.Column('fee_bp', sa.Integer(), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('market', name=op.f('pk_market_fees'))
    )
    op.create_table('vouchers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('market', sa.String(length=2), nullable=False),
    sa.Column('percent_bp', sa.Integer(), nullable=True),
    sa.Column('amount_off', sa.Integer(), nullable=True),
    sa.Column('min_basket', sa.Integer(), nullable=False),
    sa.Column('per_buyer_limit', sa.Integer(), nullable=False),
    sa.Column('budget', sa.BigInteger(), nullable=False),
    sa.Column('spent', sa.BigInteger(), nullable=False),
    sa.Column('starts_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('spent <= budget', name=op.f('ck_vouchers_within_budget')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vouchers')),
    sa.UniqueConstraint('code', name=op.f('uq_vouchers_code'))
    )
    op.create_table('bonus_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('market', sa.String(length=2), nullable=False),
    sa.Column('creator_id', sa.Integer(), nullable=True),
    sa.Column('bonus_bp', sa.Integer(), nullable=False),
    sa.Column('budget', sa.BigInteger(), nullable=False),
    sa.Column('spent', sa.BigInteger(), nullable=False),
    sa.Column('starts_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('spent <= budget', name=op.f('ck_bonus_campaigns_within_budget')),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_bonus_campaigns_creator_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bonus_campaigns'))
    )
    with op.batch_alter_table('bonus_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bonus_campaigns_creator_id'), ['creator_id'], unique=False)

    op.create_table('fee_holiday_gmv',
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('gmv', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_fee_holiday_gmv_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', 'currency', name=op.f('pk_fee_holiday_gmv'))
    )
    op.create_table('voucher_redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('voucher_id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('checkout_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['buyer_id'], ['users.id'], name=op.f('fk_voucher_redemptions_buyer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['checkout_id'], ['checkouts.id'], name=op.f('fk_voucher_redemptions_checkout_id_checkouts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_voucher_redemptions_voucher_id_vouchers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_redemptions')),
    sa.UniqueConstraint('checkout_id', name=op.f('uq_voucher_redemptions_checkout_id'))
    )
    with op.batch_alter_table('voucher_redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_voucher_redemptions_buyer', ['voucher_id', 'buyer_id'], unique=False)

    op.create_table('bonus_grants',
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['bonus_campaigns.id'], name=op.f('fk_bonus_grants_campaign_id_bonus_campaigns')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_bonus_grants_order_line_id_order_lines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_line_id', name=op.f('pk_bonus_grants'))
    )
    with op.batch_alter_table('bonus_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bonus_grants_campaign_id'), ['campaign_id'], unique=False)

    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount', sa.Integer(), server_default='0', nullable=False))



def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+ has it): batch mode would copy checkouts and orders
    # into new tables, which the foreign keys of payments and order lines refuse.
    for table in ('orders', 'order_lines', 'checkouts'):
        op.execute(f'ALTER TABLE {table} DROP COLUMN discount')

    with op.batch_alter_table('bonus_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bonus_grants_campaign_id'))

    op.drop_table('bonus_grants')
    with op.batch_alter_table('voucher_redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_voucher_redemptions_buyer')

    op.drop_table('voucher_redemptions')
    op.drop_table('fee_holiday_gmv')
    with op.batch_alter_table('bonus_campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bonus_campaigns_creator_id'))

    op.drop_table('bonus_campaigns')
    op.drop_table('vouchers')
    op.drop_table('market_fees')
    op.drop_table('fee_holiday_policy')
