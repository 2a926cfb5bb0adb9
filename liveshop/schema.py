"""Imports every domain's tables so ``Base.metadata`` describes the whole database
(Alembic and the test suite read it from here)."""

from liveshop.accounts import orm as accounts_orm
from liveshop.admin import orm as admin_orm
from liveshop.catalog import orm as catalog_orm
from liveshop.checkout import orm as checkout_orm
from liveshop.core import events, idempotency
from liveshop.core.db import Base
from liveshop.creators import orm as creators_orm
from liveshop.feed import orm as feed_orm
from liveshop.incentives import orm as incentives_orm
from liveshop.integrations.shopify import orm as shopify_orm
from liveshop.inventory import orm as inventory_orm
from liveshop.ledger import orm as ledger_orm
from liveshop.live import orm as live_orm
from liveshop.notifications import orm as notifications_orm
from liveshop.orders import orm as orders_orm
from liveshop.payments import orm as payments_orm
from liveshop.payouts import orm as payouts_orm
from liveshop.video import orm as video_orm

metadata = Base.metadata

__all__ = [
    "accounts_orm", "admin_orm", "catalog_orm", "checkout_orm", "creators_orm", "events",
    "feed_orm",
    "idempotency", "incentives_orm", "inventory_orm", "ledger_orm", "live_orm", "metadata",
    "notifications_orm", "orders_orm", "payments_orm", "payouts_orm", "shopify_orm",
    "video_orm",
]
