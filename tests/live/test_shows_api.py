"""Scheduling shows, lineups, who may host, going live (notifying followers), covers."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from liveshop.core.db import Database, utcnow
from liveshop.live.orm import ShopCreator
from tests.factories import VariantSpec, create_product, create_shop


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (90, 160), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def shop(db: Database, make_user: Any) -> tuple[Any, int, int]:
    seller = make_user("seller")
    shop_id = create_shop(db, seller.id, {"UK": 399, "DE": 499})
    product_id, _ = create_product(db, shop_id, [VariantSpec(prices={"UK": 1000, "DE": 1200})])
    return seller, shop_id, product_id


def schedule(user: Any, shop_id: int, product_ids: list[int], **extra: Any) -> Any:
    return user.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Launch", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "product_ids": product_ids, **extra})


def test_seller_schedules_a_show_with_a_lineup(shop: tuple[Any, int, int]) -> None:
    seller, shop_id, product_id = shop
    created = schedule(seller, shop_id, [product_id])
    assert created.status_code == 201, created.text
    show = created.json()
    assert (show["status"], show["product_ids"], show["url"]) == (
        "scheduled", [product_id], f"/shows/{show['id']}")
    assert show["cover_url"] is None  # the lineup product has no picture either


def test_lineup_and_markets_are_checked_naming_the_field(shop: tuple[Any, int, int],
                                                         db: Database, make_user: Any) -> None:
    seller, shop_id, product_id = shop
    other_shop = create_shop(db, make_user("seller").id)
    foreign, _ = create_product(db, other_shop)
    bad_lineup = schedule(seller, shop_id, [product_id, foreign])
    assert bad_lineup.status_code == 422
    assert bad_lineup.json()["error"]["field"] == "product_ids.1"
    bad_market = schedule(seller, shop_id, [product_id], markets=["UK", "US"])
    assert bad_market.json()["error"]["field"] == "markets.1"
    naive = schedule(seller, shop_id, [product_id], scheduled_at="2030-01-01T10:00:00")
    assert naive.json()["error"]["field"] == "scheduled_at"


def test_only_the_shop_or_an_invited_creator_hosts(shop: tuple[Any, int, int], db: Database,
                                                  make_user: Any) -> None:
    _, shop_id, product_id = shop
    creator, stranger = make_user("creator"), make_user("seller")
    assert schedule(stranger, shop_id, [product_id]).status_code == 403
    assert schedule(creator, shop_id, [product_id]).status_code == 403
    owner = shop[0]
    path = f"/api/v1/shops/{shop_id}/creators/{creator.id}"
    assert stranger.put(path, json={"commission_percent": 15}).status_code == 403
    too_much = owner.put(path, json={"commission_percent": 80})
    assert too_much.status_code == 422 and too_much.json()["error"]["field"] == "commission_percent"
    assert owner.put(path, json={"commission_percent": 15}).status_code == 200
    with db.read() as session:
        invite = session.get(ShopCreator, (shop_id, creator.id))
        assert invite is not None and invite.commission_bp == 1500
    hosted = schedule(creator, shop_id, [product_id])
    assert hosted.status_code == 201 and hosted.json()["host_id"] == creator.id


def test_going_live_notifies_followers_and_reminded_people_once(
    shop: tuple[Any, int, int], make_user: Any
) -> None:
    seller, shop_id, product_id = shop
    show_id = schedule(seller, shop_id, [product_id]).json()["id"]
    fan, reminded, both = make_user(), make_user(), make_user()
    assert fan.put(f"/api/v1/shops/{shop_id}/follow").status_code == 200
    assert reminded.put(f"/api/v1/shows/{show_id}/reminder").status_code == 200
    both.put(f"/api/v1/shops/{shop_id}/follow")
    both.put(f"/api/v1/shows/{show_id}/reminder")
    assert seller.post(f"/api/v1/shows/{show_id}/live").json()["status"] == "live"
    for person in (fan, reminded, both):
        notes = person.get("/api/v1/notifications").json()
        assert [(n["text"], n["link"]) for n in notes] == [
            ("Live now: Launch", f"/shows/{show_id}")]
    assert seller.get("/api/v1/notifications").json() == []
    again = seller.post(f"/api/v1/shows/{show_id}/live")
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
    assert reminded.put(f"/api/v1/shows/{show_id}/reminder").status_code == 409


def test_ending_closes_the_show_for_good(shop: tuple[Any, int, int]) -> None:
    seller, shop_id, product_id = shop
    show_id = schedule(seller, shop_id, [product_id]).json()["id"]
    seller.post(f"/api/v1/shows/{show_id}/live")
    seller.put(f"/api/v1/shows/{show_id}/pin", json={"product_id": product_id})
    ended = seller.post(f"/api/v1/shows/{show_id}/end")
    assert ended.json()["status"] == "ended" and ended.json()["ended_at"]
    assert seller.post(f"/api/v1/shows/{show_id}/live").status_code == 409
    pins = seller.get(f"/api/v1/shows/{show_id}/pins").json()
    assert [p["product_id"] for p in pins] == [product_id]


def test_cover_upload_is_checked_and_replaces_the_old_one(shop: tuple[Any, int, int],
                                                          make_user: Any, settings: Any) -> None:
    seller, shop_id, product_id = shop
    show_id = schedule(seller, shop_id, [product_id]).json()["id"]
    put = seller.put(f"/api/v1/shows/{show_id}/cover", files={"file": ("c.png", png())})
    assert put.status_code == 200, put.text
    first = put.json()["cover_url"]
    assert first.startswith(f"/media/shows/{show_id}/")
    assert seller.get(first).status_code == 200
    second = seller.put(f"/api/v1/shows/{show_id}/cover",
                        files={"file": ("c.png", png())}).json()["cover_url"]
    assert second != first
    assert not (settings.media_dir / first.removeprefix("/media/")).exists()
    bad = seller.put(f"/api/v1/shows/{show_id}/cover", files={"file": ("c.png", b"<html>")})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "file"
    stranger = make_user("seller")
    assert stranger.put(f"/api/v1/shows/{show_id}/cover",
                        files={"file": ("c.png", png())}).status_code == 403


def test_an_invited_creator_schedules_from_the_form(shop: tuple[Any, int, int],
                                                    make_user: Any) -> None:
    from tests.html import csrf_from

    owner, shop_id, product_id = shop
    creator = make_user("creator")
    # Without an invitation a creator schedules their own show, of what plans open to them.
    assert "No affiliate plan opens a product to you yet" in creator.get("/seller/shows/new").text
    owner.put(f"/api/v1/shops/{shop_id}/creators/{creator.id}", json={"commission_percent": 10})
    page = creator.get("/seller/shows/new").text
    assert f'value="{product_id}"' in page
    posted = creator.post("/seller/shows", data={
        "csrf_token": csrf_from(page), "shop_id": str(shop_id), "title": "Creator night",
        "scheduled_at": "2030-05-01T20:00", "tz_offset": "0", "markets": "UK",
        "product_ids": str(product_id)}, follow_redirects=False)
    assert posted.status_code == 303, posted.text
    shows = creator.get("/api/v1/shows?status=scheduled").json()
    assert [(s["title"], s["host_id"]) for s in shows] == [("Creator night", creator.id)]


def test_following_is_idempotent_even_when_requests_race(shop: tuple[Any, int, int],
                                                         db: Database, make_user: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select

    from liveshop.accounts.model import Actor, Role
    from liveshop.live import follows
    from liveshop.live.orm import ShopFollow

    _, shop_id, _ = shop
    fan = make_user()
    actor = Actor(fan.id, Role.BUYER, "Fan")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: follows.follow_shop(db, actor, shop_id), range(8)))
    assert fan.put(f"/api/v1/shops/{shop_id}/follow").status_code == 200
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ShopFollow)) == 1
    assert fan.delete(f"/api/v1/shops/{shop_id}/follow").status_code == 200
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ShopFollow)) == 0
