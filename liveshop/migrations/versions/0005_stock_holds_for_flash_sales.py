"""stock holds for flash sales

A flash sale sets its units aside from ordinary stock when it starts (stock_holds, counted
in stock_levels.held); a claimed unit becomes its buyer's reservation out of the hold.

Existing rows: every variant starts with nothing held (held = 0) and existing reservations
and ledger rows are ordinary ones (hold_id NULL). A sale running at upgrade time has no
hold (flash_sales.hold_id NULL) and keeps working as before until it ends: its purchases
reserve from available, and nothing is given back to stock when it ends.

SQLite gets the new columns with ALTER TABLE ... ADD COLUMN, constraints inline, rather
than batch mode: batch mode rebuilds a table by dropping it, and with foreign keys on,
dropping flash_sales would delete every sale's purchases and claims (ON DELETE CASCADE),
and dropping reservations is refused while order lines point at them.

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-03 08:13:57.686750
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveshop.core.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, foreign key name) of the nullable hold_id columns pointing at stock_holds.
HOLD_REFERENCES = (
    ('flash_sales', 'fk_flash_sales_hold_id_stock_holds'),
    ('reservations', 'fk_reservations_hold_id_stock_holds'),
    ('stock_movements', 'fk_stock_movements_hold_id_stock_holds'),
)


def upgrade() -> None:
    op.create_table('stock_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', liveshop.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_stock_holds_quantity_non_negative')),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_stock_holds_variant_id_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_holds'))
    )
    op.create_index(op.f('ix_stock_holds_variant_id'), 'stock_holds', ['variant_id'], unique=False)

    if op.get_bind().dialect.name == 'sqlite':
        for table, name in HOLD_REFERENCES:
            op.execute(f'ALTER TABLE {table} ADD COLUMN hold_id INTEGER '
                       f'CONSTRAINT {name} REFERENCES stock_holds (id)')
        op.execute("ALTER TABLE stock_levels ADD COLUMN held INTEGER DEFAULT '0' NOT NULL "
                   'CONSTRAINT ck_stock_levels_held_non_negative CHECK (held >= 0)')
        return
    for table, name in HOLD_REFERENCES:
        op.add_column(table, sa.Column('hold_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(name), table, 'stock_holds', ['hold_id'], ['id'])
    op.add_column('stock_levels',
                  sa.Column('held', sa.Integer(), server_default='0', nullable=False))
    op.create_check_constraint(op.f('ck_stock_levels_held_non_negative'), 'stock_levels',
                               'held >= 0')


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place unless a constraint names it; the rebuilds batch
    # mode falls back to then are as dangerous as on the way up, so only PostgreSQL goes
    # back down.
    if op.get_bind().dialect.name == 'sqlite':
        raise NotImplementedError('0005 cannot be downgraded on SQLite; restore a backup')
    op.drop_constraint(op.f('ck_stock_levels_held_non_negative'), 'stock_levels', type_='check')
    op.drop_column('stock_levels', 'held')
    for table, name in reversed(HOLD_REFERENCES):
        op.drop_constraint(op.f(name), table, type_='foreignkey')
        op.drop_column(table, 'hold_id')
    op.drop_index(op.f('ix_stock_holds_variant_id'), table_name='stock_holds')
    op.drop_table('stock_holds')
