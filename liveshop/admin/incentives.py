"""The platform's fees and incentives in the back office: each market's fee, the new-seller
fee holiday, creator bonus campaigns and vouchers, with what each has spent. Every change
writes its audit row in its own transaction; the rules are liveshop/incentives/model.py.
A change applies to lines paid after it: a paid line keeps the fee and bonus it was paid
under (orders/commission.py copies them onto it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.accounts.orm import User
from liveshop.admin import audit, model
from liveshop.admin.acting import act
from liveshop.admin.model import AuditAction, TargetType
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import InvalidInput, NotFound
from liveshop.incentives import service as incentives
from liveshop.incentives.model import Campaign, FeeHoliday, VoucherTerms, normalise_code
from liveshop.incentives.orm import BonusCampaign, Voucher
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKind
from liveshop.markets.model import MARKETS, get_market


@dataclass(frozen=True)
class FeeRow:
    market: str
    name: str
    fee_bp: int


@dataclass(frozen=True)
class BudgetRow:
    """A campaign or voucher as the page lists it: its terms, budget and spend."""

    id: int
    name: str
    market: str
    terms: str
    budget: str
    spent: str
    left: str
    running: bool
    code: str | None = None
    active: bool = True


@dataclass(frozen=True)
class IncentivesPage:
    fees: list[FeeRow]
    holiday: FeeHoliday
    campaigns: list[BudgetRow]
    vouchers: list[BudgetRow]
    # The books' incentive expense per currency: bonuses and vouchers, less clawbacks.
    expense: dict[str, str]


def page(db: Database, admin: Actor) -> IncentivesPage:
    model.require_admin(admin)
    now = utcnow()
    with db.read() as session:
        schedule = incentives.fee_schedule(session)
        fees = [FeeRow(code, market.name, schedule.fee_bp(code))
                for code, market in MARKETS.items()]
        names = {user_id: name for user_id, name in session.execute(
            select(User.id, User.display_name).where(
                User.id.in_(select(BonusCampaign.creator_id))))}
        campaigns = [
            BudgetRow(row.id, row.name, row.market,
                      f"+{row.bonus_bp / 100:g}% for "
                      f"{names.get(row.creator_id or 0, 'every creator')}"
                      f" · {_day(row.starts_at)} to {_day(row.ends_at)}",
                      *_amounts(row.market, row.budget, row.spent),
                      running=row.starts_at <= now < row.ends_at)
            for row in session.scalars(select(BonusCampaign).order_by(BonusCampaign.id.desc()))]
        vouchers = [
            BudgetRow(row.id, row.name, row.market,
                      f"{incentives.describe_voucher(row)} · {row.per_buyer_limit} per buyer · "
                      f"{_day(row.starts_at)} to {_day(row.ends_at)}",
                      *_amounts(row.market, row.budget, row.spent),
                      running=row.active and row.starts_at <= now < row.ends_at,
                      code=row.code, active=row.active)
            for row in session.scalars(select(Voucher).order_by(Voucher.id.desc()))]
        expense: dict[str, int] = {}
        for key, amount in ledger.balances(session, kind=AccountKind.INCENTIVE_EXPENSE).items():
            expense[key.currency] = expense.get(key.currency, 0) + amount
        shown = {currency: _money(currency, amount) for currency, amount in
                 sorted(expense.items())}
        return IncentivesPage(fees, incentives.holiday_policy(session), campaigns, vouchers,
                              shown)


class Changed(BaseModel):
    """What an incentive action changed: the row's id (0 for a setting)."""

    id: int


def set_fee(db: Database, admin: Actor, market: str, fee_bp: int, reason: str = "") -> None:
    def step(session: Session) -> Changed:
        before = incentives.set_market_fee(session, market, fee_bp)
        audit.write(session, admin, AuditAction.FEE_CHANGED, TargetType.MARKET_FEE, 0,
                    label=market, reason=reason, before={"fee_bp": before},
                    after={"fee_bp": fee_bp})
        return Changed(id=0)

    act(db, admin, "fee_change", {"market": market, "fee_bp": fee_bp}, step)


