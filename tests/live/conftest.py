"""A real server per test (uvicorn in a thread) and people who talk to it over HTTP and
WebSocket, as browsers would."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.sync.client import ClientConnection, connect

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.events import EventBus
from liveshop.core.ratelimit import MemoryRateLimiter
from liveshop.live import claims, sales, shows
from liveshop.live.claims import Tap
from liveshop.live.model import PurchaseTerms
from liveshop.live.purchases import LivePurchases
from liveshop.live.room_events import RoomEvents
from liveshop.live.room_publisher import RoomPublisher
from liveshop.live.schemas import BuyView, SaleIn, ShowCreate
from liveshop.live.socket_writes import RoomWebSocketProtocol
from liveshop.live.sold_out import SoldOutGate
from liveshop.live.tap_batches import TapBatches
from liveshop.markets.model import MARKETS, Market
from liveshop.payments.provider import PaymentProvider, TestPaymentProvider
from tests.conftest import DEFAULT_PASSWORD, run_async
from tests.factories import (
    VariantSpec,
    actor_of_token,
    create_product,
    create_shop,
    make_buyers,
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a thread of its own; yields its host:port."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", ws=RoomWebSocketProtocol)
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    with serving(app) as address:
        yield address


class Room:
    """One WebSocket connection to a show, with helpers to wait for events."""

    def __init__(self, connection: ClientConnection):
        self.connection = connection
        self.seen: list[dict[str, Any]] = []
        self.snapshot = self.next("snapshot")

    def next(self, kind: str, timeout: float = 3.0,
             where: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                event = json.loads(self.connection.recv(timeout=remaining))
            except TimeoutError:
                raise AssertionError(
                    f"no {kind!r} event within {timeout}s; saw {self.seen[-5:]}") from None
            self.seen.append(event)
            if event["type"] == kind and (where is None or where(event)):
                return event

    def send(self, **message: Any) -> None:
        self.connection.send(json.dumps(message))

    def chat_texts(self, timeout: float = 3.0, count: int = 1) -> list[str]:
        texts: list[str] = []
        while len(texts) < count:
            texts += [m["text"] for m in self.next("chat", timeout)["messages"]]
        return texts

    def close(self) -> None:
        self.connection.close()


class Person:
    def __init__(self, host: str, role: str = "buyer", name: str | None = None):
        self.host = host
        self.http = httpx.Client(base_url=f"http://{host}", timeout=10)
        self.name = name or role.title()
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        created = self.http.post("/api/v1/auth/signup", json={
            "email": email, "password": DEFAULT_PASSWORD, "display_name": self.name,
            "role": role})
        assert created.status_code == 201, created.text
        self.id: int = created.json()["user"]["id"]
        self.http.headers["X-CSRF-Token"] = created.json()["csrf_token"]
        self.rooms: list[Room] = []

    def join(self, show_id: int, market: str = "UK") -> Room:
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        connection = connect(f"ws://{self.host}/ws/shows/{show_id}?market={market}",
                             close_timeout=1,
                             additional_headers={"Cookie": cookie,
                                                 "Origin": f"http://{self.host}"})
        room = Room(connection)
        self.rooms.append(room)
        return room

    def close(self) -> None:
        for room in self.rooms:
            room.close()
        self.http.close()


def anonymous_join(host: str, show_id: int) -> Room:
    return Room(connect(f"ws://{host}/ws/shows/{show_id}", close_timeout=1))


@pytest.fixture
def people(server: str) -> Iterator[Callable[..., Person]]:
    made: list[Person] = []

    def make(role: str = "buyer", name: str | None = None) -> Person:
        person = Person(server, role, name)
        made.append(person)
        return person

    yield make
    for person in made:
        person.close()


class LiveShow:
    def __init__(self, host: Person, show_id: int, shop_id: int, product_id: int,
                 variant_ids: list[int]):
        self.host, self.id, self.shop_id = host, show_id, shop_id
        self.product_id, self.variant_ids = product_id, variant_ids


@pytest.fixture
def live_show(db: Database, people: Callable[..., Person]) -> LiveShow:
    """A seller's show, live, with one product (two sizes, 40 units each) in its lineup."""
    host = people("seller", "Hannah Host")
    shop_id = create_shop(db, host.id, {"UK": 399, "DE": 499})
    product_id, variant_ids = create_product(db, shop_id, [
        VariantSpec(prices={"UK": 2500, "DE": 2900}, stock=40, option1="M"),
        VariantSpec(prices={"UK": 2500, "DE": 2900}, stock=40, option1="L"),
    ], title="Glow Jacket")
    created = host.http.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Friday drop", "markets": ["UK", "DE"],
        "scheduled_at": (utcnow() + timedelta(minutes=5)).isoformat(),
        "product_ids": [product_id]})
    assert created.status_code == 201, created.text
    show_id = created.json()["id"]
    assert host.http.post(f"/api/v1/shows/{show_id}/live").status_code == 200
    return LiveShow(host, show_id, shop_id, product_id, variant_ids)


