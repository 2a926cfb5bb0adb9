"""The books' rules (liveshop/ledger/model.py): only balanced entries exist."""

from __future__ import annotations

import pytest

from liveshop.ledger.model import (
    AccountKey,
    AccountKind,
    JournalEntry,
    LedgerError,
    Leg,
    Owner,
    SourceKey,
    UnbalancedEntry,
    entry,
)

SOURCE = SourceKey("test", "1")
CASH_GBP, CASH_EUR = AccountKey.cash("GBP"), AccountKey.cash("EUR")
SHOP_GBP, SHOP_EUR = AccountKey.seller_payable(1, "GBP"), AccountKey.seller_payable(1, "EUR")


def test_legs_summing_to_zero_make_an_entry_one_leg_per_account() -> None:
    made = entry(SOURCE, [(CASH_GBP, 500), (SHOP_GBP, -300), (SHOP_GBP, -200),
                          (AccountKey.creator_payable(2, "GBP"), 0)])
    assert {leg.account: leg.amount for leg in made.legs} == {CASH_GBP: 500, SHOP_GBP: -500}


@pytest.mark.parametrize("legs", [
    [(CASH_GBP, 500), (SHOP_GBP, -499)],
    # Zero in total, but not in each currency: pounds are not euros.
    [(CASH_GBP, 500), (SHOP_EUR, -500)],
    [(CASH_GBP, 500), (SHOP_GBP, -500), (CASH_EUR, 1)],
])
def test_an_entry_off_in_any_currency_is_refused(legs: list[tuple[AccountKey, int]]) -> None:
    with pytest.raises(UnbalancedEntry) as refused:
        entry(SOURCE, legs)
    assert refused.value.field == "legs"


def test_a_hand_made_entry_is_checked_too() -> None:
    with pytest.raises(UnbalancedEntry):
        JournalEntry(SOURCE, (Leg(CASH_GBP, 100),))
    with pytest.raises(LedgerError):
        JournalEntry(SOURCE, (Leg(CASH_GBP, 0),))
    with pytest.raises(LedgerError):
        JournalEntry(SOURCE, (Leg(CASH_GBP, 100), Leg(CASH_GBP, -100)))


@pytest.mark.parametrize("amount", [1.5, True, 10**16])
def test_amounts_are_whole_minor_units_of_a_real_size(amount: object) -> None:
    with pytest.raises(LedgerError) as refused:
        entry(SOURCE, [(CASH_GBP, amount), (SHOP_GBP, -1)])  # type: ignore[list-item]
    assert refused.value.field == "legs"


def test_an_account_belongs_to_the_right_kind_of_owner() -> None:
    with pytest.raises(LedgerError) as refused:
        AccountKey(AccountKind.SELLER_PAYABLE, Owner.creator(3), "GBP")
    assert refused.value.field == "owner"
    with pytest.raises(LedgerError) as refused:
        AccountKey.cash("JPY")
    assert refused.value.field == "currency"
    with pytest.raises(LedgerError) as refused:
        AccountKey.vat_payable("XX", "EUR")
    assert refused.value.field == "market"
    assert Owner.parse(str(Owner.shop(12))) == Owner.shop(12)


def test_a_source_fits_its_columns() -> None:
    with pytest.raises(LedgerError) as refused:
        SourceKey("order_line_paid", "")
    assert refused.value.field == "source.ref"
    with pytest.raises(LedgerError) as refused:
        SourceKey("x" * 41, "1")
    assert refused.value.field == "source.kind"
