"""The back office's JSON API under /api/v1/admin (admins only; every write takes an
Idempotency-Key and is audited), and /api/v1/reports, where anyone signed in reports a chat
message or a product."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from liveshop.accounts.model import Role
from liveshop.admin import audit, overview, payouts, reports, shops, users
from liveshop.admin.acting import Keyed
from liveshop.admin.deps import AdminActor
from liveshop.admin.model import SEARCH_LIMIT, ReportStatus
from liveshop.admin.schemas import (
    AdminShopView,
    AdminShows,
    AdminShowView,
    AdminUserView,
    AuditView,
    DecisionIn,
    Overview,
    ReasonIn,
    ReportIn,
    ReportReceived,
    ReportView,
    RoleChangeIn,
)
from liveshop.core.idempotency import StoredResponse
from liveshop.core.inputs import Id
from liveshop.payouts import service as payout_service
from liveshop.payouts.model import StatementStatus
from liveshop.payouts.schemas import Books, MarkPaidIn, RunSummary, StatementView
from liveshop.web.context import AppContext
from liveshop.web.deps import Context, CurrentActor, IdempotencyKey

router = APIRouter()

Search = Annotated[str, Query(max_length=100)]
NO_REASON = ReasonIn()


def _keyed(context: AppContext, key: str) -> Keyed:
    return Keyed(key, context.settings.idempotency_abandoned_seconds)


def _answer(stored: StoredResponse) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else None
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)


@router.post("/reports", status_code=201, response_model=ReportReceived)
def file_report(data: ReportIn, actor: CurrentActor, context: Context) -> ReportReceived:
    """Report a chat message or a product to the platform's admins. One report per person
    and target: reporting it again answers the first report."""
    return reports.report(context.db, context.limiter, actor, data)


@router.get("/admin/overview", response_model=Overview)
def get_overview(admin: AdminActor, context: Context) -> Overview:
    return overview.overview(context.db, admin)


@router.get("/admin/users", response_model=list[AdminUserView])
def search_users(admin: AdminActor, context: Context, q: Search = "",
                 role: Role | None = None, suspended: bool | None = None
                 ) -> list[AdminUserView]:
    """Users whose name or e-mail contains ``q``, newest first (at most 50)."""
    return users.search(context.db, admin, q, role, suspended, SEARCH_LIMIT)


@router.put("/admin/users/{user_id}/role", response_model=AdminUserView)
def change_role(user_id: Id, data: RoleChangeIn, admin: AdminActor, context: Context,
                idempotency_key: IdempotencyKey) -> JSONResponse:
    """An admin cannot change their own role (409 naming user_id)."""
    return _answer(users.change_role(context.db, admin, user_id, data,
                                     _keyed(context, idempotency_key)))


@router.post("/admin/users/{user_id}/suspend", response_model=AdminUserView)
def suspend_user(user_id: Id, admin: AdminActor, context: Context,
                 idempotency_key: IdempotencyKey, data: ReasonIn | None = None
                 ) -> JSONResponse:
    """No log-in; every session ends at once; API tokens are refused at once by this
    process and within 10 s (the token cache) by the others."""
    return _answer(users.set_suspended(context.db, admin, user_id, True, data or NO_REASON,
                                       _keyed(context, idempotency_key)))


@router.post("/admin/users/{user_id}/reinstate", response_model=AdminUserView)
def reinstate_user(user_id: Id, admin: AdminActor, context: Context,
                   idempotency_key: IdempotencyKey, data: ReasonIn | None = None
                   ) -> JSONResponse:
    return _answer(users.set_suspended(context.db, admin, user_id, False, data or NO_REASON,
                                       _keyed(context, idempotency_key)))


@router.get("/admin/shops", response_model=list[AdminShopView])
def search_shops(admin: AdminActor, context: Context, q: Search = "",
                 suspended: bool | None = None) -> list[AdminShopView]:
    return shops.search_shops(context.db, admin, q, suspended)


@router.post("/admin/shops/{shop_id}/suspend", response_model=AdminShopView)
def suspend_shop(shop_id: Id, admin: AdminActor, context: Context,
                 idempotency_key: IdempotencyKey, data: ReasonIn | None = None
                 ) -> JSONResponse:
    """Unlisted, not buyable, cannot go live; its shows on air now are ended."""
    return _answer(shops.set_shop_suspended(context.db, admin, shop_id, True,
                                            data or NO_REASON,
                                            _keyed(context, idempotency_key)))


@router.post("/admin/shops/{shop_id}/reinstate", response_model=AdminShopView)
def reinstate_shop(shop_id: Id, admin: AdminActor, context: Context,
                   idempotency_key: IdempotencyKey, data: ReasonIn | None = None
                   ) -> JSONResponse:
    return _answer(shops.set_shop_suspended(context.db, admin, shop_id, False,
                                            data or NO_REASON,
                                            _keyed(context, idempotency_key)))


@router.get("/admin/shows", response_model=AdminShows)
def list_shows(admin: AdminActor, context: Context) -> AdminShows:
    live_now, replays = shops.shows_for_admin(context.db, admin)
    return AdminShows(live_now=live_now, replays=replays)


@router.post("/admin/shows/{show_id}/end", response_model=AdminShowView)
def end_show(show_id: Id, admin: AdminActor, context: Context,
             idempotency_key: IdempotencyKey, data: ReasonIn | None = None) -> JSONResponse:
    """End a live show as its host would (409 naming show_id if it is not live)."""
    return _answer(shops.end_show(context.db, admin, show_id, data or NO_REASON,
                                  _keyed(context, idempotency_key)))


@router.delete("/admin/shows/{show_id}/replay", response_model=AdminShowView)
def remove_replay(show_id: Id, admin: AdminActor, context: Context,
                  idempotency_key: IdempotencyKey, data: ReasonIn | None = None
                  ) -> JSONResponse:
    """Take an ended show's replay down: listed nowhere, its page not found."""
    return _answer(shops.remove_replay(context.db, admin, show_id, data or NO_REASON,
                                       _keyed(context, idempotency_key)))


