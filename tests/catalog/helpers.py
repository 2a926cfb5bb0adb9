"""Catalog test helpers: build shops and products through the public API."""

from __future__ import annotations

from typing import Any


def make_shop(seller: Any, name: str = "Tee Shop",
              markets: dict[str, int] | None = None) -> dict[str, Any]:
    markets = markets if markets is not None else {"DE": 499, "UK": 399, "US": 599}
    response = seller.post("/api/v1/shops", json={
        "name": name, "description": "Shirts",
        "markets": [{"market": m, "shipping": s} for m, s in markets.items()],
    })
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def product_body(title: str = "Linen Shirt", status: str = "active",
                 prices: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
    prices = prices or {"DE": 2299, "UK": 1999, "US": 2499}
    return {
        "title": title, "description": "Soft <b>linen</b>\nSecond line", "tags": ["Summer"],
        "status": status, "options": ["Size"],
        "variants": [
            {"sku": f"{title[:4]}-S", "options": ["S"], "weight_grams": 200,
             "prices": {m: {"amount": a} for m, a in prices.items()}},
            {"sku": f"{title[:4]}-M", "options": ["M"], "weight_grams": 220,
             "prices": {m: {"amount": a + 100, "compare_at": a + 1000}
                        for m, a in prices.items()}},
        ],
        **extra,
    }


def make_product(seller: Any, shop_id: int, **kwargs: Any) -> dict[str, Any]:
    response = seller.post(f"/api/v1/shops/{shop_id}/products", json=product_body(**kwargs))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
