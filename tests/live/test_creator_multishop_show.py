"""A creator's own show sells several shops' products: its lineup takes what the creator's
affiliate plans open to them; each purchase makes one order per shop carrying the show and
the creator, whose commission is posted; a flash sale of a shop's product starts only once
that shop approved it, its units held from that shop's stock. On SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from liveshop.checkout.market_variants import variant_in_market
from liveshop.checkout.one_tap import one_tap_details
from liveshop.checkout.schemas import CheckoutIn, PayIn
from liveshop.checkout.service import WantedLine, open_checkout, pay_checkout, ship_to_address
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.inventory.orm import StockLevel
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey
from liveshop.markets.model import MARKETS
from liveshop.orders.orm import Order, OrderLine
from liveshop.payments.provider import TestPaymentProvider
from tests.conftest import UserClient
from tests.factories import VariantSpec, actor_of_token, create_product, create_shop, make_buyers

SCARF, MUG = 2400, 1200  # £24.00 and £12.00, VAT 20% included


@dataclass
class Stage:
    creator: UserClient
    scarves: UserClient  # the owner of shop A
    mugs: UserClient  # the owner of shop B
    shop_a: int
    shop_b: int
    scarf: int  # product ids
    mug: int
    scarf_variant: int
    mug_variant: int


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def plan(owner: UserClient, shop_id: int, product_id: int, rate_bp: int,
         invited: UserClient | None = None) -> int:
    """An open plan, or one targeted at ``invited``, who accepts it (until then it earns
    nothing and opens nothing to them)."""
    body: dict[str, Any] = {"product_id": product_id, "rate_bp": rate_bp, "kind": "open"}
    if invited is not None:
        body |= {"kind": "targeted", "creator_id": invited.id,
                 "ends_at": (utcnow() + timedelta(days=30)).isoformat()}
    created = owner.post(f"/api/v1/shops/{shop_id}/affiliate-plans", json=body,
                         headers=key())
    assert created.status_code == 201, created.text
    plan_id = int(created.json()["id"])
    if invited is not None:
        accepted = invited.post(f"/api/v1/affiliate-plans/{plan_id}/accept")
        assert accepted.status_code == 200, accepted.text
    return plan_id


@pytest.fixture
def stage(db: Database, make_user: Callable[..., UserClient]) -> Stage:
    creator = make_user("creator", name="Nina")
    scarves, mugs = make_user("seller", name="Sam"), make_user("seller", name="Mo")
    shop_a = create_shop(db, scarves.id, {"UK": 399}, name="Scarves")
    shop_b = create_shop(db, mugs.id, {"UK": 299}, name="Mugs")
    scarf, (scarf_variant,) = create_product(
        db, shop_a, [VariantSpec(prices={"UK": SCARF}, stock=50)], title="Silk Scarf")
    mug, (mug_variant,) = create_product(
        db, shop_b, [VariantSpec(prices={"UK": MUG}, stock=50)], title="Stoneware Mug")
    plan(scarves, shop_a, scarf, 1000)  # open, 10%
    plan(mugs, shop_b, mug, 1500, invited=creator)  # targeted at Nina, 15%
    return Stage(creator, scarves, mugs, shop_a, shop_b, scarf, mug, scarf_variant,
                 mug_variant)


def create_own_show(user: UserClient, product_ids: list[int]) -> Any:
    return user.post("/api/v1/shows", json={
        "shop_id": None, "title": "Nina's picks", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "product_ids": product_ids})


def live_show(stage: Stage) -> int:
    created = create_own_show(stage.creator, [stage.scarf, stage.mug])
    assert created.status_code == 201, created.text
    show_id = int(created.json()["id"])
    assert stage.creator.post(f"/api/v1/shows/{show_id}/live").status_code == 200
    return show_id


def buy(client: TestClient, token: str, show_id: int, variant_id: int) -> Any:
    response = client.post(f"/api/v1/shows/{show_id}/buy",
                           json={"variant_id": variant_id, "quantity": 1},
                           headers={"Authorization": f"Bearer {token}", **key()})
    assert response.status_code in (201, 202), response.text
    return response.json()


def settled(client: TestClient, token: str, purchase: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while purchase.get("status") == "pending":
        assert time.monotonic() < deadline, purchase
        time.sleep(0.1)
        purchase = client.get(f"/api/v1/purchases/{purchase['purchase_id']}",
                              headers={"Authorization": f"Bearer {token}"}).json()
    return purchase


def orders_of_show(db: Database, show_id: int) -> list[tuple[int, int | None, int | None]]:
    with db.read() as session:
        return [tuple(row) for row in session.execute(  # type: ignore[misc]
            select(Order.shop_id, Order.show_id, Order.creator_id)
            .where(Order.show_id == show_id).order_by(Order.shop_id))]


def creator_owed(db: Database, creator_id: int) -> int:
    with db.read() as session:
        return -ledger.balance(session, AccountKey.creator_payable(creator_id, "GBP"))


def assert_books_even(db: Database) -> None:
    with db.read() as session:
        for totals in ledger.trial_balance(session):
            assert totals.debits == totals.credits, totals


# --- the lineup ---

def test_a_creators_own_lineup_takes_two_shops_products_they_have_plans_for(
        stage: Stage) -> None:
    created = create_own_show(stage.creator, [stage.scarf, stage.mug])
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["shop_id"] is None and view["product_ids"] == [stage.scarf, stage.mug]
    assert view["shop_name"] == "several shops"
    # Listed among the creator's shows, and as any show.
    assert view["id"] in [show["id"] for show in stage.creator.get("/api/v1/shows").json()]


def test_a_product_without_an_active_plan_is_refused_naming_its_field(
        stage: Stage, db: Database) -> None:
    unplanned, _ = create_product(db, stage.shop_a, [VariantSpec(prices={"UK": 999})],
                                  title="Plain Tee")
    refused = create_own_show(stage.creator, [stage.scarf, unplanned])
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "product_ids.1"
    assert refused.json()["error"]["code"] == "no_affiliate_plan"

    show_id = int(create_own_show(stage.creator, [stage.scarf]).json()["id"])
    # A paused plan opens nothing: changing the lineup to it is refused.
    mug_plan = stage.mugs.get(f"/api/v1/shops/{stage.shop_b}/affiliate-plans").json()[0]
    assert stage.mugs.patch(f"/api/v1/affiliate-plans/{mug_plan['id']}",
                            json={"paused": True}).status_code == 200
    changed = stage.creator.patch(f"/api/v1/shows/{show_id}",
                                  json={"product_ids": [stage.scarf, stage.mug]})
    assert changed.status_code == 422 and changed.json()["error"]["field"] == "product_ids.1"


def test_a_targeted_plan_opens_the_product_to_its_creator_only(
        stage: Stage, make_user: Callable[..., UserClient]) -> None:
    someone = make_user("creator", name="Other")
    refused = create_own_show(someone, [stage.scarf, stage.mug])
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "product_ids.1"
    assert create_own_show(someone, [stage.scarf]).status_code == 201


def test_only_a_creator_has_a_show_of_their_own(stage: Stage) -> None:
    refused = create_own_show(stage.scarves, [stage.scarf])
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "shop_id"


# --- buying: one order per shop, the creator's commission posted ---

def test_one_tap_buys_of_two_shops_make_an_order_each_with_the_creators_commission(
        stage: Stage, db: Database, client: TestClient) -> None:
    show_id = live_show(stage)
    (token,) = make_buyers(db, 1)
    buy(client, token, show_id, stage.scarf_variant)
    buy(client, token, show_id, stage.mug_variant)

    assert orders_of_show(db, show_id) == [(stage.shop_a, show_id, stage.creator.id),
                                           (stage.shop_b, show_id, stage.creator.id)]
    # Net of VAT: 2000 at 10% and 1000 at 15%.
    assert creator_owed(db, stage.creator.id) == 200 + 150
    earnings = stage.creator.get("/api/v1/me/earnings").json()
    assert sorted(line["net"] for line in earnings["lines"]) == [150, 200]
    assert_books_even(db)


def test_a_checkout_of_both_shops_from_the_show_is_one_payment_and_an_order_per_shop(
        stage: Stage, db: Database, settings: Settings) -> None:
    """The building blocks a room's purchase goes through, with lines of two shops: one
    checkout, one charge, one order per shop, each attributed to the show's creator."""
    show_id = live_show(stage)
    (token,) = make_buyers(db, 1)
    buyer = actor_of_token(db, token)
    assert buyer is not None
    market = MARKETS["UK"]
    address_id, method_id = one_tap_details(db, buyer.user_id, market)
    with db.transaction() as session:
        ship_to = ship_to_address(session, buyer, market, CheckoutIn(address_id=address_id))
        wanted = [WantedLine(variant_in_market(session, variant, market), 1, f"lines.{index}")
                  for index, variant in enumerate((stage.scarf_variant, stage.mug_variant))]
        checkout = open_checkout(session, settings, buyer, market, wanted, ship_to,
                                 source="buy_now", show_id=show_id,
                                 creator_id=stage.creator.id)
        checkout_id = checkout.id
    payments = TestPaymentProvider()
    pay_checkout(db, payments, settings, buyer, checkout_id,
                 PayIn(payment_method_id=method_id), uuid.uuid4().hex)

    assert orders_of_show(db, show_id) == [(stage.shop_a, show_id, stage.creator.id),
                                           (stage.shop_b, show_id, stage.creator.id)]
    with db.read() as session:
        assert {order.checkout_id for order in session.scalars(
            select(Order).where(Order.show_id == show_id))} == {checkout_id}
        rates = sorted(session.scalars(select(OrderLine.commission_bp).join(
            Order, Order.id == OrderLine.order_id).where(Order.show_id == show_id)))
    assert rates == [1000, 1500]
    assert creator_owed(db, stage.creator.id) == 350
    assert_books_even(db)


