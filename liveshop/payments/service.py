"""Refunding part of a payment: the guard on the amount, the provider call, the record.

Runs inside the caller's transaction (orders: a refund or a cancelled paid order), after the
caller has done its own part (stock, order totals); a Conflict rolls all of it back."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from liveshop.core.db import rows_affected
from liveshop.core.errors import Conflict
from liveshop.payments.orm import Payment, Refund
from liveshop.payments.provider import PaymentProvider


def succeeded_payment(session: Session, checkout_id: int) -> Payment:
    """The checkout's successful payment (409 no_payment when there is none)."""
    payment = session.scalars(
        select(Payment).where(Payment.checkout_id == checkout_id,
                              Payment.status == "succeeded").order_by(Payment.id)
    ).first()
    if payment is None:
        raise Conflict("This order has no successful payment to refund", code="no_payment")
    return payment


def refund(session: Session, provider: PaymentProvider, payment: Payment, order_id: int,
           amount: int, idempotency_key: str) -> Refund:
    """Give ``amount`` of ``payment`` back for one of its orders (409 over_refund beyond what
    was paid). The provider refunds once per ``idempotency_key``."""
    # One payment can cover several shops' orders, refunded concurrently: guard the total.
    taken = rows_affected(session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.refunded_amount + amount <= Payment.amount)
        .values(refunded_amount=Payment.refunded_amount + amount)
    ))
    if taken != 1:
        raise Conflict("This refund would return more than the buyer paid", code="over_refund")
    result = provider.refund(payment.provider_ref, amount, idempotency_key=idempotency_key)
    record = Refund(payment_id=payment.id, order_id=order_id, amount=amount,
                    provider_ref=result.reference)
    session.add(record)
    session.flush()
    return record
