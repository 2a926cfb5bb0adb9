"""The back office's rules, free of HTTP and SQL: who may be acted on, what a report is,
how a decision on one is recorded, and how the overview adds money up."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from enum import StrEnum

from liveshop.accounts.model import Actor, Role
from liveshop.core.errors import Conflict, Forbidden, InvalidInput

REASON_MAX_LENGTH = 500
# A report's reason is the buyer's own words, never blank (a length past one character is
# no rule worth refusing a report over); an admin's reason is optional, the audit row keeps
# whatever was given.
REPORT_REASON_MIN_LENGTH = 1
SEARCH_LIMIT = 50


class TargetType(StrEnum):
    USER = "user"
    SHOP = "shop"
    SHOW = "show"
    CHAT_MESSAGE = "chat_message"
    PRODUCT = "product"
    PAYOUT_STATEMENT = "payout_statement"
    MARKET_FEE = "market_fee"  # target id 0: the market is the label
    FEE_HOLIDAY = "fee_holiday"
    CAMPAIGN = "bonus_campaign"
    VOUCHER = "voucher"


class AuditAction(StrEnum):
    USER_ROLE_CHANGED = "user.role_changed"
    USER_SUSPENDED = "user.suspended"
    USER_REINSTATED = "user.reinstated"
    SHOP_SUSPENDED = "shop.suspended"
    SHOP_REINSTATED = "shop.reinstated"
    SHOW_ENDED = "show.ended"
    REPLAY_REMOVED = "show.replay_removed"
    REPORT_DISMISSED = "report.dismissed"
    MESSAGE_REMOVED = "chat_message.removed"
    PRODUCT_UNPUBLISHED = "product.unpublished"
    PAYOUTS_RUN = "payouts.run"
    PAYOUT_PAID = "payout_statement.paid"
    FEE_CHANGED = "incentives.fee_changed"
    FEE_HOLIDAY_CHANGED = "incentives.holiday_changed"
    CAMPAIGN_CREATED = "incentives.campaign_created"
    VOUCHER_CREATED = "incentives.voucher_created"
    VOUCHER_PAUSED = "incentives.voucher_paused"
    VOUCHER_RESUMED = "incentives.voucher_resumed"


class ReportTarget(StrEnum):
    """What a buyer may report."""

    CHAT_MESSAGE = "chat_message"
    PRODUCT = "product"


class ReportStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"  # nothing wrong with it
    ACTIONED = "actioned"  # the message removed / the product unpublished


class Decision(StrEnum):
    DISMISS = "dismiss"
    REMOVE = "remove"  # the message is deleted, the product unpublished


def require_admin(actor: Actor | None) -> Actor:
    """The back office is for the platform's admins alone (403 for anyone else signed in:
    /admin is a documented path of an open-source app, so hiding it behind a 404 would hide
    nothing, and a 403 tells a person who lost the role why the page went away)."""
    if actor is None or not actor.is_admin:
        raise Forbidden("Only a platform admin can open the back office", code="admin_only")
    return actor


def require_admin_now(admin: Actor, active_admin_ids: Collection[int]) -> None:
    """The acting admin is one of the platform's active admins as the action commits."""
    if admin.user_id not in active_admin_ids:
        raise Forbidden("You are no longer a platform admin", code="admin_only")


def check_role_change(admin: Actor, user_id: int, new: Role) -> None:
    """An admin cannot demote themself: the platform must never lose its last admin by a
    slip, and another admin can always do it deliberately."""
    if user_id == admin.user_id and new is not Role.ADMIN:
        raise Conflict("Admins cannot change their own role", field="user_id",
                       code="own_account")


def check_suspension(admin: Actor, user_id: int) -> None:
    if user_id == admin.user_id:
        raise Conflict("Admins cannot suspend themselves", field="user_id", code="own_account")


def check_report(reporter_id: int, author_id: int, field: str) -> None:
    """Reporting one's own message or product is no report (it can just be deleted)."""
    if reporter_id == author_id:
        raise InvalidInput("You cannot report your own content", field=field,
                           code="own_content")


def check_reason(reason: str, field: str = "reason") -> str:
    cleaned = " ".join(reason.split())
    if len(cleaned) < REPORT_REASON_MIN_LENGTH:
        raise InvalidInput("Say what is wrong", field=field)
    if len(cleaned) > REASON_MAX_LENGTH:
        raise InvalidInput(f"At most {REASON_MAX_LENGTH} characters", field=field)
    return cleaned


def ensure_open(status: str) -> None:
    if status != ReportStatus.OPEN:
        raise Conflict("This report was already decided", field="report_id",
                       code="already_decided")


def outcome(decision: Decision) -> ReportStatus:
    return ReportStatus.DISMISSED if decision is Decision.DISMISS else ReportStatus.ACTIONED


def decision_action(target: ReportTarget, decision: Decision) -> AuditAction:
    if decision is Decision.DISMISS:
        return AuditAction.REPORT_DISMISSED
    return (AuditAction.MESSAGE_REMOVED if target is ReportTarget.CHAT_MESSAGE
            else AuditAction.PRODUCT_UNPUBLISHED)


def money_by_currency(amounts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Integer minor units summed per ISO currency, never across currencies (a pound and a
    euro do not add up to anything), in currency order."""
    totals: dict[str, int] = {}
    for currency, amount in amounts:
        totals[currency] = totals.get(currency, 0) + int(amount)
    return dict(sorted(totals.items()))


def start_of_day(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s day: the overview's "today" is the platform's UTC day."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
