"""A connected store for the sync tests: the fake Shopify served on loopback, a seller's shop
connected to it and a buyer who pays for orders through the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from liveshop.catalog.orm import Variant
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.integrations.shopify.fake import DEFAULT_SECRET, DEFAULT_TOKEN, FakeShopify
from liveshop.inventory.orm import StockLevel
from liveshop.services import app_services
from tests.catalog.helpers import make_shop

OK_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
UK_ADDRESS = {"full_name": "Ann Buyer", "line1": "1 High St", "line2": "", "city": "London",
              "postcode": "N1 1AA", "country": "GB"}


def sync_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "shopify_allow_http": True, "shopify_app_secret": SecretStr(DEFAULT_SECRET),
        "shopify_retry_base_seconds": 0.01})


@dataclass
class Store:
    """The fake store, and the webhooks it sent that a test has not posted yet."""

    fake: FakeShopify
    sent: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def post_webhooks(self, http: Any) -> list[int]:
        """Post what the store sent, in the order it sent it; the answers' status codes."""
        sent, self.sent = self.sent, []
        return [http.post("/integrations/shopify/webhooks", content=body,
                          headers=headers).status_code for headers, body in sent]


def start_store() -> Store:
    """The fake store with two products, its webhooks kept for the test to post."""
    fake = FakeShopify(currency="GBP")
    fake.add_product("linen-shirt", "Linen Shirt", [
        {"sku": "LIN-S", "price": "29.00", "options": ["S"], "available": 6, "grams": 200},
        {"sku": "LIN-M", "price": "29.00", "compare_at": "39.00", "options": ["M"],
         "available": 4}], option_names=["Size"], description_html="<p>Soft <b>linen</b></p>",
        tags=["summer"])
    fake.add_product("mug", "Mug", [{"sku": "MUG-1", "price": "9.50", "available": 10}])
    store = Store(fake)
    def keep(headers: dict[str, str], body: bytes) -> int:
        store.sent.append((headers, body))
        return 200

    fake.sink = keep
    fake.start()
    return store


def connect(seller: Any, fake: FakeShopify, market: str = "UK") -> dict[str, Any]:
    shop = make_shop(seller, markets={"UK": 399})
    response = seller.put(f"/api/v1/shops/{shop['id']}/shopify", json={
        "domain": fake.domain, "access_token": DEFAULT_TOKEN, "market": market})
    assert response.status_code == 200, response.text
    return shop


def pull(seller: Any, shop_id: int) -> dict[str, Any]:
    response = seller.post(f"/api/v1/shops/{shop_id}/shopify/pull")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def variant_id(db: Database, shop_id: int, sku: str) -> int:
    with db.read() as session:
        found = session.scalar(select(Variant.id).where(Variant.shop_id == shop_id,
                                                        Variant.sku == sku))
        assert found is not None
        return found


def stock(db: Database, variant: int) -> tuple[int, int, int, int]:
    """available, reserved, held, sold"""
    with db.read() as session:
        level = session.get_one(StockLevel, variant)
        return level.available, level.reserved, level.held, level.sold


def buy(buyer: Any, variant: int, quantity: int = 1) -> dict[str, Any]:
    """A paid order through the API: cart, checkout, payment."""
    added = buyer.post("/api/v1/cart/items", json={"variant_id": variant, "quantity": quantity})
    assert added.status_code in (200, 201), added.text
    checkout = buyer.post("/api/v1/checkouts", json={"address": UK_ADDRESS},
                          headers={"Idempotency-Key": uuid.uuid4().hex})
    assert checkout.status_code == 201, checkout.text
    paid = buyer.post(f"/api/v1/checkouts/{checkout.json()['id']}/pay",
                      json={"card": OK_CARD}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert paid.status_code in (200, 201), paid.text
    body: dict[str, Any] = paid.json()
    return body


def deliver(app: Any) -> int:
    """What the outbox relay of a serving app would deliver now."""
    delivered: int = app_services(app).outbox.deliver_due()
    return delivered
