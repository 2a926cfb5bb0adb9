"""Saved cards: tokenised by the payment provider, never stored as card numbers."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor
from liveshop.checkout.schemas import CardIn, PaymentMethodIn, PaymentMethodView
from liveshop.core.db import Database
from liveshop.core.errors import NotFound
from liveshop.payments.orm import PaymentMethod
from liveshop.payments.provider import CardDetails, PaymentProvider, TokenizedCard


def card_digest(card: CardIn, secret: str) -> str:
    """Stands in for the card in the idempotency fingerprint: keyed, so it cannot be
    brute-forced back into a card number from the database."""
    material = f"{card.number}|{card.exp_month}|{card.exp_year}|{card.cvc}"
    return hmac.new(secret.encode(), material.encode(), hashlib.sha256).hexdigest()


def tokenize(payments: PaymentProvider, card: CardIn) -> TokenizedCard:
    return payments.tokenize(CardDetails(number=card.number, exp_month=card.exp_month,
                                         exp_year=card.exp_year, cvc=card.cvc))


def store_card(session: Session, user_id: int, provider: str, card: TokenizedCard,
               make_default: bool) -> PaymentMethod:
    has_default = session.scalar(select(PaymentMethod.id).where(
        PaymentMethod.user_id == user_id, PaymentMethod.is_default.is_(True)).limit(1))
    if make_default and has_default:
        session.execute(update(PaymentMethod).where(PaymentMethod.user_id == user_id)
                        .values(is_default=False))
    method = PaymentMethod(
        user_id=user_id, provider=provider, token=card.token, brand=card.brand,
        last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year,
        is_default=make_default or not has_default,
    )
    session.add(method)
    session.flush()
    return method


def add_payment_method(db: Database, payments: PaymentProvider, actor: Actor,
                       data: PaymentMethodIn) -> PaymentMethodView:
    card = tokenize(payments, data.card)
    with db.transaction() as session:
        method = store_card(session, actor.user_id, payments.name, card, data.make_default)
        return PaymentMethodView.model_validate(method)


def list_payment_methods(db: Database, actor: Actor) -> list[PaymentMethodView]:
    with db.read() as session:
        rows = session.scalars(select(PaymentMethod).where(
            PaymentMethod.user_id == actor.user_id
        ).order_by(PaymentMethod.is_default.desc(), PaymentMethod.id.desc()))
        return [PaymentMethodView.model_validate(row) for row in rows]


def delete_payment_method(db: Database, actor: Actor, method_id: int) -> None:
    with db.transaction() as session:
        method = session.get(PaymentMethod, method_id)
        if method is None or method.user_id != actor.user_id:
            raise NotFound("No such saved card", field="payment_method_id")
        was_default = method.is_default
        session.execute(delete(PaymentMethod).where(PaymentMethod.id == method_id))
        if was_default:
            newest = session.scalars(select(PaymentMethod).where(
                PaymentMethod.user_id == actor.user_id
            ).order_by(PaymentMethod.id.desc())).first()
            if newest is not None:
                newest.is_default = True
