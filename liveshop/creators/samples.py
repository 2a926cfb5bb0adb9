"""Sample requests: a creator asks a shop for a free unit of a product they promote; the
shop's owner approves (the approval's order is made above, by liveshop/affiliates, through
checkout: a zero-price order shipped to the creator that takes stock like any other) or
declines. One transaction per use case; ``decide`` is a building block for the approval's.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import Address, User
from liveshop.catalog.access import owned_shop
from liveshop.catalog.orm import Product, Variant
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Conflict, InvalidInput, NotFound
from liveshop.core.idempotency import StoredResponse, fingerprint, run_once
from liveshop.creators.model import SampleStatus, decide_sample
from liveshop.creators.orm import SampleRequest
from liveshop.creators.schemas import SampleIn, SampleView
from liveshop.creators.storefront import creator_user, plan_rates
from liveshop.inventory.orm import StockLevel
from liveshop.markets.model import Market


def request_once(db: Database, settings: Settings, actor: Actor, market: Market,
                 data: SampleIn, idempotency_key: str | None) -> StoredResponse:
    """Once per Idempotency-Key: a retry returns the request the first one made."""
    return run_once(
        db, user_id=actor.user_id, key=idempotency_key or "",
        abandoned_seconds=settings.idempotency_abandoned_seconds,
        request_fingerprint=fingerprint("sample_request", {
            "market": market.code, **data.model_dump(mode="json")}),
        operation=lambda session: (
            201, _request(session, actor, market, data).model_dump(mode="json")),
    )


def _request(session: Session, actor: Actor, market: Market, data: SampleIn) -> SampleView:
    """Only for a product the creator has an active plan for, in stock now, with an address
    to ship it to; one open request per variant."""
    creator_user(session, actor)
    variant = session.get(Variant, data.variant_id)
    if variant is None:
        raise NotFound("No such variant", field="variant_id")
    product = session.get_one(Product, variant.product_id)
    if product.id not in plan_rates(session, actor.user_id, [product.id], utcnow()):
        raise InvalidInput("You have no active affiliate plan for this product",
                           field="variant_id", code="no_active_plan")
    available = session.scalar(select(StockLevel.available).where(
        StockLevel.variant_id == variant.id)) or 0
    if available < 1:
        raise Conflict("This variant is out of stock", field="variant_id",
                       code="out_of_stock")
    if not session.scalar(select(exists().where(Address.user_id == actor.user_id))):
        raise InvalidInput("Save a shipping address first: the sample is shipped to it",
                           field="address")
    request = SampleRequest(creator_id=actor.user_id, shop_id=product.shop_id,
                            product_id=product.id, variant_id=variant.id,
                            market=market.code, note=data.note,
                            status=SampleStatus.REQUESTED.value, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:
        raise Conflict("You asked for this sample already; the shop has not decided yet",
                       field="variant_id", code="sample_requested") from None
    return _views(session, [request])[0]


def decide(session: Session, actor: Actor, request_id: int, approve: bool) -> SampleRequest:
    """Lock the request, check the actor owns its shop, and settle it (``order_id`` is the
    approval's to set)."""
    request = session.get(SampleRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound("No such sample request", field="request_id")
    owned_shop(session, actor, request.shop_id, field="request_id")
    request.status = decide_sample(request.status, approve).value
    request.decided_at = utcnow()
    return request


def decline(db: Database, actor: Actor, request_id: int) -> SampleView:
    with db.transaction() as session:
        return _views(session, [decide(session, actor, request_id, approve=False)])[0]


def list_for_shop(db: Database, actor: Actor, shop_id: int) -> list[SampleView]:
    with db.read() as session:
        owned_shop(session, actor, shop_id)
        return shop_requests(session, shop_id)


def view_of(session: Session, request: SampleRequest) -> SampleView:
    return _views(session, [request])[0]


def shop_requests(session: Session, shop_id: int, status: SampleStatus | None = None,
                  limit: int = 50) -> list[SampleView]:
    query = select(SampleRequest).where(SampleRequest.shop_id == shop_id)
    if status is not None:
        query = query.where(SampleRequest.status == status.value)
    return _views(session, list(session.scalars(
        query.order_by(SampleRequest.created_at.desc(), SampleRequest.id.desc()).limit(limit))))


def my_requests(db: Database, actor: Actor) -> list[SampleView]:
    with db.read() as session:
        return my_requests_in(session, actor.user_id)


def my_requests_in(session: Session, creator_id: int, limit: int = 50) -> list[SampleView]:
    return _views(session, list(session.scalars(
        select(SampleRequest).where(SampleRequest.creator_id == creator_id)
        .order_by(SampleRequest.created_at.desc(), SampleRequest.id.desc()).limit(limit))))


def _views(session: Session, requests: list[SampleRequest]) -> list[SampleView]:
    names = dict(session.execute(select(User.id, User.display_name).where(
        User.id.in_({request.creator_id for request in requests}))).all())
    titles = dict(session.execute(select(Product.id, Product.title).where(
        Product.id.in_({request.product_id for request in requests}))).all())
    return [SampleView(
        id=request.id, creator_id=request.creator_id,
        creator_name=names.get(request.creator_id, ""), shop_id=request.shop_id,
        product_id=request.product_id, product_title=titles.get(request.product_id, ""),
        variant_id=request.variant_id, market=request.market, note=request.note,
        status=request.status, order_id=request.order_id, created_at=request.created_at,
        decided_at=request.decided_at) for request in requests]


def request_sample(db: Database, actor: Actor, market: Market, data: SampleIn) -> SampleView:
    """The page's request: a second submit finds the first waiting (409, not a twin)."""
    with db.transaction() as session:
        return _request(session, actor, market, data)
