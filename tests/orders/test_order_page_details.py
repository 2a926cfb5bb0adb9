"""What the buyer's order pages say: pictures of what was bought, where the order is on its
way, the address as the destination country writes it, and a returns box that tells the
truth once the money is back (issue 18, defects 10 and 12)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from liveshop.catalog.orm import ProductImage, Variant
from liveshop.core.db import Database
from tests.html import csrf_from
from tests.orders.conftest import OrderFactory, Shop

HTML = {"Accept": "text/html"}
WAITING_FOR_ITEMS = "Your refund follows once they receive the items"


def test_after_the_refund_the_returns_box_says_the_money_came_back(
        make_order: OrderFactory, buyer: Any, shop: Shop) -> None:
    order_id = make_order("delivered")
    page = buyer.get(f"/orders/{order_id}", headers=HTML).text
    buyer.post(f"/orders/{order_id}/returns", headers=HTML,
               data={"csrf_token": csrf_from(page), "reason": "Too small"})
    return_id = buyer.get(f"/api/v1/orders/{order_id}").json()["returns"][0]["id"]
    seller_page = shop.seller.get(f"/seller/orders/{order_id}", headers=HTML).text
    shop.seller.post(f"/seller/returns/{return_id}/approve", headers=HTML, data={
        "csrf_token": csrf_from(seller_page), "order_id": str(order_id)})
    assert WAITING_FOR_ITEMS in buyer.get(f"/orders/{order_id}").text

    refunded = shop.seller.post(f"/api/v1/orders/{order_id}/refunds", json={"full": True},
                                headers={"Idempotency-Key": "return-refund-1"})
    assert refunded.status_code == 201, refunded.text
    after = buyer.get(f"/orders/{order_id}", headers=HTML).text
    assert WAITING_FOR_ITEMS not in after
    assert "Refunded: £58.99 went back to your card." in after
    assert buyer.get(f"/api/v1/orders/{order_id}").json()["returns"][0]["refunded"] == 5899


def test_a_partial_refund_after_a_return_is_told_as_so_far(
        make_order: OrderFactory, buyer: Any, shop: Shop) -> None:
    order_id = make_order("delivered")
    page = buyer.get(f"/orders/{order_id}", headers=HTML).text
    buyer.post(f"/orders/{order_id}/returns", headers=HTML,
               data={"csrf_token": csrf_from(page), "reason": "One is too small"})
    assert "Waiting for Tee Shop to answer" in buyer.get(f"/orders/{order_id}").text
    return_id = buyer.get(f"/api/v1/orders/{order_id}").json()["returns"][0]["id"]
    assert shop.seller.post(f"/api/v1/returns/{return_id}/approve").status_code in (200, 201)
    line_id = buyer.get(f"/api/v1/orders/{order_id}").json()["lines"][1]["id"]
    shop.seller.post(f"/api/v1/orders/{order_id}/refunds", headers={"Idempotency-Key": "p-1"},
                     json={"lines": [{"line_id": line_id, "quantity": 1}]})
    after = buyer.get(f"/orders/{order_id}", headers=HTML).text
    assert "£15.00 refunded to your card so far." in after and WAITING_FOR_ITEMS not in after


def test_the_order_page_pictures_each_line_and_shows_its_progress(
        db: Database, make_order: OrderFactory, buyer: Any, shop: Shop) -> None:
    with db.transaction() as session:
        product_id = session.scalar(select(Variant.product_id).where(
            Variant.id == shop.variant_ids[0]))
        session.add(ProductImage(product_id=product_id, path="products/1/tee.webp",
                                 content_type="image/webp", width=800, height=800))
    order_id = make_order("shipped")
    page = buyer.get(f"/orders/{order_id}", headers=HTML).text
    assert page.count('<img class="thumb" src="/media/products/1/tee.webp"') == 2
    progress = page[page.index('class="progress"'):page.index("</ol>")]
    assert progress.count('class="done"') == 3  # placed, paid, shipped
    assert 'class="todo"' in progress and "Delivered" in progress
    assert 'aria-current="step">\n    <span class="step-label">Shipped' in progress
    listing = buyer.get("/orders", headers=HTML).text
    assert '<img class="thumb" src="/media/products/1/tee.webp"' in listing


def test_the_address_prints_town_and_postcode_in_the_countrys_order(
        make_order: OrderFactory, buyer: Any) -> None:
    uk = buyer.get(f"/orders/{make_order()}", headers=HTML).text
    assert "London N1 1AA" in uk and "N1 1AA London" not in uk
    assert "United Kingdom" in uk and "<br>\n  GB" not in uk
    germany = buyer.get(f"/orders/{make_order(market='DE')}", headers=HTML).text
    assert "N1 1AA London" in germany  # German order: postcode first
