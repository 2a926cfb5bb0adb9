"""notifications get a key: what each is about, posted once

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:00:00.000000

Notices about orders are posted by handlers the outbox delivers at least once
(liveshop/notifications/order_notices.py); the unique key ("order-shipped-42") is how a
handler run again finds its notice posted, and posts and mails nothing more. Older notices
have none (NULL, which the unique constraint allows any number of).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifications') as batch:
        batch.add_column(sa.Column('key', sa.String(length=120), nullable=True))
        batch.create_unique_constraint(batch.f('uq_notifications_key'), ['key'])


def downgrade() -> None:
    with op.batch_alter_table('notifications') as batch:
        batch.drop_constraint(batch.f('uq_notifications_key'), type_='unique')
        batch.drop_column('key')
