"""The seller home at /seller: what to do now, across every shop the seller owns; and the
shop's consent to flash sales creators propose for its products (/seller/sale-proposals)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from starlette.responses import Response

from liveshop.catalog.pages import redirect, seller
from liveshop.core.db import utcnow
from liveshop.live import sale_proposals
from liveshop.seller.home import seller_home
from liveshop.web.deps import Context, CurrentActor, FormCsrf
from liveshop.web.templating import render

router = APIRouter()


@router.get("/seller")
def home(request: Request, actor: CurrentActor, context: Context) -> Response:
    page = seller_home(context.db, seller(actor), utcnow())
    return render(request, "seller/home.html", home=page)


@router.get("/seller/sale-proposals")
def sale_proposals_page(request: Request, actor: CurrentActor, context: Context,
                        decided: int | None = None) -> Response:
    """Flash sales creators proposed for the seller's products in their own shows: the
    shop's consent to each price and number of units."""
    proposals = sale_proposals.shop_proposals(context.db, seller(actor))
    return render(request, "seller/sale_proposals.html", proposals=proposals, decided=decided)


@router.post("/seller/sale-proposals/{proposal_id}/{decision}", dependencies=[FormCsrf])
def decide_sale_proposal(proposal_id: int, decision: Literal["approve", "decline"],
                         actor: CurrentActor, context: Context) -> Response:
    sale_proposals.decide(context.db, seller(actor), proposal_id,
                          approve=decision == "approve")
    return redirect(f"/seller/sale-proposals?decided={proposal_id}")
