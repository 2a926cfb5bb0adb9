"""The room protocol with real WebSocket clients against a real server."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from tests.live.conftest import LiveShow, Person, anonymous_join


def test_snapshot_has_show_pin_sale_chat_viewers_and_server_time(
    live_show: LiveShow, people: Callable[..., Person], server: str
) -> None:
    host = live_show.host
    host.http.put(f"/api/v1/shows/{live_show.id}/pin", json={"product_id": live_show.product_id})
    sale = host.http.post(f"/api/v1/shows/{live_show.id}/sales", json={
        "variant_id": live_show.variant_ids[0], "prices": {"UK": 1500, "DE": 1900},
        "quantity": 10, "per_buyer_limit": 2, "duration_seconds": 120})
    assert sale.status_code == 201, sale.text
    chatter = people()
    chatter.http.post(f"/api/v1/shows/{live_show.id}/chat", json={"text": "first!"})

    room = people().join(live_show.id, market="DE")
    snap = room.snapshot
    assert snap["v"] == 1 and snap["market"] == "DE"
    assert abs(snap["server_time"] / 1000 - time.time()) < 5
    assert snap["show"]["status"] == "live" and snap["show"]["title"] == "Friday drop"
    assert snap["pinned"]["title"] == "Glow Jacket"
    assert snap["pinned"]["variants"][0]["prices"]["DE"]["amount"] == 2900
    assert snap["pinned"]["variants"][0]["available"] == 30  # the sale holds 10 of the 40
    assert snap["sale"]["prices"]["DE"]["amount"] == 1900
    assert snap["sale"]["remaining"] == 10
    assert snap["sale"]["ends_at"] > snap["server_time"]
    assert [m["text"] for m in snap["chat"]] == ["first!"]
    # The joiner is the room's only viewer: the host and the chatter used HTTP, not a socket.
    assert snap["viewers"] == 1
    assert snap["you"]["can_chat"] and not snap["you"]["can_moderate"]
    anonymous = anonymous_join(server, live_show.id)
    assert anonymous.snapshot["you"]["can_chat"] is False


def test_chat_arrives_in_order_for_everyone(live_show: LiveShow,
                                            people: Callable[..., Person]) -> None:
    ann, bob = people(name="Ann"), people(name="Bob")
    ann_room, bob_room = ann.join(live_show.id), bob.join(live_show.id)
    for index in range(4):
        ann_room.send(type="chat", text=f"message {index}")
    expected = [f"message {index}" for index in range(4)]
    assert bob_room.chat_texts(count=4) == expected
    assert ann_room.chat_texts(count=4) == expected


def test_html_in_chat_is_delivered_as_plain_text(live_show: LiveShow,
                                                 people: Callable[..., Person]) -> None:
    ann = people()
    room = ann.join(live_show.id)
    payload = '<img src=x onerror="alert(1)"><b>hi</b>'
    room.send(type="chat", text=payload)
    assert room.chat_texts() == [payload]


def test_anonymous_viewers_read_but_cannot_chat(live_show: LiveShow, server: str) -> None:
    room = anonymous_join(server, live_show.id)
    room.send(type="chat", text="hello", ref="r1")
    error = room.next("error")
    assert (error["code"], error["ref"]) == ("not_authenticated", "r1")


def test_per_user_rate_limit(live_show: LiveShow, people: Callable[..., Person]) -> None:
    room = people().join(live_show.id)
    for index in range(6):
        room.send(type="chat", text=f"spam {index}", ref=index)
    error = room.next("error")
    assert error["code"] == "rate_limited" and error["ref"] == 5


def test_deleted_message_disappears_for_everyone(live_show: LiveShow,
                                                 people: Callable[..., Person]) -> None:
    ann, bob = people(), people()
    ann_room, bob_room = ann.join(live_show.id), bob.join(live_show.id)
    host_room = live_show.host.join(live_show.id)
    assert host_room.snapshot["you"]["can_moderate"]
    ann_room.send(type="chat", text="buy my stuff elsewhere")
    message_id = bob_room.next("chat")["messages"][0]["id"]
    deleted = live_show.host.http.delete(f"/api/v1/shows/{live_show.id}/chat/{message_id}")
    assert deleted.status_code == 200
    for room in (ann_room, bob_room, host_room):
        assert room.next("chat_deleted")["ids"] == [message_id]
    assert people().join(live_show.id).snapshot["chat"] == []


def test_muted_user_gets_a_clear_error(live_show: LiveShow,
                                       people: Callable[..., Person]) -> None:
    ann = people()
    room = ann.join(live_show.id)
    muted = live_show.host.http.post(f"/api/v1/shows/{live_show.id}/mutes",
                                     json={"user_id": ann.id, "minutes": 10})
    assert muted.status_code == 201
    assert room.next("muted")["until"] > time.time() * 1000
    room.send(type="chat", text="can I talk?", ref="m")
    error = room.next("error")
    assert error["code"] == "muted" and "10 more minute" in error["message"]


def test_ban_closes_the_socket_and_holds_across_reconnect(
    live_show: LiveShow, people: Callable[..., Person]
) -> None:
    troll = people()
    room = troll.join(live_show.id)
    banned = live_show.host.http.post(f"/api/v1/shows/{live_show.id}/bans",
                                      json={"user_id": troll.id})
    assert banned.status_code == 201
    room.next("banned")
    with pytest.raises(ConnectionClosed):
        room.next("anything")
    # Reconnecting gets an error instead of a snapshot, then the socket closes.
    with pytest.raises(ConnectionClosed) as closed:
        troll.join(live_show.id)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    refused = troll.http.post(f"/api/v1/shows/{live_show.id}/chat", json={"text": "hi"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "banned"


def test_only_host_or_moderators_moderate(live_show: LiveShow,
                                          people: Callable[..., Person]) -> None:
    ann, mod = people(), people(name="Mo")
    message = ann.http.post(f"/api/v1/shows/{live_show.id}/chat", json={"text": "hello"}).json()
    path = f"/api/v1/shows/{live_show.id}/chat/{message['id']}"
    assert ann.http.delete(path).status_code == 403
    assert live_show.host.http.put(
        f"/api/v1/shows/{live_show.id}/moderators/{mod.id}").status_code == 200
    assert mod.http.delete(path).status_code == 200


def test_viewer_count_counts_people_not_tabs(live_show: LiveShow,
                                             people: Callable[..., Person]) -> None:
    ann, bob = people(), people()
    ann.join(live_show.id)
    ann.join(live_show.id)  # a second tab
    watcher = bob.join(live_show.id)
    counts = watcher.next("viewers", timeout=3, where=lambda e: e["count"] == 2)
    assert counts["count"] == 2


def test_hearts_are_aggregated(live_show: LiveShow, people: Callable[..., Person]) -> None:
    room = people().join(live_show.id)
    for _ in range(5):
        room.send(type="react", kind="heart")
    total = 0
    while total < 5:
        total += room.next("hearts")["count"]
    assert total == 5
