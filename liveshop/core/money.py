"""Money as integer minor units plus an ISO 4217 currency. Never floats."""

from __future__ import annotations

from dataclasses import dataclass

# Every currency we sell in has two decimals; a new one is added here deliberately.
MINOR_DIGITS = {"GBP": 2, "EUR": 2, "USD": 2}
SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
# The largest price or shipping charge accepted (a million in major units): far above any
# real price, and inside PostgreSQL's 32-bit INTEGER columns that store amounts.
MAX_MINOR_UNITS = 100_000_000


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if self.currency not in MINOR_DIGITS:
            raise ValueError(f"unsupported currency {self.currency!r}")
        if not isinstance(self.amount, int):
            raise TypeError("Money.amount must be an int of minor units")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def format(self, locale: str = "en-GB") -> str:
        digits = MINOR_DIGITS[self.currency]
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**digits)
        symbol = SYMBOLS[self.currency]
        if locale.startswith(("de", "fr", "it", "es")):
            grouped = f"{whole:,}".replace(",", ".")
            return f"{sign}{grouped},{frac:0{digits}d} {symbol}"
        return f"{sign}{symbol}{whole:,}.{frac:0{digits}d}"


def divide_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounding half away from zero (commercial rounding)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return sign * quotient
