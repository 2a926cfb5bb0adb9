"""Affiliate plans: a seller opens products to creators; and the terms a creator earns on a
product at the moment a sale is paid (read by orders, liveshop/orders/commission.py).

Use cases own one transaction each; ``terms_of`` is a building block in the caller's.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.catalog.access import owned_shop
from liveshop.catalog.orm import Product, Shop
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Conflict, InvalidInput, NotFound
from liveshop.core.idempotency import StoredResponse, fingerprint, run_once
from liveshop.creators.model import MIN_RATE_BP, check_rate
from liveshop.creators.orm import AffiliatePlan, ShopCreator
from liveshop.creators.schemas import (
    PlanChange,
    PlanIn,
    PlanKind,
    PlannedProduct,
    PlanView,
)
from liveshop.creators.storefront import active_for


def create_plan(db: Database, settings: Settings, actor: Actor, shop_id: int, data: PlanIn,
                idempotency_key: str | None) -> StoredResponse:
    """Once per Idempotency-Key: a retry returns the plan the first request made."""
    return run_once(
        db, user_id=actor.user_id, key=idempotency_key or "",
        abandoned_seconds=settings.idempotency_abandoned_seconds,
        request_fingerprint=fingerprint("affiliate_plan", {
            "shop_id": shop_id, **data.model_dump(mode="json")}),
        operation=lambda session: (
            201, _create(session, actor, shop_id, data).model_dump(mode="json")),
    )


def _create(session: Session, actor: Actor, shop_id: int, data: PlanIn) -> PlanView:
    owned_shop(session, actor, shop_id)
    rate_bp = check_rate(data.rate_bp)
    product = session.get(Product, data.product_id)
    if product is None or product.shop_id != shop_id:
        raise NotFound("No such product in this shop", field="product_id")
    now = utcnow()
    if data.kind is PlanKind.OPEN:
        if data.creator_id is not None:
            raise InvalidInput("An open plan is for any creator: leave creator_id out",
                               field="creator_id")
        ends_at = _future(data.ends_at, now) if data.ends_at is not None else None
    else:
        if data.creator_id is None:
            raise InvalidInput("A targeted plan names the creator it invites",
                               field="creator_id")
        creator = session.get(User, data.creator_id)
        if creator is None or creator.role != Role.CREATOR.value:
            raise NotFound("No such creator", field="creator_id")
        if data.ends_at is None:
            raise InvalidInput("A targeted plan has an end date", field="ends_at")
        ends_at = _future(data.ends_at, now)
    plan = AffiliatePlan(shop_id=shop_id, product_id=product.id, kind=data.kind.value,
                         creator_id=data.creator_id, rate_bp=rate_bp, paused=False,
                         ends_at=ends_at, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(plan)
            session.flush()
    except IntegrityError:
        raise Conflict("This product already has that plan; change it instead",
                       field="product_id", code="plan_exists") from None
    return plan_view(plan, product.title, now)


def change_plan(db: Database, actor: Actor, plan_id: int, data: PlanChange) -> PlanView:
    """Set values, so a retry changes nothing further. A new rate is copied onto the lines
    paid after it; the lines paid before keep theirs."""
    with db.transaction() as session:
        plan = session.get(AffiliatePlan, plan_id, with_for_update=True)
        if plan is None:
            raise NotFound("No such affiliate plan", field="plan_id")
        owned_shop(session, actor, plan.shop_id, field="plan_id")
        now = utcnow()
        if data.rate_bp is not None:
            plan.rate_bp = check_rate(data.rate_bp)
        if data.paused is not None:
            plan.paused = data.paused
        if data.ends_at is not None:
            plan.ends_at = _future(data.ends_at, now)
        plan.updated_at = now
        return plan_view(plan, session.get_one(Product, plan.product_id).title, now)


def list_plans(db: Database, actor: Actor, shop_id: int) -> list[PlanView]:
    with db.read() as session:
        owned_shop(session, actor, shop_id)
        now = utcnow()
        rows = session.execute(
            select(AffiliatePlan, Product.title)
            .join(Product, Product.id == AffiliatePlan.product_id)
            .where(AffiliatePlan.shop_id == shop_id)
            .order_by(AffiliatePlan.id)).all()
        return [plan_view(plan, title, now) for plan, title in rows]


def terms_of(session: Session, shop_id: int, creator_id: int, product_ids: Collection[int],
             now: datetime) -> dict[int, int]:
    """Product id -> the commission rate (bp) ``creator_id`` earns on it if a sale is paid
    ``now``: the highest of the product's active open plan, the creator's active (accepted)
    targeted plan and the shop's grant to host its shows (which covers all its products). A
    product with none of them is absent: the creator earns nothing on it. One query (it runs
    with every payment of a creator's sale)."""
    rates: dict[int, int] = {}
    granted: int | None = None
    plans = select(AffiliatePlan.product_id, AffiliatePlan.rate_bp).where(
        AffiliatePlan.shop_id == shop_id, AffiliatePlan.product_id.in_(product_ids),
        active_for(creator_id, now))
    # The grant comes as a row of its own, product id 0 (no product has it).
    grant = select(literal(0), ShopCreator.commission_bp).where(
        ShopCreator.shop_id == shop_id, ShopCreator.creator_id == creator_id)
    for product_id, rate_bp in session.execute(union_all(plans, grant)):
        if product_id == 0:
            granted = rate_bp
        else:
            rates[product_id] = max(rate_bp, rates.get(product_id, 0))
    # A grant below 1% (the hosting deal allows 0%) earns nothing by itself.
    if granted is not None and granted >= MIN_RATE_BP:
        for product_id in product_ids:
            rates[product_id] = max(granted, rates.get(product_id, 0))
    return rates


def planned_products(session: Session, creator_id: int, now: datetime,
                     product_ids: Collection[int] | None = None) -> dict[int, PlannedProduct]:
    """Product id -> the product a creator may put in their own show's lineup: any shop's
    active product with an active plan for them (open, or targeted at them and accepted), at
    its best plan rate. ``product_ids`` narrows the question to those; None asks for every one. One
    query. (A shop's grant to host its shows is not a plan: it covers that shop's shows.)"""
    query = (select(Product.id, Product.title, Product.shop_id, Shop.name,
                    func.max(AffiliatePlan.rate_bp))
             .join(AffiliatePlan, AffiliatePlan.product_id == Product.id)
             .join(Shop, Shop.id == Product.shop_id)
             .where(Product.status == "active", Shop.suspended_at.is_(None),
                    active_for(creator_id, now))
             .group_by(Product.id, Product.title, Product.shop_id, Shop.name)
             .order_by(Shop.name, Product.title))
    if product_ids is not None:
        query = query.where(Product.id.in_(product_ids))
    return {row[0]: PlannedProduct(product_id=row[0], title=row[1], shop_id=row[2],
                                   shop_name=row[3], rate_bp=row[4])
            for row in session.execute(query)}


def _future(ends_at: datetime, now: datetime) -> datetime:
    if ends_at.tzinfo is None:
        raise InvalidInput("Give the end date with its time zone", field="ends_at")
    if ends_at <= now:
        raise InvalidInput("A plan's end date is in the future", field="ends_at")
    return ends_at


def plan_view(plan: AffiliatePlan, product_title: str, now: datetime) -> PlanView:
    accepted = plan.kind == PlanKind.OPEN.value or plan.accepted_at is not None
    active = accepted and not plan.paused and (plan.ends_at is None or plan.ends_at > now)
    return PlanView(id=plan.id, shop_id=plan.shop_id, product_id=plan.product_id,
                    product_title=product_title, kind=PlanKind(plan.kind),
                    creator_id=plan.creator_id, rate_bp=plan.rate_bp, paused=plan.paused,
                    ends_at=plan.ends_at, accepted=accepted, active=active,
                    created_at=plan.created_at, updated_at=plan.updated_at)
