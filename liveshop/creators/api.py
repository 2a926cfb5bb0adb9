"""Affiliate plan API: a shop's owner opens its products to creators for a commission."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from liveshop.core.inputs import Id
from liveshop.creators import service
from liveshop.creators.schemas import PlanChange, PlanIn, PlanView
from liveshop.web.deps import Context, CurrentActor, IdempotencyKey
from liveshop.web.errors import ErrorBody

router = APIRouter(tags=["creators"])

PLAN_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The product already has that plan"},
    422: {"model": ErrorBody, "description": "Rate out of range (rate_bp), a targeted plan "
          "without creator_id or ends_at, or a missing or reused Idempotency-Key"},
}


@router.post("/shops/{shop_id}/affiliate-plans", status_code=201, response_model=PlanView,
             responses=PLAN_RESPONSES)
def create_plan(shop_id: Id, data: PlanIn, actor: CurrentActor, context: Context,
                idempotency_key: IdempotencyKey) -> Response:
    stored = service.create_plan(context.db, context.settings, actor, shop_id, data,
                                 idempotency_key)
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else None
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)


@router.get("/shops/{shop_id}/affiliate-plans", response_model=list[PlanView])
def shop_plans(shop_id: Id, actor: CurrentActor, context: Context) -> list[PlanView]:
    return service.list_plans(context.db, actor, shop_id)


@router.patch("/affiliate-plans/{plan_id}", response_model=PlanView, responses=PLAN_RESPONSES)
def change_plan(plan_id: Id, data: PlanChange, actor: CurrentActor, context: Context
                ) -> PlanView:
    """Rate, pause, end date: set values, so a retry changes nothing further (no
    Idempotency-Key needed)."""
    return service.change_plan(context.db, actor, plan_id, data)
