"""The showcase and the marketplace (only products with an active plan), sample requests
(approved: a zero-price order that takes stock; out of stock: refused), the profile page
and the seller's affiliate page, and who may see and do what."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from liveshop.core.db import Database
from liveshop.inventory.orm import StockLevel
from liveshop.orders.orm import Order
from tests.affiliates.conftest import UK_ADDRESS, Stage, buy_from_cart, key
from tests.conftest import UserClient


def stock(db: Database, variant_id: int) -> int:
    with db.read() as session:
        return session.scalars(select(StockLevel.available).where(
            StockLevel.variant_id == variant_id)).one()


def save_address(user: UserClient) -> None:
    saved = user.post("/api/v1/me/addresses", json={**UK_ADDRESS, "is_default": True})
    assert saved.status_code == 201, saved.text


def test_the_showcase_takes_only_products_with_an_active_plan(stage: Stage) -> None:
    refused = stage.nina.put(f"/api/v1/me/showcase/{stage.mug}")
    assert refused.status_code == 422
    assert (refused.json()["error"]["field"], refused.json()["error"]["code"]) == (
        "product_id", "no_active_plan")
    assert stage.nina.put("/api/v1/me/showcase/999999").status_code == 404
    assert stage.buyer.put(f"/api/v1/me/showcase/{stage.scarf}").status_code == 403

    assert stage.nina.put(f"/api/v1/me/showcase/{stage.scarf}").status_code == 200
    assert stage.nina.put(f"/api/v1/me/showcase/{stage.scarf}").status_code == 200  # again
    profile = stage.buyer.get("/@ninalive")
    assert profile.status_code == 200
    assert "Silk Scarf" in profile.text
    assert f"/products/{stage.scarf}?ref=ninalive" in profile.text
    assert "Mug" not in profile.text
    assert stage.buyer.get("/@nobody_here").status_code == 404
    assert stage.buyer.get("/@%3Cscript%3E").status_code == 404

    assert stage.nina.delete(f"/api/v1/me/showcase/{stage.scarf}").status_code == 200
    assert "Silk Scarf" not in stage.buyer.get("/@ninalive").text


def test_the_marketplace_filters_by_rate_and_category_and_sorts_by_sales(
        stage: Stage, db: Database) -> None:
    stage.owner.post(f"/api/v1/shops/{stage.shop_id}/affiliate-plans", json={
        "product_id": stage.mug, "kind": "open", "rate_bp": 500}, headers=key())
    offers = stage.nina.get("/api/v1/creators/marketplace").json()
    assert [(offer["product"]["title"], offer["rate_bp"]) for offer in offers] == [
        ("Silk Scarf", 1000), ("Mug", 500)]
    assert offers[0]["share_url"] == f"/products/{stage.scarf}?ref=ninalive"
    assert [o["product"]["title"] for o in stage.nina.get(
        "/api/v1/creators/marketplace?min_rate_bp=800").json()] == ["Silk Scarf"]
    assert [o["product"]["title"] for o in stage.nina.get(
        "/api/v1/creators/marketplace?tag=mugs").json()] == ["Mug"]
    buy_from_cart(stage.buyer, stage.mug_variant)
    assert [o["product"]["title"] for o in stage.nina.get(
        "/api/v1/creators/marketplace?sort=sales").json()] == ["Mug", "Silk Scarf"]

    for query, field in (("min_rate_bp=9000", "min_rate_bp"), ("sort=cheap", "sort"),
                         ("min_rate_bp=50", "min_rate_bp")):
        refused = stage.nina.get(f"/api/v1/creators/marketplace?{query}")
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["field"].endswith(field)
    assert stage.buyer.get("/api/v1/creators/marketplace").status_code == 403
    page = stage.nina.get("/creators/marketplace?min_rate=8&sort=sales")
    assert page.status_code == 200 and "Silk Scarf" in page.text and "Mug" not in page.text
    assert stage.nina.get("/creators/marketplace?min_rate=abc").status_code == 422


def test_an_approved_sample_is_a_zero_price_order_that_takes_stock(
        stage: Stage, db: Database) -> None:
    body = {"variant_id": stage.scarf_variant, "note": "For Friday's show"}
    no_address = stage.nina.post("/api/v1/sample-requests", json=body, headers=key())
    assert (no_address.status_code, no_address.json()["error"]["field"]) == (422, "address")
    save_address(stage.nina)
    no_plan = stage.nina.post("/api/v1/sample-requests",
                              json={"variant_id": stage.mug_variant}, headers=key())
    assert (no_plan.status_code, no_plan.json()["error"]["field"]) == (422, "variant_id")

    requested = stage.nina.post("/api/v1/sample-requests", json=body, headers=key())
    assert requested.status_code == 201, requested.text
    twice = stage.nina.post("/api/v1/sample-requests", json=body, headers=key())
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "sample_requested")
    request_id = requested.json()["id"]

    # Only the shop's owner decides; a creator or another seller cannot.
    assert stage.nina.post(f"/api/v1/sample-requests/{request_id}/approve").status_code == 403
    assert [r["id"] for r in stage.owner.get(
        f"/api/v1/shops/{stage.shop_id}/sample-requests").json()] == [request_id]
    assert stage.kai.get(f"/api/v1/shops/{stage.shop_id}/sample-requests").status_code == 403

    before = stock(db, stage.scarf_variant)
    approved = stage.owner.post(f"/api/v1/sample-requests/{request_id}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert stock(db, stage.scarf_variant) == before - 1
    with db.read() as session:
        order = session.get_one(Order, approved.json()["order_id"])
        assert (order.buyer_id, order.shop_id, order.total, order.status) == (
            stage.nina.id, stage.shop_id, 0, "paid")
        assert [line.creator_id for line in order.lines] == [None]
    again = stage.owner.post(f"/api/v1/sample-requests/{request_id}/approve")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "sample_decided")
    # The seller ships it like any order.
    shipped = stage.owner.post(f"/api/v1/orders/{order.id}/ship", json={
        "carrier": "Royal Mail", "tracking_number": "RM1"})
    assert shipped.status_code == 200, shipped.text


def test_out_of_stock_samples_are_refused_and_declines_take_nothing(
        stage: Stage, db: Database, make_user: Callable[..., UserClient]) -> None:
    save_address(stage.nina)
    save_address(stage.kai)
    first = stage.nina.post("/api/v1/sample-requests",
                            json={"variant_id": stage.scarf_variant}, headers=key())
    second = stage.kai.post("/api/v1/sample-requests",
                            json={"variant_id": stage.scarf_variant}, headers=key())
    assert (first.status_code, second.status_code) == (201, 201)
    declined = stage.owner.post(f"/api/v1/sample-requests/{first.json()['id']}/decline")
    assert declined.json()["status"] == "declined"
    for _ in range(stock(db, stage.scarf_variant)):
        buy_from_cart(stage.buyer, stage.scarf_variant)
    sold_out = stage.owner.post(f"/api/v1/sample-requests/{second.json()['id']}/approve")
    assert sold_out.status_code == 409, sold_out.text
    assert sold_out.json()["error"]["field"] == "request_id"
    # Refused and still waiting: the seller may approve it once restocked.
    waiting = stage.owner.get(f"/api/v1/shops/{stage.shop_id}/sample-requests").json()
    assert {r["id"]: r["status"] for r in waiting}[second.json()["id"]] == "requested"
    refused = stage.nina.post("/api/v1/sample-requests",
                              json={"variant_id": stage.scarf_variant}, headers=key())
    assert (refused.status_code, refused.json()["error"]["field"]) == (409, "variant_id")


def test_the_affiliate_page_shows_the_shops_creators_and_only_to_its_owner(
        stage: Stage, db: Database) -> None:
    stage.buyer.get(f"/products/{stage.scarf}?ref=ninalive")
    buy_from_cart(stage.buyer, stage.scarf_variant)
    save_address(stage.kai)
    stage.kai.post("/api/v1/sample-requests", json={"variant_id": stage.scarf_variant},
                   headers=key())
    page = stage.owner.get(f"/seller/shops/{stage.shop_id}/affiliates")
    assert page.status_code == 200
    text = page.text
    assert "Nina Live" in text and "£24.00" in text and "£2.00" in text  # GMV, commission
    assert "Kai Streams</strong> asks for" in text
    assert stage.kai.get(f"/seller/shops/{stage.shop_id}/affiliates").status_code == 403
    assert stage.buyer.get(f"/seller/shops/{stage.shop_id}/affiliates").status_code == 403


def test_the_affiliate_page_forms_make_change_and_decide(stage: Stage, db: Database) -> None:
    csrf = str(stage.owner.headers["X-CSRF-Token"])
    base = f"/seller/shops/{stage.shop_id}"
    refused = stage.owner.post(f"{base}/affiliate-plans", data={
        "csrf_token": csrf, "product_id": stage.mug, "kind": "open", "rate_percent": "90"})
    assert refused.status_code == 422 and "1% to 80%" in refused.text
    unknown = stage.owner.post(f"{base}/affiliate-plans", data={
        "csrf_token": csrf, "product_id": stage.mug, "kind": "targeted",
        "rate_percent": "15", "creator_handle": "nobody_here", "ends_on": "2099-01-01"})
    assert unknown.status_code == 422 and "No creator has that handle" in unknown.text
    made = stage.owner.post(f"{base}/affiliate-plans", data={
        "csrf_token": csrf, "product_id": stage.mug, "kind": "targeted",
        "rate_percent": "12.5", "creator_handle": "@KaiStreams", "ends_on": "2099-01-01"},
        follow_redirects=False)
    assert made.status_code == 303, made.text
    plan = next(p for p in stage.owner.get(
        f"/api/v1/shops/{stage.shop_id}/affiliate-plans").json() if p["kind"] == "targeted")
    assert (plan["creator_id"], plan["rate_bp"], plan["accepted"]) == (stage.kai.id, 1250,
                                                                       False)
    paused = stage.owner.post(f"/seller/affiliate-plans/{plan['id']}", data={
        "csrf_token": csrf, "shop_id": stage.shop_id, "action": "pause"},
        follow_redirects=False)
    assert paused.status_code == 303

    kai_csrf = str(stage.kai.headers["X-CSRF-Token"])
    accepted = stage.kai.post(f"/creators/affiliate-plans/{plan['id']}/accept",
                              data={"csrf_token": kai_csrf}, follow_redirects=False)
    assert accepted.status_code == 303
    save_address(stage.kai)
    asked = stage.kai.post("/creators/samples", data={
        "csrf_token": kai_csrf, "variant_id": stage.scarf_variant}, follow_redirects=False)
    assert asked.status_code == 303
    request_id = stage.owner.get(f"/api/v1/shops/{stage.shop_id}/sample-requests").json()[0]["id"]
    approved = stage.owner.post(f"/seller/sample-requests/{request_id}/approve", data={
        "csrf_token": csrf, "shop_id": stage.shop_id}, follow_redirects=False)
    assert approved.status_code == 303
    assert "Sample approved" in stage.owner.get(approved.headers["location"]).text
