"""Moderation reaches down only: viewers < show moderators < hosts < the shop's owner <
platform staff. The shop's owner and hosts are never muted or banned in its shows, and
platform staff are not a shop's to silence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from liveshop.core.db import Database, utcnow
from tests.factories import VariantSpec, create_product, create_shop


@dataclass
class Room:
    """A live show of Olive's shop, hosted by Cleo (a creator she invited), moderated by
    Mo; Ann is a viewer; Pam is a platform moderator and Ada an admin."""

    show_id: int
    owner: Any
    host: Any
    mod: Any
    ann: Any
    pam: Any
    ada: Any

    def say(self, user: Any, text: str) -> int:
        posted = user.post(f"/api/v1/shows/{self.show_id}/chat", json={"text": text})
        assert posted.status_code == 201, posted.text
        return int(posted.json()["id"])

    def mute(self, actor: Any, target: Any) -> httpx.Response:
        response: httpx.Response = actor.post(f"/api/v1/shows/{self.show_id}/mutes",
                                              json={"user_id": target.id, "minutes": 10})
        return response

    def ban(self, actor: Any, target: Any) -> httpx.Response:
        response: httpx.Response = actor.post(f"/api/v1/shows/{self.show_id}/bans",
                                              json={"user_id": target.id})
        return response

    def delete(self, actor: Any, message_id: int) -> httpx.Response:
        response: httpx.Response = actor.delete(
            f"/api/v1/shows/{self.show_id}/chat/{message_id}")
        return response


@pytest.fixture
def room(db: Database, make_user: Any) -> Room:
    owner, host = make_user("seller", name="Olive"), make_user("creator", name="Cleo")
    shop_id = create_shop(db, owner.id, {"UK": 399})
    product_id, _ = create_product(db, shop_id, [VariantSpec(prices={"UK": 1000})])
    assert owner.put(f"/api/v1/shops/{shop_id}/creators/{host.id}",
                     json={"commission_percent": 10}).status_code == 200
    created = host.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Cleo's drop", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "product_ids": [product_id]})
    assert created.status_code == 201, created.text
    show_id = created.json()["id"]
    assert host.post(f"/api/v1/shows/{show_id}/live").status_code == 200
    mod = make_user(name="Mo")
    assert host.put(f"/api/v1/shows/{show_id}/moderators/{mod.id}").status_code == 200
    return Room(show_id, owner, host, mod, make_user(name="Ann"),
                make_user("moderator", name="Pam"), make_user("admin", name="Ada"))


def _refused(response: httpx.Response, field: str = "user_id") -> bool:
    return response.status_code == 403 and response.json()["error"]["field"] == field


def test_nobody_mutes_or_bans_the_shops_owner_or_the_shows_host(room: Room) -> None:
    for actor in (room.mod, room.pam, room.ada, room.owner, room.host):
        for target in (room.owner, room.host):
            if actor is not target:
                assert _refused(room.ban(actor, target)), (actor.user, target.user)
                assert _refused(room.mute(actor, target)), (actor.user, target.user)
    # Both still run the room: nothing was recorded against them.
    room.say(room.owner, "Welcome, everyone")
    room.say(room.host, "Let's start")
    assert room.ban(room.mod, room.ann).status_code == 201  # viewers are still moderated


def test_platform_staff_are_not_the_shops_to_silence(room: Room) -> None:
    for actor in (room.owner, room.host, room.mod):
        for target in (room.pam, room.ada):
            assert _refused(room.ban(actor, target))
            assert _refused(room.mute(actor, target))
    room.say(room.pam, "Platform moderator here")


def test_show_moderators_do_not_moderate_each_other_and_a_banned_one_stops_moderating(
        room: Room, make_user: Any) -> None:
    other_mod = make_user(name="Max")
    assert room.host.put(
        f"/api/v1/shows/{room.show_id}/moderators/{other_mod.id}").status_code == 200
    assert _refused(room.ban(room.mod, other_mod))
    assert _refused(room.mute(room.mod, other_mod))
    assert room.ban(room.host, other_mod).status_code == 201
    # Their moderator role went with the ban, so they cannot lift it or ban anyone.
    lifted = other_mod.delete(f"/api/v1/shows/{room.show_id}/bans/{other_mod.id}")
    assert lifted.status_code == 403
    assert room.ban(other_mod, room.ann).status_code == 403


def test_chat_messages_are_deleted_only_from_above_or_by_their_author(room: Room) -> None:
    hosts_message = room.say(room.host, "Ask me anything")
    assert _refused(room.delete(room.mod, hosts_message), field="message_id")
    owners_message = room.say(room.owner, "Free shipping today")
    assert _refused(room.delete(room.host, owners_message), field="message_id")
    assert room.delete(room.mod, room.say(room.mod, "Be kind")).status_code == 200
    assert room.delete(room.host, room.say(room.mod, "Typo")).status_code == 200
    assert room.delete(room.mod, room.say(room.ann, "spam")).status_code == 200
    # Platform staff may remove what anyone in a shop's room wrote.
    assert room.delete(room.ada, hosts_message).status_code == 200
    assert room.delete(room.pam, owners_message).status_code == 200


def test_a_message_of_another_show_is_not_found_here(room: Room, db: Database,
                                                    make_user: Any) -> None:
    seller = make_user("seller")
    shop_id = create_shop(db, seller.id, {"UK": 399})
    created = seller.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Elsewhere", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(), "product_ids": []})
    other_show = created.json()["id"]
    assert seller.post(f"/api/v1/shows/{other_show}/live").status_code == 200
    elsewhere = seller.post(f"/api/v1/shows/{other_show}/chat", json={"text": "hi"}).json()["id"]
    deleted = room.delete(room.host, elsewhere)
    assert deleted.status_code == 404 and deleted.json()["error"]["field"] == "message_id"
