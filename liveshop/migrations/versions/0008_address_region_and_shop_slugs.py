"""addresses get a region; shop slugs stay clear of the site's paths

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-10 09:00:00.000000

A region (a US state, a county) completes addresses that are printed "Austin, TX 78701".
Shops have a page at /{slug}; a shop whose slug is one of the site's own paths (it could
be named "Cart") would never be reached there, so such a slug gets "-shop" appended.

(No revision 0007: the number was reserved for a change that landed differently.)
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from liveshop.catalog.model import RESERVED_SLUGS

revision: str = '0008'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('addresses') as batch:
        batch.add_column(sa.Column('region', sa.String(length=60), server_default='',
                                   nullable=False))
    shops = sa.table('shops', sa.column('id', sa.Integer), sa.column('slug', sa.String))
    connection = op.get_bind()
    taken = set(connection.scalars(sa.select(shops.c.slug)))
    clashing = connection.execute(
        sa.select(shops.c.id, shops.c.slug).where(shops.c.slug.in_(sorted(RESERVED_SLUGS)))
    ).all()
    for shop_id, slug in clashing:
        new, suffix = f'{slug}-shop', 2
        while new in taken:
            new, suffix = f'{slug}-shop-{suffix}', suffix + 1
        taken.add(new)
        connection.execute(sa.update(shops).where(shops.c.id == shop_id).values(slug=new))


def downgrade() -> None:
    # Renamed slugs keep their new names: the old ones were unreachable anyway.
    with op.batch_alter_table('addresses') as batch:
        batch.drop_column('region')
