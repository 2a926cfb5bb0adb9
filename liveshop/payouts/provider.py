"""Paying a statement's money out. Today an admin pays by hand (a bank transfer) and marks
the statement paid: the ``manual`` provider. A money-movement provider (Stripe Connect,
Adyen for Platforms) comes later behind the same protocol, called when a statement is
marked paid (or by a worker for sent statements), with the statement id as its idempotency
key so a retry never pays twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PayoutOrder:
    """What a provider needs to move a statement's money."""

    statement_id: int
    payee: str  # "shop:12", "creator:7"
    currency: str
    amount: int  # minor units, > 0


class PayoutProvider(Protocol):
    name: str

    def pay(self, order: PayoutOrder, reference: str) -> str:
        """Pay once per statement; returns the provider's reference for the payment."""
        ...


class ManualPayouts:
    """The admin moved the money outside liveshop; ``reference`` is theirs (a bank
    transfer's reference), or the statement's own when they give none."""

    name = "manual"

    def pay(self, order: PayoutOrder, reference: str) -> str:
        return reference or f"manual-{order.statement_id}"
