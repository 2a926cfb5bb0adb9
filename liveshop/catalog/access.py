"""Ownership checks shared by every domain that acts on a shop's things."""

from __future__ import annotations

from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.catalog.orm import Product, Shop, Variant
from liveshop.core.errors import Forbidden, NotFound


def owned_shop(session: Session, actor: Actor, shop_id: int, field: str = "shop_id") -> Shop:
    """The shop, if the actor owns it (or is an admin). Another seller gets a 403."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise NotFound("No such shop", field=field)
    if shop.owner_id != actor.user_id and not actor.is_admin:
        raise Forbidden("This shop belongs to another seller", field=field)
    return shop


def owned_product(session: Session, actor: Actor, product_id: int,
                  field: str = "product_id") -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product", field=field)
    owned_shop(session, actor, product.shop_id, field=field)
    return product


def owned_variant(session: Session, actor: Actor, variant_id: int,
                  field: str = "variant_id") -> Variant:
    variant = session.get(Variant, variant_id)
    if variant is None:
        raise NotFound("No such variant", field=field)
    owned_shop(session, actor, variant.shop_id, field=field)
    return variant