def set_holiday(db: Database, admin: Actor, holiday: FeeHoliday, reason: str = "") -> None:
    def step(session: Session) -> Changed:
        before = incentives.set_holiday(session, holiday)
        audit.write(session, admin, AuditAction.FEE_HOLIDAY_CHANGED, TargetType.FEE_HOLIDAY, 1,
                    label="new-seller fee holiday", reason=reason,
                    before={"days": before.days, "gmv_limits": dict(before.gmv_limits)},
                    after={"days": holiday.days, "gmv_limits": dict(holiday.gmv_limits)})
        return Changed(id=1)

    act(db, admin, "holiday_change", {"days": holiday.days}, step)


def create_campaign(db: Database, admin: Actor, name: str, campaign: Campaign) -> int:
    def step(session: Session) -> Changed:
        if campaign.creator_id is not None and session.get(User, campaign.creator_id) is None:
            raise NotFound("No such creator", field="creator")
        row = incentives.add_campaign(session, _name(name), campaign)
        audit.write(session, admin, AuditAction.CAMPAIGN_CREATED, TargetType.CAMPAIGN, row.id,
                    label=row.name, after=_campaign_dict(campaign))
        return Changed(id=row.id)

    return int(act(db, admin, "campaign_create", {"name": name}, step).body["id"])


def create_voucher(db: Database, admin: Actor, name: str, terms: VoucherTerms) -> int:
    def step(session: Session) -> Changed:
        row = incentives.add_voucher(session, _name(name), terms)
        audit.write(session, admin, AuditAction.VOUCHER_CREATED, TargetType.VOUCHER, row.id,
                    label=row.code or row.name, after={
                        "code": terms.code, "market": terms.market,
                        "percent_bp": terms.percent_bp, "amount_off": terms.amount_off,
                        "min_basket": terms.min_basket,
                        "per_buyer_limit": terms.per_buyer_limit, "budget": terms.budget})
        return Changed(id=row.id)

    return int(act(db, admin, "voucher_create", {"name": name}, step).body["id"])


def set_voucher_active(db: Database, admin: Actor, voucher_id: int, active: bool,
                       reason: str = "") -> None:
    """Pause a voucher (no new checkout may use it; open ones keep their reservation) or
    resume it."""
    def step(session: Session) -> Changed:
        row = session.get(Voucher, voucher_id)
        if row is None:
            raise NotFound("No such voucher", field="voucher_id")
        before, row.active = row.active, active
        audit.write(session, admin, AuditAction.VOUCHER_RESUMED if active
                    else AuditAction.VOUCHER_PAUSED, TargetType.VOUCHER, row.id,
                    label=row.code or row.name, reason=reason,
                    before={"active": before}, after={"active": active})
        return Changed(id=row.id)

    act(db, admin, "voucher_active", {"voucher_id": voucher_id, "active": active}, step)


def creator_id_by_email(db: Database, email: str) -> int | None:
    """The creator a campaign is for, by e-mail; blank: every creator."""
    if not email.strip():
        return None
    with db.read() as session:
        found = session.scalar(select(User.id).where(User.email == email.strip().lower()))
    if found is None:
        raise NotFound("No user with that e-mail", field="creator_email")
    return found


def period(starts_on: date, ends_on: date) -> tuple[datetime, datetime]:
    """A period typed as two dates: from the first's midnight UTC to the end of the last."""
    if ends_on < starts_on:
        raise InvalidInput("The last day comes on or after the first", field="ends_on")
    start = datetime.combine(starts_on, time(), tzinfo=utcnow().tzinfo)
    return start, datetime.combine(ends_on, time(), tzinfo=start.tzinfo) + timedelta(days=1)


def parse_code(code: str) -> str | None:
    """A voucher code typed in the form, or None for an automatic discount."""
    return normalise_code(code, field="code") if code.strip() else None


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 120:
        raise InvalidInput("A name has 1 to 120 characters", field="name")
    return cleaned


def _campaign_dict(campaign: Campaign) -> dict[str, object]:
    return {"market": campaign.market, "creator_id": campaign.creator_id,
            "bonus_bp": campaign.bonus_bp, "budget": campaign.budget,
            "starts_at": campaign.starts_at.isoformat(),
            "ends_at": campaign.ends_at.isoformat()}


def _amounts(market: str, budget: int, spent: int) -> tuple[str, str, str]:
    rules = get_market(market)
    return rules.format(budget), rules.format(spent), rules.format(budget - spent)


def _money(currency: str, amount: int) -> str:
    market = next(m for m in MARKETS.values() if m.currency == currency)
    return market.format(amount)


def _day(moment: datetime) -> str:
    return moment.strftime("%d %b %Y")
