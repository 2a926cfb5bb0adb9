"""Taps that arrive together claim together: one transaction and one UPDATE of the sale
for a batch, and each tap's answer the same as if it had claimed alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor, Role
from liveshop.core.db import Database
from liveshop.core.errors import Conflict, DomainError
from liveshop.live import sales
from liveshop.live.broker import InProcessBroker
from liveshop.live.claim_queue import ClaimQueue
from liveshop.live.hub import RoomEvents
from liveshop.live.orm import FlashSale, SalePurchase
from liveshop.live.sales import Offer, SoldOutGate, Tap
from liveshop.live.schemas import BuyView
from liveshop.markets.model import MARKETS
from liveshop.payments.orm import PaymentMethod
from tests.conftest import run_async
from tests.live.conftest import Sale
from tests.queries import statements

UK = MARKETS["UK"]


def _taps(sale: Sale, keys: Sequence[str], buyers: Sequence[int] | None = None) -> list[Tap]:
    chosen = buyers if buyers is not None else range(len(keys))
    return [Tap(sale.buyers[buyer], sale.show_id, sale.variant_id, 1, UK, key)
            for buyer, key in zip(chosen, keys, strict=True)]


def _claim(db: Database, gate: SoldOutGate, taps: list[Tap]) -> list[BuyView | Offer | DomainError]:
    """What the queue does with taps that arrived together: batches, then each tap left."""
    events = RoomEvents(InProcessBroker())
    claimed: dict[int, BuyView | Offer | DomainError] = dict(
        sales.claim_batches(db, events, gate, taps))
    for index, tap in enumerate(taps):
        if index not in claimed:
            try:
                claimed[index] = sales.claim_tap(db, events, gate, tap)
            except DomainError as error:
                claimed[index] = error
    return [claimed[index] for index in range(len(taps))]


def _remaining(db: Database, sale: Sale) -> int:
    with db.read() as session:
        return session.get_one(FlashSale, sale.sale_id).remaining


def test_a_batch_is_claimed_with_one_update_of_the_sale(
        db: Database, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(10, 4)
    with statements(db, "UPDATE FLASH_SALES") as sale_updates:
        answers = _claim(db, SoldOutGate(), _taps(sale, ["a", "b", "c", "d"]))
    assert len(sale_updates) == 1
    assert [getattr(answer, "status", None) for answer in answers] == ["pending"] * 4
    ids = [answer.purchase_id for answer in answers if isinstance(answer, BuyView)]
    assert len(set(ids)) == 4
    assert _remaining(db, sale) == 6
    # Each tap's key holds what it got: a retry replays the batch's purchase.
    retried = sales.claim(db, RoomEvents(InProcessBroker()), SoldOutGate(), sale.buyers[2],
                          sale.show_id, sale.variant_id, 1, UK, "c")
    assert isinstance(retried, BuyView) and retried.purchase_id == ids[2]


def test_a_batch_larger_than_whats_left_sells_exactly_whats_left(
        db: Database, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(3, 5)
    answers = _claim(db, SoldOutGate(), _taps(sale, ["a", "b", "c", "d", "e"]))
    won = [answer for answer in answers if isinstance(answer, BuyView)]
    refused = [answer for answer in answers if isinstance(answer, DomainError)]
    assert len(won) == 3 and [error.code for error in refused] == ["sold_out", "sold_out"]
    assert _remaining(db, sale) == 0
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(SalePurchase)) == 3


def test_what_a_batch_cannot_settle_plainly_gets_the_answer_it_would_get_alone(
        db: Database, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(10, 4)
    gate = SoldOutGate()
    [first] = _claim(db, gate, _taps(sale, ["early"], buyers=[0]))
    assert isinstance(first, BuyView)
    with db.transaction() as session:  # buyer 3 has no card any more
        session.query(PaymentMethod).filter_by(user_id=sale.buyers[3].user_id).delete()
    answers = _claim(db, gate, _taps(
        sale, ["early", "again", "b1", "b1-twice", "c1", "card", ""], buyers=[0, 0, 1, 1, 2, 3, 2]))
    replay, limit, fresh, twice, other, no_card, no_key = answers
    assert isinstance(replay, BuyView) and replay.purchase_id == first.purchase_id
    assert isinstance(limit, Conflict) and limit.code == "limit_reached"
    assert isinstance(fresh, BuyView) and isinstance(other, BuyView)
    assert isinstance(twice, Conflict) and twice.code == "limit_reached"
    assert isinstance(no_card, DomainError) and no_card.code == "payment_method_required"
    assert isinstance(no_key, DomainError) and no_key.field == "Idempotency-Key"
    assert _remaining(db, sale) == 7


def _pending(purchase_id: int) -> BuyView:
    return BuyView(status="pending", purchase_id=purchase_id, checkout_id=None,
                   order_numbers=[], total=None, currency=None, flash_sale_id=1)


def test_the_queue_gathers_taps_that_wait_and_claims_what_a_batch_leaves_alone() -> None:
    seen: list[int] = []
    release = threading.Event()

    def claim_batches(taps: Sequence[Tap]) -> dict[int, BuyView]:
        seen.append(len(taps))
        release.wait(5)
        # The batch takes its odd taps; the even ones are left to be claimed alone.
        return {index: _pending(index) for index in range(1, len(taps), 2)}

    def claim_tap(tap: Tap) -> BuyView | Offer:
        if tap.quantity == 2:
            raise Conflict("no", code="refused")
        return Offer(None, None, None)

    async def crowd() -> list[object]:
        queue = ClaimQueue(claim_batches, claim_tap, SoldOutGate())
        taps = [Tap(Actor(n, Role.BUYER), 1, 1, 2 if n == 4 else 1, UK, str(n))
                for n in range(10)]
        waiting = []
        for arrived in (taps[:2], taps[2:3], taps[3:]):  # in three turns of the loop
            waiting += [asyncio.create_task(queue.claim(tap)) for tap in arrived]
            await asyncio.sleep(0.02)
        release.set()  # the first batch was held until now; the others waited for it
        return list(await asyncio.gather(*waiting, return_exceptions=True))

    answers = run_async(crowd())
    assert seen == [2, 8]
    assert [type(answer).__name__ for answer in answers] == [
        "Offer", "BuyView",  # first batch: [0, 1]
        "Offer", "BuyView", "Conflict", "BuyView", "Offer", "BuyView", "Offer", "BuyView",
    ]  # the next batch: [2..9], whatever turn they arrived in


def test_a_tap_alone_takes_no_batch_place() -> None:
    seen: list[int] = []
    release = threading.Event()

    def claim_batches(taps: Sequence[Tap]) -> dict[int, BuyView]:
        seen.append(len(taps))
        release.wait(5)
        return {index: _pending(index) for index in range(len(taps))}

    def claim_tap(tap: Tap) -> BuyView | Offer:
        release.wait(5)
        return Offer(None, None, None)

    async def crowd() -> list[object]:
        queue = ClaimQueue(claim_batches, claim_tap, SoldOutGate())
        taps = [Tap(Actor(n, Role.BUYER), 1, 1, 1, UK, str(n)) for n in range(5)]
        waiting = [asyncio.create_task(queue.claim(taps[0]))]  # the first of a crowd
        await asyncio.sleep(0.02)
        for arrived in (taps[1:3], taps[3:]):
            waiting += [asyncio.create_task(queue.claim(tap)) for tap in arrived]
            await asyncio.sleep(0.02)
        # While the first tap is being claimed, the batch of the crowd behind it is.
        claiming = list(seen)
        release.set()
        return [claiming, *await asyncio.gather(*waiting)]

    claiming, *answers = run_async(crowd())
    assert claiming == [2]
    assert seen == [2, 2]
    assert [type(answer).__name__ for answer in answers] == ["Offer"] + ["BuyView"] * 4


def test_a_sold_out_gate_refuses_a_batch_without_claiming(
        db: Database, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(2, 4)
    gate = SoldOutGate()
    _claim(db, gate, _taps(sale, ["a", "b"]))  # sells out: the gate closes
    with statements(db, "INSERT") as inserts:
        answers = _claim(db, gate, _taps(sale, ["c", "d"], buyers=[2, 3]))
    assert [getattr(answer, "code", None) for answer in answers] == ["sold_out", "sold_out"]
    assert inserts == []


def test_a_batch_that_finds_the_sale_sold_out_elsewhere_closes_the_gate_for_its_taps(
        db: Database, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(2, 5)
    _claim(db, SoldOutGate(), _taps(sale, ["a", "b"]))  # another process sells it out
    gate = SoldOutGate()
    with statements(db, "SELECT") as reads, statements(db, "INSERT") as inserts:
        answers = _claim(db, gate, _taps(sale, ["c", "d", "e"], buyers=[2, 3, 4]))
    assert [getattr(answer, "code", None) for answer in answers] == ["sold_out"] * 3
    # Cards, the sale, its claimants: not a transaction per tap to hear it is sold out.
    assert len(reads) == 3 and inserts == []
    assert gate.known_sold_out(sale.show_id, sale.variant_id, sale.buyers[4].user_id)
    # A buyer who holds a unit may be retrying: the gate lets them through to replay.
    assert not gate.known_sold_out(sale.show_id, sale.variant_id, sale.buyers[0].user_id)


def test_the_queue_refuses_on_the_loop_what_a_batch_left_on_a_sale_it_found_sold_out() -> None:
    gate = SoldOutGate()
    claimed_alone: list[int] = []

    def claim_batches(taps: Sequence[Tap]) -> dict[int, BuyView]:
        gate.close(1, 1, sale_id=1, claimants=frozenset({7}), version=3)
        return {}

    def claim_tap(tap: Tap) -> BuyView | Offer:
        claimed_alone.append(tap.actor.user_id)
        return Offer(None, 1, 900)

    async def crowd() -> list[object]:
        queue = ClaimQueue(claim_batches, claim_tap, gate)
        taps = [Tap(Actor(user_id, Role.BUYER), 1, 1, 1, UK, str(user_id)) for user_id in (5, 6, 7)]
        return list(await asyncio.gather(*(queue.claim(tap) for tap in taps),
                                         return_exceptions=True))

    answers = run_async(crowd())
    assert [getattr(answer, "code", None) for answer in answers[:2]] == ["sold_out"] * 2
    assert isinstance(answers[2], Offer) and claimed_alone == [7]  # a claimant may be retrying


def test_taps_waiting_behind_a_batch_that_found_the_sale_sold_out_are_refused_at_once() -> None:
    gate = SoldOutGate()
    seen: list[int] = []
    release = threading.Event()

    def claim_batches(taps: Sequence[Tap]) -> dict[int, BuyView]:
        seen.append(len(taps))
        release.wait(5)
        gate.close(1, 1, sale_id=1, claimants=frozenset(), version=3)
        return {}

    def claim_tap(tap: Tap) -> BuyView | Offer:
        raise AssertionError("a tap on a sale known sold out goes to no database")

    async def crowd() -> list[object]:
        queue = ClaimQueue(claim_batches, claim_tap, gate)
        taps = [Tap(Actor(n, Role.BUYER), 1, 1, 1, UK, str(n)) for n in range(6)]
        waiting = []
        for arrived in (taps[:2], taps[2:4], taps[4:]):  # the last four wait for the place
            waiting += [asyncio.create_task(queue.claim(tap)) for tap in arrived]
            await asyncio.sleep(0.02)
        release.set()
        return list(await asyncio.gather(*waiting, return_exceptions=True))

    answers = run_async(crowd())
    assert seen == [2]  # no second batch sent to a thread to learn what the gate knew
    assert [getattr(answer, "code", None) for answer in answers] == ["sold_out"] * 6


def _stale_room(monkeypatch: pytest.MonkeyPatch, remaining: int) -> list[int]:
    """The batch's first read of the sale sees ``remaining`` units, which claims of another
    process are about to take; later reads see the truth. The units read, each time."""
    read_room = sales._room
    reads: list[int] = []

    def stale_first(session: Session, show_id: int, variant_id: int,
                    markets: Collection[str]) -> Any:
        room = read_room(session, show_id, variant_id, markets)
        reads.append(room.remaining)
        return replace(room, remaining=remaining) if len(reads) == 1 else room

    monkeypatch.setattr(sales, "_room", stale_first)
    return reads


def test_a_batch_that_lost_units_to_another_claim_is_fitted_again_once(
        db: Database, make_sale: Callable[[int, int], Sale],
        monkeypatch: pytest.MonkeyPatch) -> None:
    sale = make_sale(3, 5)
    reads = _stale_room(monkeypatch, remaining=10)
    with statements(db, "UPDATE FLASH_SALES") as sale_updates, \
            statements(db, "SELECT FLASH_SALES.REMAINING") as locks:
        answers = _claim(db, SoldOutGate(), _taps(sale, ["a", "b", "c", "d", "e"]))
    assert [answer.code if isinstance(answer, DomainError) else answer.status
            for answer in answers if not isinstance(answer, Offer)
            ] == ["pending"] * 3 + ["sold_out"] * 2
    # The stale batch, then the batch fitted again to the 3 left, the sale's row locked
    # first (on PostgreSQL; SQLite's write transaction holds the whole database). It sold
    # out, so the gate refused the rest.
    assert len(sale_updates) == 2 and reads == [3, 3]
    assert len(locks) == 2
    if db.engine.dialect.name == "postgresql":
        assert locks[1].rstrip().upper().endswith("FOR UPDATE")
    assert _remaining(db, sale) == 0


def test_a_batch_that_lost_the_last_units_to_another_claim_closes_the_gate_at_once(
        db: Database, make_sale: Callable[[int, int], Sale],
        monkeypatch: pytest.MonkeyPatch) -> None:
    sale = make_sale(2, 5)
    _claim(db, SoldOutGate(), _taps(sale, ["a", "b"]))  # another process sells it out...
    reads = _stale_room(monkeypatch, remaining=2)  # ...after this batch read the sale
    gate = SoldOutGate()
    with statements(db, "UPDATE FLASH_SALES") as sale_updates:
        answers = _claim(db, gate, _taps(sale, ["c", "d", "e"], buyers=[2, 3, 4]))
    assert [getattr(answer, "code", None) for answer in answers] == ["sold_out"] * 3
    # No second attempt, and none of its taps went to the database alone to hear it.
    assert reads == [0] and len(sale_updates) == 1
    # The batch's buyers, counted in the transaction it rolled back, hold nothing.
    assert gate.known_sold_out(sale.show_id, sale.variant_id, sale.buyers[2].user_id)
    assert not gate.known_sold_out(sale.show_id, sale.variant_id, sale.buyers[0].user_id)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(SalePurchase)) == 2
