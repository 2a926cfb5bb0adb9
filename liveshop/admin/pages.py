"""The back office's pages under /admin (admins only: others get the 403 page; anyone not
signed in goes to the log-in page), and the product page's report form. Every form posts
with the CSRF token and redirects back (post/redirect/get) with a message chosen by key."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import RedirectResponse, Response

from liveshop.accounts.model import Role
from liveshop.admin import audit, overview, payouts, reports, shops, users
from liveshop.admin.deps import AdminActor
from liveshop.admin.model import AuditAction, Decision, ReportStatus, ReportTarget
from liveshop.admin.schemas import DecisionIn, ReasonIn, ReportIn, RoleChangeIn
from liveshop.core.errors import InvalidInput
from liveshop.core.inputs import Id
from liveshop.payouts import service as payout_service
from liveshop.payouts.model import StatementStatus
from liveshop.payouts.schemas import MarkPaidIn
from liveshop.web.deps import Context, CurrentActor, FormCsrf
from liveshop.web.templating import render

router = APIRouter()

ReasonField = Annotated[str, Form(max_length=500)]
SearchText = Annotated[str, Form(max_length=100)]
DONE = {
    "role": "Role changed.",
    "suspended": "Suspended. Their sessions ended; their API tokens no longer work.",
    "reinstated": "Reinstated. They can log in again.",
    "shop_suspended": "Shop suspended: unlisted, not buyable, cannot go live.",
    "shop_reinstated": "Shop reinstated.",
    "show_ended": "Show ended.",
    "replay_removed": "Replay taken down.",
    "dismissed": "Report dismissed.",
    "removed": "Done: the reported content is down.",
    "payouts_run": "Payout run done: the statements it made are listed below.",
    "payout_paid": "Statement marked paid.",
}
SECTIONS = (("overview", "/admin", "Overview"), ("users", "/admin/users", "Users"),
            ("shops", "/admin/shops", "Shops"), ("shows", "/admin/shows", "Shows"),
            ("reports", "/admin/reports", "Reports"), ("payouts", "/admin/payouts", "Payouts"),
            ("books", "/admin/books", "Books"), ("audit", "/admin/audit", "Audit log"))


M = TypeVar("M", bound=BaseModel)


def _form(model: type[M], **data: Any) -> M:
    """A form's fields as the API's input model; refused input names its field (422)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidInput(f"{field}: {first['msg']}" if field else first["msg"],
                           field=field) from None


def _page(request: Request, name: str, section: str, **context: Any) -> Response:
    return render(request, f"admin/{name}.html", sections=SECTIONS, section=section,
                  notice=DONE.get(request.query_params.get("done", "")), **context)


def _back(path: str, done: str, q: str = "") -> RedirectResponse:
    query = {"done": done, **({"q": q} if q else {})}
    return RedirectResponse(f"{path}?{urlencode(query)}", status_code=303)


@router.get("/admin")
def admin_home(request: Request, admin: AdminActor, context: Context) -> Response:
    return _page(request, "overview", "overview", data=overview.overview(context.db, admin),
                 recent=audit.entries(context.db, admin, limit=8))


# --- users ---

@router.get("/admin/users")
def admin_users(request: Request, admin: AdminActor, context: Context, q: str = "") -> Response:
    q = q[:100]
    return _page(request, "users", "users", q=q, roles=list(Role),
                 found=users.search(context.db, admin, q))


@router.post("/admin/users/{user_id}/role", dependencies=[FormCsrf])
def admin_user_role(user_id: Id, admin: AdminActor, context: Context,
                    role: Annotated[Role, Form()], reason: ReasonField = "",
                    q: SearchText = "") -> Response:
    users.change_role(context.db, admin, user_id, _form(RoleChangeIn, role=role, reason=reason))
    return _back("/admin/users", "role", q)


@router.post("/admin/users/{user_id}/suspend", dependencies=[FormCsrf])
def admin_user_suspend(user_id: Id, admin: AdminActor, context: Context,
                       reason: ReasonField = "", q: SearchText = "") -> Response:
    users.set_suspended(context.db, admin, user_id, True, _form(ReasonIn, reason=reason))
    return _back("/admin/users", "suspended", q)


@router.post("/admin/users/{user_id}/reinstate", dependencies=[FormCsrf])
def admin_user_reinstate(user_id: Id, admin: AdminActor, context: Context,
                         reason: ReasonField = "", q: SearchText = "") -> Response:
    users.set_suspended(context.db, admin, user_id, False, _form(ReasonIn, reason=reason))
    return _back("/admin/users", "reinstated", q)


# --- shops ---

@router.get("/admin/shops")
def admin_shops(request: Request, admin: AdminActor, context: Context, q: str = "") -> Response:
    q = q[:100]
    return _page(request, "shops", "shops", q=q, found=shops.search_shops(context.db, admin, q))


