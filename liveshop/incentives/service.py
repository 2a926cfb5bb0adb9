"""Spending the platform's incentives, inside the caller's transaction.

Building blocks taking a ``Session``: checkout reserves a voucher in the transaction that
opens the checkout (and releases or redeems it with the checkout's own change), and
orders/commission.py asks for a line's fee and bonus in the payment's transaction. So a
spend commits with what caused it, or not at all.

Every budget is spent with one conditional UPDATE (``SET spent = spent + :amount WHERE
spent + :amount <= budget``) whose row count says whether it fitted: on PostgreSQL a second
writer waits for the first's commit and re-checks the condition on the new row; SQLite's
writers take turns (BEGIN IMMEDIATE). Concurrent orders can therefore never overspend a
budget, and the CHECK constraint ``spent <= budget`` backs that up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from liveshop.catalog.orm import Shop
from liveshop.core.db import Database, rows_affected, upsert_into, utcnow
from liveshop.core.errors import Conflict, DomainError
from liveshop.creators.model import DEFAULT_FEE_BP, FeeSchedule
from liveshop.incentives import model
from liveshop.incentives.model import Campaign, FeeHoliday, VoucherTerms
from liveshop.incentives.orm import (
    BonusCampaign,
    BonusGrant,
    FeeHolidayPolicy,
    HolidayGmv,
    MarketFee,
    Voucher,
    VoucherRedemption,
)
from liveshop.markets.model import MARKETS, get_market

HOLIDAY_ROW = 1
RESERVED, REDEEMED, RELEASED = "reserved", "redeemed", "released"


# --- fees ---

def fee_schedule(session: Session) -> FeeSchedule:
    """Every market's fee: an admin's setting, or the 5% default."""
    stored = {market: fee_bp for market, fee_bp in session.execute(
        select(MarketFee.market, MarketFee.fee_bp))}
    return FeeSchedule({code: stored.get(code, DEFAULT_FEE_BP) for code in MARKETS})


def holiday_policy(session: Session) -> FeeHoliday:
    row = session.get(FeeHolidayPolicy, HOLIDAY_ROW)
    if row is None:
        return FeeHoliday()
    return FeeHoliday(row.days, {str(k): int(v) for k, v in (row.gmv_limits or {}).items()})


@dataclass(frozen=True)
class FeeTerms:
    """What fee decisions need once per order: the schedule, the holiday, the shop's age."""

    fees: FeeSchedule
    holiday: FeeHoliday
    shop_opened_at: datetime | None


def fee_terms(session: Session, shop_id: int, market: str) -> FeeTerms:
    """Read once per paid order (a flash sale pays many): the market's fee row alone, and
    the shop's age only while a holiday is on."""
    fee_bp = session.scalar(select(MarketFee.fee_bp).where(MarketFee.market == market))
    holiday = holiday_policy(session)
    opened = session.scalar(select(Shop.created_at).where(Shop.id == shop_id)) \
        if holiday.days else None
    return FeeTerms(FeeSchedule({market: DEFAULT_FEE_BP if fee_bp is None else fee_bp}),
                    holiday, opened)


def fee_for_line(session: Session, terms: FeeTerms, *, shop_id: int, market: str,
                 line_total: int, now: datetime) -> int:
    """The fee a line is paid under. In the shop's first days of its holiday, the line is
    fee-free if the shop's holiday GMV in the currency is still under the limit; its total
    is then added to that GMV in the same conditional UPDATE, so two orders paid at once
    cannot both slip under a limit only one of them fits."""
    market_fee = terms.fees.fee_bp(market)
    currency = get_market(market).currency
    limit = terms.holiday.limit(currency)
    if terms.shop_opened_at is None or limit <= 0 \
            or not terms.holiday.in_days(terms.shop_opened_at, now):
        return market_fee
    session.execute(upsert_into(session, HolidayGmv.__table__)
                    .values(shop_id=shop_id, currency=currency, gmv=0)
                    .on_conflict_do_nothing(index_elements=["shop_id", "currency"]))
    free = rows_affected(session.execute(
        update(HolidayGmv).where(HolidayGmv.shop_id == shop_id, HolidayGmv.currency == currency,
                                 HolidayGmv.gmv < limit)
        .values(gmv=HolidayGmv.gmv + line_total)))
    return model.fee_in_force(market_fee, on_holiday=free == 1)


# --- creator bonus ---

