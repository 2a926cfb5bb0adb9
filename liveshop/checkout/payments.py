"""Payments behind one interface. The built-in test provider follows Stripe's test cards.

Cards never touch the database: a provider turns card details into a token and we keep
only the token, brand and last four digits.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Protocol

from liveshop.core.errors import InvalidInput


@dataclass(frozen=True)
class CardDetails:
    number: str
    exp_month: int
    exp_year: int
    cvc: str


@dataclass(frozen=True)
class TokenizedCard:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    reference: str
    decline_code: str | None = None
    message: str = ""


@dataclass(frozen=True)
class RefundResult:
    reference: str


class PaymentProvider(Protocol):
    name: str

    def tokenize(self, card: CardDetails) -> TokenizedCard: ...

    def charge(self, token: str, amount: int, currency: str, idempotency_key: str
               ) -> ChargeResult:
        """Charge once per idempotency_key: a repeated key returns the first result."""

    def refund(self, charge_reference: str, amount: int, idempotency_key: str
               ) -> RefundResult: ...


# Stripe's test card numbers and what they do.
DECLINES = {
    "4000000000000002": ("card_declined", "Your card was declined."),
    "4000000000009995": ("insufficient_funds", "Your card has insufficient funds."),
}
SUCCEEDS = {"4242424242424242", "5555555555554444"}


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number]
    checksum = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        checksum += digit
    return checksum % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"}:
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    return "card"


class TestPaymentProvider:
    """Deterministic provider for development and tests. Keeps charges in memory."""

    __test__ = False  # not a pytest test class
    name = "test"

    def __init__(self) -> None:
        self._charges: dict[str, ChargeResult] = {}
        self._refunds: dict[str, RefundResult] = {}
        self._lock = threading.Lock()
        self.charge_calls = 0

    def tokenize(self, card: CardDetails) -> TokenizedCard:
        number = "".join(ch for ch in card.number if ch.isdigit())
        if not 12 <= len(number) <= 19 or not luhn_valid(number):
            raise InvalidInput("That card number is not valid", field="card.number")
        if not 1 <= card.exp_month <= 12:
            raise InvalidInput("Expiry month must be 1-12", field="card.exp_month")
        if card.exp_year < 2000 or card.exp_year > 2100:
            raise InvalidInput("Expiry year is not valid", field="card.exp_year")
        if not card.cvc.isdigit() or len(card.cvc) not in (3, 4):
            raise InvalidInput("CVC must be 3 or 4 digits", field="card.cvc")
        outcome = DECLINES[number][0] if number in DECLINES else "ok"
        # The token encodes the test outcome, as a real provider's vault would remember it.
        token = f"tok_test_{outcome}_{secrets.token_hex(8)}"
        return TokenizedCard(token=token, brand=brand_of(number), last4=number[-4:],
                             exp_month=card.exp_month, exp_year=card.exp_year)

    def charge(self, token: str, amount: int, currency: str, idempotency_key: str
               ) -> ChargeResult:
        with self._lock:
            if idempotency_key in self._charges:
                return self._charges[idempotency_key]
            self.charge_calls += 1
            reference = "ch_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
            result = ChargeResult(True, reference)
            for code, message in DECLINES.values():
                if token.startswith(f"tok_test_{code}_"):
                    result = ChargeResult(False, reference, code, message)
            if not token.startswith("tok_test_"):
                result = ChargeResult(False, reference, "invalid_token",
                                      "The saved payment method is not valid.")
            self._charges[idempotency_key] = result
            return result

    def refund(self, charge_reference: str, amount: int, idempotency_key: str
               ) -> RefundResult:
        with self._lock:
            if idempotency_key not in self._refunds:
                self._refunds[idempotency_key] = RefundResult(
                    "re_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
                )
            return self._refunds[idempotency_key]
