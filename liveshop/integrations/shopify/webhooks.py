"""POST /integrations/shopify/webhooks: Shopify's webhooks, verified and stored at once,
processed in the background (the outbox). Answered within Shopify's 5 s: a 200 for a webhook
stored, a duplicate or one not synced here (so Shopify stops retrying); a 401 for a
signature that is not the app's (nothing is stored)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from liveshop.integrations.shopify.sync import ShopifySync
from liveshop.web.deps import Context

router = APIRouter()
# Shopify's webhook bodies are small; a product with many variants stays well below this.
MAX_BODY_BYTES = 2 * 1024 * 1024


@router.post("/integrations/shopify/webhooks")
async def receive(request: Request, context: Context) -> JSONResponse:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return JSONResponse({"error": {"code": "too_large", "field": "body",
                                       "message": "The webhook body is too large"}}, 413)
    headers = {key.lower(): value for key, value in request.headers.items()}
    outcome = await run_in_threadpool(ShopifySync(context.db, context.settings)
                                      .receive_webhook, headers, body)
    return JSONResponse({"outcome": outcome})
