"""A shop, a creator hosting its show with an open plan, and buyers: paid orders whose
delivery the tests date back past the withdrawal period (the clock moved)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from liveshop.core.db import Database, utcnow
from liveshop.orders.orm import Order
from tests.conftest import UserClient
from tests.creators.test_commission_posting import (
    Stage,
    buy,
    open_plan,
    paid_order_id,
    schedule_live,
)
from tests.factories import VariantSpec, create_product, create_shop, make_buyers

PRICE = 2400  # £24.00 with 20% VAT: net 2000; 10% commission 200, 5% fee 100, seller 1700
SHIPPING = 399  # VAT 67 (20% of 399 inclusive 66.5 -> 67): the seller gets 332


class Sales:
    def __init__(self, stage: Stage, db: Database, client: TestClient, show_id: int,
                 token: str):
        self.stage, self.db, self.client = stage, db, client
        self.show_id, self.token = show_id, token

    def order(self, quantity: int = 1) -> int:
        return paid_order_id(self.db, buy(self.client, self.token, self.show_id,
                                          self.stage.variant_id, quantity=quantity))

    def deliver(self, order_id: int, at: datetime) -> None:
        with self.db.transaction() as session:
            session.execute(update(Order).where(Order.id == order_id).values(
                status="delivered", shipped_at=at, delivered_at=at))

    def delivered_order(self, days_ago: int = 15, quantity: int = 1) -> int:
        order_id = self.order(quantity)
        self.deliver(order_id, utcnow() - timedelta(days=days_ago))
        return order_id

    def refund(self, order_id: int, body: dict[str, Any]) -> dict[str, Any]:
        refunded = self.stage.owner.post(f"/api/v1/orders/{order_id}/refunds", json=body,
                                         headers={"Idempotency-Key": f"r-{utcnow().timestamp()}"
                                                  f"-{order_id}-{body}"})
        assert refunded.status_code == 201, refunded.text
        result: dict[str, Any] = refunded.json()
        return result


@pytest.fixture
def sales(db: Database, make_user: Callable[..., UserClient], client: TestClient) -> Sales:
    owner, creator = make_user("seller", name="Sam Seller"), make_user("creator", name="Nina")
    shop_id = create_shop(db, owner.id, {"UK": SHIPPING})
    product_id, (variant_id,) = create_product(
        db, shop_id, [VariantSpec(prices={"UK": PRICE}, stock=500)], title="Silk Scarf")
    invited = owner.put(f"/api/v1/shops/{shop_id}/creators/{creator.id}",
                        json={"commission_percent": 0})
    assert invited.status_code == 200, invited.text
    stage = Stage(owner, creator, shop_id, product_id, variant_id)
    open_plan(stage, 1000)
    show_id = schedule_live(creator, shop_id, product_id)
    (token,) = make_buyers(db, 1)
    return Sales(stage, db, client, show_id, token)
