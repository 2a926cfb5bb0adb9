"""Service-level checks: concurrent retries, expiry and one-tap buy."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from liveshop.accounts.model import Actor, Role
from liveshop.checkout import carts, one_tap, saved_cards, service
from liveshop.checkout.orm import Checkout
from liveshop.checkout.schemas import CardIn, CheckoutIn, PayIn, PaymentMethodIn, ShippingAddress
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import DomainError, InvalidInput
from liveshop.inventory.orm import StockLevel
from liveshop.markets.model import MARKETS
from liveshop.orders.orm import Order
from liveshop.payments.orm import Payment
from liveshop.payments.provider import TestPaymentProvider
from tests.checkout.conftest import OK_CARD, UK_ADDRESS, Catalog, add

T = TypeVar("T")
UK = MARKETS["UK"]


def actor_of(user: Any) -> Actor:
    return Actor(user_id=user.id, role=Role.BUYER)


def in_threads(count: int, work: Callable[[], T]) -> list[T | BaseException]:
    """Run ``work`` on ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list[T | BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            outcome: T | BaseException = work()
        except BaseException as error:  # collected and asserted on by the test
            outcome = error
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as session:
        return (session.scalar(select(func.count()).select_from(Checkout)) or 0,
                session.scalar(select(func.count()).select_from(Order)) or 0,
                session.scalar(select(func.count()).select_from(Payment)) or 0)


def test_ten_concurrent_retries_make_one_order_set_and_one_charge(
        make_user: Any, catalog: Catalog, db: Database, settings: Settings) -> None:
    buyer = make_user()
    add(buyer, catalog.tee)
    add(buyer, catalog.mug)
    actor, payments = actor_of(buyer), TestPaymentProvider()
    data = CheckoutIn(address=ShippingAddress(**UK_ADDRESS))

    created = in_threads(10, lambda: service.create_checkout(db, settings, actor, UK, data,
                                                             "create-1"))
    assert all(not isinstance(r, BaseException) for r in created), created
    ids = {service.checkout_result(r).id for r in created if not isinstance(r, BaseException)}
    assert len(ids) == 1
    (checkout_id,) = ids
    assert counts(db) == (1, 2, 0)

    pay_data = PayIn(card=CardIn(**OK_CARD))
    paid = in_threads(10, lambda: service.pay_checkout(db, payments, settings, actor,
                                                       checkout_id, pay_data, "pay-1"))
    assert all(not isinstance(r, BaseException) and r.status == 200 for r in paid), paid
    # Different keys for the same checkout still settle it once.
    other_keys = iter(range(100))
    again = in_threads(5, lambda: service.pay_checkout(db, payments, settings, actor,
                                                       checkout_id, pay_data,
                                                       f"pay-other-{next(other_keys)}"))
    assert all(not isinstance(r, BaseException) and r.status == 200 for r in again), again
    assert payments.charge_calls == 1
    assert counts(db) == (1, 2, 1)
    with db.read() as session:
        level = session.get(StockLevel, catalog.tee)
        assert level is not None and (level.reserved, level.sold) == (0, 1)


def test_expired_reservations_release_stock_and_cancel_pending_orders(
        make_user: Any, catalog: Catalog, db: Database, settings: Settings) -> None:
    buyer = make_user()
    add(buyer, catalog.tee, 2)
    actor = actor_of(buyer)
    stored = service.create_checkout(db, settings, actor, UK,
                                     CheckoutIn(address=ShippingAddress(**UK_ADDRESS)), "k")
    checkout_id = service.checkout_result(stored).id
    assert service.expire_stale_checkouts(db) == 0
    later = utcnow() + timedelta(seconds=settings.reservation_ttl_seconds + 1)
    assert service.expire_stale_checkouts(db, now=later) == 1
    view = service.get_checkout(db, actor, checkout_id)
    assert view.status == "cancelled" and view.orders[0].status == "cancelled"
    with db.read() as session:
        level = session.get(StockLevel, catalog.tee)
        assert level is not None and (level.available, level.reserved) == (5, 0)
    assert service.expire_stale_checkouts(db, now=later) == 0
    # The cart is untouched, so the buyer can try again.
    assert carts.get_cart(db, actor, UK).item_count == 2


def save_defaults(db: Database, payments: TestPaymentProvider, actor: Actor) -> None:
    from liveshop.accounts import service as accounts
    from liveshop.accounts.schemas import AddressIn

    accounts.save_address(db, actor, AddressIn(**UK_ADDRESS))
    saved_cards.add_payment_method(db, payments, actor, PaymentMethodIn(card=CardIn(**OK_CARD)))


def test_buy_now_pays_one_line_with_defaults_and_leaves_the_cart(
        make_user: Any, catalog: Catalog, db: Database, settings: Settings) -> None:
    buyer = make_user()
    actor, payments = actor_of(buyer), TestPaymentProvider()
    save_defaults(db, payments, actor)
    add(buyer, catalog.tee)
    view = one_tap.buy_now(db, payments, settings, actor, catalog.tee, 2, UK, "tap-1",
                           unit_price_override=1800, show_id=77, creator_id=actor.user_id)
    assert view.status == "paid" and view.total == 3600 + 399
    (order,) = view.orders
    assert order.show_id == 77 and order.lines[0].unit_price == 1800 and order.status == "paid"
    assert view.ship_to["city"] == "London"
    with db.read() as session:
        row = session.get(Order, order.id)
        assert row is not None and row.creator_id == actor.user_id
    again = one_tap.buy_now(db, payments, settings, actor, catalog.tee, 2, UK, "tap-1",
                            unit_price_override=1800, show_id=77, creator_id=actor.user_id)
    assert again.id == view.id and payments.charge_calls == 1
    assert carts.get_cart(db, actor, UK).item_count == 1


def test_a_buy_now_tapped_at_once_on_threads_with_one_key_buys_and_charges_once(
        make_user: Any, catalog: Catalog, db: Database, settings: Settings) -> None:
    actor, payments = actor_of(make_user()), TestPaymentProvider()
    save_defaults(db, payments, actor)
    before = counts(db)
    bought = in_threads(6, lambda: one_tap.buy_now(db, payments, settings, actor, catalog.tee,
                                                   1, UK, "same-tap"))
    views = [view for view in bought if not isinstance(view, BaseException)]
    assert len(views) == 6 and len({view.id for view in views}) == 1, bought
    assert [a - b for a, b in zip(counts(db), before, strict=True)] == [1, 1, 1]
    assert payments.charge_calls == 1
    with db.read() as session:
        stock = session.get_one(StockLevel, catalog.tee)
        assert stock.reserved == 0


def test_buy_now_names_what_is_missing(make_user: Any, catalog: Catalog, db: Database,
                                       settings: Settings) -> None:
    from liveshop.accounts import service as accounts
    from liveshop.accounts.schemas import AddressIn

    actor, payments = actor_of(make_user()), TestPaymentProvider()
    with pytest.raises(InvalidInput) as error:
        one_tap.buy_now(db, payments, settings, actor, catalog.tee, 1, UK, "k1")
    assert error.value.field == "payment_method"
    saved_cards.add_payment_method(db, payments, actor, PaymentMethodIn(card=CardIn(**OK_CARD)))
    with pytest.raises(InvalidInput) as error:
        one_tap.buy_now(db, payments, settings, actor, catalog.tee, 1, UK, "k2")
    assert error.value.field == "address"
    accounts.save_address(db, actor, AddressIn(**{**UK_ADDRESS, "country": "DE"}))
    with pytest.raises(DomainError) as wrong_country:
        one_tap.buy_now(db, payments, settings, actor, catalog.tee, 1, UK, "k3")
    assert wrong_country.value.status == 422


def test_buy_now_over_http_with_declined_default_card(make_user: Any, catalog: Catalog,
                                                      db: Database) -> None:
    buyer = make_user()
    buyer.post("/api/v1/me/addresses", json=UK_ADDRESS)
    buyer.post("/api/v1/payment-methods",
               json={"card": {**OK_CARD, "number": "4000000000000002"}})
    response = buyer.post("/api/v1/buy-now", json={"variant_id": catalog.mug, "quantity": 1},
                          headers={"Idempotency-Key": "live-1"})
    assert response.status_code == 402
    assert response.json()["error"] == {"code": "card_declined",
                                        "message": "Your card was declined.", "field": "card"}
    with db.read() as session:
        level = session.get(StockLevel, catalog.mug)
        assert level is not None and (level.available, level.reserved) == (3, 0)
    missing_key = buyer.post("/api/v1/buy-now", json={"variant_id": catalog.mug})
    assert missing_key.json()["error"]["field"] == "Idempotency-Key"


def test_the_app_sweeps_expired_checkouts_in_the_background(
        make_user: Any, catalog: Catalog, db: Database, settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from fastapi.testclient import TestClient

    from liveshop import app as composition_root

    buyer = make_user()
    add(buyer, catalog.tee)
    actor = actor_of(buyer)
    instant = settings.model_copy(update={"reservation_ttl_seconds": 0})
    stored = service.create_checkout(db, instant, actor, UK,
                                     CheckoutIn(address=ShippingAddress(**UK_ADDRESS)), "k")
    checkout_id = service.checkout_result(stored).id
    monkeypatch.setattr(composition_root, "EXPIRY_SWEEP_SECONDS", 0.05)
    with TestClient(composition_root.create_app(settings, db)):
        deadline = time.monotonic() + 10
        while service.get_checkout(db, actor, checkout_id).status == "open":
            assert time.monotonic() < deadline, "the sweeper never ran"
            time.sleep(0.05)
    assert service.get_checkout(db, actor, checkout_id).orders[0].status == "cancelled"
