"""The payout rules, pure: when money is available, what a statement pays, its entries and
its CSV cells."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liveshop.core.errors import InvalidInput
from liveshop.ledger.model import AccountKey, Owner, SourceKey
from liveshop.payouts.model import (
    Funds,
    PayoutPolicy,
    StatementLine,
    StatementStatus,
    csv_row,
    funds_of,
    major,
    payee_account,
    payout_amount,
    payout_paid_entry,
    payout_sent_entry,
)

DELIVERED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("market", "days"), [("UK", 14), ("DE", 14), ("FR", 14), ("IT", 14),
                                              ("ES", 14), ("US", 7)])
def test_the_withdrawal_period_or_the_us_hold_runs_from_delivery(market: str, days: int
                                                                 ) -> None:
    policy = PayoutPolicy()
    assert policy.available_at(market, DELIVERED) == DELIVERED + timedelta(days=days)
    assert not policy.is_available(market, DELIVERED, DELIVERED + timedelta(days=days)
                                   - timedelta(seconds=1))
    assert policy.is_available(market, DELIVERED, DELIVERED + timedelta(days=days))


def test_an_order_not_delivered_stays_pending_and_the_hold_is_configurable() -> None:
    assert PayoutPolicy().available_at("UK", None) is None
    assert not PayoutPolicy().is_available("UK", None, DELIVERED + timedelta(days=365))
    assert PayoutPolicy(hold_days=3).hold("US") == timedelta(days=3)
    assert PayoutPolicy(hold_days=3).hold("UK") == timedelta(days=14)  # the law's, not ours
    assert PayoutPolicy(overrides={"UK": 30}).hold("UK") == timedelta(days=30)
    cutoffs = PayoutPolicy().cutoffs(DELIVERED)
    assert cutoffs["US"] == DELIVERED - timedelta(days=7)
    assert cutoffs["DE"] == DELIVERED - timedelta(days=14)
    for bad in (-1, 91, True):
        with pytest.raises(InvalidInput):
            PayoutPolicy(hold_days=bad)
    with pytest.raises(InvalidInput):
        PayoutPolicy(overrides={"XX": 3})


def test_funds_states() -> None:
    assert funds_of(None, False) is Funds.PENDING
    assert funds_of(None, True) is Funds.AVAILABLE
    assert funds_of(StatementStatus.SENT, True) is Funds.IN_PAYOUT
    assert funds_of(StatementStatus.PAID, True) is Funds.PAID


def test_a_statement_pays_what_is_owed_and_carries_a_negative_balance() -> None:
    assert payout_amount(-2032) == 2032  # credits: owed to the payee
    assert payout_amount(0) is None
    assert payout_amount(400) is None  # a clawback bigger than what came in: carried


def test_payout_entries_move_the_payable_through_transit_to_cash() -> None:
    payable = payee_account(Owner.shop(3), "GBP")
    assert payable == AccountKey.seller_payable(3, "GBP")
    assert payee_account(Owner.creator(9), "EUR") == AccountKey.creator_payable(9, "EUR")
    with pytest.raises(InvalidInput):
        payee_account(Owner.platform(), "GBP")
    sent = payout_sent_entry(5, payable, 2032)
    assert str(sent.source) == "payout_sent:5"
    assert sent.amount_of(payable) == 2032
    assert sent.amount_of(AccountKey.payouts_in_transit("GBP")) == -2032
    paid = payout_paid_entry(5, "GBP", 2032)
    assert paid.amount_of(AccountKey.payouts_in_transit("GBP")) == 2032
    assert paid.amount_of(AccountKey.cash("GBP")) == -2032


def test_csv_rows_are_spreadsheet_safe_and_in_major_units_too() -> None:
    assert major(-1205, "GBP") == "-12.05" and major(7, "EUR") == "0.07"
    row = csv_row(5, Owner.shop(3), "GBP", StatementLine(
        SourceKey("order_line_paid", "42"), "LS-1", 42, "=HYPERLINK(\"x\")", DELIVERED, 1700))
    assert row == ["5", "shop:3", "GBP", "order_line_paid:42", "LS-1", "42",
                   "'=HYPERLINK(\"x\")", DELIVERED.isoformat(), "1700", "17.00"]
