"""payout statements and the postings each covers

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:30:00.000000

Two new tables (liveshop/payouts/orm.py): ``payout_statements``, one per payee, currency
and payout run, and ``payout_items``, the ledger postings a statement pays, each posting at
most once (unique ``posting_id``). No existing table changes: a database upgraded with
paid orders has every posting unswept, and the first payout run pays what is available.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.core.db import UTCDateTime

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'payout_statements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('payee', sa.String(length=40), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('line_count', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=True),
        sa.Column('paid_entry_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('as_of', UTCDateTime(timezone=True), nullable=False),
        sa.Column('paid_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('paid_by', sa.Integer(), nullable=True),
        sa.Column('provider', sa.String(length=20), nullable=True),
        sa.Column('provider_ref', sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'],
                                name=op.f('fk_payout_statements_account_id_ledger_accounts')),
        sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'],
                                name=op.f('fk_payout_statements_entry_id_ledger_entries')),
        sa.ForeignKeyConstraint(['paid_entry_id'], ['ledger_entries.id'],
                                name=op.f('fk_payout_statements_paid_entry_id_ledger_entries')),
        sa.ForeignKeyConstraint(['paid_by'], ['users.id'],
                                name=op.f('fk_payout_statements_paid_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_statements')),
    )
    op.create_index(op.f('ix_payout_statements_account_id'), 'payout_statements',
                    ['account_id'], unique=False)
    op.create_index(op.f('ix_payout_statements_created_at'), 'payout_statements',
                    ['created_at'], unique=False)
    op.create_index(op.f('ix_payout_statements_payee'), 'payout_statements', ['payee'],
                    unique=False)
    op.create_index(op.f('ix_payout_statements_status'), 'payout_statements', ['status'],
                    unique=False)
    op.create_table(
        'payout_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('statement_id', sa.Integer(), nullable=False),
        sa.Column('posting_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('source_kind', sa.String(length=40), nullable=False),
        sa.Column('source_ref', sa.String(length=100), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('order_line_id', sa.Integer(), nullable=True),
        sa.Column('order_number', sa.String(length=20), nullable=False),
        sa.Column('description', sa.String(length=400), nullable=False),
        sa.Column('delivered_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'],
                                name=op.f('fk_payout_items_entry_id_ledger_entries')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_payout_items_order_id_orders')),
        sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'],
                                name=op.f('fk_payout_items_order_line_id_order_lines')),
        sa.ForeignKeyConstraint(['posting_id'], ['ledger_postings.id'],
                                name=op.f('fk_payout_items_posting_id_ledger_postings')),
        sa.ForeignKeyConstraint(['statement_id'], ['payout_statements.id'],
                                name=op.f('fk_payout_items_statement_id_payout_statements'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_items')),
        sa.UniqueConstraint('posting_id', name=op.f('uq_payout_items_posting_id')),
    )
    op.create_index(op.f('ix_payout_items_statement_id'), 'payout_items', ['statement_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_payout_items_statement_id'), table_name='payout_items')
    op.drop_table('payout_items')
    op.drop_index(op.f('ix_payout_statements_status'), table_name='payout_statements')
    op.drop_index(op.f('ix_payout_statements_payee'), table_name='payout_statements')
    op.drop_index(op.f('ix_payout_statements_created_at'), table_name='payout_statements')
    op.drop_index(op.f('ix_payout_statements_account_id'), table_name='payout_statements')
    op.drop_table('payout_statements')