@router.get("/admin/reports", response_model=list[ReportView])
def report_queue(admin: AdminActor, context: Context,
                 status: ReportStatus = ReportStatus.OPEN) -> list[ReportView]:
    """Open reports oldest first; decided ones newest first."""
    return reports.queue(context.db, admin, status)


@router.post("/admin/reports/{report_id}/decision", response_model=ReportView)
def decide_report(report_id: Id, data: DecisionIn, admin: AdminActor, context: Context,
                  idempotency_key: IdempotencyKey) -> JSONResponse:
    """Dismiss, or remove the message / unpublish the product; every open report of the
    same target is closed with it."""
    return _answer(reports.decide(context.db, admin, report_id, data,
                                  _keyed(context, idempotency_key)))


@router.get("/admin/payouts", response_model=list[StatementView])
def payout_statements(admin: AdminActor, context: Context,
                      status: StatementStatus | None = None) -> list[StatementView]:
    """Payout statements, newest first (200 at most); ``sent`` ones await payment."""
    return payouts.statements(context.db, admin, status)


@router.post("/admin/payouts/run", response_model=RunSummary)
def run_payouts(admin: AdminActor, context: Context) -> RunSummary:
    """A statement per payee and currency for the money available now. Idempotent by
    nature (a posting is paid once, ever), so it takes no Idempotency-Key: a retry makes
    only the statements that newly available money calls for."""
    return payouts.run(context.db, admin,
                       payout_service.policy_of(context.settings))


@router.post("/admin/payouts/{statement_id}/paid", response_model=StatementView)
def mark_statement_paid(statement_id: Id, admin: AdminActor, context: Context,
                        idempotency_key: IdempotencyKey, data: MarkPaidIn | None = None
                        ) -> JSONResponse:
    """The money left (paid by hand today): payouts in transit -> cash, audited. A
    statement paid already stays as it is."""
    return _answer(payouts.mark_paid(context.db, admin, statement_id, data or MarkPaidIn(),
                                     keyed=_keyed(context, idempotency_key)))


@router.get("/admin/books", response_model=Books)
def books(admin: AdminActor, context: Context) -> Books:
    """The trial balance per currency and the balances per kind of account."""
    return payouts.books(context.db, admin)


@router.get("/admin/audit", response_model=list[AuditView])
def audit_log(admin: AdminActor, context: Context,
              action: Annotated[str, Query(max_length=40)] = "",
              target_type: Annotated[str, Query(max_length=20)] = "",
              target_id: Id | None = None, before_id: Id | None = None) -> list[AuditView]:
    """Every admin action, newest first (100 a page; ``before_id`` pages back)."""
    return audit.entries(context.db, admin, action=action, target_type=target_type,
                         target_id=target_id, before_id=before_id)
