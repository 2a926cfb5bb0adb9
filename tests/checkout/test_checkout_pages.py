from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from liveshop.core.db import Database
from liveshop.inventory.orm import StockLevel
from liveshop.orders.orm import Order
from tests.checkout.conftest import Catalog, add

HTML = {"Accept": "text/html"}
FORM_ADDRESS = {"full_name": "Ann Buyer", "line1": "1 High St", "line2": "", "city": "London",
                "postcode": "N1 1AA", "country": "GB"}


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert match, f"no hidden {name}"
    return match.group(1)


def test_add_to_cart_form_needs_login_and_returns_to_the_product(client: Any,
                                                                 catalog: Catalog) -> None:
    page = client.get("/login", headers=HTML).text
    response = client.post("/cart/items", data={
        "variant_id": str(catalog.tee), "quantity": "1", "csrf_token": hidden(page, "csrf_token"),
    }, headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/products/")
    assert client.get("/cart", headers=HTML, follow_redirects=False).headers[
        "location"] == "/login?next=/cart"


def test_cart_page_groups_by_shop_and_links_to_checkout(make_user: Any,
                                                         catalog: Catalog) -> None:
    buyer = make_user()
    csrf = buyer.headers["X-CSRF-Token"]
    added = buyer.post("/cart/items", data={"variant_id": str(catalog.tee), "quantity": "2",
                                            "csrf_token": csrf}, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == "/cart"
    add(buyer, catalog.mug)
    page = buyer.get("/cart", headers=HTML)
    assert page.status_code == 200
    html = page.text
    assert "Alpha Tees" in html and "Beta Mugs" in html
    assert '<a id="checkout" href="/checkout" class="button block">Checkout</a>' in html
    assert "£3.99" in html and "£2.50" in html and "£64.49" in html
    assert "include 20% VAT" in html
    bad = buyer.post("/cart/items", data={"variant_id": str(catalog.tee), "quantity": "0",
                                          "csrf_token": csrf})
    assert bad.status_code == 422 and "between 1 and 10" in bad.text


def test_cart_quantity_and_remove_forms(make_user: Any, catalog: Catalog) -> None:
    buyer = make_user()
    csrf = buyer.headers["X-CSRF-Token"]
    item_id = add(buyer, catalog.tee).json()["shops"][0]["lines"][0]["item_id"]
    buyer.post(f"/cart/items/{item_id}", data={"quantity": "3", "csrf_token": csrf})
    assert buyer.get("/api/v1/cart").json()["item_count"] == 3
    no_csrf = buyer.post(f"/cart/items/{item_id}/remove", data={})
    assert no_csrf.status_code == 403
    buyer.post(f"/cart/items/{item_id}/remove", data={"csrf_token": csrf})
    assert buyer.get("/api/v1/cart").json()["item_count"] == 0


def checkout_form(page: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": hidden(page, "csrf_token"),
            "idempotency_key": hidden(page, "idempotency_key"), **FORM_ADDRESS,
            "card_number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2030",
            "cvc": "123", **fields}


def test_checkout_page_shows_totals_before_paying_and_pays(make_user: Any, catalog: Catalog,
                                                           db: Database) -> None:
    buyer = make_user()
    add(buyer, catalog.tee, 2)
    add(buyer, catalog.mug)
    page = buyer.get("/checkout", headers=HTML)
    assert page.status_code == 200
    html = page.text
    for name in ("full_name", "line1", "line2", "city", "postcode", "card_number", "exp_month",
                 "exp_year", "cvc", "save_card"):
        assert f'name="{name}"' in html
    country_select = re.search(r'<select name="country".*?</select>', html, re.S)
    assert country_select and re.findall(r'value="(\w+)"', country_select.group(0)) == ["GB"]
    assert "Total to pay" in html and "£64.49" in html and "Includes VAT" in html
    assert re.search(r"<button[^>]*>Pay</button>", html)

    form = checkout_form(html, save_card="on")
    response = buyer.post("/checkout", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert re.fullmatch(r"/orders\?checkout=\d+", response.headers["location"])
    # A double submit of the same rendered form replays instead of ordering again.
    again = buyer.post("/checkout", data=form, follow_redirects=False)
    assert again.headers["location"] == response.headers["location"]
    with db.read() as session:
        orders = session.scalars(select(Order)).all()
        assert len(orders) == 2 and {o.status for o in orders} == {"paid"}
    assert buyer.get("/api/v1/cart").json()["item_count"] == 0
    # The saved card is offered next time.
    add(buyer, catalog.mug)
    assert "Visa ending 4242" in buyer.get("/checkout", headers=HTML).text


def test_declined_card_rerenders_with_the_error_and_keeps_the_cart(
        make_user: Any, catalog: Catalog, db: Database) -> None:
    buyer = make_user()
    add(buyer, catalog.tee, 2)
    page = buyer.get("/checkout", headers=HTML).text
    response = buyer.post("/checkout", data=checkout_form(
        page, card_number="4000000000000002"))
    assert response.status_code == 402
    assert "Your card was declined." in response.text
    assert 'value="London"' in response.text and "4000000000000002" not in response.text
    assert hidden(response.text, "idempotency_key") != hidden(page, "idempotency_key")
    assert buyer.get("/api/v1/cart").json()["item_count"] == 2
    with db.read() as session:
        level = session.get(StockLevel, catalog.tee)
        assert level is not None and (level.available, level.reserved) == (5, 0)


def test_invalid_card_frees_the_held_stock(make_user: Any, catalog: Catalog,
                                           db: Database) -> None:
    buyer = make_user()
    add(buyer, catalog.mug, 3)
    page = buyer.get("/checkout", headers=HTML).text
    response = buyer.post("/checkout", data=checkout_form(page, card_number="1234"))
    assert response.status_code == 422 and "card number is not valid" in response.text
    with db.read() as session:
        level = session.get(StockLevel, catalog.mug)
        assert level is not None and (level.available, level.reserved) == (3, 0)
    wrong_country = buyer.post("/checkout", data=checkout_form(response.text, country="DE"))
    assert wrong_country.status_code == 422
    assert 'data-field="address.country"' in wrong_country.text


def test_empty_cart_checkout_goes_back_to_the_cart(make_user: Any, catalog: Catalog) -> None:
    buyer = make_user()
    response = buyer.get("/checkout", headers=HTML, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/cart"
    assert "Your cart is empty" in buyer.get("/cart", headers=HTML).text
