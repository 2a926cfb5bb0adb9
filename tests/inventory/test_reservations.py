from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Conflict
from liveshop.inventory import service as inventory
from liveshop.inventory.model import counters_from_ledger
from liveshop.inventory.orm import Reservation, StockHold, StockLevel
from tests.factories import VariantSpec, create_product, create_shop

TTL = timedelta(minutes=10)


@pytest.fixture
def variant(db: Database, make_user: Any) -> int:
    seller = make_user("seller")
    shop = create_shop(db, seller.id)
    _, (variant_id,) = create_product(db, shop, [VariantSpec(prices={"UK": 1000}, stock=50)])
    return variant_id


def level(db: Database, variant_id: int) -> StockLevel:
    with db.read() as session:
        row = session.get(StockLevel, variant_id)
        assert row is not None
        return row


def assert_ledger_balances(db: Database, variant_id: int) -> None:
    stock = level(db, variant_id)
    with db.read() as session:
        moves = inventory.ledger_balance(session, variant_id)
    assert counters_from_ledger(moves) == {"available": stock.available,
                                           "reserved": stock.reserved, "held": stock.held,
                                           "sold": stock.sold}
    assert sum(counters_from_ledger(moves).values()) == moves["received"]


def test_200_concurrent_reservations_for_50_units_reserve_exactly_50(
    db: Database, variant: int
) -> None:
    def attempt(buyer: int) -> bool:
        try:
            with db.transaction() as session:
                inventory.reserve(session, variant, 1, holder_id=None, ttl=TTL)
            return True
        except Conflict:
            return False

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(attempt, range(200)))

    assert results.count(True) == 50
    stock = level(db, variant)
    assert (stock.available, stock.reserved, stock.sold) == (0, 50, 0)
    with db.read() as session:
        active = session.scalar(select(func.count()).select_from(Reservation)
                                .where(Reservation.status == "active"))
    assert active == 50
    assert_ledger_balances(db, variant)


def test_reserve_more_than_available_is_refused_and_changes_nothing(
    db: Database, variant: int
) -> None:
    with pytest.raises(inventory.OutOfStock) as raised, db.transaction() as session:
        inventory.reserve(session, variant, 51, holder_id=None, ttl=TTL)
    assert raised.value.status == 409 and raised.value.field == "quantity"
    assert level(db, variant).available == 50


def test_commit_release_and_restock_keep_the_ledger_balanced(db: Database, variant: int) -> None:
    with db.transaction() as session:
        kept = inventory.reserve(session, variant, 5, holder_id=None, ttl=TTL).id
        dropped = inventory.reserve(session, variant, 3, holder_id=None, ttl=TTL).id
    with db.transaction() as session:
        inventory.commit(session, kept, order_id=None)
        assert inventory.release(session, dropped, note="declined")
        # Releasing twice or committing a released reservation is refused, not double-counted.
        assert not inventory.release(session, dropped)
    with pytest.raises(Conflict), db.transaction() as session:
        inventory.commit(session, dropped, order_id=None)
    with db.transaction() as session:
        inventory.restock(session, variant, 2, order_id=None, note="refund")
    stock = level(db, variant)
    assert (stock.available, stock.reserved, stock.sold) == (47, 0, 3)
    assert_ledger_balances(db, variant)


def test_expired_reservations_are_released(db: Database, variant: int) -> None:
    past = utcnow() - timedelta(hours=1)
    with db.transaction() as session:
        inventory.reserve(session, variant, 4, holder_id=None, ttl=TTL, now=past)
        inventory.reserve(session, variant, 1, holder_id=None, ttl=TTL)
    assert inventory.release_expired(db) == 1
    stock = level(db, variant)
    assert (stock.available, stock.reserved) == (49, 1)
    assert_ledger_balances(db, variant)


def test_extend_refuses_expired_reservations(db: Database, variant: int) -> None:
    past = utcnow() - timedelta(hours=1)
    with db.transaction() as session:
        fresh = inventory.reserve(session, variant, 1, holder_id=None, ttl=TTL).id
        stale = inventory.reserve(session, variant, 1, holder_id=None, ttl=TTL, now=past).id
    later = utcnow() + timedelta(minutes=5)
    with db.transaction() as session:
        assert inventory.extend(session, [fresh], later)
        assert not inventory.extend(session, [fresh, stale], later)


def test_seller_sees_and_receives_only_own_stock(db: Database, make_user: Any) -> None:
    seller, other = make_user("seller"), make_user("seller")
    shop = create_shop(db, seller.id)
    _, (variant_id,) = create_product(db, shop, [VariantSpec(prices={"UK": 1000}, stock=5)])
    received = seller.post(f"/api/v1/variants/{variant_id}/stock/receipts", json={"quantity": 7})
    assert received.status_code == 201 and received.json()["available"] == 12
    assert seller.get(f"/api/v1/shops/{shop}/stock").json()[0]["available"] == 12
    assert other.get(f"/api/v1/shops/{shop}/stock").status_code == 403
    stolen = other.post(f"/api/v1/variants/{variant_id}/stock/receipts", json={"quantity": 1})
    assert stolen.status_code == 403
    bad = seller.post(f"/api/v1/variants/{variant_id}/stock/receipts", json={"quantity": 0})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "quantity"


def hold_quantity(db: Database, hold_id: int) -> int:
    with db.read() as session:
        return session.get_one(StockHold, hold_id).quantity


def test_held_units_are_not_available_and_reservations_draw_on_their_hold(
    db: Database, variant: int
) -> None:
    with db.transaction() as session:
        sale = inventory.hold(session, variant, 30, note="flash sale")
    with pytest.raises(inventory.OutOfStock), db.transaction() as session:
        inventory.hold(session, variant, 21)  # only 20 are not held
    with pytest.raises(inventory.OutOfStock), db.transaction() as session:
        inventory.reserve(session, variant, 21, holder_id=None, ttl=TTL)
    with db.transaction() as session:
        paid = inventory.reserve(session, variant, 2, holder_id=None, ttl=TTL, hold_id=sale).id
        declined = inventory.reserve(session, variant, 3, holder_id=None, ttl=TTL,
                                     hold_id=sale).id
    stock = level(db, variant)
    assert (stock.available, stock.reserved, stock.held, stock.sold) == (20, 5, 25, 0)
    with db.transaction() as session:
        inventory.commit(session, paid, order_id=None)
        assert inventory.release(session, declined, note="declined")  # back to the hold
    assert hold_quantity(db, sale) == 28
    with db.transaction() as session:
        inventory.unhold(session, sale, 28, note="sale over")
    with pytest.raises(inventory.OutOfStock), db.transaction() as session:
        inventory.unhold(session, sale, 1)
    stock = level(db, variant)
    assert (stock.available, stock.reserved, stock.held, stock.sold) == (48, 0, 0, 2)
    assert_ledger_balances(db, variant)


def test_concurrent_reservations_never_take_more_than_the_hold_has(
    db: Database, variant: int
) -> None:
    with db.transaction() as session:
        sale = inventory.hold(session, variant, 10)

    def attempt(_: int) -> bool:
        try:
            with db.transaction() as session:
                inventory.reserve(session, variant, 1, holder_id=None, ttl=TTL, hold_id=sale)
            return True
        except Conflict:
            return False

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(attempt, range(60)))
    assert results.count(True) == 10
    stock = level(db, variant)
    assert (stock.available, stock.reserved, stock.held) == (40, 10, 0)
    assert hold_quantity(db, sale) == 0
    assert_ledger_balances(db, variant)
