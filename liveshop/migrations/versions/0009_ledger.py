"""the books: ledger accounts, journal entries and postings

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:00:00.000000

Double-entry books (liveshop/ledger): accounts by kind, owner and currency; one journal
entry per source (the unique source makes posting idempotent); postings in minor units.
Only new tables: an existing database keeps every row. Balances are summed from postings,
so there is nothing to backfill.

(0009 to 0011 are other changes' numbers; whichever lands later revises the chain's head.)
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.core.db import UTCDateTime

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ledger_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('owner', sa.String(length=40), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
        sa.UniqueConstraint('kind', 'owner', 'currency', name='uq_ledger_accounts'),
    )
    op.create_index(op.f('ix_ledger_accounts_owner'), 'ledger_accounts', ['owner'],
                    unique=False)
    op.create_table(
        'ledger_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_kind', sa.String(length=40), nullable=False),
        sa.Column('source_ref', sa.String(length=100), nullable=False),
        sa.Column('memo', sa.String(length=200), nullable=False),
        sa.Column('posted_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
        sa.UniqueConstraint('source_kind', 'source_ref', name='uq_ledger_entries_source'),
    )
    op.create_index(op.f('ix_ledger_entries_posted_at'), 'ledger_entries', ['posted_at'],
                    unique=False)
    op.create_table(
        'ledger_postings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('amount <> 0', name=op.f('ck_ledger_postings_amount_non_zero')),
        sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'],
                                name=op.f('fk_ledger_postings_account_id_ledger_accounts')),
        sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'],
                                name=op.f('fk_ledger_postings_entry_id_ledger_entries')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_postings')),
    )
    op.create_index(op.f('ix_ledger_postings_account_id'), 'ledger_postings', ['account_id'],
                    unique=False)
    op.create_index(op.f('ix_ledger_postings_entry_id'), 'ledger_postings', ['entry_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ledger_postings_entry_id'), table_name='ledger_postings')
    op.drop_index(op.f('ix_ledger_postings_account_id'), table_name='ledger_postings')
    op.drop_table('ledger_postings')
    op.drop_index(op.f('ix_ledger_entries_posted_at'), table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_index(op.f('ix_ledger_accounts_owner'), table_name='ledger_accounts')
    op.drop_table('ledger_accounts')
