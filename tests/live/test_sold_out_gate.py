"""The sold-out gate: once a flash sale is seen sold out, new taps are refused without a
database statement, while a buyer who holds a unit still gets their purchase replayed."""

from __future__ import annotations

import pytest

from liveshop.accounts.model import Actor
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.live import sales
from liveshop.live.broker import Handler, InProcessBroker
from liveshop.live.hub import RoomEvents, channel_of
from liveshop.live.sales import SoldOut, SoldOutGate
from liveshop.live.schemas import BuyView
from liveshop.markets.model import MARKETS
from liveshop.payments.provider import TestPaymentProvider
from tests.factories import actor_of_token, make_buyers
from tests.live.conftest import LiveShow
from tests.queries import statements


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    ticking = Clock()
    monkeypatch.setattr(sales.time, "monotonic", ticking)
    return ticking


def test_a_closed_gate_lets_claimants_through_and_trusts_itself_briefly(clock: Clock) -> None:
    gate = SoldOutGate()
    assert not gate.refuses(1, 7, buyer_id=5)
    gate.close(1, 7, sale_id=3, claimants=frozenset({5}), version=12)
    assert gate.refuses(1, 7, buyer_id=6)
    assert not gate.refuses(1, 7, buyer_id=5)  # may be a retry of a purchase: replay it
    assert not gate.refuses(1, 8, buyer_id=6)  # another variant
    assert not gate.refuses(2, 7, buyer_id=6)  # another show
    assert gate.known_sold_out(1, 7, buyer_id=6) and not gate.known_sold_out(1, 7, buyer_id=5)
    clock.now += SoldOutGate.TRUSTED_SECONDS
    assert not gate.known_sold_out(1, 7, buyer_id=6)  # a peek does not take the check...
    assert not gate.refuses(1, 7, buyer_id=6)  # ...one tap goes to check the database...
    assert gate.refuses(1, 7, buyer_id=9)  # ...the others wait for what it finds
    gate.reopen(1, 7, sale_id=3, version=13)  # a unit came back
    assert not gate.refuses(1, 7, buyer_id=9)


def test_a_claim_reported_after_the_sale_sold_out_does_not_reopen_the_gate() -> None:
    gate = SoldOutGate()
    gate.close(1, 7, sale_id=3, claimants=frozenset(), version=12)
    gate.reopen(1, 7, sale_id=3, version=11)  # took units before the last ones went
    gate.reopen(1, 7, sale_id=3, version=12)
    assert gate.known_sold_out(1, 7, buyer_id=6)
    gate.reopen(1, 7, sale_id=4, version=1)  # a new sale of the variant
    assert not gate.known_sold_out(1, 7, buyer_id=6)


def test_sold_out_taps_touch_no_database_and_a_winner_retry_replays(
    db: Database, settings: Settings, live_show: LiveShow, clock: Clock
) -> None:
    variant = live_show.variant_ids[0]
    created = live_show.host.http.post(f"/api/v1/shows/{live_show.id}/sales", json={
        "variant_id": variant, "prices": {"UK": 1000, "DE": 1200}, "quantity": 1,
        "per_buyer_limit": 1, "duration_seconds": 60})
    assert created.status_code == 201, created.text
    actors: list[Actor] = []
    for token in make_buyers(db, 4):
        actor = actor_of_token(db, token)
        assert actor is not None
        actors.append(actor)
    winner, late, later, latest = actors
    gate, payments = SoldOutGate(), TestPaymentProvider()

    def tap(actor: Actor, key: str) -> BuyView:
        return sales.buy(db, payments, settings, RoomEvents(InProcessBroker()), gate, actor,
                         live_show.id, variant, 1, MARKETS["UK"], key)

    won = tap(winner, "win")
    assert (won.status, won.flash_sale_id) == ("pending", created.json()["id"])
    with pytest.raises(SoldOut):
        tap(late, "late")
    with statements(db) as seen, pytest.raises(SoldOut):
        tap(later, "later")
    assert seen == []
    # The winner's client lost the answer and retries: the purchase is replayed, not refused.
    replayed = tap(winner, "win")
    assert replayed.purchase_id == won.purchase_id
    # After a while one tap checks again; the sale is still sold out, so the gate closes again.
    clock.now += SoldOutGate.TRUSTED_SECONDS
    with statements(db) as seen, pytest.raises(SoldOut):
        tap(latest, "latest")
    assert seen != []
    with statements(db) as seen, pytest.raises(SoldOut):
        tap(later, "later-again")
    assert seen == []


class Broadcast:
    """A broker delivering at once, in the publisher's thread."""

    def __init__(self) -> None:
        self.handlers: dict[str, list[Handler]] = {}

    def publish(self, channel: str, message: bytes) -> None:
        for handler in list(self.handlers.get(channel, [])):
            handler(channel, message)

    def subscribe(self, channel: str, handler: Handler) -> None:
        self.handlers.setdefault(channel, []).append(handler)

    def unsubscribe(self, channel: str, handler: Handler) -> None:
        self.handlers[channel].remove(handler)
        if not self.handlers[channel]:
            del self.handlers[channel]


def test_a_closed_gate_hears_units_given_back_by_other_processes_and_the_sale_end() -> None:
    broker, gate = Broadcast(), SoldOutGate()
    events = RoomEvents(broker)
    gate.listen(broker)
    assert broker.handlers == {}  # nothing closed, nothing to hear
    gate.close(1, 7, sale_id=3, claimants=frozenset({5}), version=12)
    assert set(broker.handlers) == {channel_of(1)}
    events.chat(1, {"text": '"sale": {"id": 3, "remaining": 1, "v": 13}'})
    events.stock(1, {"sale": {"id": 3, "remaining": 1, "v": 11}})  # a claim reported late
    events.stock(1, {"sale": {"id": 3, "remaining": 0, "v": 13}})  # taken again at once
    events.stock(1, {"variants": {"7": [4, 2]}})
    assert gate.known_sold_out(1, 7, buyer_id=6)
    events.stock(1, {"sale": {"id": 3, "remaining": 1, "v": 14}})  # a unit came back
    assert not gate.known_sold_out(1, 7, buyer_id=6)
    assert broker.handlers == {}  # no sale of the show closed: no longer listening

    gate.close(1, 7, sale_id=3, claimants=frozenset(), version=15)
    events.broadcast(1, {"type": "sale_ended", "sale_id": 3, "reason": "time"})
    assert not gate.known_sold_out(1, 7, buyer_id=6) and broker.handlers == {}
    gate.close(1, 7, sale_id=4, claimants=frozenset(), version=1)
    gate.listen(None)
    assert broker.handlers == {} and gate.known_sold_out(1, 7, buyer_id=6)
