"""idempotency key scopes

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000

Steps the server ran under a client's key used to be stored as ``<key>:<step>`` beside the
keys clients send. They move to a scope of their own with the client's key unchanged, so a
purchase in flight during the upgrade still replays its stored steps afterwards.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The suffixes the server appended (liveshop/live/sales.py, liveshop/checkout/service.py and
# pages.py), each becoming the scope of the same name.
DERIVED_STEPS = ('offer', 'checkout', 'pay', 'release')
KEY_MAX_LENGTH = 255

keys = sa.table('idempotency_keys', sa.column('id', sa.Integer()),
                sa.column('user_id', sa.Integer()), sa.column('scope', sa.String()),
                sa.column('key', sa.String()))


def upgrade() -> None:
    # The old constraint goes first: "K" and "K:pay" of one user become ("client", "K") and
    # ("pay", "K"), equal keys that only the new constraint tells apart.
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_constraint('uq_idempotency_keys_user_id', type_='unique')
        batch_op.add_column(sa.Column('scope', sa.String(length=16), server_default='client',
                                      nullable=False))
    length = sa.func.length(keys.c.key)
    for step in DERIVED_STEPS:
        suffix = f':{step}'
        # Compared exactly: SQLite's LIKE ignores case, and the server wrote lower case only.
        ends_with_step = sa.func.substr(keys.c.key, length - len(suffix) + 1) == suffix
        op.execute(keys.update()
                   .where(keys.c.scope == 'client', length > len(suffix), ends_with_step)
                   .values(scope=step, key=sa.func.substr(keys.c.key, 1, length - len(suffix))))
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_idempotency_keys_user_id',
                                          ['user_id', 'scope', 'key'])


def downgrade() -> None:
    joined = keys.c.key + ':' + keys.c.scope
    clients = keys.alias('clients')
    # A step whose joined key would not fit the column, or equals a key the client sent
    # since, could not have existed before: it is forgotten (a retry runs the step again).
    op.execute(keys.delete().where(keys.c.scope != 'client', sa.or_(
        sa.func.length(joined) > KEY_MAX_LENGTH,
        sa.exists().where(clients.c.user_id == keys.c.user_id, clients.c.scope == 'client',
                          clients.c.key == joined))))
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_constraint('uq_idempotency_keys_user_id', type_='unique')
    op.execute(keys.update().where(keys.c.scope != 'client').values(key=joined))
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_column('scope')
        batch_op.create_unique_constraint('uq_idempotency_keys_user_id', ['user_id', 'key'])
