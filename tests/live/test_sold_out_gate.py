"""The sold-out gate: once a flash sale is seen sold out, new taps are refused without a
database statement, while a buyer who holds a unit still gets their purchase replayed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from liveshop.accounts.model import Actor
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.live import sold_out
from liveshop.live.broker import Handler
from liveshop.live.model import SoldOut
from liveshop.live.room_events import RoomEvents, channel_of
from liveshop.live.schemas import BuyView
from liveshop.live.sold_out import SoldOutGate
from tests.factories import actor_of_token, make_buyers
from tests.live.conftest import LiveShow, purchases_of, tap
from tests.queries import statements


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    ticking = Clock()
    monkeypatch.setattr(sold_out.time, "monotonic", ticking)
    return ticking


def test_a_closed_gate_lets_claimants_through_and_trusts_itself_briefly(clock: Clock) -> None:
    gate = SoldOutGate()
    assert not gate.refuses(1, 7, buyer_id=5)
    gate.close(1, 7, sale_id=3, claimants=frozenset({5}), version=12)
    assert gate.refuses(1, 7, buyer_id=6)
    assert not gate.refuses(1, 7, buyer_id=5)  # may be a retry of a purchase: replay it
    assert not gate.refuses(1, 8, buyer_id=6)  # another variant
    assert not gate.refuses(2, 7, buyer_id=6)  # another show
    assert gate.has_closed_sales(1) and not gate.has_closed_sales(2)
    clock.now += SoldOutGate.TRUSTED_SECONDS
    assert not gate.refuses(1, 7, buyer_id=6)  # one buyer goes to check the database...
    assert not gate.refuses(1, 7, buyer_id=6)  # ...asked twice (the lane, then the purchase)
    assert gate.refuses(1, 7, buyer_id=9)  # ...the others wait for what it finds
    gate.reopen(1, 7, sale_id=3, version=13)  # a unit came back
    assert not gate.refuses(1, 7, buyer_id=9)


def test_a_claim_reported_after_the_sale_sold_out_does_not_reopen_the_gate() -> None:
    gate = SoldOutGate()
    gate.close(1, 7, sale_id=3, claimants=frozenset(), version=12)
    gate.reopen(1, 7, sale_id=3, version=11)  # took units before the last ones went
    gate.reopen(1, 7, sale_id=3, version=12)
    assert gate.refuses(1, 7, buyer_id=6)
    gate.reopen(1, 7, sale_id=4, version=1)  # a new sale of the variant
    assert not gate.refuses(1, 7, buyer_id=6)


@pytest.fixture
def taps_db(settings: Settings) -> Iterator[Database]:
    """A database handle of the taps' own. The app serving ``live_show`` runs its sweeps on
    ``db`` (it settles the winner's purchase about a second after the clock moves on), and
    the statements counted below must be the taps' alone, whenever the sweeps come."""
    database = Database(settings.database_url)
    yield database
    database.dispose()


def test_sold_out_taps_touch_no_database_and_a_winner_retry_replays(
    db: Database, taps_db: Database, settings: Settings, live_show: LiveShow, clock: Clock
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
    purchases = purchases_of(taps_db, settings)

    def buy(actor: Actor, key: str) -> BuyView:
        return tap(purchases, actor, live_show.id, variant, key)

    won = buy(winner, "win")
    assert (won.status, won.flash_sale_id) == ("pending", created.json()["id"])
    with pytest.raises(SoldOut):
        buy(late, "late")
    with statements(taps_db) as seen, pytest.raises(SoldOut):
        buy(later, "later")
    assert seen == []
    # The winner's client lost the answer and retries: the purchase is replayed, not refused.
    replayed = buy(winner, "win")
    assert replayed.purchase_id == won.purchase_id
    # After a while one tap checks again; the sale is still sold out, so the gate closes again.
    clock.now += SoldOutGate.TRUSTED_SECONDS
    with statements(taps_db) as seen, pytest.raises(SoldOut):
        buy(latest, "latest")
    assert seen != []
    with statements(taps_db) as seen, pytest.raises(SoldOut):
        buy(later, "later-again")
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
    assert gate.refuses(1, 7, buyer_id=6)
    events.stock(1, {"sale": {"id": 3, "remaining": 1, "v": 14}})  # a unit came back
    assert not gate.refuses(1, 7, buyer_id=6)
    assert broker.handlers == {}  # no sale of the show closed: no longer listening

    gate.close(1, 7, sale_id=3, claimants=frozenset(), version=15)
    events.broadcast(1, {"type": "sale_ended", "sale_id": 3, "reason": "time"})
    assert not gate.refuses(1, 7, buyer_id=6) and broker.handlers == {}
    gate.close(1, 7, sale_id=4, claimants=frozenset(), version=1)
    gate.listen(None)
    assert broker.handlers == {} and gate.refuses(1, 7, buyer_id=6)
