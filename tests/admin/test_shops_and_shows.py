"""Shops and shows in the back office: a suspended shop is unlisted, not buyable and off
air; an admin ends a live show through the host's own step and takes a replay down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from liveshop.core.db import Database
from tests.admin.conftest import admin_post, audit_rows
from tests.factories import VariantSpec, create_product


def _shop_with_product(seller: Any, db: Database) -> tuple[dict[str, Any], int, int]:
    shop = seller.post("/api/v1/shops", json={
        "name": "Suspect Goods", "markets": [{"market": "UK", "shipping": 399}]}).json()
    product_id, (variant_id,) = create_product(
        db, shop["id"], [VariantSpec(prices={"UK": 1500})], title="Lucky Charm")
    return shop, product_id, variant_id


def _show(seller: Any, shop_id: int, product_id: int, live: bool) -> int:
    show = seller.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Late drop", "markets": ["UK"],
        "scheduled_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "product_ids": [product_id]}).json()
    if live:
        assert seller.post(f"/api/v1/shows/{show['id']}/live").status_code == 200
    return int(show["id"])


def test_a_suspended_shop_is_unlisted_unbuyable_and_off_air(
        app: Any, db: Database, make_user: Any, client: Any) -> None:
    admin, seller, buyer = make_user("admin"), make_user("seller"), make_user()
    shop, product_id, variant_id = _shop_with_product(seller, db)
    on_air = _show(seller, shop["id"], product_id, live=True)
    later = _show(seller, shop["id"], product_id, live=False)
    assert client.get(f"/{shop['slug']}").status_code == 200
    assert client.get(f"/products/{product_id}").status_code == 200

    suspended = admin_post(admin, f"/shops/{shop['id']}/suspend", {"reason": "Counterfeits"})
    assert suspended.status_code == 200 and suspended.json()["suspended_at"]
    assert client.get(f"/{shop['slug']}").status_code == 404
    assert client.get(f"/products/{product_id}").status_code == 404
    assert client.get(f"/api/v1/products/{product_id}").status_code == 404
    listed = client.get("/api/v1/products", params={"q": "lucky"}).json()
    assert listed["items"] == []
    refused = buyer.post("/api/v1/cart/items", json={"variant_id": variant_id})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "variant_id"
    # Its show on air was ended with the suspension; another cannot go live.
    assert client.get(f"/api/v1/shows/{on_air}").json()["status"] == "ended"
    off_air = seller.post(f"/api/v1/shows/{later}/live")
    assert off_air.status_code == 409 and off_air.json()["error"]["field"] == "show_id"
    assert later not in [s["id"] for s in client.get("/api/v1/shows").json()]
    # The seller still sees the shop, marked.
    assert seller.get(f"/api/v1/shops/{shop['id']}").json()["suspended_at"]

    assert admin_post(admin, f"/shops/{shop['id']}/reinstate").status_code == 200
    assert client.get(f"/products/{product_id}").status_code == 200
    assert buyer.post("/api/v1/cart/items", json={"variant_id": variant_id}).status_code == 201
    assert seller.post(f"/api/v1/shows/{later}/live").status_code == 200
    rows = audit_rows(db)
    assert [(r.action, r.target_type, r.target_id) for r in rows] == [
        ("shop.suspended", "shop", shop["id"]), ("shop.reinstated", "shop", shop["id"])]
    assert rows[0].after == {"suspended": True, "shows_ended": [on_air]}
    assert rows[0].reason == "Counterfeits" and rows[0].target_label == "Suspect Goods"


def test_an_admin_ends_a_live_show_and_takes_its_replay_down(
        app: Any, db: Database, make_user: Any, client: Any) -> None:
    admin, seller, buyer = make_user("admin"), make_user("seller"), make_user()
    shop, product_id, _ = _shop_with_product(seller, db)
    show_id = _show(seller, shop["id"], product_id, live=True)
    early = admin_post(admin, f"/shows/{show_id}/replay", method="DELETE")
    assert early.status_code == 409 and early.json()["error"]["field"] == "show_id"

    ended = admin_post(admin, f"/shows/{show_id}/end", {"reason": "Abusive stream"})
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert client.get(f"/api/v1/shows/{show_id}").json()["status"] == "ended"
    again = admin_post(admin, f"/shows/{show_id}/end")
    assert again.status_code == 409
    assert buyer.get(f"/shows/{show_id}").status_code == 200  # the replay

    removed = admin_post(admin, f"/shows/{show_id}/replay", method="DELETE")
    assert removed.status_code == 200 and removed.json()["removed_at"]
    assert buyer.get(f"/shows/{show_id}").status_code == 404
    assert show_id not in [s["id"] for s in client.get(
        "/api/v1/shows", params={"status": "ended"}).json()]
    assert admin.get(f"/shows/{show_id}").status_code == 200  # admins still see it
    assert [(r.action, r.before, r.after) for r in audit_rows(db)] == [
        ("show.ended", {"status": "live"}, {"status": "ended"}),
        ("show.replay_removed", {"listed": True}, {"listed": False})]


def test_the_host_ends_a_show_by_the_same_step(app: Any, db: Database, make_user: Any,
                                               client: Any) -> None:
    seller = make_user("seller")
    shop, product_id, _ = _shop_with_product(seller, db)
    show_id = _show(seller, shop["id"], product_id, live=True)
    assert seller.post(f"/api/v1/shows/{show_id}/end").status_code == 200
    assert audit_rows(db) == []  # only admins' actions are audited
