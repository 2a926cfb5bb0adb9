"""The seller home at /seller: what to do now, across every shop the seller owns."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from liveshop.catalog.pages import seller
from liveshop.core.db import utcnow
from liveshop.seller.home import seller_home
from liveshop.web.deps import Context, CurrentActor
from liveshop.web.templating import render

router = APIRouter()


@router.get("/seller")
def home(request: Request, actor: CurrentActor, context: Context) -> Response:
    page = seller_home(context.db, seller(actor), utcnow())
    return render(request, "seller/home.html", home=page)