@router.post("/admin/shops/{shop_id}/suspend", dependencies=[FormCsrf])
def admin_shop_suspend(shop_id: Id, admin: AdminActor, context: Context,
                       reason: ReasonField = "", q: SearchText = "") -> Response:
    shops.set_shop_suspended(context.db, admin, shop_id, True, _form(ReasonIn, reason=reason))
    return _back("/admin/shops", "shop_suspended", q)


@router.post("/admin/shops/{shop_id}/reinstate", dependencies=[FormCsrf])
def admin_shop_reinstate(shop_id: Id, admin: AdminActor, context: Context,
                         reason: ReasonField = "", q: SearchText = "") -> Response:
    shops.set_shop_suspended(context.db, admin, shop_id, False, _form(ReasonIn, reason=reason))
    return _back("/admin/shops", "shop_reinstated", q)


# --- shows ---

@router.get("/admin/shows")
def admin_shows(request: Request, admin: AdminActor, context: Context) -> Response:
    live_now, replays = shops.shows_for_admin(context.db, admin)
    return _page(request, "shows", "shows", live_now=live_now, replays=replays)


@router.post("/admin/shows/{show_id}/end", dependencies=[FormCsrf])
def admin_show_end(show_id: Id, admin: AdminActor, context: Context,
                   reason: ReasonField = "") -> Response:
    shops.end_show(context.db, admin, show_id, _form(ReasonIn, reason=reason))
    return _back("/admin/shows", "show_ended")


@router.post("/admin/shows/{show_id}/remove-replay", dependencies=[FormCsrf])
def admin_replay_remove(show_id: Id, admin: AdminActor, context: Context,
                        reason: ReasonField = "") -> Response:
    shops.remove_replay(context.db, admin, show_id, _form(ReasonIn, reason=reason))
    return _back("/admin/shows", "replay_removed")


# --- reports ---

@router.get("/admin/reports")
def admin_reports(request: Request, admin: AdminActor, context: Context,
                  status: ReportStatus = ReportStatus.OPEN) -> Response:
    return _page(request, "reports", "reports", status=status, statuses=list(ReportStatus),
                 found=reports.queue(context.db, admin, status))


@router.post("/admin/reports/{report_id}/decide", dependencies=[FormCsrf])
def admin_report_decide(report_id: Id, admin: AdminActor, context: Context,
                        decision: Annotated[Decision, Form()],
                        reason: ReasonField = "") -> Response:
    reports.decide(context.db, admin, report_id,
                   _form(DecisionIn, decision=decision, reason=reason))
    return _back("/admin/reports",
                 "dismissed" if decision is Decision.DISMISS else "removed")


# --- payouts and the books ---

@router.get("/admin/payouts")
def admin_payouts(request: Request, admin: AdminActor, context: Context,
                  status: StatementStatus | None = None) -> Response:
    return _page(request, "payouts", "payouts", status=status, statuses=list(StatementStatus),
                 found=payouts.statements(context.db, admin, status))


@router.post("/admin/payouts/run", dependencies=[FormCsrf])
def admin_payouts_run(admin: AdminActor, context: Context) -> Response:
    payouts.run(context.db, admin, payout_service.policy_of(context.settings))
    return _back("/admin/payouts", "payouts_run")


@router.post("/admin/payouts/{statement_id}/paid", dependencies=[FormCsrf])
def admin_payout_paid(statement_id: Id, admin: AdminActor, context: Context,
                      reference: Annotated[str, Form(max_length=100)] = "") -> Response:
    payouts.mark_paid(context.db, admin, statement_id, _form(MarkPaidIn, reference=reference))
    return _back("/admin/payouts", "payout_paid")


@router.get("/admin/books")
def admin_books(request: Request, admin: AdminActor, context: Context) -> Response:
    return _page(request, "books", "books", books=payouts.books(context.db, admin))


# --- audit ---

@router.get("/admin/audit")
def admin_audit(request: Request, admin: AdminActor, context: Context, action: str = "",
                before: int | None = None) -> Response:
    action = action if action in set(AuditAction) else ""
    before_id = before if before is not None and 0 < before < 2**31 else None
    rows = audit.entries(context.db, admin, action=action, before_id=before_id)
    return _page(request, "audit", "audit", rows=rows, action=action,
                 actions=list(AuditAction), older=rows[-1].id if len(rows) == audit.AUDIT_PAGE
                 else None)


# --- a buyer reports a product (chat messages are reported from the room, over the API) ---

@router.post("/products/{product_id}/report", dependencies=[FormCsrf])
def report_product(product_id: Id, actor: CurrentActor, context: Context,
                   reason: Annotated[str, Form(max_length=500)]) -> Response:
    reports.report(context.db, context.limiter, actor, _form(
        ReportIn, target_type=ReportTarget.PRODUCT, target_id=product_id, reason=reason))
    return RedirectResponse(f"/products/{product_id}?reported=1", status_code=303)
