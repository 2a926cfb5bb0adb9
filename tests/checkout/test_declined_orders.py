"""A declined card leaves no order in the buyer's or the seller's order lists (issue 18,
defect 8). The cancelled order stays in the database, with its timeline and the declined
payment, for support and audit: lists leave out what was never paid."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from liveshop.core.db import Database
from liveshop.orders.orm import Order, OrderEvent
from tests.checkout.conftest import DECLINED_CARD, add, check_out, pay
from tests.factories import VariantSpec, create_product, create_shop

HTML = {"Accept": "text/html"}


def test_a_declined_card_leaves_no_order_in_the_buyers_or_the_sellers_lists(
        make_user: Any, db: Database) -> None:
    seller = make_user("seller")
    shop_id = create_shop(db, seller.id, {"UK": 399}, name="Decline Shop")
    _, (tee,) = create_product(db, shop_id, [VariantSpec({"UK": 2400}, stock=5)])
    buyer = make_user()
    add(buyer, tee)
    declined_checkout = check_out(buyer).json()
    assert pay(buyer, declined_checkout["id"], card=DECLINED_CARD).status_code == 402
    declined_number = declined_checkout["orders"][0]["number"]

    assert buyer.get("/api/v1/orders").json() == []
    assert declined_number not in buyer.get("/orders", headers=HTML).text
    assert seller.get(f"/api/v1/shops/{shop_id}/orders").json() == []
    assert declined_number not in seller.get(f"/seller/shops/{shop_id}/orders",
                                             headers=HTML).text
    assert seller.get(f"/seller/shops/{shop_id}/orders?status=cancelled").status_code == 200

    # Paid with another card, the order is listed; a paid order cancelled later still is.
    paid = check_out(buyer).json()
    assert pay(buyer, paid["id"]).status_code == 200
    paid_id = paid["orders"][0]["id"]
    assert [o["id"] for o in buyer.get("/api/v1/orders").json()] == [paid_id]
    assert buyer.post(f"/api/v1/orders/{paid_id}/cancel", json={}).status_code == 200
    assert [o["status"] for o in seller.get(f"/api/v1/shops/{shop_id}/orders").json()] == [
        "cancelled"]

    # The declined order is kept, with why it ended, and opens from a direct link.
    declined_id = declined_checkout["orders"][0]["id"]
    with db.read() as session:
        order = session.get(Order, declined_id)
        assert order is not None and order.status == "cancelled" and order.paid_at is None
        notes = list(session.scalars(select(OrderEvent.note).where(
            OrderEvent.order_id == declined_id)))
    assert "payment declined: card_declined" in notes
    assert buyer.get(f"/api/v1/orders/{declined_id}").status_code == 200
