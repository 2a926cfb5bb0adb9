from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from liveshop.checkout.orm import Checkout
from liveshop.core.db import Database, utcnow
from liveshop.inventory.orm import Reservation, StockLevel
from liveshop.orders.orm import Order, OrderEvent
from liveshop.payments.orm import Payment, PaymentMethod
from liveshop.services import app_services
from tests.checkout.conftest import (
    DECLINED_CARD,
    NO_FUNDS_CARD,
    OK_CARD,
    UK_ADDRESS,
    Catalog,
    add,
    check_out,
    key,
    pay,
)


def stock(db: Database, variant_id: int) -> tuple[int, int, int]:
    with db.read() as session:
        level = session.get(StockLevel, variant_id)
        assert level is not None
        return level.available, level.reserved, level.sold


def test_multi_shop_cart_becomes_one_checkout_with_an_order_per_shop(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    buyer = make_user()
    add(buyer, catalog.tee, 2)
    add(buyer, catalog.mug)
    response = check_out(buyer)
    assert response.status_code == 201, response.text
    checkout = response.json()
    assert checkout["status"] == "open" and checkout["reserved_until"]
    orders = {o["shop_name"]: o for o in checkout["orders"]}
    assert orders["Alpha Tees"]["shipping"] == 399 and orders["Alpha Tees"]["subtotal"] == 4800
    assert orders["Beta Mugs"]["shipping"] == 250 and orders["Beta Mugs"]["total"] == 1250
    assert checkout["total"] == 4800 + 399 + 1250
    assert {o["status"] for o in checkout["orders"]} == {"pending_payment"}
    assert all(o["number"].startswith("LS-") for o in checkout["orders"])
    assert orders["Alpha Tees"]["lines"][0]["product_title"] == "Tee"
    assert stock(db, catalog.tee) == (3, 2, 0)
    with db.read() as session:
        events = session.scalars(select(OrderEvent)).all()
        assert {(e.from_status, e.to_status) for e in events} == {(None, "pending_payment")}
        assert len(events) == 2
        assert all(o.tax_inclusive for o in session.scalars(select(Order)))


def test_paying_with_4242_marks_orders_paid_sells_stock_and_empties_cart(
        make_user: Any, catalog: Catalog, db: Database, app: Any) -> None:
    buyer = make_user()
    add(buyer, catalog.tee, 2)
    add(buyer, catalog.mug)
    checkout = check_out(buyer).json()
    paid = pay(buyer, checkout["id"], card=OK_CARD, save_card=True)
    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert body["status"] == "paid" and body["payment"]["status"] == "succeeded"
    assert {o["status"] for o in body["orders"]} == {"paid"}
    assert stock(db, catalog.tee) == (3, 0, 2)
    assert stock(db, catalog.mug) == (2, 0, 1)
    assert buyer.get("/api/v1/cart").json()["item_count"] == 0
    assert app_services(app).context.payments.charge_calls == 1
    with db.read() as session:
        assert all(o.paid_at is not None for o in session.scalars(select(Order)))
        saved = session.scalars(select(PaymentMethod)).one()
        assert saved.last4 == "4242" and saved.is_default
        assert "4242424242424242" not in saved.token
    assert buyer.get("/api/v1/payment-methods").json()[0]["last4"] == "4242"


def test_declined_card_releases_stock_cancels_orders_and_keeps_the_cart(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    buyer = make_user()
    add(buyer, catalog.tee, 2)
    checkout = check_out(buyer).json()
    assert stock(db, catalog.tee) == (3, 2, 0)
    declined = pay(buyer, checkout["id"], card=DECLINED_CARD)
    assert declined.status_code == 402
    error = declined.json()["error"]
    assert error["code"] == "card_declined" and error["field"] == "card"
    assert stock(db, catalog.tee) == (5, 0, 0)
    after = buyer.get(f"/api/v1/checkouts/{checkout['id']}").json()
    assert after["status"] == "cancelled"
    assert {o["status"] for o in after["orders"]} == {"cancelled"}
    assert after["payment"]["decline_code"] == "card_declined"
    assert buyer.get("/api/v1/cart").json()["item_count"] == 2
    # The buyer can simply check out again.
    again = check_out(buyer).json()
    assert pay(buyer, again["id"]).status_code == 200


def test_insufficient_funds(make_user: Any, catalog: Catalog) -> None:
    buyer = make_user()
    add(buyer, catalog.mug)
    checkout = check_out(buyer).json()
    response = pay(buyer, checkout["id"], card=NO_FUNDS_CARD)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_funds"
    assert response.json()["error"]["field"] == "card"


def test_out_of_stock_line_is_409_naming_the_line_and_reserves_nothing(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    buyer = make_user()
    add(buyer, catalog.tee, 2)
    mug_item = add(buyer, catalog.mug, 3).json()
    item_id = next(line["item_id"] for shop in mug_item["shops"] for line in shop["lines"]
                   if line["variant_id"] == catalog.mug)
    with db.transaction() as session:
        session.execute(update(StockLevel).where(StockLevel.variant_id == catalog.mug)
                        .values(available=1))
    response = check_out(buyer)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "out_of_stock" and error["field"] == f"items.{item_id}"
    assert "Mug" in error["message"]
    assert stock(db, catalog.tee) == (5, 0, 0)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
        assert session.scalar(select(func.count()).select_from(Reservation)) == 0


def test_address_must_be_in_the_cart_market(make_user: Any, catalog: Catalog) -> None:
    buyer = make_user()
    add(buyer, catalog.tee)
    response = check_out(buyer, address={**UK_ADDRESS, "country": "DE"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "address.country"
    missing = check_out(buyer, save_address=True)
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "address"
    blank = check_out(buyer, address={**UK_ADDRESS, "city": ""})
    assert blank.json()["error"]["field"] == "address.city"


def test_saved_address_and_saved_card_checkout(make_user: Any, catalog: Catalog) -> None:
    buyer = make_user()
    add(buyer, catalog.mug)
    checkout = check_out(buyer, address=UK_ADDRESS, save_address=True).json()
    (address,) = buyer.get("/api/v1/me/addresses").json()
    assert address["is_default"] and address["city"] == "London"
    pay(buyer, checkout["id"], card=DECLINED_CARD)
    method = buyer.post("/api/v1/payment-methods", json={"card": OK_CARD}).json()
    assert method["is_default"] and method["brand"] == "visa"
    again = check_out(buyer, address_id=address["id"]).json()
    paid = pay(buyer, again["id"], payment_method_id=method["id"])
    assert paid.status_code == 200 and paid.json()["payment"]["last4"] == "4242"


def test_empty_cart_cannot_check_out(make_user: Any, catalog: Catalog) -> None:
    response = check_out(make_user())
    assert response.status_code == 422 and response.json()["error"]["field"] == "cart"


def test_idempotency_key_is_required_and_cannot_be_reused_for_another_body(
        make_user: Any, catalog: Catalog) -> None:
    buyer = make_user()
    add(buyer, catalog.tee)
    missing = buyer.post("/api/v1/checkouts", json={"address": UK_ADDRESS})
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "Idempotency-Key"
    headers = key()
    first = buyer.post("/api/v1/checkouts", json={"address": UK_ADDRESS}, headers=headers)
    assert first.status_code == 201
    replay = buyer.post("/api/v1/checkouts", json={"address": UK_ADDRESS}, headers=headers)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    reused = buyer.post("/api/v1/checkouts", json={"address": {**UK_ADDRESS, "city": "Leeds"}},
                        headers=headers)
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    no_key_pay = buyer.post(f"/api/v1/checkouts/{first.json()['id']}/pay",
                            json={"card": OK_CARD})
    assert no_key_pay.json()["error"]["field"] == "Idempotency-Key"


def test_http_retry_of_pay_charges_once(make_user: Any, catalog: Catalog, app: Any,
                                        db: Database) -> None:
    buyer = make_user()
    add(buyer, catalog.tee)
    checkout = check_out(buyer).json()
    headers = key()
    responses = [buyer.post(f"/api/v1/checkouts/{checkout['id']}/pay", json={"card": OK_CARD},
                            headers=headers) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    # A new key for an already-paid checkout reports it paid without charging again.
    assert pay(buyer, checkout["id"]).json()["status"] == "paid"
    assert app_services(app).context.payments.charge_calls == 1
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 1


def test_someone_elses_checkout_is_not_found(make_user: Any, catalog: Catalog) -> None:
    buyer, stranger = make_user(), make_user()
    add(buyer, catalog.tee)
    checkout = check_out(buyer).json()
    assert stranger.get(f"/api/v1/checkouts/{checkout['id']}").status_code == 404
    assert pay(stranger, checkout["id"]).status_code == 404
    assert buyer.get(f"/api/v1/checkouts/{checkout['id']}").status_code == 200


def test_paying_an_expired_checkout_is_409_and_cancels_it(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    buyer = make_user()
    add(buyer, catalog.tee)
    checkout = check_out(buyer).json()
    with db.transaction() as session:
        session.execute(update(Reservation).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = pay(buyer, checkout["id"])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "checkout_expired"
    assert stock(db, catalog.tee) == (5, 0, 0)
    after = buyer.get(f"/api/v1/checkouts/{checkout['id']}").json()
    assert after["status"] == "cancelled" and after["orders"][0]["status"] == "cancelled"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_payment_methods_are_private(make_user: Any, catalog: Catalog) -> None:
    buyer, stranger = make_user(), make_user()
    first = buyer.post("/api/v1/payment-methods", json={"card": OK_CARD}).json()
    second = buyer.post("/api/v1/payment-methods",
                        json={"card": {**OK_CARD, "number": "5555555555554444"},
                              "make_default": True}).json()
    assert second["is_default"] and second["brand"] == "mastercard"
    assert [m["id"] for m in buyer.get("/api/v1/payment-methods").json()] == [second["id"],
                                                                              first["id"]]
    assert stranger.delete(f"/api/v1/payment-methods/{second['id']}").status_code == 404
    assert buyer.delete(f"/api/v1/payment-methods/{second['id']}").status_code == 204
    (left,) = buyer.get("/api/v1/payment-methods").json()
    assert left["is_default"]
    bad = buyer.post("/api/v1/payment-methods", json={"card": {**OK_CARD, "number": "4242"}})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "card.number"


def test_card_numbers_are_never_stored(make_user: Any, catalog: Catalog, db: Database) -> None:
    buyer = make_user()
    add(buyer, catalog.tee)
    checkout = check_out(buyer).json()
    pay(buyer, checkout["id"], card=OK_CARD, save_card=True)
    with db.read() as session:
        for table in ("payments", "payment_methods", "idempotency_keys", "checkouts"):
            rows = session.execute(select(Checkout.metadata.tables[table])).all()
            assert "4242424242424242" not in repr(rows)
            assert "'123'" not in repr(rows)
