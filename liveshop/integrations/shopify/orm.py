"""The Shopify adapter's own tables: which product a handle became, which variant a Shopify
variant became, each import run, and the pictures still to fetch. The catalog's tables are
written only through its use cases; these rows refer to them by foreign key."""

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
