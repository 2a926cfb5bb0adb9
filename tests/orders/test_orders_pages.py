from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from liveshop.orders.orm import OrderLine
from tests.orders.conftest import OrderFactory, Shop

HTML = {"Accept": "text/html"}


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no csrf_token in the page"
    return found.group(1)


def number_of(client: Any, order_id: int) -> str:
    return str(client.get(f"/api/v1/orders/{order_id}").json()["number"])


def test_buyer_history_and_thank_you_notice(make_order: OrderFactory, buyer: Any) -> None:
    order_id = make_order()
    number = number_of(buyer, order_id)
    checkout_id = buyer.get(f"/api/v1/orders/{order_id}").json()["checkout_id"]
    page = buyer.get("/orders", headers=HTML)
    assert page.status_code == 200
    assert f'data-order-number="{number}"' in page.text
    assert '<span class="badge paid">paid</span>' in page.text
    assert f'href="/orders/{order_id}"' in page.text and "Tee Shop" in page.text
    assert "£58.99" in page.text
    assert "Thank you" not in page.text
    thanks = buyer.get(f"/orders?checkout={checkout_id}", headers=HTML)
    assert "Thank you — your order(s) are paid" in thanks.text


def test_pages_need_login_and_hide_other_peoples_orders(
        make_order: OrderFactory, client: Any, make_user: Any, buyer: Any, shop: Shop) -> None:
    order_id = make_order()
    login = client.get(f"/orders/{order_id}", headers=HTML, follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"].startswith("/login")
    assert make_user("buyer").get(f"/orders/{order_id}", headers=HTML).status_code == 404
    other = make_user("seller")
    assert other.get(f"/seller/orders/{order_id}", headers=HTML).status_code == 404
    assert other.get(f"/seller/shops/{shop.id}/orders", headers=HTML).status_code == 403
    assert buyer.get(f"/seller/orders/{order_id}", headers=HTML).status_code == 403


def test_detail_pages_render(make_order: OrderFactory, buyer: Any, shop: Shop) -> None:
    order_id = make_order()
    mine = buyer.get(f"/orders/{order_id}", headers=HTML)
    assert mine.status_code == 200
    for text in ("Logo Tee", "1 High Street", "Prices include 20% VAT", "Cancel order",
                 "Timeline"):
        assert text in mine.text
    listing = shop.seller.get(f"/seller/shops/{shop.id}/orders?status=paid", headers=HTML)
    assert listing.status_code == 200 and f'href="/seller/orders/{order_id}"' in listing.text
    seller_page = shop.seller.get(f"/seller/orders/{order_id}", headers=HTML)
    assert seller_page.status_code == 200
    for text in ('name="carrier"', 'name="tracking_number"', "Mark shipped",
                 'name="quantity"', "Full refund", "Ann Buyer"):
        assert text in seller_page.text


def test_mark_shipped_form_then_buyer_sees_tracking(make_order: OrderFactory, buyer: Any,
                                                    shop: Shop) -> None:
    order_id = make_order()
    page = shop.seller.get(f"/seller/orders/{order_id}", headers=HTML).text
    form = {"csrf_token": csrf_of(page), "carrier": "Royal Mail", "tracking_number": ""}
    missing = shop.seller.post(f"/seller/orders/{order_id}/ship", data=form, headers=HTML)
    assert missing.status_code == 422 and "Tracking number is required" in missing.text
    assert 'value="Royal Mail"' in missing.text

    form["tracking_number"] = "RM 555 GB"
    shipped = shop.seller.post(f"/seller/orders/{order_id}/ship", data=form, headers=HTML)
    assert shipped.status_code == 200 and "Marked as shipped" in shipped.text
    assert "Mark delivered" in shipped.text

    history = buyer.get("/orders", headers=HTML).text
    assert '<span class="badge shipped">shipped</span>' in history
    detail = buyer.get(f"/orders/{order_id}", headers=HTML).text
    assert "Royal Mail" in detail and "RM 555 GB" in detail
    assert "Cancel order" not in detail

    again = shop.seller.post(f"/seller/orders/{order_id}/ship", data=form, headers=HTML)
    assert again.status_code == 409 and "cannot become shipped" in again.text


def test_forms_reject_missing_csrf(make_order: OrderFactory, shop: Shop) -> None:
    order_id = make_order()
    response = shop.seller.post(f"/seller/orders/{order_id}/ship", headers=HTML,
                                data={"carrier": "DHL", "tracking_number": "1"})
    assert response.status_code == 403


def test_refund_forms(make_order: OrderFactory, shop: Shop, buyer: Any, db: Any) -> None:
    order_id = make_order()
    page = shop.seller.get(f"/seller/orders/{order_id}", headers=HTML).text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert key
    with db.read() as session:
        lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)
                                .order_by(OrderLine.id)).all()
    form = {"csrf_token": csrf_of(page), "idempotency_key": key.group(1),
            "line_id": [str(line.id) for line in lines], "quantity": ["3", "0"]}
    over = shop.seller.post(f"/seller/orders/{order_id}/refunds", data=form, headers=HTML)
    assert over.status_code == 409 and f"line {lines[0].id}" in over.text

    form.update(idempotency_key="fresh", quantity=["1", "0"])
    ok = shop.seller.post(f"/seller/orders/{order_id}/refunds", data=form, headers=HTML)
    assert ok.status_code == 200 and "Refund issued" in ok.text
    assert "1 refunded" in ok.text
    full = shop.seller.post(f"/seller/orders/{order_id}/refunds", headers=HTML, data={
        "csrf_token": csrf_of(page), "idempotency_key": "full-1", "full": "true"})
    assert full.status_code == 200
    assert '<span class="badge refunded">refunded</span>' in full.text
    assert "Full refund" not in full.text


def test_buyer_cancel_and_return_forms(make_order: OrderFactory, buyer: Any,
                                       shop: Shop) -> None:
    paid = make_order()
    page = buyer.get(f"/orders/{paid}", headers=HTML).text
    cancelled = buyer.post(f"/orders/{paid}/cancel", headers=HTML,
                           data={"csrf_token": csrf_of(page)})
    assert cancelled.status_code == 200 and "The order was cancelled" in cancelled.text

    delivered = make_order("delivered")
    page = buyer.get(f"/orders/{delivered}", headers=HTML).text
    assert "Request return" in page
    blank = buyer.post(f"/orders/{delivered}/returns", headers=HTML,
                       data={"csrf_token": csrf_of(page), "reason": " "})
    assert blank.status_code == 422 and "Reason is required" in blank.text
    sent = buyer.post(f"/orders/{delivered}/returns", headers=HTML,
                      data={"csrf_token": csrf_of(page), "reason": "Too small"})
    assert "Your return request was sent" in sent.text and "Request return" not in sent.text

    seller_page = shop.seller.get(f"/seller/orders/{delivered}", headers=HTML).text
    assert "Approving a return does not refund the buyer by itself" in seller_page
    return_id = buyer.get(f"/api/v1/orders/{delivered}").json()["returns"][0]["id"]
    approved = shop.seller.post(f"/seller/returns/{return_id}/approve", headers=HTML, data={
        "csrf_token": csrf_of(seller_page), "order_id": str(delivered)})
    assert approved.status_code == 200 and "Return approved" in approved.text
