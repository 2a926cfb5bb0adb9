"""The product form asks for one price, in the shop's main market; the other markets'
prices are worked out by markets/model.py's rule, shown, and kept when the seller sets one."""

from __future__ import annotations

import re
from typing import Any

from liveshop.markets.model import MARKETS, derive_price
from tests.catalog.helpers import make_shop
from tests.html import csrf_from

HTML = {"Accept": "text/html", "Accept-Language": "en-GB"}
UK, DE, FR, US = (MARKETS[code] for code in ("UK", "DE", "FR", "US"))


def prices_of(seller: Any, product_id: int) -> dict[str, tuple[int, int | None]]:
    variant = seller.get(f"/api/v1/products/{product_id}").json()["variants"][0]
    return {code: (price["amount"], price["compare_at"])
            for code, price in variant["prices"].items()}


def box(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert match, name
    return match.group(1)


def create(seller: Any, shop_id: int, fields: dict[str, str]) -> int:
    page = seller.get(f"/seller/shops/{shop_id}/products", headers=HTML).text
    posted = seller.post(f"/seller/shops/{shop_id}/products", headers=HTML, data={
        "csrf_token": csrf_from(page), "title": "Cable Jumper", "status": "active",
        "base_market": "UK", "variant-0-sku": "CJ-1", **fields}, follow_redirects=False)
    assert posted.status_code == 303, posted.text
    return int(posted.headers["location"].split("/")[-1].split("?")[0])


def test_one_price_in_the_main_market_prices_every_market_the_shop_ships_to(
        make_user: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller, markets={"UK": 399, "DE": 499, "FR": 499, "US": 599})
    page = seller.get(f"/seller/shops/{shop['id']}/products", headers=HTML).text
    assert box(page, "base_market") == "UK"
    assert "rounded up to the next .99" in page and "1 EUR = 0.87 GBP = 1.16 USD" in page
    assert 'name="variant-0-price-DE"' in page  # editable before saving

    product_id = create(seller, shop["id"], {"variant-0-price-UK": "29.99",
                                             "variant-0-compare-UK": "49.99"})
    assert prices_of(seller, product_id) == {
        "UK": (2999, 4999),
        "DE": (derive_price(2999, UK, DE), derive_price(4999, UK, DE)),
        "FR": (derive_price(2999, UK, FR), derive_price(4999, UK, FR)),
        "US": (derive_price(2999, UK, US), derive_price(4999, UK, US)),
    }
    assert prices_of(seller, product_id)["DE"] == (3499, 5699)


def test_a_price_the_seller_sets_is_kept_and_the_others_follow_the_main_price(
        make_user: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller, markets={"UK": 399, "DE": 499, "FR": 499, "US": 599})
    # As the page's script leaves it: DE changed by the seller, FR as worked out, US emptied.
    product_id = create(seller, shop["id"], {
        "variant-0-price-UK": "29.99",
        "variant-0-price-DE": "31.00", "variant-0-derived-price-DE": "34.99",
        "variant-0-price-FR": "34.99", "variant-0-derived-price-FR": "34.99",
        "variant-0-price-US": "", "variant-0-derived-price-US": "33.99"})
    assert {code: amount for code, (amount, _) in prices_of(seller, product_id).items()} == {
        "UK": 2999, "DE": 3100, "FR": derive_price(2999, UK, FR)}

    edit = seller.get(f"/seller/products/{product_id}", headers=HTML).text
    first_row = edit[edit.index('data-row="0"'):edit.index('data-row="1"')]
    cells = dict(re.findall(r'data-market="(\w\w)">\s*<span class="price-market">\w\w '
                            r'<small class="muted">\w{3}</small> '
                            r'<small class="set-by-you"( hidden)?>', first_row))
    assert cells == {"DE": "", "FR": " hidden", "US": ""}  # DE set by the seller, US not sold

    # The main price goes up, the form posted as shown (no script): FR follows, DE stays.
    fields = {name: box(edit, name) for name in re.findall(r'name="(variant-0-[^"]+)"', edit)}
    fields["variant-0-price-UK"] = "39.99"
    saved = seller.post(f"/seller/products/{product_id}/variants", headers=HTML, data={
        "csrf_token": csrf_from(edit), "base_market": box(edit, "base_market"), **fields},
        follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert {code: amount for code, (amount, _) in prices_of(seller, product_id).items()} == {
        "UK": 3999, "DE": 3100, "FR": derive_price(3999, UK, FR)}


def test_the_main_market_is_the_visitors_when_the_shop_ships_there_and_can_be_switched(
        make_user: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller, markets={"DE": 499, "US": 599})
    url = f"/seller/shops/{shop['id']}/products"
    assert box(seller.get(url, headers=HTML).text, "base_market") == "DE"
    switched = seller.get(url + "?base_market=US", headers=HTML).text
    assert box(switched, "base_market") == "US"
    assert "before sales tax" in switched


def test_the_api_works_out_the_same_prices(client: Any) -> None:
    answer = client.get("/api/v1/markets/UK/derived-prices?amount=2999&compare_at=4999")
    assert answer.status_code == 200, answer.text
    prices = {p["market"]: (p["amount"], p["compare_at"]) for p in answer.json()["prices"]}
    assert prices["DE"] == (3499, 5699) and "UK" not in prices
    assert answer.json()["rates_as_of"] == "2026-12-01"
    refused = client.get("/api/v1/markets/UK/derived-prices?amount=0")
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "amount"


def test_without_the_script_the_worked_out_prices_are_shown_before_saving(
        make_user: Any) -> None:
    seller = make_user("seller")
    shop = make_shop(seller, markets={"UK": 399, "DE": 499})
    url = f"/seller/shops/{shop['id']}/products"
    page = seller.get(url, headers=HTML).text
    shown = seller.post(url, headers=HTML, data={
        "csrf_token": csrf_from(page), "title": "Cable Jumper", "base_market": "UK",
        "variant-0-sku": "CJ-1", "variant-0-price-UK": "29.99", "preview": "1"})
    assert shown.status_code == 200
    assert box(shown.text, "variant-0-price-DE") == "34.99"
    assert '<details class="other-prices" open>' in shown.text
    assert seller.get("/api/v1/shops/mine").json()[0]["id"] == shop["id"]
    assert "Cable Jumper" not in seller.get(url, headers=HTML).text  # nothing saved


def test_a_price_too_large_for_a_market_is_not_worked_out_there(client: Any) -> None:
    # 1,000,000.00 USD is the largest price; in euros with VAT it would be more than that.
    answer = client.get("/api/v1/markets/US/derived-prices?amount=100000000&compare_at=100000000")
    assert answer.status_code == 200, answer.text
    markets = {p["market"] for p in answer.json()["prices"]}
    assert "DE" not in markets and "UK" in markets, markets
    highest = client.get("/api/v1/markets/UK/derived-prices?amount=50000000&compare_at=90000000")
    for price in highest.json()["prices"]:
        assert price["amount"] <= 100_000_000
        assert price["compare_at"] is None or price["compare_at"] <= 100_000_000
