"""Flash-sale purchases are paid for after the tap: the queue survives a dead process, a
re-run never charges twice, a leased purchase is left to its holder, and a declined card
gives the units back once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from liveshop.accounts.model import Actor
from liveshop.checkout import service as checkout
from liveshop.checkout.orm import Payment, PaymentMethod
from liveshop.checkout.payments import TestPaymentProvider
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import DomainError, NotFound
from liveshop.live import sales
from liveshop.live.broker import InProcessBroker
from liveshop.live.hub import RoomEvents
from liveshop.live.orm import FlashSale, SalePurchase
from liveshop.live.sales import SoldOutGate
from liveshop.live.schemas import BuyView
from liveshop.live.settlement import settle_next
from liveshop.markets.model import MARKETS
from tests.live.conftest import SALE_PRICE, Sale


@pytest.fixture
def sale(make_sale: Callable[[int, int], Sale]) -> Sale:
    """A flash sale of 3 units and three buyers with saved details; no app runs, so
    nothing settles unless the test says so."""
    return make_sale(3, 3)


def _buy(db: Database, settings: Settings, sale: Sale, buyer: Actor, key: str) -> BuyView:
    return sales.buy(db, TestPaymentProvider(), settings, RoomEvents(InProcessBroker()),
                     SoldOutGate(), buyer, sale.show_id, sale.variant_id, 1,
                     MARKETS["UK"], key)


def _tap(db: Database, settings: Settings, sale: Sale, buyer: Actor, key: str) -> int:
    bought = _buy(db, settings, sale, buyer, key)
    assert bought.status == "pending" and bought.purchase_id is not None
    return bought.purchase_id


def _change_card(db: Database, buyer: Actor, **values: object) -> None:
    with db.transaction() as session:
        session.execute(update(PaymentMethod).where(PaymentMethod.user_id == buyer.user_id)
                        .values(**values))


def _remaining(db: Database, sale: Sale) -> int | None:
    with db.read() as session:
        return session.scalar(select(FlashSale.remaining).where(FlashSale.id == sale.sale_id))


def _settle(db: Database, settings: Settings, payments: TestPaymentProvider,
            gate: SoldOutGate | None = None) -> bool:
    return settle_next(db, payments, settings, RoomEvents(InProcessBroker()),
                       gate or SoldOutGate())


def test_a_purchase_left_by_a_dead_process_is_paid_once_by_another(
    db: Database, settings: Settings, sale: Sale
) -> None:
    buyer = sale.buyers[0]
    purchase_id = _tap(db, settings, sale, buyer, "tap-1")
    payments = TestPaymentProvider()
    # The first process got as far as charging the card, then died before marking it paid.
    with db.read() as session:
        hold_id = session.scalar(select(FlashSale.hold_id).where(FlashSale.id == sale.sale_id))
    charged = checkout.buy_now(db, payments, settings, buyer, sale.variant_id, 1,
                               MARKETS["UK"], "tap-1", unit_price_override=SALE_PRICE,
                               show_id=sale.show_id, hold_id=hold_id)
    with db.transaction() as session:
        session.execute(update(SalePurchase).where(SalePurchase.id == purchase_id)
                        .values(lease_until=utcnow() + timedelta(seconds=30)))
    assert not _settle(db, settings, payments)  # still leased: left to its holder

    with db.transaction() as session:  # the lease runs out
        session.execute(update(SalePurchase).where(SalePurchase.id == purchase_id)
                        .values(lease_until=utcnow() - timedelta(seconds=1)))
    assert _settle(db, settings, payments)
    assert not _settle(db, settings, payments)  # nothing left

    view = sales.purchase_view(db, buyer, purchase_id)
    assert (view.status, view.checkout_id) == ("paid", charged.id)
    assert view.total == SALE_PRICE + 399 and view.order_numbers
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Payment)
                              .where(Payment.status == "succeeded")) == 1
    # A retried tap now answers with the paid purchase.
    assert _buy(db, settings, sale, buyer, "tap-1") == view


def test_a_declined_card_fails_the_purchase_and_gives_the_unit_back_once(
    db: Database, settings: Settings, sale: Sale
) -> None:
    buyer = sale.buyers[1]
    _change_card(db, buyer, token="tok_test_card_declined_x")
    purchase_id = _tap(db, settings, sale, buyer, "declined")
    gate = SoldOutGate()
    gate.close(sale.show_id, sale.variant_id, sale.sale_id, frozenset(), version=1)
    assert _settle(db, settings, TestPaymentProvider(), gate)

    failed = sales.purchase_view(db, buyer, purchase_id)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == "card_declined" and failed.checkout_id is None
    assert not gate.known_sold_out(sale.show_id, sale.variant_id, 999)  # a unit is back
    assert _remaining(db, sale) == 3
    # The same tap again replays the failure: no second give-back.
    with pytest.raises(DomainError) as replayed:
        _buy(db, settings, sale, buyer, "declined")
    assert replayed.value.status == 402 and replayed.value.code == "card_declined"
    assert _remaining(db, sale) == 3


def test_a_buyer_who_cannot_pay_in_one_tap_claims_nothing(
    db: Database, settings: Settings, sale: Sale
) -> None:
    buyer = sale.buyers[2]
    _change_card(db, buyer, is_default=False)
    with pytest.raises(DomainError) as refused:
        _tap(db, settings, sale, buyer, "no-card")
    assert refused.value.code == "payment_method_required"
    assert _remaining(db, sale) == 3
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(SalePurchase)) == 0


def test_only_the_buyer_sees_a_purchase(db: Database, settings: Settings, sale: Sale) -> None:
    purchase_id = _tap(db, settings, sale, sale.buyers[0], "mine")
    with pytest.raises(NotFound):
        sales.purchase_view(db, sale.buyers[1], purchase_id)
    assert sales.purchase_view(db, sale.buyers[0], purchase_id).status == "pending"
