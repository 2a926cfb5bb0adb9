"""A creator's live sale earns commission in the books: posted with the payment, clawed back
with a refund, once however often either is retried. On SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from liveshop.core.db import Database, utcnow
from liveshop.creators.model import LINE_PAID, LINE_REFUNDED, SHIPPING_PAID
from liveshop.ledger import service as ledger
from liveshop.ledger.model import AccountKey, SourceKey
from liveshop.ledger.orm import JournalEntryRow
from liveshop.orders import commission
from liveshop.orders.orm import Order, OrderLine
from tests.conftest import UserClient
from tests.factories import VariantSpec, create_product, create_shop, make_buyers

PRICE = 2400  # £24.00, VAT 20% included: 400 VAT, 2000 net
SHIPPING = 399


@dataclass
class Stage:
    owner: UserClient
    creator: UserClient
    shop_id: int
    product_id: int
    variant_id: int


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def schedule_live(user: UserClient, shop_id: int, product_id: int) -> int:
    created = user.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Tonight", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "product_ids": [product_id]})
    assert created.status_code == 201, created.text
    show_id = int(created.json()["id"])
    assert user.post(f"/api/v1/shows/{show_id}/live").status_code == 200
    return show_id


def buy(client: TestClient, token: str, show_id: int, variant_id: int, quantity: int = 1,
        idempotency_key: str | None = None) -> Any:
    response = client.post(f"/api/v1/shows/{show_id}/buy",
                           json={"variant_id": variant_id, "quantity": quantity},
                           headers={"Authorization": f"Bearer {token}",
                                    "Accept-Language": "en-GB",
                                    "Idempotency-Key": idempotency_key or uuid.uuid4().hex})
    assert response.status_code < 300, response.text
    return response.json()


def open_plan(stage: Stage, rate_bp: int) -> dict[str, Any]:
    created = stage.owner.post(f"/api/v1/shops/{stage.shop_id}/affiliate-plans", json={
        "product_id": stage.product_id, "kind": "open", "rate_bp": rate_bp}, headers=key())
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


@pytest.fixture
def stage(db: Database, make_user: Callable[..., UserClient]) -> Stage:
    owner, creator = make_user("seller", name="Sam Seller"), make_user("creator", name="Nina")
    shop_id = create_shop(db, owner.id, {"UK": SHIPPING})
    product_id, (variant_id,) = create_product(
        db, shop_id, [VariantSpec(prices={"UK": PRICE}, stock=100)], title="Silk Scarf")
    # The grant lets Nina host the shop's shows; at 0% it earns nothing by itself.
    invited = owner.put(f"/api/v1/shops/{shop_id}/creators/{creator.id}",
                        json={"commission_percent": 0})
    assert invited.status_code == 200, invited.text
    return Stage(owner, creator, shop_id, product_id, variant_id)


def only_line(db: Database, order_id: int) -> OrderLine:
    with db.read() as session:
        line = session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)).one()
        session.expunge(line)
        return line


def entry_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(JournalEntryRow)) or 0


def creator_balance(db: Database, creator_id: int) -> int:
    with db.read() as session:
        return ledger.balance(session, AccountKey.creator_payable(creator_id, "GBP"))


def assert_books_even(db: Database) -> None:
    with db.read() as session:
        for totals in ledger.trial_balance(session):
            assert totals.debits == totals.credits, totals


def test_a_creator_hosted_live_purchase_posts_a_balanced_entry_with_the_commission(
        stage: Stage, db: Database, client: TestClient) -> None:
    open_plan(stage, 1000)
    show_id = schedule_live(stage.creator, stage.shop_id, stage.product_id)
    (token,) = make_buyers(db, 1)
    paid = buy(client, token, show_id, stage.variant_id)
    order_id = paid_order_id(db, paid)

    line = only_line(db, order_id)
    assert (line.creator_id, line.commission_bp, line.bonus_bp, line.fee_bp) == (
        stage.creator.id, 1000, 0, 500)
    with db.read() as session:
        posted = ledger.entry_of(session, SourceKey(LINE_PAID, str(line.id)))
        assert posted is not None
        legs = {(leg.account.kind.value, str(leg.account.owner)): leg.amount
                for leg in posted.legs}
        assert legs == {("cash", "platform:liveshop"): 2400,
                        ("vat_payable", "market:UK"): -400,
                        ("creator_payable", f"creator:{stage.creator.id}"): -200,
                        ("platform_fee_revenue", "market:UK"): -100,
                        ("seller_payable", f"shop:{stage.shop_id}"): -1700}
        assert ledger.entry_of(session, SourceKey(SHIPPING_PAID, str(order_id))) is not None
    assert creator_balance(db, stage.creator.id) == -200
    assert_books_even(db)

    # The seller sees the creator's commission on the order; the buyer does not.
    detail = stage.owner.get(f"/api/v1/orders/{order_id}").json()
    assert [(c["creator_id"], c["earned"], c["state"]) for c in detail["commissions"]] == [
        (stage.creator.id, 200, "earned")]
    page = stage.owner.get(f"/seller/orders/{order_id}", headers={"Accept": "text/html"})
    assert "Creator commission" in page.text and "Nina" in page.text
    # The creator's earnings, from the books.
    earnings = stage.creator.get("/api/v1/me/earnings").json()
    assert earnings["pending"] == {"GBP": 200}
    assert [(line["line_id"], line["net"], line["state"]) for line in earnings["lines"]] == [
        (line.id, 200, "earned")]
    page = stage.creator.get("/creators/earnings", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Silk Scarf" in page.text


def paid_order_id(db: Database, paid: dict[str, Any]) -> int:
    with db.read() as session:
        return session.scalars(select(Order.id).where(
            Order.checkout_id == paid["checkout_id"])).one()


def test_a_sellers_own_show_posts_no_commission(stage: Stage, db: Database,
                                                client: TestClient) -> None:
    open_plan(stage, 1000)
    show_id = schedule_live(stage.owner, stage.shop_id, stage.product_id)
    (token,) = make_buyers(db, 1)
    order_id = paid_order_id(db, buy(client, token, show_id, stage.variant_id))

    line = only_line(db, order_id)
    assert (line.creator_id, line.commission_bp, line.fee_bp) == (None, 0, 500)
    with db.read() as session:
        posted = ledger.entry_of(session, SourceKey(LINE_PAID, str(line.id)))
        assert posted is not None
        assert {leg.account.kind.value for leg in posted.legs} == {
            "cash", "vat_payable", "platform_fee_revenue", "seller_payable"}
    assert creator_balance(db, stage.creator.id) == 0
    assert stage.owner.get(f"/api/v1/orders/{order_id}").json()["commissions"] == []
    assert_books_even(db)


def test_a_creator_without_a_plan_or_a_paying_grant_earns_nothing(
        stage: Stage, db: Database, client: TestClient) -> None:
    show_id = schedule_live(stage.creator, stage.shop_id, stage.product_id)
    (token,) = make_buyers(db, 1)
    order_id = paid_order_id(db, buy(client, token, show_id, stage.variant_id))
    assert only_line(db, order_id).creator_id is None
    assert creator_balance(db, stage.creator.id) == 0
    assert_books_even(db)


def test_a_partial_refund_claws_back_in_proportion_and_a_rate_change_is_for_later_sales(
        stage: Stage, db: Database, client: TestClient) -> None:
    plan = open_plan(stage, 1000)
    show_id = schedule_live(stage.creator, stage.shop_id, stage.product_id)
    (token,) = make_buyers(db, 1)
    order_id = paid_order_id(db, buy(client, token, show_id, stage.variant_id, quantity=3))
    line = only_line(db, order_id)
    # 3 x £24.00: net 6000, commission 600.
    assert creator_balance(db, stage.creator.id) == -600

    # A rate change after the sale leaves the line's rate alone.
    changed = stage.owner.patch(f"/api/v1/affiliate-plans/{plan['id']}", json={"rate_bp": 2000})
    assert changed.status_code == 200, changed.text
    assert only_line(db, order_id).commission_bp == 1000

    refund_key = uuid.uuid4().hex
    for _ in range(2):  # a retried refund replays: posts nothing twice
        refunded = stage.owner.post(f"/api/v1/orders/{order_id}/refunds", json={
            "lines": [{"line_id": line.id, "quantity": 1}]},
            headers={"Idempotency-Key": refund_key})
        assert refunded.status_code == 201, refunded.text
    refund_id = refunded.json()["refund"]["id"]
    with db.read() as session:
        clawback = ledger.entry_of(session, SourceKey(LINE_REFUNDED, f"{refund_id}:{line.id}"))
        assert clawback is not None
        by_kind = {leg.account.kind.value: leg.amount for leg in clawback.legs}
    assert by_kind == {"cash": -2400, "vat_payable": 400, "creator_payable": 200,
                       "platform_fee_revenue": 100, "seller_payable": 1700}
    assert creator_balance(db, stage.creator.id) == -400
    earnings = stage.creator.get("/api/v1/me/earnings").json()
    assert [(e["earned"], e["clawed_back"], e["net"], e["state"])
            for e in earnings["lines"]] == [(600, 200, 400, "partly_clawed_back")]

    # The rest, in full (with shipping): everything comes back, exactly.
    full = stage.owner.post(f"/api/v1/orders/{order_id}/refunds", json={"full": True},
                            headers=key())
    assert full.status_code == 201, full.text
    assert creator_balance(db, stage.creator.id) == 0
    with db.read() as session:
        assert ledger.balance(session, AccountKey.seller_payable(stage.shop_id, "GBP")) == 0
        assert ledger.balance(session, AccountKey.cash("GBP")) == 0
    assert stage.creator.get("/api/v1/me/earnings").json()["lines"][0]["state"] == "clawed_back"
    assert_books_even(db)

    # A sale after the change earns the new rate.
    later = paid_order_id(db, buy(client, token, show_id, stage.variant_id))
    assert only_line(db, later).commission_bp == 2000


def test_paying_again_or_retrying_posts_once(stage: Stage, db: Database,
                                             client: TestClient) -> None:
    open_plan(stage, 1000)
    show_id = schedule_live(stage.creator, stage.shop_id, stage.product_id)
    (token,) = make_buyers(db, 1)
    retry_key = uuid.uuid4().hex
    first = buy(client, token, show_id, stage.variant_id, idempotency_key=retry_key)
    entries = entry_count(db)
    assert entries == 2  # the line and the shipping
    again = buy(client, token, show_id, stage.variant_id, idempotency_key=retry_key)
    assert again["checkout_id"] == first["checkout_id"]
    # Booking the paid order again (a re-run after a crash) posts nothing new either.
    with db.transaction() as session:
        order = session.scalars(select(Order).where(
            Order.checkout_id == first["checkout_id"])).one()
        commission.book_paid(session, order)
    assert entry_count(db) == entries
    assert creator_balance(db, stage.creator.id) == -200
    assert_books_even(db)


def test_a_flash_sale_bought_in_the_creators_room_earns_commission_once_settled(
        stage: Stage, db: Database, client: TestClient) -> None:
    """Flash-sale taps are answered before they are paid; the settlement queue pays them
    (liveshop/live/purchase_settlement.py) through the same payment step, which books them."""
    open_plan(stage, 1500)
    show_id = schedule_live(stage.creator, stage.shop_id, stage.product_id)
    sale = stage.creator.post(f"/api/v1/shows/{show_id}/sales", json={
        "variant_id": stage.variant_id, "prices": {"UK": 1200}, "quantity": 5,
        "per_buyer_limit": 1, "duration_seconds": 120})
    assert sale.status_code == 201, sale.text
    (token,) = make_buyers(db, 1)
    tapped = buy(client, token, show_id, stage.variant_id)
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 20
    while tapped["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
        tapped = client.get(f"/api/v1/purchases/{tapped['purchase_id']}",
                            headers=headers).json()
    assert tapped["status"] == "paid", tapped
    line = only_line(db, paid_order_id(db, tapped))
    assert (line.unit_price, line.creator_id, line.commission_bp) == (
        1200, stage.creator.id, 1500)
    # £12.00 with VAT: net 1000, 15% = 150.
    assert creator_balance(db, stage.creator.id) == -150
    assert_books_even(db)


def test_a_creator_buying_in_their_own_room_earns_nothing(stage: Stage, db: Database) -> None:
    open_plan(stage, 1000)
    with db.read() as session:
        own = Order(buyer_id=stage.creator.id, creator_id=stage.creator.id, show_id=1,
                    shop_id=stage.shop_id)
        assert commission._terms_now(session, own, utcnow()) == {}
        viewer = Order(buyer_id=stage.owner.id + 1000, creator_id=stage.creator.id,
                       show_id=1, shop_id=stage.shop_id)
        viewer.lines = [OrderLine(variant_id=stage.variant_id)]
        assert commission._terms_now(session, viewer, utcnow()) == {
            stage.variant_id: (stage.creator.id, 1000)}
