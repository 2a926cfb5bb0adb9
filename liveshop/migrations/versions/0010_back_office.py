"""back office: audit log, reports, suspended shops, replays taken down

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:00:00.000000

Every admin action writes an `audit_log` row in its own transaction. Buyers' `reports` of
chat messages and products wait there for an admin's decision (one per reporter and
target). A shop an admin suspended has `suspended_at`; a replay an admin took down has
`shows.removed_at`.

(0009 is another change's number; whichever lands second revises the other.)
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.core.db import UTCDateTime

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('shops') as batch:
        batch.add_column(sa.Column('suspended_at', UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('shows') as batch:
        batch.add_column(sa.Column('removed_at', UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('actor_name', sa.String(length=80), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('target_type', sa.String(length=20), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('target_label', sa.String(length=254), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('after', sa.JSON(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_audit_log_actor_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index(op.f('ix_audit_log_actor_id'), 'audit_log', ['actor_id'], unique=False)
    op.create_index(op.f('ix_audit_log_action'), 'audit_log', ['action'], unique=False)
    op.create_index(op.f('ix_audit_log_created_at'), 'audit_log', ['created_at'], unique=False)
    op.create_table(
        'reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reporter_id', sa.Integer(), nullable=False),
        sa.Column('target_type', sa.String(length=20), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'],
                                name=op.f('fk_reports_decided_by_users')),
        sa.ForeignKeyConstraint(['reporter_id'], ['users.id'],
                                name=op.f('fk_reports_reporter_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
        sa.UniqueConstraint('reporter_id', 'target_type', 'target_id',
                            name=op.f('uq_reports_reporter_id')),
    )
    op.create_index('ix_reports_target', 'reports', ['target_type', 'target_id'], unique=False)
    op.create_index(op.f('ix_reports_status'), 'reports', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_reports_status'), table_name='reports')
    op.drop_index('ix_reports_target', table_name='reports')
    op.drop_table('reports')
    op.drop_index(op.f('ix_audit_log_created_at'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_action'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_actor_id'), table_name='audit_log')
    op.drop_table('audit_log')
    with op.batch_alter_table('shows') as batch:
        batch.drop_column('removed_at')
    with op.batch_alter_table('shops') as batch:
        batch.drop_column('suspended_at')
