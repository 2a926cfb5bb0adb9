"""creator storefront: profiles with handles, showcases, share-link clicks, samples

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 18:00:00.000000

New tables (liveshop/creators/orm.py): ``creator_profiles`` (a handle per creator, for
/@handle and ``?ref=``), ``showcase_items``, ``share_clicks`` and ``sample_requests``; and
``affiliate_plans.accepted_at`` (a targeted plan earns once its creator accepts it).

Existing data: every user with the creator role gets a profile whose handle is derived from
their name (``derive_handle``: "Nina Live" -> "ninalive", a number added on a clash).
Targeted plans made before count as accepted when they were made, so nothing they earned
changes.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.core.db import UTCDateTime
from liveshop.creators.model import derive_handle

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, ondelete: str | None = 'CASCADE'
        ) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f'{target}.id'],
                                   name=op.f(f'fk_{table}_{column}_{target}'),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        'creator_profiles',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('handle', sa.String(length=30), nullable=False),
        sa.Column('bio', sa.Text(), nullable=False),
        sa.Column('avatar_path', sa.String(length=300), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        _fk('creator_profiles', 'user_id', 'users'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_creator_profiles')),
        sa.UniqueConstraint('handle', name=op.f('uq_creator_profiles_handle')),
    )
    op.create_table(
        'showcase_items',
        sa.Column('creator_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('added_at', UTCDateTime(timezone=True), nullable=False),
        _fk('showcase_items', 'creator_id', 'users'),
        _fk('showcase_items', 'product_id', 'products'),
        sa.PrimaryKeyConstraint('creator_id', 'product_id', name=op.f('pk_showcase_items')),
    )
    op.create_table(
        'share_clicks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('creator_id', sa.Integer(), nullable=False),
        sa.Column('buyer_id', sa.Integer(), nullable=True),
        sa.Column('visitor', sa.String(length=64), nullable=True),
        sa.Column('product_id', sa.Integer(), nullable=True),
        sa.Column('show_id', sa.Integer(), nullable=True),
        sa.Column('via', sa.String(length=10), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        _fk('share_clicks', 'creator_id', 'users'),
        _fk('share_clicks', 'buyer_id', 'users'),
        _fk('share_clicks', 'product_id', 'products'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_share_clicks')),
    )
    op.create_index('ix_share_clicks_buyer_at', 'share_clicks', ['buyer_id', 'at'])
    op.create_index(op.f('ix_share_clicks_creator_id'), 'share_clicks', ['creator_id'])
    op.create_index(op.f('ix_share_clicks_visitor'), 'share_clicks', ['visitor'])
    op.create_table(
        'sample_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('creator_id', sa.Integer(), nullable=False),
        sa.Column('shop_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('variant_id', sa.Integer(), nullable=False),
        sa.Column('market', sa.String(length=2), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_at', UTCDateTime(timezone=True), nullable=True),
        _fk('sample_requests', 'creator_id', 'users'),
        _fk('sample_requests', 'shop_id', 'shops'),
        _fk('sample_requests', 'product_id', 'products'),
        _fk('sample_requests', 'variant_id', 'variants'),
        _fk('sample_requests', 'order_id', 'orders', ondelete=None),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sample_requests')),
    )
    op.create_index(op.f('ix_sample_requests_creator_id'), 'sample_requests', ['creator_id'])
    op.create_index(op.f('ix_sample_requests_shop_id'), 'sample_requests', ['shop_id'])
    op.create_index('uq_sample_requests_open', 'sample_requests', ['creator_id', 'variant_id'],
                    unique=True, sqlite_where=sa.text("status = 'requested'"),
                    postgresql_where=sa.text("status = 'requested'"))
    with op.batch_alter_table('affiliate_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepted_at', UTCDateTime(timezone=True),
                                      nullable=True))
    op.execute("UPDATE affiliate_plans SET accepted_at = created_at WHERE kind = 'targeted'")
    _derive_handles()


def _derive_handles() -> None:
    connection = op.get_bind()
    users = connection.execute(sa.text(
        "SELECT id, display_name FROM users WHERE role = 'creator' ORDER BY id")).all()
    taken: set[str] = set()
    rows = []
    for user_id, name in users:
        handle = derive_handle(name or "", user_id, taken)
        taken.add(handle)
        rows.append({'user_id': user_id, 'handle': handle})
    if rows:
        # The profile dates from the account (copied in SQL: no time-zone round trip).
        connection.execute(sa.text(
            "INSERT INTO creator_profiles (user_id, handle, bio, created_at) "
            "SELECT id, :handle, '', created_at FROM users WHERE id = :user_id"), rows)


def downgrade() -> None:
    with op.batch_alter_table('affiliate_plans', schema=None) as batch_op:
        batch_op.drop_column('accepted_at')
    op.drop_index('uq_sample_requests_open', table_name='sample_requests',
                  sqlite_where=sa.text("status = 'requested'"),
                  postgresql_where=sa.text("status = 'requested'"))
    op.drop_index(op.f('ix_sample_requests_shop_id'), table_name='sample_requests')
    op.drop_index(op.f('ix_sample_requests_creator_id'), table_name='sample_requests')
    op.drop_table('sample_requests')
    op.drop_index(op.f('ix_share_clicks_visitor'), table_name='share_clicks')
    op.drop_index(op.f('ix_share_clicks_creator_id'), table_name='share_clicks')
    op.drop_index('ix_share_clicks_buyer_at', table_name='share_clicks')
    op.drop_table('share_clicks')
    op.drop_table('showcase_items')
    op.drop_table('creator_profiles')
