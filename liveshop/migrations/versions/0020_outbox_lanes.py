"""outbox lanes and given-up messages

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 17:45:00.000000

Durable events are relayed per lane (mail apart from order events), and a message that can
never be delivered is given up (``gave_up_at``) instead of retried forever
(liveshop/core/events.py). Mail already waiting moves to the mail lane.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.core.db import UTCDateTime

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAIL_TOPIC = 'liveshop.notifications.events.MailQueued'


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('lane', sa.String(length=20), server_default='events',
                                   nullable=False))
        batch.add_column(sa.Column('gave_up_at', UTCDateTime(timezone=True), nullable=True))
    outbox = sa.table('outbox', sa.column('topic', sa.String), sa.column('lane', sa.String))
    op.execute(outbox.update().where(outbox.c.topic == MAIL_TOPIC).values(lane='mail'))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('gave_up_at')
        batch.drop_column('lane')
