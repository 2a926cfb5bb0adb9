"""user sessions and login links

Server-side browser sessions (revocable: log-out, password change, suspension) and e-mailed
one-time sign-in links. Only new tables: existing rows are untouched. Session cookies issued
before this revision name no session, so those users log in once more.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveshop.core.db

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', liveshop.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', liveshop.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', liveshop.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('login_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', liveshop.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', liveshop.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', liveshop.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_login_links_token_hash'))
    )
    with op.batch_alter_table('login_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_links_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_links_user_id'))
    op.drop_table('login_links')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')
