"""Use cases record what the room must be told inside their transaction; the room hears it
only once that transaction has committed, and never when it rolls back (issue 17, item 3).

Each family of room events is checked both ways. A failed commit is simulated by refusing
exactly the commits of transactions that recorded events: the use case fails after
recording, as it would on a lost connection or a serialization failure at COMMIT. At
publishing time the change is read back from the database (``probe``): it is committed.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.app import create_app, tell_rooms_after_commit
from liveshop.catalog.orm import Variant
from liveshop.core.config import Settings
from liveshop.core.db import PENDING_EVENTS, Database, utcnow
from liveshop.core.events import DomainEvent, EventBus
from liveshop.core.ratelimit import MemoryRateLimiter
from liveshop.live import chat, creators, events, sales, shows
from liveshop.live.claims import Tap
from liveshop.live.orm import ChatMessage, FlashSale, SalePurchase, Show
from liveshop.live.room_events import CLOSE_BANNED, CLOSE_RESYNC, RoomEvents
from liveshop.live.schemas import SaleIn, ShowCreate
from liveshop.live.sold_out import SoldOutGate
from liveshop.live.video_link import connect as connect_video_link
from liveshop.markets.model import MARKETS
from liveshop.orders import events as order_events
from liveshop.payments.orm import PaymentMethod
from liveshop.video import events as video_events
from liveshop.video import link as video_link
from liveshop.video import service as video
from liveshop.video.model import StreamState
from liveshop.video.orm import VideoStream
from tests.conftest import run_async
from tests.factories import VariantSpec, actor_of_token, create_product, create_shop, make_buyers
from tests.live.conftest import Sale, claim_together, purchases_of, settle_all

UK = MARKETS["UK"]


class Published:
    """A broker that keeps what is published to rooms: (show id, envelope, what ``probe``
    read from the database at that moment)."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, dict[str, Any], Any]] = []
        self.raw: list[bytes] = []
        self.probe: Callable[[], Any] | None = None

    def publish(self, channel: str, message: bytes) -> None:
        self.raw.append(message)
        self.messages.append((int(channel.rsplit(":", 1)[1]), json.loads(message),
                              self.probe() if self.probe is not None else None))

    def envelopes(self) -> list[dict[str, Any]]:
        return [envelope for _, envelope, _ in self.messages]

    def take(self) -> list[dict[str, Any]]:
        taken = self.envelopes()
        self.messages.clear()
        self.raw.clear()
        return taken


@pytest.fixture
def room(db: Database, settings: Settings) -> Published:
    """What the use cases committed on ``db`` tell the rooms, wired by the composition
    root's own function, the rooms publishing to a :class:`Published`."""
    published = Published()
    events = RoomEvents(published)  # type: ignore[arg-type]
    tell_rooms_after_commit(db, settings, lambda: events)
    connect_video_link(video_link.ShowVideo())
    return published


@contextlib.contextmanager
def commits_that_recorded_events_fail(db: Database) -> Iterator[None]:
    """Inside the block, a transaction that recorded a domain event fails at its commit;
    the others (claiming an idempotency key, reading) go through."""

    def fail(session: Session) -> None:
        if session.info.get(PENDING_EVENTS):
            raise RuntimeError("the commit failed")

    event.listen(db._sessions, "before_commit", fail)
    try:
        yield
    finally:
        event.remove(db._sessions, "before_commit", fail)


def _user(db: Database, role: Role, name: str) -> Actor:
    with db.transaction() as session:
        user = User(email=f"{uuid.uuid4().hex[:8]}@told.test", display_name=name,
                    password_hash="-", role=role.value)
        session.add(user)
        session.flush()
        return Actor(user.id, role, name)


def _scheduled_show(db: Database, host: Actor | None = None) -> tuple[int, int, Actor]:
    """A scheduled show (UK) of a seller's shop selling one product: (show, product, host)."""
    host = host or _user(db, Role.SELLER, "Hannah Host")
    shop = create_shop(db, host.user_id, {"UK": 399})
    product, _ = create_product(db, shop, [VariantSpec(prices={"UK": 2000}, stock=5)],
                                title="Glow Jacket")
    show = shows.create_show(db, host, ShowCreate(
        shop_id=shop, title="Drop", scheduled_at=utcnow() + timedelta(minutes=1),
        markets=["UK"], product_ids=[product]))
    return show.id, product, host


def _status(db: Database, show_id: int) -> str:
    with db.read() as session:
        return session.get_one(Show, show_id).status


def _remaining(db: Database, sale_id: int) -> int:
    with db.read() as session:
        return session.get_one(FlashSale, sale_id).remaining


