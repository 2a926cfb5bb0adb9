"""Flash sales under load: never oversold, per-buyer limit held, sold-out and the end of
the sale reach every viewer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from sqlalchemy import func, select, update

from liveshop.accounts import security
from liveshop.accounts.orm import ApiToken
from liveshop.core.db import Database, utcnow
from liveshop.inventory.orm import StockLevel
from liveshop.live.orm import FlashSale
from liveshop.orders.orm import Order, OrderLine
from liveshop.payments.orm import Payment, PaymentMethod
from tests.factories import make_buyers
from tests.live.conftest import LiveShow, Person, settled

BUYERS = 300
UNITS = 40


def test_300_buyers_40_units_exactly_40_sold_limit_held_and_everyone_told(
    db: Database, live_show: LiveShow, people: Callable[..., Person], server: str
) -> None:
    host = live_show.host
    sale_variant = live_show.variant_ids[0]
    watchers = [people().join(live_show.id) for _ in range(5)]
    started = host.http.post(f"/api/v1/shows/{live_show.id}/sales", json={
        "variant_id": sale_variant, "prices": {"UK": 1000, "DE": 1200}, "quantity": UNITS,
        "per_buyer_limit": 1, "duration_seconds": 300})
    assert started.status_code == 201, started.text
    sale_id = started.json()["id"]
    for room in watchers:
        assert room.next("sale")["sale"]["remaining"] == UNITS

    tokens = make_buyers(db, BUYERS)

    # One client for every thread: building one per tap (an SSL context each) cost the test
    # more than the server spent answering.
    http = httpx.Client(base_url=f"http://{server}", timeout=60,
                        limits=httpx.Limits(max_connections=48))

    def tap(attempt: tuple[int, str]) -> httpx.Response:
        index, token = attempt
        response = http.post(
            f"/api/v1/shows/{live_show.id}/buy",
            json={"variant_id": sale_variant, "quantity": 1},
            headers={"Authorization": f"Bearer {token}", "Accept-Language": "en-GB",
                     "Idempotency-Key": f"tap-{index}"})
        assert response.status_code in (202, 409), response.text
        return response

    # Every buyer taps once; the first 60 tap a second time with a new key (limit is 1).
    attempts = list(enumerate(tokens)) + [(BUYERS + i, tokens[i]) for i in range(60)]
    with http, ThreadPoolExecutor(max_workers=48) as pool:
        answers = list(pool.map(tap, attempts))

    # A winner is answered 202 once its unit is claimed; the unit is paid for right after.
    winners = [answer for answer in answers if answer.status_code == 202]
    assert len(winners) == UNITS
    refusals = Counter(answer.json()["error"]["code"] for answer in answers
                       if answer.status_code == 409)
    assert sum(refusals.values()) == len(attempts) - UNITS
    assert set(refusals) <= {"sold_out", "limit_reached"}
    with httpx.Client(base_url=f"http://{server}", timeout=60) as http:
        assert {settled(http, winner)["status"] for winner in winners} == {"paid"}
    with db.read() as session:
        sale = session.get(FlashSale, sale_id)
        assert sale is not None and sale.remaining == 0
        sold_lines = session.execute(
            select(OrderLine.quantity, OrderLine.unit_price, Order.buyer_id, Order.show_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.variant_id == sale_variant, Order.status == "paid")).all()
        assert sum(line.quantity for line in sold_lines) == UNITS
        assert {line.unit_price for line in sold_lines} == {1000}
        assert {line.show_id for line in sold_lines} == {live_show.id}
        per_buyer = Counter(line.buyer_id for line in sold_lines)
        assert max(per_buyer.values()) == 1
        assert session.scalar(select(func.count()).select_from(Payment)
                              .where(Payment.status == "succeeded")) == UNITS
        stock = session.get(StockLevel, sale_variant)
        assert stock is not None and (stock.available, stock.reserved, stock.sold) == (0, 0, 40)

    for room in watchers:
        assert room.next("sale_sold_out", timeout=5)["sale_id"] == sale_id
        assert room.next("stock", timeout=5, where=lambda e: "sale" in e and
                         e["sale"]["remaining"] == 0)


def test_price_reverts_when_the_sale_ends(db: Database, live_show: LiveShow,
                                          people: Callable[..., Person], server: str) -> None:
    other_variant = live_show.variant_ids[1]
    watcher = people().join(live_show.id)
    sale = live_show.host.http.post(f"/api/v1/shows/{live_show.id}/sales", json={
        "variant_id": other_variant, "prices": {"UK": 900, "DE": 1100}, "quantity": 5,
        "per_buyer_limit": 5, "duration_seconds": 60}).json()
    watcher.next("sale")
    with db.transaction() as session:  # fast-forward the clock of this sale
        session.execute(update(FlashSale).where(FlashSale.id == sale["id"])
                        .values(ends_at=utcnow() - timedelta(seconds=1)))
    ended = watcher.next("sale_ended", timeout=5)
    assert (ended["sale_id"], ended["reason"]) == (sale["id"], "time")

    [token] = make_buyers(db, 1)
    with httpx.Client(base_url=f"http://{server}", timeout=30) as http:
        bought = http.post(f"/api/v1/shows/{live_show.id}/buy",
                           json={"variant_id": other_variant, "quantity": 1},
                           headers={"Authorization": f"Bearer {token}",
                                    "Accept-Language": "en-GB", "Idempotency-Key": "after"})
    assert bought.status_code == 201, bought.text
    assert bought.json()["flash_sale_id"] is None
    assert bought.json()["total"] == 2500 + 399  # regular price plus UK shipping


def test_a_retried_tap_claims_once_and_a_declined_card_gives_units_back(
    db: Database, live_show: LiveShow, server: str
) -> None:
    variant = live_show.variant_ids[0]
    sale = live_show.host.http.post(f"/api/v1/shows/{live_show.id}/sales", json={
        "variant_id": variant, "prices": {"UK": 1000, "DE": 1200}, "quantity": 3,
        "per_buyer_limit": 1, "duration_seconds": 60}).json()
    ok_token, declined_token = make_buyers(db, 2)
    with db.transaction() as session:
        session.execute(update(PaymentMethod).where(PaymentMethod.user_id == (
            select(ApiToken.user_id).where(
                ApiToken.token_hash == security.token_digest(declined_token)).scalar_subquery()
        )).values(token="tok_test_card_declined_x"))

    def buy(token: str, key: str) -> httpx.Response:
        with httpx.Client(base_url=f"http://{server}", timeout=30) as http:
            return http.post(f"/api/v1/shows/{live_show.id}/buy",
                             json={"variant_id": variant, "quantity": 1},
                             headers={"Authorization": f"Bearer {token}",
                                      "Accept-Language": "en-GB", "Idempotency-Key": key})

    first, retry = buy(ok_token, "same"), buy(ok_token, "same")
    assert first.status_code == 202 and retry.status_code in (201, 202)
    assert retry.json()["purchase_id"] == first.json()["purchase_id"]
    with httpx.Client(base_url=f"http://{server}", timeout=30) as http:
        paid = settled(http, first)
        declined = settled(http, buy(declined_token, "d1"))
    assert paid["status"] == "paid" and paid["total"] == 1000 + 399
    after_settling = buy(ok_token, "same")
    assert after_settling.status_code == 201 and after_settling.json() == paid
    assert declined["status"] == "failed" and declined["error"]["code"] == "card_declined"
    assert declined["order_numbers"] == [] and declined["checkout_id"] is None
    assert buy(declined_token, "d1").status_code == 402  # replayed, not re-run
    with db.read() as session:
        remaining = session.scalar(select(FlashSale.remaining).where(FlashSale.id == sale["id"]))
    assert remaining == 2  # one sold; the declined buyer's unit came back exactly once


def test_a_tap_for_more_units_than_one_buyer_may_hold_is_refused(
    db: Database, live_show: LiveShow, server: str
) -> None:
    variant = live_show.variant_ids[0]
    started = live_show.host.http.post(f"/api/v1/shows/{live_show.id}/sales", json={
        "variant_id": variant, "prices": {"UK": 1000, "DE": 1200}, "quantity": 30,
        "per_buyer_limit": 20, "duration_seconds": 60})
    assert started.status_code == 201, started.text
    [token] = make_buyers(db, 1)

    def buy(quantity: int) -> httpx.Response:
        with httpx.Client(base_url=f"http://{server}", timeout=30) as http:
            return http.post(f"/api/v1/shows/{live_show.id}/buy",
                             json={"variant_id": variant, "quantity": quantity},
                             headers={"Authorization": f"Bearer {token}",
                                      "Accept-Language": "en-GB",
                                      "Idempotency-Key": f"units-{quantity}"})

    too_many = buy(11)  # within the sale's limit of 20, over LIVESHOP_MAX_UNITS_PER_VARIANT
    assert (too_many.status_code, too_many.json()["error"]["field"]) == (422, "quantity")
    with db.read() as session:
        remaining = session.scalar(select(FlashSale.remaining)
                                   .where(FlashSale.id == started.json()["id"]))
    assert remaining == 30
    assert buy(10).status_code == 202


def test_room_orders_are_attributed_to_the_show_and_its_creator_host(
    db: Database, live_show: LiveShow, people: Callable[..., Person], server: str
) -> None:
    creator = people("creator", "Cleo Creator")
    invited = live_show.host.http.put(
        f"/api/v1/shops/{live_show.shop_id}/creators/{creator.id}",
        json={"commission_percent": 12.5})
    assert invited.status_code == 200
    show = creator.http.post("/api/v1/shows", json={
        "shop_id": live_show.shop_id, "title": "Cleo's picks", "markets": ["UK"],
        "scheduled_at": utcnow().isoformat(), "product_ids": [live_show.product_id]}).json()
    assert creator.http.post(f"/api/v1/shows/{show['id']}/live").status_code == 200
    [token] = make_buyers(db, 1)
    with httpx.Client(base_url=f"http://{server}", timeout=30) as http:
        bought = http.post(f"/api/v1/shows/{show['id']}/buy",
                           json={"variant_id": live_show.variant_ids[1], "quantity": 1},
                           headers={"Authorization": f"Bearer {token}",
                                    "Accept-Language": "en-GB", "Idempotency-Key": "c1"})
    assert bought.status_code == 201, bought.text
    with db.read() as session:
        order = session.scalars(select(Order).where(
            Order.number == bought.json()["order_numbers"][0])).one()
    assert (order.show_id, order.creator_id, order.status) == (show["id"], creator.id, "paid")


def test_a_replay_sells_at_the_regular_price_and_credits_the_show(
    db: Database, live_show: LiveShow, server: str
) -> None:
    live_show.host.http.post(f"/api/v1/shows/{live_show.id}/sales", json={
        "variant_id": live_show.variant_ids[0], "prices": {"UK": 1000, "DE": 1200},
        "quantity": 5, "per_buyer_limit": 1, "duration_seconds": 60})
    assert live_show.host.http.post(f"/api/v1/shows/{live_show.id}/end").status_code == 200
    [token] = make_buyers(db, 1)
    with httpx.Client(base_url=f"http://{server}", timeout=30) as http:
        bought = http.post(f"/api/v1/shows/{live_show.id}/buy",
                           json={"variant_id": live_show.variant_ids[0], "quantity": 1},
                           headers={"Authorization": f"Bearer {token}",
                                    "Accept-Language": "en-GB", "Idempotency-Key": "replay"})
    assert bought.status_code == 201, bought.text
    assert bought.json()["flash_sale_id"] is None and bought.json()["total"] == 2500 + 399


def test_one_buyer_cannot_hammer_the_buy_button(db: Database, live_show: LiveShow,
                                                server: str) -> None:
    [token] = make_buyers(db, 1)
    statuses = []
    with httpx.Client(base_url=f"http://{server}", timeout=30) as http:
        for index in range(11):
            statuses.append(http.post(
                f"/api/v1/shows/{live_show.id}/buy",
                json={"variant_id": live_show.variant_ids[1], "quantity": 1},
                headers={"Authorization": f"Bearer {token}", "Accept-Language": "en-GB",
                         "Idempotency-Key": f"hammer-{index}"}).status_code)
    assert statuses[:10] == [201] * 10
    assert statuses[10] == 429
