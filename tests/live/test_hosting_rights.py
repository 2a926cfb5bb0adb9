"""Host powers last as long as the grant behind them: a creator the shop removes hosts none
of its shows from that moment, and the shows they host go back to the shop."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from liveshop.accounts import service as accounts
from liveshop.core.db import Database, utcnow
from liveshop.live import creators, shows, snapshots
from liveshop.live.orm import FlashSale, ShopCreator, Show, ShowModerator
from liveshop.orders.orm import Order
from tests.conftest import UserClient
from tests.factories import VariantSpec, create_product, create_shop, make_buyers
from tests.live.conftest import LiveShow, Person

SALE = {"prices": {"UK": 350}, "quantity": 50, "per_buyer_limit": 50, "duration_seconds": 300}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (90, 160), (20, 130, 90)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Hosted:
    """A shop, and a creator it invited hosting three of its shows: one scheduled, one live
    with a flash sale running, one ended."""

    owner: UserClient
    creator: UserClient
    shop_id: int
    product_id: int
    variant_id: int
    scheduled_id: int
    live_id: int
    ended_id: int
    sale_id: int
    old_key: str


def _schedule(user: UserClient, shop_id: int, product_id: int, title: str) -> int:
    created = user.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": title, "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "product_ids": [product_id]})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.fixture
def hosted(db: Database, make_user: Callable[..., UserClient]) -> Hosted:
    owner, creator = make_user("seller", name="Sam Seller"), make_user("creator", name="Cleo")
    shop_id = create_shop(db, owner.id, {"UK": 399})
    product_id, (variant_id,) = create_product(
        db, shop_id, [VariantSpec(prices={"UK": 2000}, stock=100)], title="Silk Scarf")
    invited = owner.put(f"/api/v1/shops/{shop_id}/creators/{creator.id}",
                        json={"commission_percent": 10})
    assert invited.status_code == 200, invited.text
    scheduled_id = _schedule(creator, shop_id, product_id, "Later")
    live_id = _schedule(creator, shop_id, product_id, "Now")
    ended_id = _schedule(creator, shop_id, product_id, "Before")
    for show_id in (live_id, ended_id):
        assert creator.post(f"/api/v1/shows/{show_id}/live").status_code == 200
    assert creator.post(f"/api/v1/shows/{ended_id}/end").status_code == 200
    # The creator appoints themselves a moderator of their show, too.
    assert creator.put(f"/api/v1/shows/{live_id}/moderators/{creator.id}").status_code == 200
    old_key = creator.get(f"/api/v1/shows/{live_id}/stream").json()["stream_key"]
    sale = creator.post(f"/api/v1/shows/{live_id}/sales",
                        json={"variant_id": variant_id, **SALE})
    assert sale.status_code == 201, sale.text
    return Hosted(owner, creator, shop_id, product_id, variant_id, scheduled_id, live_id,
                  ended_id, sale.json()["id"], old_key)


def _remove(hosted: Hosted) -> None:
    removed = hosted.owner.delete(f"/api/v1/shops/{hosted.shop_id}/creators/{hosted.creator.id}")
    assert removed.status_code == 200, removed.text


def _buy(client: Any, token: str, show_id: int, variant_id: int) -> Any:
    return client.post(f"/api/v1/shows/{show_id}/buy",
                       json={"variant_id": variant_id, "quantity": 1},
                       headers={"Authorization": f"Bearer {token}", "Accept-Language": "en-GB",
                                "Idempotency-Key": uuid.uuid4().hex})


def test_a_removed_creator_can_do_nothing_a_host_does(hosted: Hosted, db: Database) -> None:
    creator, live_id, scheduled_id = hosted.creator, hosted.live_id, hosted.scheduled_id
    _remove(hosted)
    # The shop starts a sale of its own on the show it took back, for the creator to stop.
    sale = hosted.owner.post(f"/api/v1/shows/{live_id}/sales", json={
        "variant_id": hosted.variant_id, **SALE, "prices": {"UK": 1500}})
    assert sale.status_code == 201, sale.text
    attempts = {
        "stream key": creator.get(f"/api/v1/shows/{live_id}/stream"),
        "new stream key": creator.post(f"/api/v1/shows/{live_id}/stream/key"),
        "go live": creator.post(f"/api/v1/shows/{scheduled_id}/live"),
        "pin": creator.put(f"/api/v1/shows/{live_id}/pin",
                           json={"product_id": hosted.product_id}),
        "start sale": creator.post(f"/api/v1/shows/{live_id}/sales",
                                   json={"variant_id": hosted.variant_id, **SALE}),
        "stop sale": creator.post(f"/api/v1/shows/{live_id}/sales/{sale.json()['id']}/stop"),
        "update": creator.patch(f"/api/v1/shows/{scheduled_id}", json={"title": "Mine"}),
        "cover": creator.put(f"/api/v1/shows/{scheduled_id}/cover",
                             files={"file": ("c.png", _png(), "image/png")}),
        "moderator": creator.put(f"/api/v1/shows/{live_id}/moderators/{creator.id}"),
        "stats": creator.get(f"/api/v1/shows/{live_id}/stats"),
        "end": creator.post(f"/api/v1/shows/{live_id}/end"),
        "schedule": creator.post("/api/v1/shows", json={
            "shop_id": hosted.shop_id, "title": "Again", "markets": ["UK"],
            "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
            "product_ids": [hosted.product_id]}),
    }
    assert {name: answer.status_code for name, answer in attempts.items()} == {
        name: 403 for name in attempts}
    assert creator.get(f"/shows/{live_id}/control").status_code == 403
    assert "Control room" not in creator.get(f"/shows/{live_id}").text
    with db.read() as session:
        assert session.get_one(Show, live_id).status == "live"  # nothing of it ended
        assert session.get_one(Show, scheduled_id).title == "Later"
    # What the room socket's snapshot tells the creator they may do.
    actor = accounts.get_actor(db, creator.id)
    assert actor is not None
    you = snapshots.room_viewer(db, live_id, actor)
    assert (you["can_host"], you["can_moderate"]) == (False, False)
    # Their show list and schedule form no longer offer the shop's shows.
    assert shows.my_shows(db, actor) == []
    assert creators.hostable_shop_ids(db, actor) == []
    # The shop carries on with its shows.
    assert hosted.owner.put(f"/api/v1/shows/{live_id}/pin",
                            json={"product_id": hosted.product_id}).status_code == 200
    assert hosted.owner.post(f"/api/v1/shows/{scheduled_id}/live").status_code == 200
    assert hosted.owner.post(f"/api/v1/shows/{live_id}/end").status_code == 200


def test_removal_hands_the_shows_back_stops_the_sale_and_replaces_the_stream_key(
        hosted: Hosted, db: Database, client: Any) -> None:
    [token] = make_buyers(db, 1)
    # A regular-price order before the removal, on the creator's ended show: theirs.
    before = _buy(client, token, hosted.ended_id, hosted.variant_id)
    assert before.status_code == 201, before.text
    _remove(hosted)
    with db.read() as session:
        hosts = {show.id: show.host_id for show in session.scalars(select(Show))}
        assert hosts == {hosted.scheduled_id: hosted.owner.id, hosted.live_id: hosted.owner.id,
                         hosted.ended_id: hosted.creator.id}  # an ended show keeps its history
        assert session.get_one(FlashSale, hosted.sale_id).status == "stopped"
        assert session.get(ShopCreator, (hosted.shop_id, hosted.creator.id)) is None
        assert session.get(ShowModerator, (hosted.live_id, hosted.creator.id)) is None
        assert session.get_one(Show, hosted.live_id).status == "live"
    new_key = hosted.owner.get(f"/api/v1/shows/{hosted.live_id}/stream").json()["stream_key"]
    assert new_key != hosted.old_key
    # The sale the creator set up no longer sells at its price; the room sells on, and what
    # it sells now earns the removed creator nothing, even on their ended show.
    after = _buy(client, token, hosted.live_id, hosted.variant_id)
    assert after.status_code == 201, after.text
    assert after.json()["flash_sale_id"] is None and after.json()["total"] == 2000 + 399
    replay = _buy(client, token, hosted.ended_id, hosted.variant_id)
    assert replay.status_code == 201, replay.text
    with db.read() as session:
        creators = dict(session.execute(select(Order.number, Order.creator_id)).all())
    assert creators == {before.json()["order_numbers"][0]: hosted.creator.id,
                        after.json()["order_numbers"][0]: None,
                        replay.json()["order_numbers"][0]: None}


def test_only_the_shop_removes_its_creators(hosted: Hosted, db: Database,
                                           make_user: Callable[..., UserClient]) -> None:
    path = f"/api/v1/shops/{hosted.shop_id}/creators/{hosted.creator.id}"
    assert make_user("seller").delete(path).status_code == 403
    assert hosted.creator.delete(path).status_code == 403
    with db.read() as session:
        assert session.get_one(Show, hosted.live_id).host_id == hosted.creator.id
        assert session.get_one(FlashSale, hosted.sale_id).status == "active"


def test_the_room_hears_the_shop_took_the_show_back_and_the_creator_reconnects(
        db: Database, live_show: LiveShow, people: Callable[..., Person]) -> None:
    owner = live_show.host
    creator = people("creator", "Cleo Creator")
    assert owner.http.put(f"/api/v1/shops/{live_show.shop_id}/creators/{creator.id}",
                          json={"commission_percent": 10}).status_code == 200
    show = creator.http.post("/api/v1/shows", json={
        "shop_id": live_show.shop_id, "title": "Cleo live", "markets": ["UK"],
        "scheduled_at": utcnow().isoformat(), "product_ids": [live_show.product_id]}).json()
    assert creator.http.post(f"/api/v1/shows/{show['id']}/live").status_code == 200
    sale = creator.http.post(f"/api/v1/shows/{show['id']}/sales", json={
        "variant_id": live_show.variant_ids[0], "prices": {"UK": 100}, "quantity": 5,
        "per_buyer_limit": 5, "duration_seconds": 300}).json()
    viewer_room = people().join(show["id"])
    creator_room = creator.join(show["id"])
    assert creator_room.snapshot["you"]["can_host"] is True

    removed = owner.http.delete(f"/api/v1/shops/{live_show.shop_id}/creators/{creator.id}")
    assert removed.status_code == 200, removed.text
    ended = viewer_room.next("sale_ended")
    assert ended == {"type": "sale_ended", "sale_id": sale["id"], "reason": "stopped"}
    host = viewer_room.next("host")
    assert (host["host_id"], host["host_name"]) == (owner.id, "Hannah Host")
    # The creator's socket was staff: it is closed with the code that asks for a reconnect,
    # and the new snapshot says what they may do now.
    with pytest.raises(ConnectionClosed) as closed:
        creator_room.next("never", timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4205
    you = creator.join(show["id"]).snapshot["you"]
    assert (you["can_host"], you["can_moderate"]) == (False, False)
    fresh = people().join(show["id"]).snapshot
    assert fresh["show"]["host_name"] == "Hannah Host" and fresh["show"]["status"] == "live"
    assert fresh["sale"] is None