def test_a_show_going_live_and_ending_is_told_once_committed(
        db: Database, room: Published) -> None:
    show_id, _, host = _scheduled_show(db)
    with commits_that_recorded_events_fail(db), pytest.raises(RuntimeError):
        shows.go_live(db, host, show_id)
    assert room.take() == [] and _status(db, show_id) == "scheduled"

    room.probe = lambda: _status(db, show_id)
    live = shows.go_live(db, host, show_id)
    assert live.started_at is not None
    started = int(live.started_at.timestamp() * 1000)
    # Byte for byte the envelope published before events existed.
    assert room.raw == [b'{"to":"all","event":{"type":"status","status":"live",'
                        b'"started_at":%d}}' % started]
    assert [(show, probe) for show, _, probe in room.messages] == [(show_id, "live")]
    room.take()

    with commits_that_recorded_events_fail(db), pytest.raises(RuntimeError):
        shows.end_show(db, host, show_id)
    assert room.take() == [] and _status(db, show_id) == "live"
    shows.end_show(db, host, show_id)
    assert room.messages[0][2] == "ended"
    assert room.take() == [{"to": "all", "event": {"type": "status", "status": "ended"}}]


def test_a_pin_is_told_once_committed(db: Database, room: Published) -> None:
    show_id, product_id, host = _scheduled_show(db)
    shows.go_live(db, host, show_id)
    room.take()
    with commits_that_recorded_events_fail(db), pytest.raises(RuntimeError):
        shows.pin(db, host, show_id, product_id)
    assert room.take() == []

    card = shows.pin(db, host, show_id, product_id)
    assert card is not None and card["title"] == "Glow Jacket"
    assert room.take() == [{"to": "all", "event": {"type": "pin", "product": card}}]
    shows.pin(db, host, show_id, None)
    assert room.take() == [{"to": "all", "event": {"type": "pin", "product": None}}]


def test_a_sale_starting_stopping_and_running_out_of_time_is_told_once_committed(
        db: Database, room: Published, make_sale: Callable[..., Sale]) -> None:
    sale = make_sale(3, 1, stock=5)
    told = room.take()
    assert [envelope["to"] for envelope in told] == ["all", "all", "stock"]
    assert told[1]["event"]["type"] == "sale" and told[1]["event"]["sale"]["remaining"] == 3
    assert told[2]["stock"]["variants"][str(sale.variant_id)][0] == 2  # 5 units, 3 held

    with commits_that_recorded_events_fail(db), pytest.raises(RuntimeError):
        sales.stop_sale(db, sale.host, sale.show_id, sale.sale_id)
    assert room.take() == []
    with db.read() as session:
        assert session.get_one(FlashSale, sale.sale_id).status == "active"

    sales.stop_sale(db, sale.host, sale.show_id, sale.sale_id)
    told = room.take()
    assert told[0] == {"to": "all", "event": {"type": "sale_ended", "sale_id": sale.sale_id,
                                              "reason": "stopped"}}
    assert told[1]["to"] == "stock" and told[1]["stock"]["variants"][str(sale.variant_id)][0] == 5

    again = sales.start_sale(db, sale.host, sale.show_id, SaleIn(
        variant_id=sale.variant_id, prices={"UK": 900}, quantity=2, duration_seconds=60))
    room.take()
    later = utcnow() + timedelta(hours=3)
    with commits_that_recorded_events_fail(db), pytest.raises(RuntimeError):
        sales.end_expired_sales(db, now=later)
    assert room.take() == []
    assert sales.end_expired_sales(db, now=later) == 1
    assert room.take()[0] == {"to": "all", "event": {
        "type": "sale_ended", "sale_id": again.id, "reason": "time"}}


def _taps(sale: Sale, buyers: list[Actor]) -> list[Tap]:
    return [Tap(buyer, sale.show_id, sale.variant_id, 1, UK, uuid.uuid4().hex)
            for buyer in buyers]


def test_units_claimed_are_told_once_committed_and_sold_out_with_the_last(
        db: Database, room: Published, make_sale: Callable[..., Sale]) -> None:
    sale = make_sale(2, 4)
    room.take()
    first, second, third, bystander = sale.buyers
    gate = SoldOutGate()
    with commits_that_recorded_events_fail(db):
        failed = claim_together(db, gate, _taps(sale, [first]))
    assert isinstance(failed[0], RuntimeError)
    assert room.take() == [] and _remaining(db, sale.sale_id) == 2

    room.probe = lambda: _remaining(db, sale.sale_id)
    claim_together(db, gate, _taps(sale, [first]))
    [(show_id, told, remaining)] = room.messages
    assert show_id == sale.show_id and remaining == 1
    version = told["stock"]["sale"]["v"]
    assert told == {"to": "stock", "stock": {"sale": {"id": sale.sale_id, "remaining": 1,
                                                      "v": version}}}
    room.take()

    claim_together(db, gate, _taps(sale, [second, third]))  # one unit for two taps
    assert room.take() == [
        {"to": "stock", "stock": {"sale": {"id": sale.sale_id, "remaining": 0,
                                           "v": version + 1}}},
        {"to": "all", "event": {"type": "sale_sold_out", "sale_id": sale.sale_id}}]
    assert gate.refuses(sale.show_id, sale.variant_id, bystander.user_id)


