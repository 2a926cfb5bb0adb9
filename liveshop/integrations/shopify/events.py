"""The connected store's durable work, carried by the outbox (liveshop/core/events.py):
delivered at least once, retried with backoff, across restarts. Their handlers
(liveshop/integrations/shopify/sync.py) are idempotent. They travel in a lane of their own
(once the outbox has lanes), so a slow or throttled store delays only its own work."""

from __future__ import annotations

from dataclasses import dataclass

from liveshop.core.events import DomainEvent


@dataclass(frozen=True)
class OrderPushDue(DomainEvent):
    """A paid order of a connected shop is to be created in its Shopify store."""

    durable = True
    lane = "shopify"
    push_id: int
    shop_id: int
    order_id: int


@dataclass(frozen=True)
class WebhookReceived(DomainEvent):
    """A verified, first-seen webhook was stored; it is processed after the answer."""

    durable = True
    lane = "shopify"
    webhook_id: int  # shopify_webhooks.id
    shop_id: int
    webhook_topic: str
