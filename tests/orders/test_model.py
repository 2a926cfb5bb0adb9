from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from liveshop.core.errors import Conflict, InvalidInput
from liveshop.markets.model import MARKETS
from liveshop.orders.model import (
    LineState,
    OrderStatus,
    can_transition,
    ensure_return_allowed,
    ensure_transition,
    plan_refund,
)

S = OrderStatus
ALLOWED = {
    (S.PENDING_PAYMENT, S.PAID), (S.PENDING_PAYMENT, S.CANCELLED),
    (S.PAID, S.SHIPPED), (S.PAID, S.CANCELLED), (S.PAID, S.REFUNDED),
    (S.SHIPPED, S.DELIVERED), (S.SHIPPED, S.REFUNDED),
    (S.DELIVERED, S.REFUNDED),
}


@pytest.mark.parametrize(("current", "target"), list(product(S, S)))
def test_every_status_pair(current: OrderStatus, target: OrderStatus) -> None:
    assert can_transition(current, target) == ((current, target) in ALLOWED)
    if (current, target) in ALLOWED:
        ensure_transition(current, target)
    else:
        with pytest.raises(Conflict) as error:
            ensure_transition(current, target)
        assert error.value.code == "illegal_transition"
        assert error.value.status == 409
        assert current.value in error.value.message and target.value in error.value.message


def test_final_states_have_no_way_out() -> None:
    for final in (S.CANCELLED, S.REFUNDED):
        assert not any(can_transition(final, target) for target in S)


DELIVERED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("market", ["UK", "DE", "FR"])
def test_return_window_is_14_days_in_uk_and_eu(market: str) -> None:
    ensure_return_allowed("delivered", MARKETS[market], DELIVERED, DELIVERED + timedelta(days=14))
    with pytest.raises(Conflict) as error:
        ensure_return_allowed("delivered", MARKETS[market], DELIVERED,
                              DELIVERED + timedelta(days=15))
    assert error.value.code == "return_window_closed"


def test_us_has_no_return_window() -> None:
    with pytest.raises(Conflict) as error:
        ensure_return_allowed("delivered", MARKETS["US"], DELIVERED, DELIVERED)
    assert error.value.code == "no_return_window"
    assert "United States" in error.value.message


@pytest.mark.parametrize("status", ["paid", "shipped", "cancelled", "refunded"])
def test_only_delivered_orders_can_be_returned(status: str) -> None:
    with pytest.raises(Conflict) as error:
        ensure_return_allowed(status, MARKETS["UK"], DELIVERED, DELIVERED)
    assert error.value.code == "return_not_allowed"


LINES = [LineState(1, "Tee M", 2, 0, 2000), LineState(2, "Tee L", 1, 0, 1500)]
TOTAL = 2 * 2000 + 1500 + 399


def test_partial_refund_is_unit_price_times_quantity_without_shipping() -> None:
    plan = plan_refund(LINES, {1: 1}, total=TOTAL, refunded_amount=0)
    assert plan.amount == 2000 and plan.quantities == {1: 1} and not plan.completes


def test_full_refund_returns_everything_left_including_shipping() -> None:
    plan = plan_refund(LINES, None, total=TOTAL, refunded_amount=0)
    assert plan.amount == TOTAL and plan.quantities == {1: 2, 2: 1} and plan.completes
    after_partial = [LineState(1, "Tee M", 2, 1, 2000), LINES[1]]
    rest = plan_refund(after_partial, None, total=TOTAL, refunded_amount=2000)
    assert rest.amount == TOTAL - 2000 and rest.quantities == {1: 1, 2: 1}


def test_refunding_every_remaining_unit_line_by_line_is_a_full_refund() -> None:
    plan = plan_refund(LINES, {1: 2, 2: 1}, total=TOTAL, refunded_amount=0)
    assert plan.completes and plan.amount == TOTAL


def test_never_more_than_paid() -> None:
    plan = plan_refund(LINES, {1: 1}, total=TOTAL, refunded_amount=TOTAL - 500)
    assert plan.amount == 500


def test_over_refund_names_the_line() -> None:
    with pytest.raises(Conflict) as error:
        plan_refund(LINES, {2: 2}, total=TOTAL, refunded_amount=0)
    assert error.value.field == "lines.0.quantity"
    assert "Tee L" in error.value.message and "line 2" in error.value.message


def test_unknown_line_is_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        plan_refund(LINES, {1: 1, 99: 1}, total=TOTAL, refunded_amount=0)
    assert error.value.field == "lines.1.line_id"


def test_nothing_left_to_refund() -> None:
    done = [LineState(1, "Tee M", 2, 2, 2000)]
    with pytest.raises(Conflict):
        plan_refund(done, None, total=4399, refunded_amount=4399)
