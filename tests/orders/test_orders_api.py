from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from liveshop.core.db import Database, utcnow
from liveshop.inventory.orm import Reservation, StockLevel, StockMovement
from liveshop.orders.orm import Order, OrderLine
from liveshop.payments.orm import Payment, Refund
from tests.orders.conftest import OrderFactory, Shop

TOTAL = 2 * 2000 + 1500 + 399


def stock(db: Database, variant_id: int) -> tuple[int, int, int]:
    with db.read() as session:
        level = session.get_one(StockLevel, variant_id)
        return level.available, level.reserved, level.sold


def refund(seller: Any, order_id: int, body: dict[str, Any], key: str = "k1") -> Any:
    return seller.post(f"/api/v1/orders/{order_id}/refunds", json=body,
                       headers={"Idempotency-Key": key})


def test_buyer_lists_own_orders_newest_first(make_order: OrderFactory, buyer: Any,
                                             make_user: Any) -> None:
    older = make_order(created_at=utcnow() - timedelta(days=2))
    newer = make_order()
    orders = buyer.get("/api/v1/orders").json()
    assert [o["id"] for o in orders] == [newer, older]
    assert orders[0]["shop_name"] == "Tee Shop" and orders[0]["total"] == TOTAL
    assert orders[0]["status"] == "paid" and orders[0]["item_count"] == 3
    checkout_id = orders[1]["checkout_id"]
    only = buyer.get(f"/api/v1/orders?checkout_id={checkout_id}").json()
    assert [o["id"] for o in only] == [older]
    assert make_user("buyer").get("/api/v1/orders").json() == []


def test_ship_then_deliver_and_buyer_sees_tracking(make_order: OrderFactory, buyer: Any,
                                                   shop: Shop) -> None:
    order_id = make_order()
    shipped = shop.seller.post(f"/api/v1/orders/{order_id}/ship",
                               json={"carrier": "  DHL ", "tracking_number": " 00340434 "})
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped"
    seen = buyer.get(f"/api/v1/orders/{order_id}").json()
    assert (seen["carrier"], seen["tracking_number"]) == ("DHL", "00340434")
    assert seen["shipped_at"] is not None

    delivered = shop.seller.post(f"/api/v1/orders/{order_id}/deliver")
    assert delivered.status_code == 200 and delivered.json()["delivered_at"] is not None
    timeline = [(e["from_status"], e["to_status"]) for e in delivered.json()["events"]]
    assert timeline[-2:] == [("paid", "shipped"), ("shipped", "delivered")]
    assert delivered.json()["events"][-1]["actor_name"] == "Sam Seller"


def test_ship_requires_trimmed_carrier_and_tracking(make_order: OrderFactory,
                                                    shop: Shop) -> None:
    order_id = make_order()
    blank = shop.seller.post(f"/api/v1/orders/{order_id}/ship",
                             json={"carrier": "   ", "tracking_number": "X1"})
    assert blank.status_code == 422 and blank.json()["error"]["field"] == "carrier"
    missing = shop.seller.post(f"/api/v1/orders/{order_id}/ship", json={"carrier": "DHL"})
    assert missing.json()["error"]["field"] == "tracking_number"
    too_long = shop.seller.post(f"/api/v1/orders/{order_id}/ship",
                                json={"carrier": "DHL", "tracking_number": "9" * 101})
    assert too_long.json()["error"]["field"] == "tracking_number"


def test_illegal_transitions_are_409(make_order: OrderFactory, shop: Shop, buyer: Any) -> None:
    paid = make_order()
    early = shop.seller.post(f"/api/v1/orders/{paid}/deliver")
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "illegal_transition"
    assert "paid" in early.json()["error"]["message"]

    cancelled = make_order()
    assert buyer.post(f"/api/v1/orders/{cancelled}/cancel").status_code == 200
    ship = shop.seller.post(f"/api/v1/orders/{cancelled}/ship",
                            json={"carrier": "DHL", "tracking_number": "1"})
    assert ship.status_code == 409 and ship.json()["error"]["code"] == "illegal_transition"

    shipped = make_order("shipped")
    late_cancel = buyer.post(f"/api/v1/orders/{shipped}/cancel")
    assert late_cancel.status_code == 409