def bonus_for_line(session: Session, *, line_id: int, creator_id: int, market: str, net: int,
                   rate_bp: int, now: datetime) -> int:
    """The bonus (basis points) a creator's line gets from the best campaign running for
    them in the market whose budget has room for the whole bonus; 0 if none has. The grant
    is recorded with what it took from the budget."""
    campaigns = session.execute(
        select(BonusCampaign.id, BonusCampaign.bonus_bp)
        .where(BonusCampaign.market == market,
               or_(BonusCampaign.creator_id == creator_id, BonusCampaign.creator_id.is_(None)),
               BonusCampaign.starts_at <= now, BonusCampaign.ends_at > now)
        .order_by(BonusCampaign.bonus_bp.desc(), BonusCampaign.id)).all()
    for campaign_id, campaign_bp in campaigns:
        bonus_bp = model.bonus_bp_for(campaign_bp, rate_bp)
        amount = model.bonus_amount(net, bonus_bp)
        if amount <= 0:
            return 0
        if _spend(session, BonusCampaign, campaign_id, amount):
            session.add(BonusGrant(order_line_id=line_id, campaign_id=campaign_id,
                                   amount=amount))
            return bonus_bp
    return 0


# --- vouchers ---

def voucher_terms(row: Voucher) -> VoucherTerms:
    return VoucherTerms(market=row.market, budget=row.budget, starts_at=row.starts_at,
                        ends_at=row.ends_at, code=row.code, percent_bp=row.percent_bp,
                        amount_off=row.amount_off, min_basket=row.min_basket,
                        per_buyer_limit=row.per_buyer_limit, active=row.active)


def reserve_voucher(session: Session, *, buyer_id: int, market: str, code: str | None,
                    basket: int, checkout_id: int, now: datetime) -> int:
    """Reserve a voucher's discount on a checkout's basket of goods: the code's (a 4xx
    naming ``voucher_code`` if it cannot be used), or without a code the best automatic
    discount that can (none: 0). The caller serialises one buyer's checkouts, which keeps
    the per-buyer limit; the budget holds by the conditional UPDATE."""
    if code is not None and code.strip():
        row = session.scalars(select(Voucher).where(
            Voucher.code == model.normalise_code(code))).one_or_none()
        if row is None:
            raise model.unknown_code()
        use = model.check_voucher_use(voucher_terms(row), market=market, basket=basket,
                                      used_by_buyer=_uses(session, row.id, buyer_id),
                                      spent=row.spent, now=now)
        if not _spend(session, Voucher, row.id, use.discount):
            raise model.budget_exhausted()
        return _redeem(session, row.id, buyer_id, checkout_id, use.discount)
    automatic = session.scalars(select(Voucher).where(
        Voucher.code.is_(None), Voucher.market == market, Voucher.active.is_(True),
        Voucher.starts_at <= now, Voucher.ends_at > now)).all()
    for row in sorted(automatic, key=lambda v: (-voucher_terms(v).discount_on(basket), v.id)):
        try:
            use = model.check_voucher_use(voucher_terms(row), market=market, basket=basket,
                                          used_by_buyer=_uses(session, row.id, buyer_id),
                                          spent=row.spent, now=now)
        except DomainError:
            continue
        if _spend(session, Voucher, row.id, use.discount):
            return _redeem(session, row.id, buyer_id, checkout_id, use.discount)
    return 0


def release_voucher(session: Session, checkout_id: int) -> None:
    """A checkout cancelled, declined or expired: its reserved discount goes back to the
    budget (once: the reserved -> released change is conditional)."""
    row = session.scalars(select(VoucherRedemption).where(
        VoucherRedemption.checkout_id == checkout_id)).one_or_none()
    if row is None:
        return
    released = rows_affected(session.execute(
        update(VoucherRedemption).where(VoucherRedemption.id == row.id,
                                        VoucherRedemption.status == RESERVED)
        .values(status=RELEASED)))
    if released:
        session.execute(update(Voucher).where(Voucher.id == row.voucher_id)
                        .values(spent=Voucher.spent - row.amount))


def redeem_voucher(session: Session, checkout_id: int) -> None:
    """A checkout paid: its reservation is spent for good. A refund later gives the
    platform's share back in the books but not to the budget (docs/creators.md)."""
    session.execute(update(VoucherRedemption).where(
        VoucherRedemption.checkout_id == checkout_id, VoucherRedemption.status == RESERVED)
        .values(status=REDEEMED))


