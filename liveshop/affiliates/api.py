"""Creator storefront API: share-link clicks, the showcase, the marketplace, accepting a
targeted plan, sample requests and their approval."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from liveshop.affiliates import service
from liveshop.affiliates.schemas import Done, MarketplaceOfferView
from liveshop.core.inputs import Id
from liveshop.creators import samples, storefront
from liveshop.creators.landing import visitor_of
from liveshop.creators.model import MarketplaceSort, share_link
from liveshop.creators.schemas import ClickIn, ClickView, SampleIn, SampleView
from liveshop.creators.storefront import Landing
from liveshop.web.deps import Context, CurrentActor, CurrentMarket, IdempotencyKey, MaybeActor
from liveshop.web.errors import ErrorBody

router = APIRouter(tags=["creators"])

CLICK_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such product (product_id)"},
    422: {"model": ErrorBody, "description": "No creator has that handle (ref), or neither "
          "product_id nor show_id"},
}
SHOWCASE_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "Only creators have a showcase"},
    404: {"model": ErrorBody, "description": "No such product (product_id)"},
    422: {"model": ErrorBody, "description": "No active affiliate plan for the product "
          "(product_id)"},
}
SAMPLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "Not a creator, or another seller's shop"},
    404: {"model": ErrorBody, "description": "No such variant or request"},
    409: {"model": ErrorBody, "description": "Out of stock (variant_id), asked already, or "
          "decided already"},
    422: {"model": ErrorBody, "description": "No active plan for the product (variant_id), no "
          "shipping address (address), or a missing Idempotency-Key"},
}


@router.post("/share-clicks", status_code=201, response_model=ClickView,
             responses=CLICK_RESPONSES)
def share_click(request: Request, data: ClickIn, actor: MaybeActor, context: Context
                ) -> ClickView:
    """A buyer followed a creator's share link: the click may earn the creator the
    product's sale within the attribution window."""
    visitor = None if actor is not None else visitor_of(request)
    creator = storefront.record_click(context.db, actor, visitor, data.ref,
                                      Landing(data.product_id, data.show_id))
    return ClickView(creator=creator, product_id=data.product_id, show_id=data.show_id)


@router.put("/me/showcase/{product_id}", response_model=Done, responses=SHOWCASE_RESPONSES)
def add_to_showcase(product_id: Id, actor: CurrentActor, context: Context) -> Done:
    storefront.set_in_showcase(context.db, actor, product_id, True)
    return Done()


@router.delete("/me/showcase/{product_id}", response_model=Done, responses=SHOWCASE_RESPONSES)
def remove_from_showcase(product_id: Id, actor: CurrentActor, context: Context) -> Done:
    storefront.set_in_showcase(context.db, actor, product_id, False)
    return Done()


@router.get("/creators/marketplace", response_model=list[MarketplaceOfferView],
            responses=SHOWCASE_RESPONSES)
def marketplace(actor: CurrentActor, context: Context, market: CurrentMarket,
                tag: Annotated[str, Query(max_length=40)] = "",
                min_rate_bp: Annotated[int | None, Query(ge=0, le=8000)] = None,
                sort: MarketplaceSort = MarketplaceSort.RATE) -> list[MarketplaceOfferView]:
    """Products open to the calling creator on sale in the market: open plans and targeted
    plans they accepted."""
    page = service.marketplace(context.db, actor, market, tag, min_rate_bp, sort)
    return [MarketplaceOfferView(
        product=offer.card, plan_id=offer.plan_id, kind=offer.kind, rate_bp=offer.rate_bp,
        sold_30_days=offer.sold, in_showcase=offer.in_showcase,
        share_url=share_link(f"/products/{offer.card.id}", page.creator.handle))
        for offer in page.offers]


@router.post("/affiliate-plans/{plan_id}/accept", response_model=Done,
             responses={404: {"model": ErrorBody, "description": "No such plan invites you"}})
def accept_plan(plan_id: Id, actor: CurrentActor, context: Context) -> Done:
    """The invited creator accepts a targeted plan (again: nothing changes)."""
    storefront.accept_plan(context.db, actor, plan_id)
    return Done()


@router.post("/sample-requests", status_code=201, response_model=SampleView,
             responses=SAMPLE_RESPONSES)
def request_sample(data: SampleIn, actor: CurrentActor, context: Context,
                   market: CurrentMarket, idempotency_key: IdempotencyKey) -> Response:
    stored = samples.request_once(context.db, context.settings, actor, market, data,
                                  idempotency_key)
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else None
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)


@router.get("/shops/{shop_id}/sample-requests", response_model=list[SampleView],
            responses=SAMPLE_RESPONSES)
def shop_samples(shop_id: Id, actor: CurrentActor, context: Context) -> list[SampleView]:
    return samples.list_for_shop(context.db, actor, shop_id)


@router.post("/sample-requests/{request_id}/approve", response_model=SampleView,
             responses=SAMPLE_RESPONSES)
def approve_sample(request_id: Id, actor: CurrentActor, context: Context) -> SampleView:
    """A zero-price order of the shop, shipped to the creator, taking the unit from stock."""
    return service.approve_sample(context.db, context.payments, context.settings, actor,
                                  request_id)


@router.post("/sample-requests/{request_id}/decline", response_model=SampleView,
             responses=SAMPLE_RESPONSES)
def decline_sample(request_id: Id, actor: CurrentActor, context: Context) -> SampleView:
    return samples.decline(context.db, actor, request_id)
