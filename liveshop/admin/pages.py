"""The back office's pages under /admin (admins only: others get the 403 page; anyone not
signed in goes to the log-in page), and the product page's report form. Every form posts
with the CSRF token and redirects back (post/redirect/get) with a message chosen by key."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import RedirectResponse, Response

from liveshop.accounts.model import Role
from liveshop.admin import audit, incentives, overview, payouts, reports, shops, users
from liveshop.admin.deps import AdminActor
from liveshop.admin.model import AuditAction, Decision, ReportStatus, ReportTarget
from liveshop.admin.schemas import DecisionIn, ReasonIn, ReportIn, RoleChangeIn
from liveshop.core.db import utcnow
from liveshop.core.errors import InvalidInput
from liveshop.core.inputs import Id
from liveshop.incentives.model import Campaign, FeeHoliday, VoucherTerms
from liveshop.markets.model import MARKETS, get_market
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
    "fee": "Fee saved. Lines paid from now on are charged it; paid lines keep theirs.",
    "holiday": "Fee holiday saved.",
    "campaign": "Bonus campaign created.",
    "voucher": "Voucher created.",
    "voucher_paused": "Voucher paused: new checkouts cannot use it.",
    "voucher_resumed": "Voucher resumed.",
}
SECTIONS = (("overview", "/admin", "Overview"), ("users", "/admin/users", "Users"),
            ("shops", "/admin/shops", "Shops"), ("shows", "/admin/shows", "Shows"),
            ("reports", "/admin/reports", "Reports"),
            ("incentives", "/admin/incentives", "Fees & incentives"),
            ("payouts", "/admin/payouts", "Payouts"), ("books", "/admin/books", "Books"),
            ("audit", "/admin/audit", "Audit log"))


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


# --- fees and incentives ---

FormText = Annotated[str, Form(max_length=120)]


def _whole(value: str, field: str, *, blank: int | None = None) -> int | None:
    """A whole number typed in a form (minor units, basis points, days); blank: ``blank``."""
    text = value.strip().replace(",", "").replace("_", "")
    if not text:
        return blank
    if not text.lstrip("-").isdigit() or len(text) > 15:
        raise InvalidInput("Enter a whole number", field=field)
    return int(text)


def _required(value: str, field: str) -> int:
    number = _whole(value, field)
    if number is None:
        raise InvalidInput("Enter a whole number", field=field)
    return number


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("Enter a date as YYYY-MM-DD", field=field) from None


@router.get("/admin/incentives")
def admin_incentives(request: Request, admin: AdminActor, context: Context) -> Response:
    today = utcnow().date()
    return _page(request, "incentives", "incentives",
                 data=incentives.page(context.db, admin), market_choices=MARKETS,
                 currencies=sorted({m.currency for m in MARKETS.values()}),
                 today=today.isoformat(), in_a_month=(today + timedelta(days=30)).isoformat())


@router.post("/admin/incentives/fees", dependencies=[FormCsrf])
def admin_incentives_fee(admin: AdminActor, context: Context, market: FormText = "",
                         fee_bp: FormText = "", reason: ReasonField = "") -> Response:
    incentives.set_fee(context.db, admin, market.strip().upper(), _required(fee_bp, "fee_bp"),
                       reason)
    return _back("/admin/incentives", "fee")


@router.post("/admin/incentives/holiday", dependencies=[FormCsrf])
def admin_incentives_holiday(admin: AdminActor, context: Context, days: FormText = "0",
                             gmv_GBP: FormText = "", gmv_EUR: FormText = "",
                             gmv_USD: FormText = "", reason: ReasonField = "") -> Response:
    typed = {"GBP": gmv_GBP, "EUR": gmv_EUR, "USD": gmv_USD}
    limits = {currency: amount for currency, text in typed.items()
              if (amount := _whole(text, f"gmv_limits.{currency}")) is not None}
    incentives.set_holiday(context.db, admin,
                           FeeHoliday(_whole(days, "days", blank=0) or 0, limits), reason)
    return _back("/admin/incentives", "holiday")


@router.post("/admin/incentives/campaigns", dependencies=[FormCsrf])
def admin_incentives_campaign(admin: AdminActor, context: Context, name: FormText = "",
                              market: FormText = "", creator_email: FormText = "",
                              bonus_bp: FormText = "", budget: FormText = "",
                              starts_on: FormText = "", ends_on: FormText = "") -> Response:
    starts_at, ends_at = incentives.period(_day(starts_on, "starts_on"),
                                           _day(ends_on, "ends_on"))
    incentives.create_campaign(context.db, admin, name, Campaign(
        market=get_market(market.strip().upper()).code,
        bonus_bp=_required(bonus_bp, "bonus_bp"), budget=_required(budget, "budget"),
        starts_at=starts_at, ends_at=ends_at,
        creator_id=incentives.creator_id_by_email(context.db, creator_email)))
    return _back("/admin/incentives", "campaign")


@router.post("/admin/incentives/vouchers", dependencies=[FormCsrf])
def admin_incentives_voucher(admin: AdminActor, context: Context, name: FormText = "",
                             code: FormText = "", market: FormText = "",
                             percent_bp: FormText = "", amount_off: FormText = "",
                             min_basket: FormText = "", per_buyer_limit: FormText = "1",
                             budget: FormText = "", starts_on: FormText = "",
                             ends_on: FormText = "") -> Response:
    starts_at, ends_at = incentives.period(_day(starts_on, "starts_on"),
                                           _day(ends_on, "ends_on"))
    incentives.create_voucher(context.db, admin, name, VoucherTerms(
        market=get_market(market.strip().upper()).code, budget=_required(budget, "budget"),
        starts_at=starts_at, ends_at=ends_at, code=incentives.parse_code(code),
        percent_bp=_whole(percent_bp, "percent_bp"),
        amount_off=_whole(amount_off, "amount_off"),
        min_basket=_whole(min_basket, "min_basket", blank=0) or 0,
        per_buyer_limit=_whole(per_buyer_limit, "per_buyer_limit", blank=1) or 1))
    return _back("/admin/incentives", "voucher")


@router.post("/admin/incentives/vouchers/{voucher_id}/pause", dependencies=[FormCsrf])
def admin_incentives_voucher_pause(voucher_id: Id, admin: AdminActor, context: Context,
                                   reason: ReasonField = "") -> Response:
    incentives.set_voucher_active(context.db, admin, voucher_id, False, reason)
    return _back("/admin/incentives", "voucher_paused")


@router.post("/admin/incentives/vouchers/{voucher_id}/resume", dependencies=[FormCsrf])
def admin_incentives_voucher_resume(voucher_id: Id, admin: AdminActor, context: Context,
                                    reason: ReasonField = "") -> Response:
    incentives.set_voucher_active(context.db, admin, voucher_id, True, reason)
    return _back("/admin/incentives", "voucher_resumed")


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
