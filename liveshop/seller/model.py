"""Rules of the seller home, pure Python: what counts as low stock, what "today" is, and
sales kept per currency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from liveshop.core.money import Money

# A variant with this many units left to sell, or fewer, is worth restocking now.
LOW_STOCK_AT = 3
# How many items each list of the home shows; the counts say how many there are in all.
LIST_LENGTH = 5


def start_of_day(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s day: "today" for the sales on the home. The server does not
    know the seller's time zone, so the page says "since 00:00 UTC"."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class CurrencySales:
    currency: str
    orders: int
    amount: int  # minor units, refunds deducted

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


def sales_by_currency(totals: dict[str, tuple[int, int]]) -> list[CurrencySales]:
    """One line per currency, in a stable order; currencies are never added together."""
    return [CurrencySales(currency, orders, amount)
            for currency, (orders, amount) in sorted(totals.items())]
