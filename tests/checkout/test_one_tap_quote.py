"""GET /api/v1/buy-now/quote: what a one-tap purchase at a price charges, shipping and tax
included, priced by checkout's one rule. The live room shows it before the tap (it used to
copy the rule into buying.js), so it must equal what the tap then charges."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from liveshop.core.db import Database
from tests.checkout.conftest import OK_CARD, UK_ADDRESS, Catalog

QUOTE = "/api/v1/buy-now/quote"


def test_a_uk_quote_adds_shipping_and_names_the_vat_it_contains(
        client: TestClient, catalog: Catalog) -> None:
    response = client.get(QUOTE, params={"shop_id": catalog.shop_a, "market": "UK",
                                         "unit_price": 2999})
    assert response.status_code == 200, response.text
    quote = response.json()
    # £29.99 + £3.99 shipping; the VAT inside them: £5.00 + £0.67.
    assert (quote["subtotal"], quote["shipping"], quote["tax"], quote["total"]) == (
        2999, 399, 567, 3398)
    assert quote["tax_inclusive"] and quote["currency"] == "GBP"
    assert quote["formatted"] == {"subtotal": "£29.99", "shipping": "£3.99", "tax": "£5.67",
                                  "total": "£33.98"}
    # The browser may keep it; a shared cache must not (it follows the visitor's session).
    assert response.headers["cache-control"] == "private, max-age=60"


def test_quantity_and_another_market_price_the_same_way(client: TestClient,
                                                        catalog: Catalog) -> None:
    quote = client.get(QUOTE, params={"shop_id": catalog.shop_a, "market": "DE",
                                      "unit_price": 1000, "quantity": 3}).json()
    assert (quote["subtotal"], quote["shipping"], quote["total"]) == (3000, 499, 3499)
    # 19% VAT contained in 30.00 (4.79) and in 4.99 (0.80), in German.
    assert quote["tax"] == 479 + 80
    assert quote["formatted"]["total"].replace("\xa0", " ").replace("\u202f", " ") == "34,99 €"


def test_a_shop_that_does_not_ship_to_the_market_is_refused_naming_the_market(
        client: TestClient, catalog: Catalog) -> None:
    response = client.get(QUOTE, params={"shop_id": catalog.shop_b, "market": "DE",
                                         "unit_price": 1000})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "market"
    unknown = client.get(QUOTE, params={"shop_id": catalog.shop_a, "market": "XX",
                                        "unit_price": 1000})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "market"
    negative = client.get(QUOTE, params={"shop_id": catalog.shop_a, "unit_price": -1})
    assert negative.status_code == 422 and negative.json()["error"]["field"] == "unit_price"


def test_the_quote_is_what_buying_now_charges(make_user: Any, catalog: Catalog,
                                              db: Database) -> None:
    buyer = make_user()
    assert buyer.post("/api/v1/me/addresses", json={**UK_ADDRESS, "is_default": True}
                      ).status_code == 201
    assert buyer.post("/api/v1/payment-methods", json={"card": OK_CARD, "make_default": True}
                      ).status_code == 201
    quote = buyer.get(QUOTE, params={"shop_id": catalog.shop_a, "market": "UK",
                                     "unit_price": 2400, "quantity": 2}).json()
    bought = buyer.post("/api/v1/buy-now", json={"variant_id": catalog.tee, "quantity": 2},
                        headers={"Idempotency-Key": uuid.uuid4().hex})
    assert bought.status_code == 200, bought.text
    charged = bought.json()
    assert (charged["total"], charged["tax"], charged["shipping"]) == (
        quote["total"], quote["tax"], quote["shipping"])
