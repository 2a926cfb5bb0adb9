"""Flash-sale purchases are paid for after the tap: the queue survives a dead process, a
re-run never charges twice, a leased purchase is left to its holder, and a declined card
gives the units back once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from liveshop.accounts.model import Actor
from liveshop.checkout import one_tap
from liveshop.checkout import service as checkout
from liveshop.checkout.schemas import CheckoutIn
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import DomainError, NotFound
from liveshop.live import purchase_settlement
from liveshop.live.orm import FlashSale, SalePurchase
from liveshop.live.schemas import BuyView
from liveshop.live.sold_out import SoldOutGate
from liveshop.markets.model import MARKETS
from liveshop.payments.orm import Payment, PaymentMethod
from liveshop.payments.provider import TestPaymentProvider
from tests.live.conftest import SALE_PRICE, Sale, purchases_of, tap


@pytest.fixture
def sale(make_sale: Callable[[int, int], Sale]) -> Sale:
    """A flash sale of 3 units and three buyers with saved details; no app runs, so
    nothing settles unless the test says so."""
    return make_sale(3, 3)


def _buy(db: Database, settings: Settings, sale: Sale, buyer: Actor, key: str) -> BuyView:
    return tap(purchases_of(db, settings), buyer, sale.show_id, sale.variant_id, key)


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
    return purchases_of(db, settings, payments=payments, gate=gate).settle_next()


def _view(db: Database, settings: Settings, buyer: Actor, purchase_id: int) -> BuyView:
    return purchases_of(db, settings).purchase(buyer, purchase_id)


def test_a_purchase_left_by_a_dead_process_is_paid_once_by_another(
    db: Database, settings: Settings, sale: Sale
) -> None:
    buyer = sale.buyers[0]
    purchase_id = _tap(db, settings, sale, buyer, "tap-1")
    payments = TestPaymentProvider()
    # The first process got as far as charging the card, then died before marking it paid.
    with db.read() as session:
        hold_id = session.scalar(select(FlashSale.hold_id).where(FlashSale.id == sale.sale_id))
    charged = one_tap.buy_now(db, payments, settings, buyer, sale.variant_id, 1,
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

    view = _view(db, settings, buyer, purchase_id)
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

    failed = _view(db, settings, buyer, purchase_id)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == "card_declined" and failed.checkout_id is None
    assert not gate.refuses(sale.show_id, sale.variant_id, 999)  # a unit is back
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
        _view(db, settings, sale.buyers[1], purchase_id)
    assert _view(db, settings, sale.buyers[0], purchase_id).status == "pending"


def _expire_lease(db: Database, purchase_id: int) -> None:
    with db.transaction() as session:
        session.execute(update(SalePurchase).where(SalePurchase.id == purchase_id)
                        .values(lease_until=utcnow() - timedelta(seconds=1)))


@pytest.mark.parametrize("length", [249, 255])
def test_a_tap_with_a_key_of_the_longest_length_is_paid(
    db: Database, settings: Settings, sale: Sale, length: int
) -> None:
    # Steps stored under the key used to append ":release" and ":checkout" to it, past the
    # column's 255 characters: the purchase then never settled and its unit stayed held.
    buyer, key = sale.buyers[0], "k" * length
    purchase_id = _tap(db, settings, sale, buyer, key)
    assert _settle(db, settings, TestPaymentProvider())
    assert _view(db, settings, buyer, purchase_id).status == "paid"
    assert _remaining(db, sale) == 2


def test_keys_a_buyer_spent_elsewhere_do_not_block_the_steps_of_a_tap(
    db: Database, settings: Settings, sale: Sale
) -> None:
    # The buyer sends "K:checkout" and "K:release" (what the server used to derive from K)
    # to POST /checkouts first; then taps with K.
    payer, decliner = sale.buyers[0], sale.buyers[1]
    _change_card(db, decliner, token="tok_test_card_declined_x")
    for buyer in (payer, decliner):
        for spent in ("K:checkout", "K:pay", "K:release", "K:offer"):
            with pytest.raises(DomainError) as refused:
                checkout.create_checkout(db, settings, buyer, MARKETS["UK"], CheckoutIn(),
                                         spent)
            assert refused.value.code == "cart_empty"  # stored as the key's result
    paid_id = _tap(db, settings, sale, payer, "K")
    failed_id = _tap(db, settings, sale, decliner, "K")
    assert _settle(db, settings, TestPaymentProvider())
    assert _settle(db, settings, TestPaymentProvider())
    assert _view(db, settings, payer, paid_id).status == "paid"
    failed = _view(db, settings, decliner, failed_id)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == "card_declined"
    assert _remaining(db, sale) == 2  # the declined unit went back
    # The keys the client sent still answer as before: a retry replays, another request
    # under one of them is refused.
    with pytest.raises(DomainError) as replayed:
        checkout.create_checkout(db, settings, payer, MARKETS["UK"], CheckoutIn(),
                                 "K:checkout")
    assert replayed.value.code == "cart_empty"
    with pytest.raises(DomainError) as reused:
        checkout.create_checkout(db, settings, payer, MARKETS["UK"], CheckoutIn(), "K")
    assert reused.value.code == "cart_empty"  # K was never the client's: free to use


def _settle_until_settled(db: Database, settings: Settings, purchase_id: int,
                          payments: TestPaymentProvider) -> int:
    """Settle the purchase again and again, its lease run out each time, until it is no
    longer pending (at most 10 attempts); how many it took."""
    for attempt in range(1, 11):
        _expire_lease(db, purchase_id)
        assert _settle(db, settings, payments)
        with db.read() as session:
            if session.get_one(SalePurchase, purchase_id).status != "pending":
                return attempt
    return 0


def test_a_purchase_that_keeps_failing_for_good_is_given_up_and_its_unit_given_back(
    db: Database, settings: Settings, sale: Sale, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug, or data the database refuses")

    monkeypatch.setattr(one_tap, "buy_now", broken)
    buyer = sale.buyers[0]
    purchase_id = _tap(db, settings, sale, buyer, "doomed")
    attempts = _settle_until_settled(db, settings, purchase_id, TestPaymentProvider())
    failed = _view(db, settings, buyer, purchase_id)
    assert failed.status == "failed" and failed.error is not None
    assert attempts == purchase_settlement.MAX_ATTEMPTS
    assert failed.error.code == "purchase_failed" and "not charged" in failed.error.message
    assert _remaining(db, sale) == 3  # the unit is back on sale
    assert not _settle(db, settings, TestPaymentProvider())  # nothing left to retry
    with pytest.raises(DomainError) as replayed:  # the buyer's retried tap is told
        _buy(db, settings, sale, buyer, "doomed")
    assert (replayed.value.status, replayed.value.code) == (409, "purchase_failed")
    assert _remaining(db, sale) == 3


def test_a_purchase_failing_after_its_payment_went_through_stays_paid(
    db: Database, settings: Settings, sale: Sale, monkeypatch: pytest.MonkeyPatch
) -> None:
    paying = one_tap.buy_now

    def paid_then_broken(*args: Any, **kwargs: Any) -> None:
        paying(*args, **kwargs)
        raise ValueError("a bug after the payment")

    monkeypatch.setattr(one_tap, "buy_now", paid_then_broken)
    buyer = sale.buyers[0]
    purchase_id = _tap(db, settings, sale, buyer, "paid-anyway")
    payments = TestPaymentProvider()
    attempts = _settle_until_settled(db, settings, purchase_id, payments)
    view = _view(db, settings, buyer, purchase_id)
    assert view.status == "paid" and view.checkout_id is not None
    assert attempts == purchase_settlement.MAX_ATTEMPTS
    assert payments.charge_calls == 1
    assert _remaining(db, sale) == 2  # the paid unit stays sold


def test_a_database_away_is_waited_for_however_many_attempts_it_takes(
    db: Database, settings: Settings, sale: Sale, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(one_tap, "buy_now", unavailable)
    buyer = sale.buyers[0]
    purchase_id = _tap(db, settings, sale, buyer, "patient")
    assert _settle_until_settled(db, settings, purchase_id, TestPaymentProvider()) == 0
    assert _view(db, settings, buyer, purchase_id).status == "pending"
    assert _remaining(db, sale) == 2  # still held for the buyer
    monkeypatch.undo()  # the database is back
    assert _settle_until_settled(db, settings, purchase_id, TestPaymentProvider()) == 1
    assert _view(db, settings, buyer, purchase_id).status == "paid"