def settled(http: httpx.Client, tapped: httpx.Response, timeout: float = 60.0) -> dict[str, Any]:
    """The purchase behind a 202 tap once it is paid or failed (GET its Location)."""
    assert tapped.status_code == 202, tapped.text
    deadline = time.monotonic() + timeout
    while True:
        purchase = http.get(tapped.headers["Location"], headers={
            name: tapped.request.headers[name] for name in ("authorization", "accept-language")
            if name in tapped.request.headers})
        assert purchase.status_code == 200, purchase.text
        if purchase.json()["status"] != "pending":
            return dict(purchase.json())
        assert time.monotonic() < deadline, "the purchase was never settled"
        time.sleep(0.25)


SALE_PRICE = 900


@dataclass
class Sale:
    show_id: int
    variant_id: int
    sale_id: int
    buyers: list[Actor]
    host: Actor


@pytest.fixture
def make_sale(db: Database) -> Callable[..., Sale]:
    """``make_sale(units, buyers, stock=units + 10)``: a live show (UK) running a flash sale
    of ``units`` (limit 1 per buyer) of a variant with ``stock`` units, and that many buyers
    with a saved card and address; no app runs."""

    def make(units: int, buyers: int, stock: int | None = None) -> Sale:
        with db.transaction() as session:
            seller = User(email=f"host-{uuid.uuid4().hex[:8]}@sale.test", display_name="Host",
                          password_hash="-", role=Role.SELLER.value)
            session.add(seller)
            session.flush()
            host = Actor(seller.id, Role.SELLER, "Host")
        shop = create_shop(db, host.user_id, {"UK": 399})
        product, (variant,) = create_product(db, shop, [VariantSpec(
            prices={"UK": 2000}, stock=units + 10 if stock is None else stock)])
        show = shows.create_show(db, host, ShowCreate(
            shop_id=shop, title="Drop", scheduled_at=utcnow() + timedelta(minutes=1),
            markets=["UK"], product_ids=[product]))
        shows.go_live(db, host, show.id)
        started = sales.start_sale(db, host, show.id, SaleIn(
            variant_id=variant, prices={"UK": SALE_PRICE}, quantity=units, per_buyer_limit=1,
            duration_seconds=300))
        actors = [actor_of_token(db, token) for token in make_buyers(db, buyers)]
        assert all(actor is not None for actor in actors)
        return Sale(show.id, variant, started.id, [a for a in actors if a is not None], host)

    return make


def purchases_of(db: Database, settings: Settings, *, gate: SoldOutGate | None = None,
                 payments: PaymentProvider | None = None) -> LivePurchases:
    """The live rooms' purchases as the app builds them, without an app."""
    return LivePurchases(db, settings, payments or TestPaymentProvider(), MemoryRateLimiter(),
                         gate or SoldOutGate())


def tell_rooms(db: Database, events: RoomEvents) -> None:
    """From now on the rooms are told what use cases commit on ``db`` through ``events``, as
    an app built on it tells them through its hub (liveshop/app.py), and besides it."""
    bus = db.after_commit if isinstance(db.after_commit, EventBus) else EventBus()
    RoomPublisher(lambda: events).subscribe(bus)
    db.after_commit = bus


def tap(purchases: LivePurchases, buyer: Actor, show_id: int, variant_id: int,
        key: str | None, quantity: int = 1, market: Market = MARKETS["UK"]) -> BuyView:
    """One tap on Buy through the production path (``LivePurchases.buy``), on an event
    loop of its own."""
    return run_async(purchases.buy(buyer, show_id, variant_id, quantity, market, key))


def settle_all(purchases: LivePurchases) -> int:
    """Settle every pending purchase nobody holds, as the settlement queue would; how many."""
    settled_count = 0
    while purchases.settle_next():
        settled_count += 1
    return settled_count


def claim_together(db: Database, gate: SoldOutGate, taps: Sequence[Tap]
                   ) -> list[BuyView | PurchaseTerms | BaseException]:
    """What taps arriving in one turn of the event loop get from the claim: batched as the
    app batches them (liveshop/live/tap_batches.py), each answer or error in order."""
    claim_units = functools.partial(claims.claim_units, db, gate)

    async def crowd() -> list[BuyView | PurchaseTerms | BaseException]:
        batches = TapBatches(claim_units, gate)
        return list(await asyncio.gather(*(batches.claim(tap) for tap in taps),
                                         return_exceptions=True))

    return run_async(crowd())
