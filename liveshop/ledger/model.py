"""The books' rules: accounts, journal entries and why an entry may be posted. Pure: no SQL.

Every money movement is one journal entry of legs in integer minor units. A leg's amount is
signed: a debit is positive, a credit negative. An entry's legs sum to zero in each currency
it touches (double entry), so the books as a whole always sum to zero per currency (the
trial balance). An account's balance is the sum of its postings: a liability owed to a payee
(seller payable, creator payable) has a negative balance, the cash the platform holds a
positive one. Nothing is ever edited: a refund, a clawback or a payout is a new entry.

Each entry names its source (``SourceKey``), such as ``("order_line_paid", "42")``: the
database posts one entry per source, so a queue that runs a posting again posts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from liveshop.core.errors import InvalidInput
from liveshop.core.money import MINOR_DIGITS
from liveshop.markets.model import MARKETS

# Bounds of the stored columns (liveshop/ledger/orm.py).
MAX_SOURCE_KIND = 40
MAX_SOURCE_REF = 100
MAX_MEMO = 200
# A leg far beyond any real movement is a bug upstream (a price in major units, an
# overflow), not money: refuse it instead of posting it.
MAX_LEG_AMOUNT = 10**15


class OwnerKind(StrEnum):
    SHOP = "shop"  # a seller's shop, by shop id
    CREATOR = "creator"  # a creator, by user id
    MARKET = "market"  # a market code: its VAT authority, its revenue and incentive budget
    PLATFORM = "platform"  # liveshop itself: the cash it holds at the payment provider


class AccountKind(StrEnum):
    """What an account holds. The platform's view: it collects the buyer's payment, owes
    the seller, the creator and the tax authority their parts, and keeps its fee."""

    # Buyer payments received at the provider, less refunds and payouts sent (cash clearing).
    CASH = "cash"
    SELLER_PAYABLE = "seller_payable"
    CREATOR_PAYABLE = "creator_payable"
    PLATFORM_FEE_REVENUE = "platform_fee_revenue"
    # What the platform pays from its own budget: creator bonuses, funded vouchers.
    INCENTIVE_EXPENSE = "incentive_expense"
    VAT_PAYABLE = "vat_payable"
    # Payout statements created and not yet confirmed paid.
    PAYOUTS_IN_TRANSIT = "payouts_in_transit"


# Who owns each kind of account.
OWNER_OF_KIND: dict[AccountKind, OwnerKind] = {
    AccountKind.CASH: OwnerKind.PLATFORM,
    AccountKind.SELLER_PAYABLE: OwnerKind.SHOP,
    AccountKind.CREATOR_PAYABLE: OwnerKind.CREATOR,
    AccountKind.PLATFORM_FEE_REVENUE: OwnerKind.MARKET,
    AccountKind.INCENTIVE_EXPENSE: OwnerKind.MARKET,
    AccountKind.VAT_PAYABLE: OwnerKind.MARKET,
    AccountKind.PAYOUTS_IN_TRANSIT: OwnerKind.PLATFORM,
}
PLATFORM_REF = "liveshop"


class LedgerError(InvalidInput):
    """An account or entry that must never be posted: a bug in the caller, refused before
    it reaches the books."""

    code = "ledger_invalid"


class UnbalancedEntry(LedgerError):
    code = "unbalanced_entry"


@dataclass(frozen=True, slots=True, order=True)
class Owner:
    kind: OwnerKind
    ref: str

    @classmethod
    def shop(cls, shop_id: int) -> Owner:
        return cls(OwnerKind.SHOP, str(_positive_id(shop_id, "shop_id")))

    @classmethod
    def creator(cls, user_id: int) -> Owner:
        return cls(OwnerKind.CREATOR, str(_positive_id(user_id, "creator_id")))

    @classmethod
    def market(cls, code: str) -> Owner:
        if code not in MARKETS:
            raise LedgerError(f"Unknown market {code!r}", field="market")
        return cls(OwnerKind.MARKET, code)

    @classmethod
    def platform(cls) -> Owner:
        return cls(OwnerKind.PLATFORM, PLATFORM_REF)

    @classmethod
    def parse(cls, text: str) -> Owner:
        """The stored form, ``"shop:12"`` (see ``__str__``)."""
        kind, _, ref = text.partition(":")
        return cls(OwnerKind(kind), ref)

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.ref}"


@dataclass(frozen=True, slots=True, order=True)
class AccountKey:
    """An account: its kind, whose it is, and its currency (one account per currency)."""

    kind: AccountKind
    owner: Owner
    currency: str

    def __post_init__(self) -> None:
        expected = OWNER_OF_KIND[self.kind]
        if self.owner.kind is not expected:
            raise LedgerError(f"A {self.kind.value} account belongs to a {expected.value}, "
                              f"not to {self.owner}", field="owner")
        if self.currency not in MINOR_DIGITS:
            raise LedgerError(f"Unsupported currency {self.currency!r}", field="currency")

    @classmethod
    def cash(cls, currency: str) -> AccountKey:
        return cls(AccountKind.CASH, Owner.platform(), currency)

    @classmethod
    def seller_payable(cls, shop_id: int, currency: str) -> AccountKey:
        return cls(AccountKind.SELLER_PAYABLE, Owner.shop(shop_id), currency)

    @classmethod
    def creator_payable(cls, creator_id: int, currency: str) -> AccountKey:
        return cls(AccountKind.CREATOR_PAYABLE, Owner.creator(creator_id), currency)

    @classmethod
    def platform_fee_revenue(cls, market: str, currency: str) -> AccountKey:
        return cls(AccountKind.PLATFORM_FEE_REVENUE, Owner.market(market), currency)

    @classmethod
    def incentive_expense(cls, market: str, currency: str) -> AccountKey:
        return cls(AccountKind.INCENTIVE_EXPENSE, Owner.market(market), currency)

    @classmethod
    def vat_payable(cls, market: str, currency: str) -> AccountKey:
        return cls(AccountKind.VAT_PAYABLE, Owner.market(market), currency)

    @classmethod
    def payouts_in_transit(cls, currency: str) -> AccountKey:
        return cls(AccountKind.PAYOUTS_IN_TRANSIT, Owner.platform(), currency)


@dataclass(frozen=True, slots=True)
class SourceKey:
    """What caused an entry, unique in the books: ``("order_line_paid", "42")``."""

    kind: str
    ref: str

    def __post_init__(self) -> None:
        if not self.kind or len(self.kind) > MAX_SOURCE_KIND:
            raise LedgerError(f"A source kind has 1 to {MAX_SOURCE_KIND} characters",
                              field="source.kind")
        if not self.ref or len(self.ref) > MAX_SOURCE_REF:
            raise LedgerError(f"A source reference has 1 to {MAX_SOURCE_REF} characters",
                              field="source.ref")

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"


@dataclass(frozen=True, slots=True)
class Leg:
    account: AccountKey
    amount: int  # minor units of the account's currency; debit > 0, credit < 0


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """Legs that sum to zero per currency, one per account, none zero (see ``entry``)."""

    source: SourceKey
    legs: tuple[Leg, ...]
    memo: str = ""

    def __post_init__(self) -> None:
        check_balanced(self.legs)
        accounts = [leg.account for leg in self.legs]
        if len(set(accounts)) != len(accounts):
            raise LedgerError("An entry has one leg per account", field="legs")
        if len(self.memo) > MAX_MEMO:
            raise LedgerError(f"A memo has at most {MAX_MEMO} characters", field="memo")

    def amount_of(self, account: AccountKey) -> int:
        return sum(leg.amount for leg in self.legs if leg.account == account)

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(leg.account.currency for leg in self.legs)


def entry(source: SourceKey, legs: Iterable[tuple[AccountKey, int]], memo: str = ""
          ) -> JournalEntry:
    """An entry from (account, amount) pairs: amounts on one account are added up and legs
    that come to zero are left out (a line without a creator has no creator leg), in a
    stable order. Raises ``UnbalancedEntry`` unless they sum to zero per currency."""
    merged: dict[AccountKey, int] = {}
    for account, amount in legs:
        _check_amount(amount)
        merged[account] = merged.get(account, 0) + amount
    kept = tuple(Leg(account, amount) for account, amount in sorted(merged.items())
                 if amount != 0)
    return JournalEntry(source, kept, memo)


def check_balanced(legs: Iterable[Leg]) -> None:
    """Every leg a non-zero whole number of minor units, and the legs summing to zero in
    each currency: otherwise ``UnbalancedEntry`` saying which currency is off and by how
    much."""
    totals: dict[str, int] = {}
    for leg in legs:
        _check_amount(leg.amount)
        if leg.amount == 0:
            raise LedgerError("A leg moves a non-zero amount", field="legs")
        totals[leg.account.currency] = totals.get(leg.account.currency, 0) + leg.amount
    off = {currency: total for currency, total in sorted(totals.items()) if total != 0}
    if off:
        detail = ", ".join(f"{currency} {total:+d}" for currency, total in off.items())
        raise UnbalancedEntry(f"The legs of an entry must sum to zero per currency ({detail})",
                              field="legs")


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    """One currency's line of the trial balance."""

    currency: str
    debits: int  # the sum of positive postings
    credits: int  # the sum of negative postings, as a positive number

    @property
    def balanced(self) -> bool:
        return self.debits == self.credits


def _check_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise LedgerError("Amounts are whole minor units", field="legs")
    if abs(amount) > MAX_LEG_AMOUNT:
        raise LedgerError(f"A leg of {amount} minor units is beyond any real movement",
                          field="legs")


def _positive_id(value: int, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise LedgerError(f"{field} must be a positive id", field=field)
    return value
