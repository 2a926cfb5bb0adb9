"""The seller's payouts page: the statements of every shop they own, each as CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from liveshop.payouts import service
from liveshop.web.deps import Context, CurrentActor
from liveshop.web.templating import render

router = APIRouter()


@router.get("/seller/payouts")
def seller_payouts(request: Request, actor: CurrentActor, context: Context) -> Response:
    return render(request, "payouts/seller.html",
                  statements=service.seller_statements(context.db, actor))
