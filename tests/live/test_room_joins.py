"""Joining a room on the real server: sockets write directly, joiners share the room's
snapshot without missing an event, and each signed-in viewer still gets their own ``you``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from liveshop.live import snapshots
from liveshop.live.room import Hub
from liveshop.services import app_services
from tests.live.conftest import LiveShow, Person, anonymous_join


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts builds of the shared snapshot (show ids); the cache never ages out here, so
    only the room's generation can make a joiner rebuild it."""
    built: list[int] = []
    build = snapshots.room_snapshot

    def counted(*args: Any) -> dict[str, Any]:
        built.append(args[2])
        return build(*args)

    monkeypatch.setattr(snapshots, "room_snapshot", counted)
    monkeypatch.setattr(snapshots, "MAX_AGE_SECONDS", 3600.0)
    return built


def test_room_sockets_write_directly_on_the_room_protocol(
    app: Any, live_show: LiveShow, people: Callable[..., Person]
) -> None:
    ann, bob = people(), people()
    ann_room, bob_room = ann.join(live_show.id), bob.join(live_show.id)
    hub: Hub = app_services(app).hub
    assert all(c.send_now is not None for c in hub.rooms[live_show.id].connections)  # type: ignore[attr-defined]
    ann_room.send(type="chat", text="hello")
    assert bob_room.chat_texts() == ["hello"]


def test_an_event_after_a_shared_snapshot_reaches_the_next_joiner(
    builds: list[int], live_show: LiveShow, people: Callable[..., Person], server: str
) -> None:
    first = anonymous_join(server, live_show.id)
    anonymous_join(server, live_show.id)
    assert len(builds) == 1  # nothing happened in between: the second shared the first's
    pinned = live_show.host.http.put(f"/api/v1/shows/{live_show.id}/pin",
                                     json={"product_id": live_show.product_id})
    assert pinned.status_code == 200
    first.next("pin")  # the room has the event now; a joiner from here on never gets it
    late = anonymous_join(server, live_show.id)
    assert late.snapshot["pinned"]["id"] == live_show.product_id and len(builds) == 2

    said = live_show.host.http.post(f"/api/v1/shows/{live_show.id}/chat",
                                    json={"text": "welcome"})
    assert said.status_code == 201
    first.chat_texts()
    later = anonymous_join(server, live_show.id)
    assert [m["text"] for m in later.snapshot["chat"]] == ["welcome"]


def test_each_signed_in_viewer_gets_their_own_you(
    builds: list[int], live_show: LiveShow, people: Callable[..., Person], server: str
) -> None:
    ann = people(name="Ann")
    muted = live_show.host.http.post(f"/api/v1/shows/{live_show.id}/mutes",
                                     json={"user_id": ann.id, "minutes": 10})
    assert muted.status_code == 201
    ann_you = ann.join(live_show.id).snapshot["you"]
    host_you = live_show.host.join(live_show.id).snapshot["you"]
    bob_snapshot = people(name="Bob").join(live_show.id, market="DE").snapshot
    anonymous_you = anonymous_join(server, live_show.id).snapshot["you"]

    assert ann_you["user_id"] == ann.id and ann_you["name"] == "Ann"
    assert ann_you["can_chat"] and not ann_you["can_moderate"] and ann_you["muted_until"]
    assert host_you["can_host"] and host_you["can_moderate"] and host_you["muted_until"] is None
    assert bob_snapshot["you"]["name"] == "Bob" and not bob_snapshot["you"]["can_host"]
    assert bob_snapshot["market"] == "DE"
    assert anonymous_you == snapshots.ANONYMOUS_VIEWER
    assert len(builds) == 2  # one per market (UK, DE), whoever joined


def test_an_unknown_show_closes_with_4404(server: str) -> None:
    with pytest.raises(ConnectionClosed) as closed:
        anonymous_join(server, 999_999)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