def voucher_code_of(session: Session, checkout_id: int) -> str | None:
    """The code used on a checkout ("automatic" for a discount without one), or None."""
    found = session.execute(
        select(Voucher.code, Voucher.name).join(
            VoucherRedemption, VoucherRedemption.voucher_id == Voucher.id)
        .where(VoucherRedemption.checkout_id == checkout_id)).one_or_none()
    if found is None:
        return None
    return found.code or found.name


def _uses(session: Session, voucher_id: int, buyer_id: int) -> int:
    return session.scalar(select(func.count()).select_from(VoucherRedemption).where(
        VoucherRedemption.voucher_id == voucher_id, VoucherRedemption.buyer_id == buyer_id,
        VoucherRedemption.status != RELEASED)) or 0


def _redeem(session: Session, voucher_id: int, buyer_id: int, checkout_id: int,
            amount: int) -> int:
    session.add(VoucherRedemption(voucher_id=voucher_id, buyer_id=buyer_id,
                                  checkout_id=checkout_id, amount=amount, status=RESERVED))
    return amount


def _spend(session: Session, table: type[BonusCampaign] | type[Voucher], row_id: int,
           amount: int) -> bool:
    """Take ``amount`` from a budget if it fits whole: the one conditional UPDATE."""
    return rows_affected(session.execute(
        update(table).where(table.id == row_id, table.spent + amount <= table.budget)
        .values(spent=table.spent + amount))) == 1


# --- settings (the back office's use cases call these inside their own transaction) ---

def set_market_fee(session: Session, market: str, fee_bp: int) -> int:
    """Set a market's fee; returns the fee it had. Lines paid before keep theirs."""
    get_market(market, field="market")
    FeeSchedule({market: fee_bp})  # the fee's bounds, naming fees_bp.<market>
    before = fee_schedule(session).fee_bp(market)
    row = session.get(MarketFee, market)
    if row is None:
        session.add(MarketFee(market=market, fee_bp=fee_bp))
    else:
        row.fee_bp = fee_bp
    return before


def set_holiday(session: Session, holiday: FeeHoliday) -> FeeHoliday:
    before = holiday_policy(session)
    row = session.get(FeeHolidayPolicy, HOLIDAY_ROW)
    if row is None:
        row = FeeHolidayPolicy(id=HOLIDAY_ROW)
        session.add(row)
    row.days, row.gmv_limits = holiday.days, dict(holiday.gmv_limits)
    return before


def add_campaign(session: Session, name: str, campaign: Campaign) -> BonusCampaign:
    row = BonusCampaign(name=name, market=campaign.market, creator_id=campaign.creator_id,
                        bonus_bp=campaign.bonus_bp, budget=campaign.budget, spent=0,
                        starts_at=campaign.starts_at, ends_at=campaign.ends_at)
    session.add(row)
    session.flush()
    return row


def add_voucher(session: Session, name: str, terms: VoucherTerms) -> Voucher:
    if terms.code is not None and session.scalar(
            select(Voucher.id).where(Voucher.code == terms.code)) is not None:
        raise Conflict(f"The code {terms.code} is taken", field="code", code="code_taken")
    row = Voucher(name=name, code=terms.code, market=terms.market,
                  percent_bp=terms.percent_bp, amount_off=terms.amount_off,
                  min_basket=terms.min_basket, per_buyer_limit=terms.per_buyer_limit,
                  budget=terms.budget, spent=0, starts_at=terms.starts_at,
                  ends_at=terms.ends_at, active=terms.active)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Offer:
    """A voucher code buyers may use in a market now, as the checkout page hints it."""

    code: str
    text: str


def offers_in(db: Database, market: str) -> list[Offer]:
    with db.read() as session:
        return offers(session, market, utcnow())


def offers(session: Session, market: str, now: datetime) -> list[Offer]:
    """The codes running in a market whose budget is not used up (the demo's hint)."""
    rows = session.scalars(select(Voucher).where(
        Voucher.code.is_not(None), Voucher.market == market, Voucher.active.is_(True),
        Voucher.starts_at <= now, Voucher.ends_at > now, Voucher.spent < Voucher.budget)
        .order_by(Voucher.id)).all()
    return [Offer(row.code or "", describe_voucher(row)) for row in rows]


def describe_voucher(row: Voucher) -> str:
    rules = MARKETS[row.market]
    off = (f"{row.percent_bp / 100:g}% off" if row.percent_bp is not None
           else f"{rules.format(row.amount_off or 0)} off")
    minimum = f" a basket of {rules.format(row.min_basket)} or more" if row.min_basket \
        else " any basket"
    return f"{off}{minimum} in {rules.name}"