def test_units_given_back_by_a_declined_card_are_told(
        db: Database, settings: Settings, room: Published,
        make_sale: Callable[..., Sale]) -> None:
    sale = make_sale(1, 1)
    [buyer] = sale.buyers
    with db.transaction() as session:
        session.execute(update(PaymentMethod).where(PaymentMethod.user_id == buyer.user_id)
                        .values(token="tok_test_card_declined_x"))
    purchases = purchases_of(db, settings)
    claim_together(db, purchases.gate, _taps(sale, [buyer]))
    room.take()
    room.probe = lambda: _remaining(db, sale.sale_id)
    settle_all(purchases)
    [(_, told, remaining)] = room.messages
    assert remaining == 1 and told["stock"]["sale"]["remaining"] == 1
    assert not purchases.gate.refuses(sale.show_id, sale.variant_id, buyer.user_id)


def test_chat_and_moderation_are_told_once_committed(
        db: Database, room: Published, make_sale: Callable[..., Sale]) -> None:
    sale = make_sale(1, 2)
    author, other = sale.buyers
    room.take()
    limiter = MemoryRateLimiter()
    with commits_that_recorded_events_fail(db), pytest.raises(RuntimeError):
        chat.post_chat(db, limiter, author, sale.show_id, "lost")
    assert room.take() == []

    posted = chat.post_chat(db, limiter, author, sale.show_id, "hello")
    assert room.take() == [{"to": "chat", "message": {
        "id": posted.id, "user_id": author.user_id, "author": author.display_name,
        "text": "hello", "at": posted.at}}]

    for moderate in (lambda: chat.delete_message(db, sale.host, sale.show_id, posted.id),
                     lambda: chat.mute(db, sale.host, sale.show_id, author.user_id, 5),
                     lambda: chat.ban(db, sale.host, sale.show_id, author.user_id),
                     lambda: chat.set_slow_mode(db, sale.host, sale.show_id, 30)):
        with commits_that_recorded_events_fail(db), pytest.raises(RuntimeError):
            moderate()
        assert room.take() == []

    chat.delete_message(db, sale.host, sale.show_id, posted.id)
    assert room.take() == [{"to": "all", "event": {"type": "chat_deleted",
                                                   "ids": [posted.id]}}]
    until = chat.mute(db, sale.host, sale.show_id, author.user_id, 5)
    assert room.take() == [{"to": "user", "user": author.user_id, "event": {
        "type": "muted", "until": int(until.timestamp() * 1000)}, "disconnect": False,
        "close": CLOSE_BANNED}]
    said = chat.post_chat(db, limiter, other, sale.show_id, "bye")
    room.take()
    chat.ban(db, sale.host, sale.show_id, other.user_id)
    assert room.take() == [
        {"to": "user", "user": other.user_id, "event": {"type": "banned"}, "disconnect": True,
         "close": CLOSE_BANNED},
        {"to": "all", "event": {"type": "chat_deleted", "ids": [said.id]}}]
    with db.read() as session:
        assert session.get_one(ChatMessage, said.id).deleted_at is not None
    chat.set_slow_mode(db, sale.host, sale.show_id, 30)
    assert room.take() == [{"to": "all", "event": {"type": "slow_mode", "seconds": 30}}]


def test_an_order_paid_in_a_room_is_told_to_its_staff_with_its_stock(
        db: Database, settings: Settings, room: Published,
        make_sale: Callable[..., Sale]) -> None:
    # At the regular price: paid before the answer.
    show_id, product_id, host = _scheduled_show(db)
    shows.go_live(db, host, show_id)
    [token] = make_buyers(db, 1)
    buyer = actor_of_token(db, token)
    assert buyer is not None
    variant_id = _variant_of(db, product_id)
    room.take()
    paid = run_async(purchases_of(db, settings).buy(buyer, show_id, variant_id, 2, UK,
                                                    uuid.uuid4().hex))
    assert paid.status == "paid"
    stock, order = room.take()
    assert stock["to"] == "stock" and stock["stock"]["variants"][str(variant_id)][0] == 3
    assert order == {"to": "staff", "event": {
        "type": "order", "number": paid.order_numbers[0], "total": paid.total,
        "currency": "GBP", "buyer": buyer.display_name, "items": ["2 x Glow Jacket"],
        "sale_id": None}}

    # In a flash sale: told once the payment commits, with the sale; not if it rolls back.
    sale = make_sale(1, 1)
    purchases = purchases_of(db, settings)
    claim_together(db, purchases.gate, _taps(sale, sale.buyers))
    room.take()
    with commits_that_recorded_events_fail(db):
        assert purchases.settle_next()  # it failed, and is retried a little later
    assert room.take() == []
    with db.transaction() as session:
        session.execute(update(SalePurchase).values(lease_until=None))
    settle_all(purchases)
    told = room.take()
    assert [envelope["to"] for envelope in told] == ["stock", "staff"]
    assert told[1]["event"]["sale_id"] == sale.sale_id