def test_access_rules(make_order: OrderFactory, shop: Shop, buyer: Any,
                      make_user: Any) -> None:
    order_id = make_order()
    other_seller = make_user("seller")
    stranger = make_user("buyer")
    assert other_seller.get(f"/api/v1/shops/{shop.id}/orders").status_code == 403
    assert other_seller.get(f"/api/v1/shops/{shop.id}/returns").status_code == 403
    assert other_seller.get(f"/api/v1/orders/{order_id}").status_code == 404
    assert stranger.get(f"/api/v1/orders/{order_id}").status_code == 404
    assert other_seller.post(f"/api/v1/orders/{order_id}/ship", json={
        "carrier": "DHL", "tracking_number": "1"}).status_code == 404
    buyer_ship = buyer.post(f"/api/v1/orders/{order_id}/ship",
                            json={"carrier": "DHL", "tracking_number": "1"})
    assert buyer_ship.status_code == 403
    assert refund(buyer, order_id, {"full": True}).status_code == 403
    assert make_user("admin").get(f"/api/v1/orders/{order_id}").status_code == 200
    listed = shop.seller.get(f"/api/v1/shops/{shop.id}/orders?status=paid").json()
    assert [o["id"] for o in listed] == [order_id]
    assert shop.seller.get(f"/api/v1/shops/{shop.id}/orders?status=shipped").json() == []
    bad = shop.seller.get(f"/api/v1/shops/{shop.id}/orders?status=lost")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "status"


def test_buyer_cancels_paid_order_full_refund_and_restock(
        make_order: OrderFactory, shop: Shop, buyer: Any, db: Database) -> None:
    medium, large = shop.variant_ids
    order_id = make_order()
    assert stock(db, medium) == (8, 0, 2)
    response = buyer.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "changed mind"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "cancelled" and body["refunded_amount"] == TOTAL
    assert body["refunds"][0]["amount"] == TOTAL
    assert body["refunds"][0]["provider_ref"].startswith("re_test_")
    assert stock(db, medium) == (10, 0, 0) and stock(db, large) == (10, 0, 0)
    with db.read() as session:
        kinds = session.scalars(select(StockMovement.kind).where(
            StockMovement.order_id == order_id)).all()
        payment = session.scalars(select(Payment)).one()
    assert kinds.count("restocked") == 2
    assert payment.refunded_amount == TOTAL
    assert body["events"][-1]["note"] == "changed mind"


def test_cancel_pending_payment_releases_reservations(
        make_order: OrderFactory, shop: Shop, buyer: Any, db: Database) -> None:
    order_id = make_order("pending_payment")
    assert stock(db, shop.variant_ids[0]) == (8, 2, 0)
    seller_try = shop.seller.post(f"/api/v1/orders/{order_id}/cancel")
    assert seller_try.status_code == 403
    response = buyer.post(f"/api/v1/orders/{order_id}/cancel")
    assert response.status_code == 200 and response.json()["refunds"] == []
    assert stock(db, shop.variant_ids[0]) == (10, 0, 0)
    with db.read() as session:
        statuses = set(session.scalars(select(Reservation.status)))
    assert statuses == {"released"}


def test_seller_cancels_paid_order(make_order: OrderFactory, shop: Shop) -> None:
    order_id = make_order()
    response = shop.seller.post(f"/api/v1/orders/{order_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_partial_then_full_refund(make_order: OrderFactory, shop: Shop, buyer: Any,
                                  db: Database) -> None:
    medium, large = shop.variant_ids
    order_id = make_order("delivered")
    with db.read() as session:
        line_m = session.scalars(select(OrderLine.id).where(
            OrderLine.order_id == order_id, OrderLine.variant_id == medium)).one()

    partial = refund(shop.seller, order_id, {"lines": [{"line_id": line_m, "quantity": 1}]})
    assert partial.status_code == 201, partial.text
    body = partial.json()
    assert body["refund"]["amount"] == 2000
    assert body["order"]["status"] == "delivered"
    assert body["order"]["refunded_amount"] == 2000
    refunded = {line["id"]: line["refunded_quantity"] for line in body["order"]["lines"]}
    assert refunded[line_m] == 1
    assert stock(db, medium) == (9, 0, 1) and stock(db, large) == (9, 0, 1)

    full = refund(shop.seller, order_id, {"full": True}, key="k2")
    assert full.status_code == 201, full.text
    assert full.json()["refund"]["amount"] == TOTAL - 2000
    assert full.json()["order"]["status"] == "refunded"
    assert stock(db, medium) == (10, 0, 0) and stock(db, large) == (10, 0, 0)
    with db.read() as session:
        payment = session.scalars(select(Payment)).one()
        order = session.get_one(Order, order_id)
    assert payment.refunded_amount == TOTAL == order.refunded_amount
    again = refund(shop.seller, order_id, {"full": True}, key="k3")
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
    seen = buyer.get(f"/api/v1/orders/{order_id}").json()
    assert [r["amount"] for r in seen["refunds"]] == [2000, TOTAL - 2000]


