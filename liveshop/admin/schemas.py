"""The back office's input and view models, shared by its JSON API and its pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from liveshop.accounts.model import Role
from liveshop.admin.model import (
    REASON_MAX_LENGTH,
    REPORT_REASON_MIN_LENGTH,
    Decision,
    ReportStatus,
    ReportTarget,
)
from liveshop.core.inputs import Id, JsonInput, SingleLine

Reason = Annotated[str, SingleLine(max_length=REASON_MAX_LENGTH)]


class ReasonIn(JsonInput):
    reason: Reason = Field(default="", description="Why: kept in the audit log")


class RoleChangeIn(ReasonIn):
    role: Role = Field(strict=False)


class DecisionIn(ReasonIn):
    decision: Decision = Field(strict=False, description=(
        "dismiss: nothing wrong; remove: delete the message / unpublish the product"))


class ReportIn(JsonInput):
    target_type: ReportTarget = Field(strict=False)
    target_id: Id
    reason: Annotated[str, SingleLine(max_length=REASON_MAX_LENGTH,
                                      min_length=REPORT_REASON_MIN_LENGTH)]


class AdminUserView(BaseModel):
    id: int
    email: str
    display_name: str
    role: Role
    is_active: bool = Field(description="false: suspended (no log-in, no session, no token)")
    created_at: datetime


class AdminShopView(BaseModel):
    id: int
    name: str
    slug: str
    owner_id: int
    owner_email: str
    suspended_at: datetime | None
    products: int
    created_at: datetime


class AdminShowView(BaseModel):
    id: int
    title: str
    shop_id: int | None = Field(description="null: a creator's own multi-shop show")
    shop_name: str
    status: str
    scheduled_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    removed_at: datetime | None


class ReportView(BaseModel):
    id: int
    target_type: ReportTarget
    target_id: int
    reason: str
    status: ReportStatus
    created_at: datetime
    reporter_id: int
    reporter_name: str
    # What is reported, as the admin needs to judge it: the message's text and author, or
    # the product's title and shop; empty when it no longer exists.
    target_text: str = ""
    target_owner: str = ""
    target_url: str | None = None
    # Whether the message is still shown / the product still on sale.
    target_live: bool = True
    reports_on_target: int = 1


class ReportReceived(BaseModel):
    id: int
    target_type: ReportTarget
    target_id: int
    status: ReportStatus
    created_at: datetime


class AuditView(BaseModel):
    id: int
    actor_id: int
    actor_name: str
    action: str
    target_type: str
    target_id: int
    target_label: str
    reason: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


class MoneyTotal(BaseModel):
    currency: str
    amount: int = Field(description="Minor units of the currency")
    formatted: str


class Overview(BaseModel):
    orders_today: int = Field(description="Orders paid since midnight UTC")
    orders_total: int = Field(description="Orders ever paid (refunded ones included)")
    gmv_today: list[MoneyTotal] = Field(description="Per currency, never added together")
    gmv_total: list[MoneyTotal]
    live_now: list[AdminShowView]
    open_reports: int
    suspended_users: int
    suspended_shops: int


class AdminShows(BaseModel):
    live_now: list[AdminShowView]
    replays: list[AdminShowView]
