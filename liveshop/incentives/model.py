"""The platform's incentives: the fee holiday of new sellers, creator bonus campaigns and
platform-funded vouchers. Pure rules: no HTTP, no SQL, integer minor units.

Every incentive spends from a budget that is never exceeded. The rules here say how much a
use would spend and whether it may; the service (liveshop/incentives/service.py) makes the
spend with one conditional UPDATE of the budget's row, so concurrent orders cannot overspend
it. docs/creators.md ("Incentives") states the same rules with worked examples.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from liveshop.core.errors import Conflict, InvalidInput
from liveshop.core.money import MINOR_DIGITS
from liveshop.creators.model import BASIS_POINTS, MAX_RATE_BP, commission_on
from liveshop.markets.model import get_market

# A fee holiday lasts at most a year; a voucher takes at most 90% off (the buyer always pays
# something, which keeps card checks and refunds meaningful).
MAX_HOLIDAY_DAYS = 365
MAX_VOUCHER_BP = 9_000
# Bounds that keep a typo (a budget in major units times 100 again) out of the books.
MAX_BUDGET = 100_000_000_00
MAX_PER_BUYER = 100
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")
VOUCHER_FIELD = "voucher_code"


# --- fee holiday ---

@dataclass(frozen=True)
class FeeHoliday:
    """New sellers pay no platform fee for their shop's first ``days`` days or first
    ``gmv_limits[currency]`` of sales in that currency, whichever ends first. A currency
    without a limit has no holiday; ``days`` 0 turns the holiday off."""

    days: int = 0
    gmv_limits: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _is_int(self.days) or not 0 <= self.days <= MAX_HOLIDAY_DAYS:
            raise InvalidInput(f"A fee holiday lasts 0 to {MAX_HOLIDAY_DAYS} days",
                               field="days", code="holiday_out_of_range")
        for currency, limit in self.gmv_limits.items():
            if currency not in MINOR_DIGITS:
                raise InvalidInput(f"Unsupported currency {currency!r}",
                                   field=f"gmv_limits.{currency}")
            if not _is_int(limit) or not 0 <= limit <= MAX_BUDGET:
                raise InvalidInput("A GMV limit is a non-negative amount in minor units",
                                   field=f"gmv_limits.{currency}", code="holiday_out_of_range")

    def limit(self, currency: str) -> int:
        return self.gmv_limits.get(currency, 0)

    def in_days(self, shop_opened_at: datetime, now: datetime) -> bool:
        """Whether ``now`` falls in the shop's first ``days`` days."""
        return now < shop_opened_at + timedelta(days=self.days)

    def covers(self, shop_opened_at: datetime, now: datetime, gmv_before: int,
               currency: str) -> bool:
        """Whether a line paid ``now`` is fee-free: in the shop's first days, and the shop
        had sold less than the currency's limit before it. The line that crosses the limit
        is still free; the holiday ends after it (the service counts GMV atomically)."""
        return self.in_days(shop_opened_at, now) and gmv_before < self.limit(currency)


def fee_in_force(market_fee_bp: int, on_holiday: bool) -> int:
    """The fee a line is paid under: the market's, or 0 on a fee holiday."""
    return 0 if on_holiday else market_fee_bp


# --- creator bonus campaigns ---