def _variant_of(db: Database, product_id: int) -> int:
    with db.read() as session:
        variant_id = session.scalar(select(Variant.id).where(Variant.product_id == product_id))
        assert variant_id is not None
        return variant_id


def _streaming(db: Database, show_id: int) -> None:
    with db.transaction() as session:
        session.add(VideoStream(show_id=show_id, stream_key=uuid.uuid4().hex,
                                state=StreamState.LIVE, connected_at=utcnow()))


def test_the_video_dropping_starting_and_ending_is_told_once_committed(
        db: Database, settings: Settings, room: Published) -> None:
    show_id, _, host = _scheduled_show(db)
    shows.go_live(db, host, show_id)
    _streaming(db, show_id)
    room.take()
    playlist, poster = f"/video/{show_id}/live/index.m3u8", f"/video/{show_id}/poster.jpg"
    with commits_that_recorded_events_fail(db), pytest.raises(RuntimeError):
        video.publisher_dropped(db, show_id)
    assert room.take() == []

    video.publisher_dropped(db, show_id)
    assert room.take() == [{"to": "all", "event": {
        "type": "video", "state": "reconnecting", "playlist": playlist, "poster": poster}}]
    video.publisher_dropped(db, show_id)  # no longer live: nothing changed, nothing told
    assert room.take() == []
    with db.transaction() as session:
        session.execute(update(VideoStream).values(state=StreamState.LIVE))
    video.media_started(db, show_id, utcnow())
    assert room.take() == [{"to": "all", "event": {
        "type": "video", "state": "live", "playlist": playlist, "poster": poster}}]
    video.finish(db, settings, show_id)
    assert room.take() == [
        {"to": "all", "event": {"type": "status", "status": "ended"}},
        {"to": "all", "event": {"type": "video", "state": "ended", "playlist": None,
                                "poster": poster}}]


def test_a_show_handed_back_to_its_shop_is_told_once_committed(
        db: Database, room: Published) -> None:
    owner = _user(db, Role.SELLER, "Sam Seller")
    creator = _user(db, Role.CREATOR, "Cleo")
    shop = create_shop(db, owner.user_id, {"UK": 399})
    product, (variant,) = create_product(db, shop, [VariantSpec(prices={"UK": 2000})])
    creators.invite_creator(db, owner, shop, creator.user_id, 1000)
    show = shows.create_show(db, creator, ShowCreate(
        shop_id=shop, title="Cleo live", scheduled_at=utcnow(), markets=["UK"],
        product_ids=[product]))
    shows.go_live(db, creator, show.id)
    sale = sales.start_sale(db, creator, show.id, SaleIn(
        variant_id=variant, prices={"UK": 900}, quantity=2, duration_seconds=60))
    _streaming(db, show.id)
    room.take()
    with commits_that_recorded_events_fail(db), pytest.raises(RuntimeError):
        creators.remove_creator(db, owner, shop, creator.user_id)
    assert room.take() == []
    with db.read() as session:
        assert session.get_one(Show, show.id).host_id == creator.user_id

    creators.remove_creator(db, owner, shop, creator.user_id)
    host = {"type": "host", "host_id": owner.user_id, "host_name": "Sam Seller"}
    told = room.take()
    assert told[0] == {"to": "all", "event": {"type": "sale_ended", "sale_id": sale.id,
                                              "reason": "stopped"}}
    assert told[1]["to"] == "stock"
    assert told[2:] == [
        {"to": "all", "event": host},
        {"to": "user", "user": creator.user_id, "event": host, "disconnect": True,
         "close": CLOSE_RESYNC},
        {"to": "all", "event": {"type": "video", "state": "reconnecting",
                                "playlist": f"/video/{show.id}/live/index.m3u8",
                                "poster": f"/video/{show.id}/poster.jpg"}}]


def _event_types(*modules: Any) -> list[type[DomainEvent]]:
    return [value for module in modules for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, DomainEvent)
            and value is not DomainEvent and value.__module__ == module.__name__]


def test_an_app_tells_its_rooms_every_room_event(settings: Settings, db: Database) -> None:
    """The composition root subscribes a handler to every event a room is told of."""
    create_app(settings, db)
    bus = db.after_commit
    assert isinstance(bus, EventBus)
    kinds = _event_types(events, video_events, order_events)
    assert len(kinds) >= 15
    assert [kind.__name__ for kind in kinds if not bus.handlers(kind)] == []