# --- flash sales with the shop's consent ---

SALE = {"prices": {"UK": 1800}, "quantity": 5, "per_buyer_limit": 1, "duration_seconds": 300}


def propose(stage: Stage, show_id: int, variant_id: int, price: int = 1800) -> Any:
    return stage.creator.post(f"/api/v1/shows/{show_id}/sale-proposals", json={
        "variant_id": variant_id, **SALE, "prices": {"UK": price}}, headers=key())


def available(db: Database, variant_id: int) -> int:
    with db.read() as session:
        return int(session.scalar(select(StockLevel.available).where(
            StockLevel.variant_id == variant_id)) or 0)


def test_a_flash_sale_starts_only_once_the_shop_approved_it(
        stage: Stage, db: Database, client: TestClient) -> None:
    show_id = live_show(stage)
    # Not without consent.
    direct = stage.creator.post(f"/api/v1/shows/{show_id}/sales",
                                json={"variant_id": stage.scarf_variant, **SALE})
    assert direct.status_code == 409 and direct.json()["error"]["code"] == "consent_required"

    proposed = propose(stage, show_id, stage.scarf_variant)
    assert proposed.status_code == 201, proposed.text
    proposal = proposed.json()
    assert (proposal["shop_id"], proposal["status"]) == (stage.shop_a, "proposed")
    start = f"/api/v1/shows/{show_id}/sale-proposals/{proposal['id']}/start"
    refused = stage.creator.post(start)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_approved"

    # Only the product's shop decides: not the other seller, not the creator.
    for outsider in (stage.mugs, stage.creator):
        assert outsider.post(f"/api/v1/sale-proposals/{proposal['id']}/approve"
                             ).status_code == 403
    assert [p["id"] for p in stage.scarves.get("/api/v1/sale-proposals").json()] == [
        proposal["id"]]
    assert stage.mugs.get("/api/v1/sale-proposals").json() == []
    approved = stage.scarves.post(f"/api/v1/sale-proposals/{proposal['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    before = available(db, stage.scarf_variant)
    started = stage.creator.post(start)
    assert started.status_code == 201, started.text
    assert started.json()["prices"] == {"UK": 1800}
    # Its units are held from the scarf shop's stock.
    assert available(db, stage.scarf_variant) == before - SALE["quantity"]
    again = stage.creator.post(start)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_approved"

    (token,) = make_buyers(db, 1)
    paid = settled(client, token, buy(client, token, show_id, stage.scarf_variant))
    assert paid["status"] == "paid", paid
    assert orders_of_show(db, show_id) == [(stage.shop_a, show_id, stage.creator.id)]
    # 1800 with VAT: net 1500, 10% = 150.
    assert creator_owed(db, stage.creator.id) == 150
    assert_books_even(db)


def test_a_declined_proposal_never_starts_and_stays_declined(stage: Stage) -> None:
    show_id = live_show(stage)
    proposal = propose(stage, show_id, stage.mug_variant, price=900).json()
    assert stage.mugs.post(f"/api/v1/sale-proposals/{proposal['id']}/decline"
                           ).json()["status"] == "declined"
    # A retried click changes nothing; changing one's mind afterwards is refused.
    assert stage.mugs.post(f"/api/v1/sale-proposals/{proposal['id']}/decline"
                           ).status_code == 200
    late = stage.mugs.post(f"/api/v1/sale-proposals/{proposal['id']}/approve")
    assert late.status_code == 409 and late.json()["error"]["code"] == "already_decided"
    refused = stage.creator.post(
        f"/api/v1/shows/{show_id}/sale-proposals/{proposal['id']}/start")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_approved"


def test_a_proposal_is_checked_like_the_sale_it_would_start(stage: Stage) -> None:
    show_id = live_show(stage)
    too_dear = stage.creator.post(f"/api/v1/shows/{show_id}/sale-proposals", json={
        "variant_id": stage.mug_variant, **SALE, "prices": {"UK": MUG}}, headers=key())
    assert too_dear.status_code == 422 and too_dear.json()["error"]["field"] == "prices.UK"
    # A shop's own show starts its sales directly.
    own = stage.scarves.post("/api/v1/shows", json={
        "shop_id": stage.shop_a, "title": "Shop show", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "product_ids": [stage.scarf]}).json()
    not_needed = stage.scarves.post(f"/api/v1/shows/{own['id']}/sale-proposals", json={
        "variant_id": stage.scarf_variant, **SALE}, headers=key())
    assert not_needed.status_code == 409


def test_the_show_is_its_creators_alone(stage: Stage) -> None:
    show_id = live_show(stage)
    for seller in (stage.scarves, stage.mugs):
        assert seller.put(f"/api/v1/shows/{show_id}/pin",
                          json={"product_id": stage.scarf}).status_code == 403
    pinned = stage.creator.put(f"/api/v1/shows/{show_id}/pin", json={"product_id": stage.mug})
    assert pinned.status_code == 200 and pinned.json()["product"]["shop_id"] == stage.shop_b

