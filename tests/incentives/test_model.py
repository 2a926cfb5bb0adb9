"""The incentive rules, pure: fee holiday, bonus, voucher checks, discount allocation, and
the ledger legs of a discounted line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liveshop.core.errors import Conflict, InvalidInput
from liveshop.creators.model import PaidLine, buyer_part, line_paid_entry, line_refund_entry
from liveshop.incentives.model import (
    Campaign,
    FeeHoliday,
    VoucherTerms,
    allocate,
    bonus_amount,
    bonus_bp_for,
    bonus_fits,
    check_voucher_use,
    fee_in_force,
    normalise_code,
)
from liveshop.ledger.model import AccountKey
from liveshop.orders.model import LineState, plan_refund

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
WEEK = timedelta(days=7)


def voucher(**changes: object) -> VoucherTerms:
    terms: dict[str, object] = {"market": "UK", "budget": 10_000, "starts_at": NOW - WEEK,
                                "ends_at": NOW + WEEK, "code": "LIVE5", "amount_off": 500,
                                "min_basket": 3000, "per_buyer_limit": 1}
    terms.update(changes)
    return VoucherTerms(**terms)  # type: ignore[arg-type]


def test_the_fee_holiday_ends_with_its_days_or_its_gmv_whichever_comes_first() -> None:
    holiday = FeeHoliday(30, {"GBP": 50_000})
    opened = NOW - timedelta(days=10)
    assert holiday.covers(opened, NOW, gmv_before=0, currency="GBP")
    assert holiday.covers(opened, NOW, gmv_before=49_999, currency="GBP")
    assert not holiday.covers(opened, NOW, gmv_before=50_000, currency="GBP")
    assert not holiday.covers(NOW - timedelta(days=30), NOW, gmv_before=0, currency="GBP")
    assert not holiday.covers(opened, NOW, gmv_before=0, currency="EUR")  # no EUR limit
    assert fee_in_force(500, on_holiday=True) == 0
    assert fee_in_force(500, on_holiday=False) == 500


@pytest.mark.parametrize(("days", "limits", "field"), [
    (-1, {}, "days"), (366, {}, "days"), (10, {"XXX": 5}, "gmv_limits.XXX"),
    (10, {"GBP": -1}, "gmv_limits.GBP")])
def test_a_fee_holiday_out_of_bounds_names_its_field(days: int, limits: dict[str, int],
                                                      field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        FeeHoliday(days, limits)
    assert error.value.field == field


def test_a_bonus_is_cut_to_the_80_percent_ceiling_and_granted_whole_or_not_at_all() -> None:
    assert bonus_bp_for(300, 1000) == 300
    assert bonus_bp_for(300, 7900) == 100
    assert bonus_bp_for(300, 8000) == 0
    assert bonus_amount(2000, 300) == 60
    assert bonus_fits(60, spent=940, budget=1000)
    assert not bonus_fits(60, spent=941, budget=1000)
    with pytest.raises(InvalidInput) as error:
        Campaign("UK", 0, 1000, NOW, NOW + WEEK)
    assert error.value.field == "bonus_bp"
    with pytest.raises(InvalidInput) as error:
        Campaign("UK", 300, 1000, NOW, NOW)
    assert error.value.field == "ends_at"


def test_a_voucher_takes_its_amount_or_percentage_never_90_percent_or_more() -> None:
    assert voucher().discount_on(4000) == 500
    assert voucher(amount_off=None, percent_bp=1000).discount_on(4000) == 400
    assert voucher(amount_off=5000, min_basket=0).discount_on(1000) == 900
    with pytest.raises(InvalidInput) as error:
        voucher(percent_bp=1000)  # both
    assert error.value.field == "percent_bp"


@pytest.mark.parametrize(("changes", "use", "code"), [
    ({"ends_at": NOW}, {}, "voucher_expired"),
    ({"starts_at": NOW + timedelta(seconds=1), "ends_at": NOW + WEEK}, {}, "voucher_expired"),
    ({"active": False}, {}, "voucher_expired"),
    ({}, {"market": "DE"}, "voucher_wrong_market"),
    ({}, {"basket": 2999}, "voucher_under_minimum"),
    ({}, {"used_by_buyer": 1}, "voucher_limit_reached"),
    ({}, {"spent": 9_501}, "voucher_budget_exhausted"),
])
def test_each_refused_use_names_the_voucher_code(changes: dict[str, object],
                                                 use: dict[str, object], code: str) -> None:
    asked: dict[str, object] = {"market": "UK", "basket": 3000, "used_by_buyer": 0,
                                "spent": 0, "now": NOW, **use}
    with pytest.raises((InvalidInput, Conflict)) as error:
        check_voucher_use(voucher(**changes), **asked)  # type: ignore[arg-type]
    assert (error.value.field, error.value.code) == ("voucher_code", code)


def test_a_use_that_fits_the_budget_exactly_is_allowed() -> None:
    assert check_voucher_use(voucher(), market="UK", basket=3000, used_by_buyer=0,
                             spent=9_500, now=NOW).discount == 500


def test_codes_are_read_as_typed_in_any_case() -> None:
    assert normalise_code("  live5 ") == "LIVE5"
    for bad in ("", "ab", "LIVE 5", "x" * 33, "ÄBC"):
        with pytest.raises(InvalidInput) as error:
            normalise_code(bad)
        assert error.value.field == "voucher_code"


def test_a_discount_is_shared_over_lines_in_proportion_and_adds_up() -> None:
    assert allocate(500, [2400, 1000]) == [353, 147]
    assert allocate(1, [1, 1, 1]) == [1, 0, 0]
    assert allocate(0, [5, 5]) == [0, 0]
    assert sum(allocate(999, [333, 333, 334])) == 999
    with pytest.raises(InvalidInput):
        allocate(11, [5, 5])


def test_a_discounted_line_pays_the_seller_in_full_and_the_platform_covers_the_discount(
        ) -> None:
    line = PaidLine.priced(7, 3, "UK", 2400, creator_id=9, rate_bp=1000, bonus_bp=300,
                           fee_bp=500, discount=353)
    posted = line_paid_entry(line)
    assert posted.amount_of(AccountKey.cash("GBP")) == 2400 - 353
    # The voucher (353) and the bonus (3% of 2000 net = 60) are the platform's expense.
    assert posted.amount_of(AccountKey.incentive_expense("UK", "GBP")) == 353 + 60
    assert posted.amount_of(AccountKey.seller_payable(3, "GBP")) == -(2000 - 200 - 100)
    assert posted.amount_of(AccountKey.creator_payable(9, "GBP")) == -(200 + 60)
    assert posted.amount_of(AccountKey.vat_payable("UK", "GBP")) == -400
    # Refunded in two parts, the buyer gets back exactly what they paid.
    first = line_refund_entry(line, 1, 0, 1200)
    second = line_refund_entry(line, 2, 1200, 1200)
    back = -(first.amount_of(AccountKey.cash("GBP")) + second.amount_of(AccountKey.cash("GBP")))
    assert back == 2400 - 353
    assert buyer_part(2400, 353, 0, 1200) == -first.amount_of(AccountKey.cash("GBP"))


def test_a_partial_refund_of_a_discounted_line_gives_the_buyer_their_part_only() -> None:
    lines = [LineState(1, "Tee", 2, 0, 1200, line_total=2400, discount=400)]
    plan = plan_refund(lines, {1: 1}, total=2000 + 399, refunded_amount=0)
    assert plan.amount == 1000
    undiscounted = [LineState(1, "Tee", 2, 0, 1200, line_total=2400)]
    assert plan_refund(undiscounted, {1: 1}, total=2799, refunded_amount=0).amount == 1200
