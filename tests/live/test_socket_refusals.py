"""Room sockets the server refuses, each with a close code a browser script can see: a
cross-origin page (4401), a binary frame (1003), too many sockets from one client (4429)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.live.admission import SocketAllowance, address_key
from tests.factories import VariantSpec, create_product, create_shop
from tests.live.conftest import LiveShow, Person, Room, anonymous_join

PER_IP, PER_USER = 5, 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"room_sockets_per_ip": PER_IP,
                                       "room_sockets_per_user": PER_USER})


def _connect(host: str, show_id: int, person: Person | None = None,
             origin: str | None = None) -> ClientConnection:
    headers = {"Origin": origin or f"http://{host}"}
    if person is not None:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in person.http.cookies.items())
    return connect(f"ws://{host}/ws/shows/{show_id}", close_timeout=1,
                   additional_headers=headers)


def _until_closed(connection: ClientConnection) -> tuple[list[str], int]:
    """The types of the frames received until the server closed, and its close code."""
    kinds = []
    with connection, pytest.raises(ConnectionClosed) as closed:
        while True:
            kinds.append(json.loads(connection.recv(timeout=5))["type"])
    assert closed.value.rcvd is not None, "closed without a close frame"
    return kinds, closed.value.rcvd.code


def _joins_soon(join: Callable[[], Room]) -> Room:
    """Joining once the server has counted a socket just closed as gone."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return join()
        except ConnectionClosed:
            assert time.monotonic() < deadline, "a closed socket's place was never freed"
            time.sleep(0.05)


# --- item 12: a cross-origin page gets the documented close code ---


def test_a_cross_origin_socket_is_accepted_then_closed_with_4401(live_show: LiveShow,
                                                                 server: str) -> None:
    kinds, code = _until_closed(_connect(server, live_show.id, live_show.host,
                                         origin="https://evil.example"))
    assert (kinds, code) == ([], 4401)  # nothing about the room or the viewer first


# --- item 9: a binary frame is refused with 1003, on both ways a socket is written ---


def test_a_binary_frame_closes_the_socket_with_1003(live_show: LiveShow,
                                                    people: Callable[..., Person],
                                                    server: str) -> None:
    room = people().join(live_show.id)  # served by RoomWebSocketProtocol (direct writes)
    room.connection.send(b"\x00\x01binary")
    kinds, code = _until_closed(room.connection)
    assert code == 1003 and "error" not in kinds
    # The server is fine: the next socket gets its snapshot.
    assert anonymous_join(server, live_show.id).snapshot["type"] == "snapshot"


def test_a_binary_frame_closes_with_1003_through_the_queued_writer(
        db: Database, make_user: Any, client: TestClient) -> None:
    """The test client offers no direct writes: frames go through the writer task."""
    seller = make_user("seller")
    shop_id = create_shop(db, seller.id, {"UK": 399})
    product_id, _ = create_product(db, shop_id, [VariantSpec(prices={"UK": 1000})])
    show_id = seller.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Drop", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "product_ids": [product_id]}).json()["id"]
    with client.websocket_connect(f"/ws/shows/{show_id}") as socket:
        assert socket.receive_json()["type"] == "snapshot"
        socket.send_bytes(b"\x00\x01binary")
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:  # a viewer-count frame may come first
                socket.receive_json()
    assert closed.value.code == 1003


# --- item 11: sockets per signed-in user and per address ---


def test_a_user_holds_a_few_sockets_and_gets_4429_beyond(live_show: LiveShow,
                                                         people: Callable[..., Person],
                                                         server: str) -> None:
    ann = people()
    tabs = [ann.join(live_show.id) for _ in range(PER_USER)]
    kinds, code = _until_closed(_connect(server, live_show.id, ann))
    assert (kinds, code) == (["error"], 4429)
    # Someone else on the same address still gets in.
    people().join(live_show.id)
    # Closing a tab frees its place.
    tabs[0].close()
    assert _joins_soon(lambda: ann.join(live_show.id)).snapshot["you"]["user_id"] == ann.id


def test_an_address_holds_a_generous_number_of_sockets_and_gets_4429_beyond(
        live_show: LiveShow, people: Callable[..., Person], server: str) -> None:
    viewers = [anonymous_join(server, live_show.id) for _ in range(PER_IP - 1)]
    viewers.append(people().join(live_show.id))  # signed-in users count on their address
    for refused in (_connect(server, live_show.id), _connect(server, live_show.id, people())):
        assert _until_closed(refused) == (["error"], 4429)
    viewers[0].close()
    _joins_soon(lambda: anonymous_join(server, live_show.id))


def test_refused_sockets_give_their_place_back(live_show: LiveShow,
                                               people: Callable[..., Person],
                                               server: str) -> None:
    troll = people()
    assert live_show.host.http.post(f"/api/v1/shows/{live_show.id}/bans",
                                    json={"user_id": troll.id}).status_code == 201
    for _ in range(PER_IP + 1):
        assert _until_closed(_connect(server, live_show.id, troll))[1] == 4403
        assert _until_closed(_connect(server, live_show.id, origin="http://evil.example")
                             )[1] == 4401
        assert _until_closed(_connect(server, 987654))[1] == 4404
    assert _until_closed(_connect(server, live_show.id, troll))[1] == 4403  # not 4429
    assert anonymous_join(server, live_show.id).snapshot["type"] == "snapshot"


def test_the_allowance_counts_ipv6_clients_by_their_network() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.7") == address_key("192.0.2.7") == "192.0.2.7"
    allowance = SocketAllowance(per_address=3, per_user=1)
    assert allowance.take("a", 1) and not allowance.take("a", 1)  # the user's cap
    assert allowance.take("a", None) and allowance.take("a", 2)
    assert not allowance.take("a", None)  # the address's cap
    for user_id in (1, None, 2):
        allowance.give_back("a", user_id)
    assert allowance.by_address == {} and allowance.by_user == {}
