"""Catalog tables: shops, the markets they ship to, products, variants, prices, images."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from liveshop.core.db import Base, UTCDateTime, utcnow


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by a platform admin (liveshop/admin): the shop is not listed, its page and products
    # are not found, nothing of it can be bought and its shows cannot go live.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    markets: Mapped[list[ShopMarket]] = relationship(
        back_populates="shop", cascade="all, delete-orphan", lazy="selectin"
    )


class ShopMarket(Base):
    """A market the shop ships to, with its flat shipping rate in that market's currency."""

    __tablename__ = "shop_markets"

    shop_id: Mapped[int] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    market: Mapped[str] = mapped_column(String(2), primary_key=True)
    shipping_minor: Mapped[int] = mapped_column(Integer)

    shop: Mapped[Shop] = relationship(back_populates="markets")


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Normalised lower-case tags joined as ",a,b," so a tag matches with LIKE '%,tag,%'.
    tags: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    option1_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    option2_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    option3_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Variant.position",
        lazy="selectin",
    )
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", cascade="all, delete-orphan",
        order_by="ProductImage.position", lazy="selectin",
    )


class ProductImage(Base):
    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    # Path relative to the media directory, e.g. "products/12/3f2a.webp".
    path: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(50))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    alt: Mapped[str] = mapped_column(String(200), default="")

    product: Mapped[Product] = relationship(back_populates="images")


class Variant(Base):
    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("shop_id", "sku"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    # Denormalised from the product so a SKU is unique per shop by constraint.
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64))
    option1: Mapped[str | None] = mapped_column(String(50), nullable=True)
    option2: Mapped[str | None] = mapped_column(String(50), nullable=True)
    option3: Mapped[str | None] = mapped_column(String(50), nullable=True)
    weight_grams: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)

    product: Mapped[Product] = relationship(back_populates="variants")
    prices: Mapped[list[VariantPrice]] = relationship(
        back_populates="variant", cascade="all, delete-orphan", lazy="selectin"
    )


class VariantPrice(Base):
    """A variant's price in one market, in that market's currency."""

    __tablename__ = "variant_prices"

    variant_id: Mapped[int] = mapped_column(
        ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True
    )
    market: Mapped[str] = mapped_column(String(2), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(Integer)
    compare_at_minor: Mapped[int | None] = mapped_column(Integer, nullable=True)

    variant: Mapped[Variant] = relationship(back_populates="prices")
