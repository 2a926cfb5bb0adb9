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

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from liveshop.core.db import Database
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


class ProviderBase(DeclarativeBase):
    """Tables of the test provider's own database (not liveshop's schema)."""


class TestProviderCharge(ProviderBase):
    __tablename__ = "test_provider_charges"
    __test__ = False  # not a pytest test class

    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    reference: Mapped[str] = mapped_column(String(100))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    decline_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))


class TestPaymentProvider:
    """Deterministic provider for development and tests.

    Given a database URL of its own (``LIVESHOP_TEST_PROVIDER_URL``; a separate database,
    as a real provider is a separate system) it keeps its charges there, so idempotency keys
    hold across app processes and restarts and tests can count real charges; otherwise in
    memory.
    """

    __test__ = False  # not a pytest test class
    name = "test"

    def __init__(self, ledger_url: str | None = None) -> None:
        self._db = Database(ledger_url) if ledger_url else None
        if self._db is not None:
            ProviderBase.metadata.create_all(self._db.engine)
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
            reference = "ch_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
            result = ChargeResult(True, reference)
            for code, message in DECLINES.values():
                if token.startswith(f"tok_test_{code}_"):
                    result = ChargeResult(False, reference, code, message)
            if not token.startswith("tok_test_"):
                result = ChargeResult(False, reference, "invalid_token",
                                      "The saved payment method is not valid.")
            if self._db is not None:
                result = self._record(idempotency_key, result, amount, currency)
            else:
                self.charge_calls += 1
            self._charges[idempotency_key] = result
            return result

    def _record(self, key: str, result: ChargeResult, amount: int, currency: str
                ) -> ChargeResult:
        """Store the charge once per key; a key seen before returns the stored outcome."""
        assert self._db is not None
        try:
            with self._db.transaction() as session:
                session.add(TestProviderCharge(
                    idempotency_key=key, reference=result.reference,
                    succeeded=result.succeeded, decline_code=result.decline_code,
                    amount=amount, currency=currency))
            self.charge_calls += 1
            return result
        except IntegrityError:
            with self._db.read() as session:
                stored = session.get(TestProviderCharge, key)
                assert stored is not None
                message = "" if stored.succeeded else next(
                    (m for c, m in DECLINES.values() if c == stored.decline_code), "Declined.")
                return ChargeResult(stored.succeeded, stored.reference, stored.decline_code,
                                    message)

    def refund(self, charge_reference: str, amount: int, idempotency_key: str
               ) -> RefundResult:
        with self._lock:
            if idempotency_key not in self._refunds:
                self._refunds[idempotency_key] = RefundResult(
                    "re_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
                )
            return self._refunds[idempotency_key]
