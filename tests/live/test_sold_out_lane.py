"""Late taps on a sold-out sale are answered ahead of FastAPI, exactly as the route would
answer them; every other request reaches the route with its body intact."""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import event
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveshop.accounts.tokens import TokenLookup
from liveshop.core.db import Database
from liveshop.live.sold_out import SoldOutGate, SoldOutLane
from liveshop.web import deps
from tests.conftest import run_async
from tests.factories import make_buyers
from tests.live.conftest import LiveShow, serving, settled

SOLD_OUT = {"error": {"code": "sold_out", "message": "Sold out", "field": "variant_id"}}

# Set while the server handles an HTTP request, so the SQL counted below is the requests' own
# and never that of the app's background loops (sweeps, stamps, settlement), whenever they run.
_IN_REQUEST = contextvars.ContextVar("in_request", default=False)


def _marking_requests(app: ASGIApp) -> ASGIApp:
    async def marked(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the lifespan starts the background loops
            await app(scope, receive, send)
            return
        token = _IN_REQUEST.set(True)
        try:
            await app(scope, receive, send)
        finally:
            _IN_REQUEST.reset(token)

    return marked


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    with serving(_marking_requests(app)) as address:
        yield address


@contextlib.contextmanager
def requests_statements(db: Database) -> Iterator[list[str]]:
    """The SQL that requests (not background loops) run on ``db`` inside the block."""
    seen: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if _IN_REQUEST.get():
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _tapper(server: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"http://{server}", timeout=10, headers={
        "Authorization": f"Bearer {token}", "Accept-Language": "en-GB"})


def _tap(client: httpx.Client, show_id: int, body: Any, key: str | None = None,
         **headers: str) -> httpx.Response:
    return client.post(f"/api/v1/shows/{show_id}/buy", json=body, headers={
        "Idempotency-Key": key or uuid.uuid4().hex, **headers})


def test_late_taps_are_refused_before_routing_and_everything_else_reaches_the_route(
    db: Database, server: str, live_show: LiveShow, monkeypatch: pytest.MonkeyPatch
) -> None:
    sold, other = live_show.variant_ids
    started = live_show.host.http.post(f"/api/v1/shows/{live_show.id}/sales", json={
        "variant_id": sold, "prices": {"UK": 1000, "DE": 1200}, "quantity": 1,
        "per_buyer_limit": 1, "duration_seconds": 60})
    assert started.status_code == 201, started.text
    winner, late = (_tapper(server, token) for token in make_buyers(db, 2))
    won = _tap(winner, live_show.id, {"variant_id": sold}, key="won")
    assert settled(winner, won)["status"] == "paid"
    with requests_statements(db) as routed_sql:  # the route closes the gate
        routed = _tap(late, live_show.id, {"variant_id": sold})
    assert routed_sql, "a tap that reaches the route runs SQL, which the count must see"
    assert (routed.status_code, routed.json()) == (409, SOLD_OUT)

    def route_reached(*args: Any) -> None:
        raise AssertionError("the buy route's dependencies ran")

    with monkeypatch.context() as patched:
        patched.setattr(deps, "market_of", route_reached)
        with requests_statements(db) as seen:
            refused = _tap(late, live_show.id, {"variant_id": sold, "quantity": 1})
    assert (refused.status_code, refused.json()) == (409, SOLD_OUT)
    assert refused.headers["content-type"] == routed.headers["content-type"]
    assert refused.headers["x-frame-options"] == "DENY"  # the security headers still apply
    assert seen == []

    # Whatever the lane does not answer itself reaches the route, body intact.
    bad_json = late.post(f"/api/v1/shows/{live_show.id}/buy", content=b"{not json",
                         headers={"Content-Type": "application/json", "Idempotency-Key": "x"})
    assert bad_json.status_code == 422 and bad_json.json()["error"]["code"] == "invalid"
    not_a_number = _tap(late, live_show.id, {"variant_id": sold, "quantity": "many"})
    assert (not_a_number.status_code, not_a_number.json()["error"]["field"]) == (422, "quantity")
    anonymous = httpx.post(f"http://{server}/api/v1/shows/{live_show.id}/buy",
                           json={"variant_id": sold}, headers={"Idempotency-Key": "y"})
    assert (anonymous.status_code, anonymous.json()["error"]["field"]) == (401, "Authorization")
    replayed = _tap(winner, live_show.id, {"variant_id": sold}, key="won")  # a lost answer
    assert (replayed.status_code, replayed.json()["status"]) == (201, "paid")  # paid since
    assert replayed.json()["purchase_id"] == won.json()["purchase_id"]
    regular = _tap(late, live_show.id, {"variant_id": other, "quantity": 2})
    assert regular.status_code == 201, regular.text
    assert regular.json()["status"] == "paid"
    for client in (winner, late):
        client.close()


def test_a_body_the_lane_read_is_handed_to_the_app_as_it_came() -> None:
    """Read in chunks, or too large to be a tap: the app still gets every byte."""
    received: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            received.append(message.get("body", b""))
            if not message.get("more_body", False):
                break

    gate = SoldOutGate()
    gate.close(1, 1, sale_id=1, claimants=frozenset(), version=1)

    def no_purchases() -> Any:
        raise AssertionError("a body the route would refuse is no tap to judge")

    async def send_nothing(message: Message) -> None:
        raise AssertionError("the app answers, not the lane")

    lane = SoldOutLane(app, "/api/v1/shows/{show_id}/buy", gate=gate,
                       tokens=cast(TokenLookup, None), purchases=no_purchases)
    chunks = [b'{"variant_id": 1,', b' "quantity": 1}', b" " * 2000, b"never read by the lane"]
    for body in (chunks[:2], chunks):
        received.clear()
        receive = _receiving([
            {"type": "http.request", "body": chunk, "more_body": index < len(body) - 1}
            for index, chunk in enumerate(body)])
        scope = {"type": "http", "method": "POST", "path": "/api/v1/shows/1/buy",
                 "headers": [(b"content-type", b"text/plain")]}
        run_async(lane(scope, receive, send_nothing))
        assert b"".join(received) == b"".join(body)


def _receiving(messages: list[Message]) -> Receive:
    async def receive() -> Message:
        return messages.pop(0)

    return receive