@dataclass(frozen=True)
class Campaign:
    """The platform adds ``bonus_bp`` on top of the seller's commission rate for lines
    paid in [starts_at, ends_at) in ``market`` (for one creator, or any if None), paying it
    from ``budget`` (minor units of the market's currency)."""

    market: str
    bonus_bp: int
    budget: int
    starts_at: datetime
    ends_at: datetime
    creator_id: int | None = None

    def __post_init__(self) -> None:
        get_market(self.market)
        if not _is_int(self.bonus_bp) or not 1 <= self.bonus_bp <= MAX_RATE_BP - 100:
            raise InvalidInput(f"A campaign's bonus is 1 to {MAX_RATE_BP - 100} basis points",
                               field="bonus_bp", code="bonus_out_of_range")
        _check_budget(self.budget)
        if self.ends_at <= self.starts_at:
            raise InvalidInput("A campaign ends after it starts", field="ends_at")

    def runs_at(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


def bonus_bp_for(campaign_bonus_bp: int, rate_bp: int) -> int:
    """The bonus a line may get on a rate: the campaign's, cut so that rate and bonus stay
    within the 80% a rate may be (``creators.model.check_bonus``)."""
    return max(0, min(campaign_bonus_bp, MAX_RATE_BP - rate_bp))


def bonus_amount(net: int, bonus_bp: int) -> int:
    """What a bonus costs the budget on a line's net: as the line's entry computes it."""
    return commission_on(net, bonus_bp)


def bonus_fits(amount: int, spent: int, budget: int) -> bool:
    """All or nothing: a line's bonus is granted whole if the budget has room for it, or
    not at all (never a part: the line keeps a bonus rate, not an amount)."""
    return spent + amount <= budget


# --- vouchers ---

@dataclass(frozen=True)
class VoucherTerms:
    """A platform-funded discount on a basket's goods (never shipping) in one market:
    ``percent_bp`` of it or ``amount_off`` minor units (one of the two), from a basket of
    ``min_basket``, at most ``per_buyer_limit`` uses per buyer, paid from ``budget``.
    With ``code`` None it applies by itself to every eligible cart checkout."""

    market: str
    budget: int
    starts_at: datetime
    ends_at: datetime
    code: str | None = None
    percent_bp: int | None = None
    amount_off: int | None = None
    min_basket: int = 0
    per_buyer_limit: int = 1
    active: bool = True

    def __post_init__(self) -> None:
        get_market(self.market)
        if self.code is not None:
            normalise_code(self.code, field="code")
        if (self.percent_bp is None) == (self.amount_off is None):
            raise InvalidInput("A voucher takes off either a percentage or an amount",
                               field="percent_bp")
        if self.percent_bp is not None and (
                not _is_int(self.percent_bp) or not 1 <= self.percent_bp <= MAX_VOUCHER_BP):
            raise InvalidInput(f"A voucher takes off 1 to {MAX_VOUCHER_BP} basis points",
                               field="percent_bp", code="voucher_out_of_range")
        if self.amount_off is not None and (
                not _is_int(self.amount_off) or not 1 <= self.amount_off <= MAX_BUDGET):
            raise InvalidInput("A voucher's amount off is a positive amount in minor units",
                               field="amount_off", code="voucher_out_of_range")
        if not _is_int(self.min_basket) or not 0 <= self.min_basket <= MAX_BUDGET:
            raise InvalidInput("A minimum basket is a non-negative amount", field="min_basket")
        if not _is_int(self.per_buyer_limit) or not 1 <= self.per_buyer_limit <= MAX_PER_BUYER:
            raise InvalidInput(f"A buyer may use a voucher 1 to {MAX_PER_BUYER} times",
                               field="per_buyer_limit")
        _check_budget(self.budget)
        if self.ends_at <= self.starts_at:
            raise InvalidInput("A voucher ends after it starts", field="ends_at")

    @property
    def currency(self) -> str:
        return get_market(self.market).currency

    def discount_on(self, basket: int) -> int:
        """What the voucher takes off a basket of goods: never more than the basket's
        ``MAX_VOUCHER_BP`` part, so the buyer always pays something for the goods."""
        cap = basket * MAX_VOUCHER_BP // BASIS_POINTS
        wanted = (commission_on(basket, self.percent_bp) if self.percent_bp is not None
                  else self.amount_off or 0)
        return max(0, min(wanted, cap))


@dataclass(frozen=True)
class VoucherUse:
    """What a buyer's use of a voucher in a checkout would be: checked, not yet spent."""

    discount: int


def check_voucher_use(terms: VoucherTerms, *, market: str, basket: int, used_by_buyer: int,
                      spent: int, now: datetime) -> VoucherUse:
    """Whether a buyer may use the voucher on a basket of goods in ``market`` now, and what
    it takes off. Every refusal names ``voucher_code``; the budget is checked here for a
    clear message and again by the service's conditional UPDATE, which is what holds under
    concurrent checkouts."""
    if not terms.active or not terms.starts_at <= now < terms.ends_at:
        raise InvalidInput("This voucher code is not valid now (expired or not started)",
                           field=VOUCHER_FIELD, code="voucher_expired")
    if terms.market != market:
        raise InvalidInput(f"This voucher is for the {get_market(terms.market).name} market",
                           field=VOUCHER_FIELD, code="voucher_wrong_market")
    if basket < terms.min_basket:
        minimum = get_market(terms.market).format(terms.min_basket)
        raise InvalidInput(f"This voucher needs a basket of at least {minimum}",
                           field=VOUCHER_FIELD, code="voucher_under_minimum")
    if used_by_buyer >= terms.per_buyer_limit:
        raise Conflict("You have used this voucher as often as it allows",
                       field=VOUCHER_FIELD, code="voucher_limit_reached")
    discount = terms.discount_on(basket)
    if discount <= 0 or spent + discount > terms.budget:
        raise budget_exhausted()
    return VoucherUse(discount)


def budget_exhausted() -> Conflict:
    return Conflict("This voucher's budget is used up", field=VOUCHER_FIELD,
                    code="voucher_budget_exhausted")


def unknown_code() -> InvalidInput:
    return InvalidInput("No such voucher code", field=VOUCHER_FIELD, code="voucher_unknown")


def normalise_code(code: str, field: str = VOUCHER_FIELD) -> str:
    """A code as stored: upper case, no surrounding spaces; 3 to 32 letters, digits or
    dashes (what a buyer can read off a banner and type)."""
    cleaned = code.strip().upper()
    if not CODE_PATTERN.match(cleaned):
        raise InvalidInput("A voucher code has 3 to 32 letters, digits or dashes",
                           field=field, code="voucher_unknown" if field == VOUCHER_FIELD
                           else None)
    return cleaned


def allocate(discount: int, line_totals: Sequence[int]) -> list[int]:
    """A discount shared over lines in proportion to their totals, to the minor unit
    (largest remainder, ties to the earlier line): the parts add up to the discount and
    none exceeds its line."""
    total = sum(line_totals)
    if not 0 <= discount <= total:
        raise InvalidInput("A discount is between 0 and the basket", field="discount")
    if total == 0:
        return [0 for _ in line_totals]
    floors = [discount * amount // total for amount in line_totals]
    remainders = sorted(range(len(line_totals)),
                        key=lambda i: (-(discount * line_totals[i] % total), i))
    for index in remainders[:discount - sum(floors)]:
        floors[index] += 1
    return floors


def _check_budget(budget: int) -> None:
    if not _is_int(budget) or not 1 <= budget <= MAX_BUDGET:
        raise InvalidInput("A budget is a positive amount in minor units", field="budget",
                           code="budget_out_of_range")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
