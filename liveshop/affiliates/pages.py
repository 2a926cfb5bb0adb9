"""Creator storefront pages: a creator's public profile (/@handle), the creator marketplace
(/creators/marketplace) and the seller's affiliate page per shop
(/seller/shops/{id}/affiliates). Every form posts here and redirects back
(post/redirect/get); a refused action re-renders the page with the reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from liveshop.accounts.model import Actor
from liveshop.affiliates import service
from liveshop.core.errors import DomainError, InvalidInput, NotFound
from liveshop.creators import samples, storefront
from liveshop.creators import service as plans
from liveshop.creators.model import MarketplaceSort, percent_to_bp, share_link
from liveshop.creators.schemas import PlanChange, PlanIn, PlanKind, SampleIn
from liveshop.live import follows
from liveshop.markets.model import MARKETS, Market
from liveshop.web.deps import Context, CurrentActor, CurrentMarket, FormCsrf, MaybeActor
from liveshop.web.templating import render

router = APIRouter()

# A currency's amounts in the locale of the first market that uses it.
CURRENCY_LOCALE = {market.currency: market.locale for market in reversed(MARKETS.values())}
# Messages after a successful form post, chosen by a fixed key so no text comes from the URL.
DONE = {
    "showcased": "Added to your showcase. Share its link: the sales it brings earn you "
                 "commission.",
    "unshowcased": "Taken out of your showcase.",
    "accepted": "Plan accepted: its products are open to you now.",
    "sample_requested": "Sample requested. The shop approves or declines it.",
    "plan_created": "Plan created.",
    "plan_changed": "Plan changed. A new rate applies to sales paid from now on.",
    "sample_approved": "Sample approved: its order is in your orders to ship.",
    "sample_declined": "Sample declined.",
}


def _redirect(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


# --- the creator's public page ---

@router.get("/@{handle}")
def creator_profile(request: Request, handle: str, actor: MaybeActor, context: Context,
                    market: CurrentMarket) -> Response:
    page = service.creator_page(context.db, actor, handle, market)
    if page is None:
        raise NotFound("No creator has this handle", field="handle")
    return render(request, "affiliates/profile.html", page=page, creator=page.creator,
                  shows=page.shows, reminded_ids=follows.reminded_show_ids(context.db, actor),
                  share=lambda path: share_link(
                      path, page.creator.handle))


# --- the creator marketplace ---

def _marketplace(request: Request, context: Context, actor: Actor, market: Market, *,
                 tag: str = "", min_rate: str = "", sort: str = "rate",
                 status_code: int = 200, error: str | None = None) -> Response:
    wanted_sort = MarketplaceSort(sort) if sort in set(MarketplaceSort) else MarketplaceSort.RATE
    min_rate_bp = percent_to_bp(min_rate, "min_rate") if min_rate.strip() else None
    page = service.marketplace(context.db, actor, market, tag[:40], min_rate_bp, wanted_sort)
    return render(request, "affiliates/marketplace.html", page=page, tag=tag[:40],
                  min_rate=min_rate, sort=wanted_sort.value, error=error,
                  done=_done(request), status_code=status_code,
                  share=lambda path: share_link(path, page.creator.handle),
                  currency_locale=CURRENCY_LOCALE)


@router.get("/creators/marketplace")
def marketplace(request: Request, actor: CurrentActor, context: Context,
                market: CurrentMarket, tag: str = "", min_rate: str = "",
                sort: str = "rate") -> Response:
    try:
        return _marketplace(request, context, actor, market, tag=tag, min_rate=min_rate,
                            sort=sort)
    except InvalidInput as error:
        return _marketplace(request, context, actor, market, tag=tag, sort=sort,
                            status_code=error.status, error=error.message)


def _marketplace_action(request: Request, context: Context, actor: Actor, market: Market,
                        work: Any, done: str) -> Response:
    try:
        work()
    except DomainError as error:
        return _marketplace(request, context, actor, market, status_code=error.status,
                            error=error.message)
    return _redirect("/creators/marketplace", done)


@router.post("/creators/showcase/{product_id}", dependencies=[FormCsrf])
def showcase_product(request: Request, product_id: int, actor: CurrentActor,
                     context: Context, market: CurrentMarket,
                     on: Annotated[bool, Form()] = True) -> Response:
    return _marketplace_action(
        request, context, actor, market,
        lambda: storefront.set_in_showcase(context.db, actor, product_id, on),
        "showcased" if on else "unshowcased")


@router.post("/creators/affiliate-plans/{plan_id}/accept", dependencies=[FormCsrf])
def accept_plan(request: Request, plan_id: int, actor: CurrentActor, context: Context,
                market: CurrentMarket) -> Response:
    return _marketplace_action(request, context, actor, market,
                               lambda: storefront.accept_plan(context.db, actor, plan_id),
                               "accepted")


@router.post("/creators/samples", dependencies=[FormCsrf])
def request_sample(request: Request, actor: CurrentActor, context: Context,
                   market: CurrentMarket, variant_id: Annotated[int, Form()],
                   note: Annotated[str, Form(max_length=500)] = "") -> Response:
    return _marketplace_action(
        request, context, actor, market,
        lambda: samples.request_sample(context.db, actor, market,
                                       SampleIn(variant_id=variant_id, note=note)),
        "sample_requested")


# --- the seller's affiliate page ---

def _affiliate_page(request: Request, context: Context, actor: Actor, shop_id: int, *,
                    status_code: int = 200, error: str | None = None,
                    form: dict[str, str] | None = None) -> Response:
    page = service.affiliate_page(context.db, actor, shop_id)
    return render(request, "affiliates/seller.html", page=page, error=error,
                  done=_done(request), form=form or {}, status_code=status_code,
                  currency_locale=CURRENCY_LOCALE, plan_key=uuid.uuid4().hex)


@router.get("/seller/shops/{shop_id}/affiliates")
def affiliate_page(request: Request, shop_id: int, actor: CurrentActor,
                   context: Context) -> Response:
    return _affiliate_page(request, context, actor, shop_id)


def _end_of_day(text: str, field: str) -> datetime | None:
    """A date typed in the form (YYYY-MM-DD): the plan runs to the end of that day (UTC)."""
    if not text.strip():
        return None
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput("Give the end date as YYYY-MM-DD", field=field) from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@router.post("/seller/shops/{shop_id}/affiliate-plans", dependencies=[FormCsrf])
def create_plan(request: Request, shop_id: int, actor: CurrentActor, context: Context,
                product_id: Annotated[int, Form()], kind: Annotated[str, Form()],
                rate_percent: Annotated[str, Form()],
                creator_handle: Annotated[str, Form(max_length=100)] = "",
                ends_on: Annotated[str, Form(max_length=20)] = "",
                idempotency_key: Annotated[str, Form(max_length=100)] = "") -> Response:
    form = {"product_id": str(product_id), "kind": kind, "rate_percent": rate_percent,
            "creator_handle": creator_handle, "ends_on": ends_on}
    try:
        if kind not in set(PlanKind):
            raise InvalidInput("Choose an open or a targeted plan", field="kind")
        creator_id = None
        if kind == PlanKind.TARGETED:
            creator = storefront.creator_by_handle(context.db, creator_handle)
            if creator is None:
                raise InvalidInput("No creator has that handle", field="creator_handle")
            creator_id = creator.user_id
        data = PlanIn(product_id=product_id, kind=PlanKind(kind),
                      rate_bp=percent_to_bp(rate_percent, "rate_percent"),
                      creator_id=creator_id, ends_at=_end_of_day(ends_on, "ends_on"))
        plans.create_plan(context.db, context.settings, actor, shop_id, data,
                          idempotency_key or uuid.uuid4().hex)
    except DomainError as error:
        return _affiliate_page(request, context, actor, shop_id, status_code=error.status,
                               error=error.message, form=form)
    return _redirect(f"/seller/shops/{shop_id}/affiliates", "plan_created")


@router.post("/seller/affiliate-plans/{plan_id}", dependencies=[FormCsrf])
def change_plan(request: Request, plan_id: int, actor: CurrentActor, context: Context,
                shop_id: Annotated[int, Form()], action: Annotated[str, Form()],
                rate_percent: Annotated[str, Form()] = "",
                ends_on: Annotated[str, Form(max_length=20)] = "") -> Response:
    try:
        change: dict[str, Any]
        if action == "pause":
            change = {"paused": True}
        elif action == "resume":
            change = {"paused": False}
        elif action == "change":
            change = {"rate_bp": percent_to_bp(rate_percent, "rate_percent")
                      if rate_percent.strip() else None,
                      "ends_at": _end_of_day(ends_on, "ends_on")}
        else:
            raise InvalidInput("Pause, resume or change the plan", field="action")
        plans.change_plan(context.db, actor, plan_id, PlanChange(**change))
    except DomainError as error:
        return _affiliate_page(request, context, actor, shop_id, status_code=error.status,
                               error=error.message)
    return _redirect(f"/seller/shops/{shop_id}/affiliates", "plan_changed")


@router.post("/seller/sample-requests/{request_id}/{decision}", dependencies=[FormCsrf])
def decide_sample(request: Request, request_id: int, decision: str, actor: CurrentActor,
                  context: Context, shop_id: Annotated[int, Form()]) -> Response:
    try:
        if decision == "approve":
            service.approve_sample(context.db, context.payments, context.settings, actor,
                                   request_id)
        elif decision == "decline":
            samples.decline(context.db, actor, request_id)
        else:
            raise InvalidInput("Approve or decline", field="decision")
    except DomainError as error:
        return _affiliate_page(request, context, actor, shop_id, status_code=error.status,
                               error=error.message)
    return _redirect(f"/seller/shops/{shop_id}/affiliates",
                     "sample_approved" if decision == "approve" else "sample_declined")