def test_refund_is_idempotent(make_order: OrderFactory, shop: Shop, db: Database) -> None:
    order_id = make_order()
    with db.read() as session:
        line_id = session.scalars(select(OrderLine.id).where(
            OrderLine.order_id == order_id)).first()
    body = {"lines": [{"line_id": line_id, "quantity": 1}]}
    first = refund(shop.seller, order_id, body, key="same")
    second = refund(shop.seller, order_id, body, key="same")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Refund)) == 1
    reused = refund(shop.seller, order_id, {"full": True}, key="same")
    assert reused.status_code == 422
    missing = shop.seller.post(f"/api/v1/orders/{order_id}/refunds", json=body)
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "Idempotency-Key"


def test_over_refund_is_rejected_naming_the_line(make_order: OrderFactory, shop: Shop,
                                                  db: Database) -> None:
    order_id = make_order()
    with db.read() as session:
        line_l = session.scalars(select(OrderLine.id).where(
            OrderLine.order_id == order_id, OrderLine.variant_id == shop.variant_ids[1])).one()
    response = refund(shop.seller, order_id, {"lines": [{"line_id": line_l, "quantity": 2}]})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["field"] == "lines.0.quantity" and f"line {line_l}" in error["message"]
    assert "Logo Tee" in error["message"]
    neither = refund(shop.seller, order_id, {}, key="k2")
    assert neither.status_code == 422 and neither.json()["error"]["field"] == "lines"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Refund)) == 0


def test_returns_within_window_in_uk_and_de(make_order: OrderFactory, shop: Shop,
                                            buyer: Any) -> None:
    for market in ("UK", "DE"):
        order_id = make_order("delivered", market=market,
                              delivered_at=utcnow() - timedelta(days=13))
        created = buyer.post(f"/api/v1/orders/{order_id}/returns", json={"reason": "too big"})
        assert created.status_code == 201, created.text
        assert created.json()["returns"][0]["status"] == "requested"
        twice = buyer.post(f"/api/v1/orders/{order_id}/returns", json={"reason": "again"})
        assert twice.status_code == 409
    returns = shop.seller.get(f"/api/v1/shops/{shop.id}/returns").json()
    assert len(returns) == 2
    approved = shop.seller.post(f"/api/v1/returns/{returns[0]['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert shop.seller.post(f"/api/v1/returns/{returns[0]['id']}/reject").status_code == 409
    assert buyer.post(f"/api/v1/returns/{returns[1]['id']}/approve").status_code == 403
    rejected = shop.seller.post(f"/api/v1/returns/{returns[1]['id']}/reject")
    assert rejected.json()["status"] == "rejected"
    # Approval alone moves no money.
    order = buyer.get(f"/api/v1/orders/{returns[0]['order_id']}").json()
    assert order["refunded_amount"] == 0 and order["status"] == "delivered"


def test_returns_refused_outside_window_us_and_undelivered(
        make_order: OrderFactory, buyer: Any, shop: Shop) -> None:
    late = make_order("delivered", delivered_at=utcnow() - timedelta(days=15))
    us = make_order("delivered", market="US")
    shipped = make_order("shipped")
    cases = {late: "return_window_closed", us: "no_return_window",
             shipped: "return_not_allowed"}
    for order_id, code in cases.items():
        response = buyer.post(f"/api/v1/orders/{order_id}/returns", json={"reason": "x"})
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == code
    ok = make_order("delivered")
    assert shop.seller.post(f"/api/v1/orders/{ok}/returns",
                            json={"reason": "x"}).status_code == 403
    blank = buyer.post(f"/api/v1/orders/{ok}/returns", json={"reason": "  "})
    assert blank.status_code == 422 and blank.json()["error"]["field"] == "reason"
