"""The Shopify adapter's own tables: which product a handle became, which variant a Shopify
variant became, each import run, and the pictures still to fetch; for a connected store
(docs/shopify.md section 2) the connection, the webhooks received and the orders pushed. The
catalog's tables are written only through its use cases; these rows refer to them by
foreign key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from liveshop.core.db import Base, UTCDateTime, utcnow


class ShopifyProductLink(Base):
    """A Shopify handle of a shop and the product it was imported as."""

    __tablename__ = "shopify_product_links"
    __table_args__ = (UniqueConstraint("shop_id", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    handle: Mapped[str] = mapped_column(String(255))
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), unique=True)
    # sha256 of what the file said (ProductDraft.content) when it was last imported: equal
    # means the product is unchanged and nothing is written.
    digest: Mapped[str] = mapped_column(String(64))
    # That content itself, so a changed file applies only what changed (stock by difference).
    imported: Mapped[Any] = mapped_column(JSON)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set for a product pulled from a connected store: its GraphQL id and the updated_at
    # of the version applied (an older webhook is stale and ignored).
    shopify_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ShopifyVariantLink(Base):
    """A Shopify variant (by its SKU, or its option values when it has none) and the variant
    it was imported as."""

    __tablename__ = "shopify_variant_links"
    __table_args__ = (UniqueConstraint("product_link_id", "sku", "options_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_link_id: Mapped[int] = mapped_column(
        ForeignKey("shopify_product_links.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(
        ForeignKey("variants.id", ondelete="CASCADE"), unique=True)
    # Shopify's SKU, lower-cased; "" when the variant had none (then options_key matches it).
    sku: Mapped[str] = mapped_column(String(255), default="")
    options_key: Mapped[str] = mapped_column(String(200), default="")
    # The catalog keeps no barcodes; the link keeps Shopify's for the sync to come.
    barcode: Mapped[str] = mapped_column(String(64), default="")
    # A pulled variant's GraphQL id and its inventory item's; the units Shopify last said
    # were available at the synced location, and when (an older count is stale).
    shopify_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    inventory_item_id: Mapped[str | None] = mapped_column(String(100), nullable=True,
                                                          index=True)
    shopify_available: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stock_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ShopifyImport(Base):
    """One run of an import (not a dry run): progress while it runs, its report after."""

    __tablename__ = "shopify_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"),
                                         index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    market: Mapped[str] = mapped_column(String(2))
    filename: Mapped[str] = mapped_column(String(255), default="")
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="running")
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    # {"created": n, "updated": n, "unchanged": n, "skipped": n, "problems": [...]}
    report: Mapped[Any] = mapped_column(JSON, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ShopifyPendingImage(Base):
    """A product picture named by ``Image Src``, recorded to be fetched (not yet fetched:
    fetching in the background with limits is the next step)."""

    __tablename__ = "shopify_pending_images"
    __table_args__ = (UniqueConstraint("product_id", "src"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True)
    src: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    alt: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")


class ShopifyConnection(Base):
    """A shop's connected Shopify store: its domain, the Admin API access token (encrypted
    with the key from settings, never shown again) and the location whose stock is synced."""

    __tablename__ = "shopify_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"),
                                         unique=True)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    # The market whose currency the store's prices are in (as the CSV import asks).
    market: Mapped[str] = mapped_column(String(2))
    location_id: Mapped[str] = mapped_column(String(100))
    location_name: Mapped[str] = mapped_column(String(200), default="")
    # active | uninstalled (app/uninstalled: the token is gone, pushes wait)
    status: Mapped[str] = mapped_column(String(12), default="active")
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The last pull's counts (created, updated, unchanged, skipped, problems).
    last_sync_report: Mapped[Any] = mapped_column(JSON, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class ShopifyWebhook(Base):
    """A webhook Shopify delivered, kept by its X-Shopify-Webhook-Id: a second delivery of
    the same id is a duplicate and is not processed again."""

    __tablename__ = "shopify_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(100), unique=True)
    topic: Mapped[str] = mapped_column(String(60))
    shop_domain: Mapped[str] = mapped_column(String(255))
    payload: Mapped[Any] = mapped_column(JSON)
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What processing did: "applied", "stale", "unknown item"...
    outcome: Mapped[str] = mapped_column(String(200), default="")


class ShopifyOrderPush(Base):
    """A paid order of a connected shop, to be created in Shopify once (and then the
    Shopify order it became, which a fulfilment there names)."""

    __tablename__ = "shopify_order_pushes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          unique=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"),
                                         index=True)
    # pending -> pushed; cancelled (cancelled in Shopify)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    shopify_order_id: Mapped[str | None] = mapped_column(String(100), nullable=True,
                                                         index=True)
    shopify_order_name: Mapped[str] = mapped_column(String(40), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Held by the delivery pushing it until then: a second delivery of its outbox message
    # (a seller's "Retry now" while it runs) waits instead of creating the order again.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
