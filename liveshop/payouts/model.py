"""Payout rules: when a paid line's money becomes available to its payees, what a payout
statement pays, the journal entries of a payout, and a statement's CSV. Pure: no SQL.

docs/creators.md (Payouts) states the same rules with a worked example.

- A payee is a seller's shop or a creator; they are paid per currency, from their payable
  account in the books (``ledger.model``: a payable's balance is negative while owed).
- Money from an order (its lines, their refunds, its shipping) becomes *available* once the
  withdrawal period after delivery has passed: 14 days in UK and EU markets (the buyer's
  statutory right to withdraw), a configurable hold in markets without one (the US, 7 days
  by default). An order not delivered stays pending.
- A payout run sweeps every available posting of a payee's account not swept before into
  one statement and pays their sum. A refund after a payout claws back: its posting is
  available at once (its order was delivered long ago) and is netted in the next statement.
  When the sum is not positive (the clawback is larger than what came in since), nothing
  is paid and nothing is swept: the negative balance is carried into the next run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from liveshop.core.errors import InvalidInput
from liveshop.core.money import MINOR_DIGITS
from liveshop.ledger.model import (
    AccountKey,
    AccountKind,
    JournalEntry,
    Owner,
    OwnerKind,
    SourceKey,
    entry,
)
from liveshop.markets.model import MARKETS, get_market

# Markets without a statutory withdrawal period (the US) hold a delivered order's money
# this long before it is available: time for the buyer to claim that it did not arrive.
DEFAULT_HOLD_DAYS = 7
MAX_HOLD_DAYS = 90

# Journal entry sources (ledger SourceKey kinds), each referring to a statement's id.
PAYOUT_SENT = "payout_sent"  # payable -> payouts in transit, when the statement is made
PAYOUT_PAID = "payout_paid"  # payouts in transit -> cash, when the money has left

# The accounts a payout run pays from.
PAYEE_KINDS = (AccountKind.SELLER_PAYABLE, AccountKind.CREATOR_PAYABLE)


class StatementStatus(StrEnum):
    SENT = "sent"  # made: the payee is owed it, the money is on its way
    PAID = "paid"  # an admin (or a provider) confirmed the money left


class Funds(StrEnum):
    """Where a posting to a payee's account stands."""

    PENDING = "pending"  # its order is not delivered, or its withdrawal period runs
    AVAILABLE = "available"  # the next payout run pays it
    IN_PAYOUT = "in_payout"  # on a statement not yet marked paid
    PAID = "paid"  # on a statement marked paid


@dataclass(frozen=True)
class PayoutPolicy:
    """How long a delivered order's money is held, per market: the statutory withdrawal
    period where there is one, ``hold_days`` elsewhere."""

    hold_days: int = DEFAULT_HOLD_DAYS
    # Per-market overrides (days), for a market whose platform rules ask for longer.
    overrides: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for market, days in {"": self.hold_days, **self.overrides}.items():
            if market:
                get_market(market, field="overrides")
            if not isinstance(days, int) or isinstance(days, bool) \
                    or not 0 <= days <= MAX_HOLD_DAYS:
                raise InvalidInput(f"A payout hold is 0 to {MAX_HOLD_DAYS} days, not {days!r}",
                                   field="hold_days")

    def hold(self, market: str) -> timedelta:
        if market in self.overrides:
            return timedelta(days=self.overrides[market])
        withdrawal = get_market(market).withdrawal_days
        return timedelta(days=self.hold_days if withdrawal is None else withdrawal)

    def available_at(self, market: str, delivered_at: datetime | None) -> datetime | None:
        """When an order's money becomes available; None while it is not delivered."""
        return None if delivered_at is None else delivered_at + self.hold(market)

    def is_available(self, market: str, delivered_at: datetime | None, now: datetime
                     ) -> bool:
        at = self.available_at(market, delivered_at)
        return at is not None and at <= now

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        """Per market, the latest delivery whose money is available ``now`` (what a payout
        run's query compares ``delivered_at`` with)."""
        return {code: now - self.hold(code) for code in MARKETS}


def funds_of(swept: StatementStatus | None, available: bool) -> Funds:
    if swept is StatementStatus.PAID:
        return Funds.PAID
    if swept is StatementStatus.SENT:
        return Funds.IN_PAYOUT
    return Funds.AVAILABLE if available else Funds.PENDING


def payout_amount(postings_sum: int) -> int | None:
    """What a statement pays for swept postings summing to ``postings_sum`` (credits are
    negative: owed to the payee), or None when nothing is owed: then nothing is swept and
    the balance, negative after a clawback, is carried into the next run."""
    owed = -postings_sum
    return owed if owed > 0 else None


def payee_account(payee: Owner, currency: str) -> AccountKey:
    if payee.kind is OwnerKind.SHOP:
        return AccountKey(AccountKind.SELLER_PAYABLE, payee, currency)
    if payee.kind is OwnerKind.CREATOR:
        return AccountKey(AccountKind.CREATOR_PAYABLE, payee, currency)
    raise InvalidInput(f"{payee} is not paid out (shops and creators are)", field="payee")


def payout_sent_entry(statement_id: int, payable: AccountKey, amount: int) -> JournalEntry:
    """The payee's payable is settled into payouts in transit: the platform no longer owes
    the payee, it owes the payment it has started."""
    return entry(SourceKey(PAYOUT_SENT, str(statement_id)), [
        (payable, amount), (AccountKey.payouts_in_transit(payable.currency), -amount)],
        memo=f"payout statement {statement_id} to {payable.owner}")


def payout_paid_entry(statement_id: int, currency: str, amount: int) -> JournalEntry:
    """The money left the platform's account: in transit -> cash."""
    return entry(SourceKey(PAYOUT_PAID, str(statement_id)), [
        (AccountKey.payouts_in_transit(currency), amount), (AccountKey.cash(currency), -amount)],
        memo=f"payout statement {statement_id} paid")


# --- the statement as CSV ---

CSV_HEADER = ("statement_id", "payee", "currency", "source", "order_number", "order_line_id",
              "description", "delivered_at", "amount_minor", "amount")


@dataclass(frozen=True)
class StatementLine:
    """One posting a statement covers, as the payee sees it: positive is paid to them."""

    source: SourceKey
    order_number: str
    order_line_id: int | None
    description: str
    delivered_at: datetime | None
    amount: int


def major(amount: int, currency: str) -> str:
    """Minor units as a plain decimal in major units ("-12.05"), for spreadsheets."""
    return str(Decimal(amount).scaleb(-MINOR_DIGITS[currency]))


def csv_row(statement_id: int, payee: Owner, currency: str, line: StatementLine) -> list[str]:
    return [str(statement_id), str(payee), currency, str(line.source), _cell(line.order_number),
            "" if line.order_line_id is None else str(line.order_line_id),
            _cell(line.description),
            line.delivered_at.isoformat() if line.delivered_at else "",
            str(line.amount), major(line.amount, currency)]


def _cell(text: str) -> str:
    """Text a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is
    quoted with an apostrophe: a product title is the seller's input."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
