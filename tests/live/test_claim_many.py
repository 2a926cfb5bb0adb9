"""Taps that arrive together claim together: one transaction and one UPDATE of the sale
for a batch, and each tap's answer the same as if it had claimed alone (one claim
implementation, liveshop/live/claims.py; a single tap is a batch of one)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor, Role
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.core.errors import Conflict, DomainError
from liveshop.core.idempotency import IdempotencyRecord
from liveshop.live import claims
from liveshop.live.claims import CLAIM_STEP, NEXT_ROUND, Claimed, Tap
from liveshop.live.model import PurchaseTerms
from liveshop.live.orm import FlashSale, FlashSaleClaim, SalePurchase
from liveshop.live.schemas import BuyView
from liveshop.live.sold_out import SoldOutGate
from liveshop.live.tap_batches import TapBatches
from liveshop.markets.model import MARKETS
from liveshop.payments.orm import PaymentMethod
from tests.conftest import run_async
from tests.live.conftest import Sale, claim_together, purchases_of, tap
from tests.queries import statements

UK = MARKETS["UK"]


def _taps(sale: Sale, keys: Sequence[str], buyers: Sequence[int] | None = None) -> list[Tap]:
    chosen = buyers if buyers is not None else range(len(keys))
    return [Tap(sale.buyers[buyer], sale.show_id, sale.variant_id, 1, UK, key)
            for buyer, key in zip(chosen, keys, strict=True)]


def _remaining(db: Database, sale: Sale) -> int:
    with db.read() as session:
        return session.get_one(FlashSale, sale.sale_id).remaining


def test_a_batch_is_claimed_with_one_update_of_the_sale(
        db: Database, settings: Settings, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(10, 4)
    with statements(db, "UPDATE FLASH_SALES") as sale_updates:
        answers = claim_together(db, SoldOutGate(), _taps(sale, ["a", "b", "c", "d"]))
    assert len(sale_updates) == 1
    assert [getattr(answer, "status", None) for answer in answers] == ["pending"] * 4
    ids = [answer.purchase_id for answer in answers if isinstance(answer, BuyView)]
    assert len(set(ids)) == 4
    assert _remaining(db, sale) == 6
    # Each tap's key holds what it got: a retry replays the batch's purchase.
    retried = tap(purchases_of(db, settings), sale.buyers[2], sale.show_id, sale.variant_id,
                  "c")
    assert retried.purchase_id == ids[2]


def test_a_batch_larger_than_whats_left_sells_exactly_whats_left(
        db: Database, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(3, 5)
    answers = claim_together(db, SoldOutGate(), _taps(sale, ["a", "b", "c", "d", "e"]))
    won = [answer for answer in answers if isinstance(answer, BuyView)]
    refused = [answer for answer in answers if isinstance(answer, DomainError)]
    assert len(won) == 3 and [error.code for error in refused] == ["sold_out", "sold_out"]
    assert _remaining(db, sale) == 0
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(SalePurchase)) == 3


def test_what_a_batch_cannot_settle_plainly_gets_the_answer_it_would_get_alone(
        db: Database, settings: Settings, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(10, 4)
    purchases = purchases_of(db, settings)
    first = tap(purchases, sale.buyers[0], sale.show_id, sale.variant_id, "early")
    with db.transaction() as session:  # buyer 3 has no card any more
        session.query(PaymentMethod).filter_by(user_id=sale.buyers[3].user_id).delete()
    crowd = [(0, "early"), (0, "again"), (1, "b1"), (1, "b1-twice"), (2, "c1"), (3, "card"),
             (2, "")]

    async def together() -> list[BuyView | BaseException]:
        return list(await asyncio.gather(*(
            purchases.buy(sale.buyers[buyer], sale.show_id, sale.variant_id, 1, UK, key)
            for buyer, key in crowd), return_exceptions=True))

    replay, limit, fresh, twice, other, no_card, no_key = run_async(together())
    assert isinstance(replay, BuyView) and replay.purchase_id == first.purchase_id
    assert isinstance(limit, Conflict) and limit.code == "limit_reached"
    assert isinstance(fresh, BuyView) and isinstance(other, BuyView)
    assert isinstance(twice, Conflict) and twice.code == "limit_reached"
    assert isinstance(no_card, DomainError) and no_card.code == "payment_method_required"
    assert isinstance(no_key, DomainError) and no_key.field == "Idempotency-Key"
    assert _remaining(db, sale) == 7
    # The refusals are stored under their keys: a retry gets them again.
    with pytest.raises(DomainError) as again:
        tap(purchases, sale.buyers[0], sale.show_id, sale.variant_id, "again")
    assert (again.value.status, again.value.code) == (409, "limit_reached")


def test_a_key_sent_twice_at_once_claims_once_and_both_answer_alike(
        db: Database, settings: Settings, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(10, 1, stock=20)
    buyer = sale.buyers[0]

    def attempt(_: int) -> BuyView:  # each on an app process of its own
        return tap(purchases_of(db, settings), buyer, sale.show_id, sale.variant_id, "same")

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(attempt, range(6)))
    assert len({answer.purchase_id for answer in answers}) == 1
    assert _remaining(db, sale) == 9
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(SalePurchase)) == 1
        assert session.scalar(select(FlashSaleClaim.quantity)) == 1


def test_the_same_key_for_another_tap_is_refused(
        db: Database, settings: Settings, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(10, 1)
    purchases = purchases_of(db, settings)
    tap(purchases, sale.buyers[0], sale.show_id, sale.variant_id, "k")
    with pytest.raises(DomainError) as reused:
        tap(purchases, sale.buyers[0], sale.show_id, sale.variant_id, "k", quantity=2)
    assert (reused.value.status, reused.value.code) == (422, "idempotency_key_reused")


def test_a_refusal_is_stored_without_the_writes_of_its_attempt(
        db: Database, settings: Settings, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(3, 1)
    purchases = purchases_of(db, settings)
    with pytest.raises(Conflict):  # more than the limit of 1
        tap(purchases, sale.buyers[0], sale.show_id, sale.variant_id, "two", quantity=2)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(FlashSaleClaim)) == 0
        [record] = session.scalars(select(IdempotencyRecord)
                                   .where(IdempotencyRecord.scope == CLAIM_STEP)).all()
        assert (record.state, record.response_status) == ("done", 409)
    assert _remaining(db, sale) == 3


def _pending(purchase_id: int) -> BuyView:
    return BuyView(status="pending", purchase_id=purchase_id, checkout_id=None,
                   order_numbers=[], total=None, currency=None, flash_sale_id=1)


def _crowd(batches: TapBatches, arrivals: Sequence[Sequence[Tap]]) -> list[Any]:
    """The taps arriving in turns of the event loop; their answers in order."""

    async def crowd() -> list[Any]:
        waiting = []
        for arrived in arrivals:
            waiting += [asyncio.create_task(batches.claim(one)) for one in arrived]
            await asyncio.sleep(0.02)
        return list(await asyncio.gather(*waiting, return_exceptions=True))

    return run_async(crowd())


def _plain_taps(count: int) -> list[Tap]:
    return [Tap(Actor(n, Role.BUYER), 1, 1, 1, UK, str(n)) for n in range(count)]


def test_the_queue_gathers_taps_that_wait_and_claims_what_a_claim_left_in_the_next_batch(
) -> None:
    seen: list[list[str]] = []
    release = threading.Event()

    def claim_units(taps: Sequence[Tap]) -> list[Claimed]:
        seen.append([one.idempotency_key for one in taps])
        release.wait(5)
        # The first time it sees them, even taps are left for the next round.
        first_seen = [int(one.idempotency_key) % 2 == 0
                      and all(one.idempotency_key not in batch for batch in seen[:-1])
                      for one in taps]
        return [Conflict("no", code="refused") if one.idempotency_key == "4"
                else NEXT_ROUND if later else _pending(int(one.idempotency_key))
                for one, later in zip(taps, first_seen, strict=True)]

    taps = _plain_taps(10)
    release_soon = threading.Timer(0.1, release.set)  # the first batch holds until then
    release_soon.start()
    answers = _crowd(TapBatches(claim_units, SoldOutGate()), [taps[:2], taps[2:3], taps[3:]])
    # The first batch; the taps that waited for it (whatever turn they arrived in) and the
    # one it left; then those the second left.
    assert seen == [["0", "1"], ["2", "3", "4", "5", "6", "7", "8", "9", "0"],
                    ["2", "6", "8"]]
    assert [answer.code if isinstance(answer, DomainError) else answer.status
            for answer in answers] == [
        "pending"] * 4 + ["refused"] + ["pending"] * 5


def test_a_tap_alone_takes_no_batch_place() -> None:
    seen: list[int] = []
    release = threading.Event()

    def claim_units(taps: Sequence[Tap]) -> list[Claimed]:
        seen.append(len(taps))
        release.wait(5)
        return [_pending(int(one.idempotency_key)) for one in taps]

    async def crowd() -> list[object]:
        batches = TapBatches(claim_units, SoldOutGate())
        taps = _plain_taps(5)
        waiting = [asyncio.create_task(batches.claim(taps[0]))]  # the first of a crowd
        await asyncio.sleep(0.02)
        for arrived in (taps[1:3], taps[3:]):
            waiting += [asyncio.create_task(batches.claim(one)) for one in arrived]
            await asyncio.sleep(0.02)
        # While the first tap is being claimed, the batch of the crowd behind it is: both
        # claims start (in either order, each on its own thread) before either is released.
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        claiming = list(seen)
        release.set()
        return [claiming, *await asyncio.gather(*waiting)]

    claiming, *answers = run_async(crowd())
    assert sorted(claiming) == [1, 2]
    assert sorted(seen[:2]) == [1, 2] and seen[2:] == [2]
    assert [type(answer).__name__ for answer in answers] == ["BuyView"] * 5


def test_a_sold_out_gate_refuses_a_batch_without_claiming(
        db: Database, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(2, 4)
    gate = SoldOutGate()
    claim_together(db, gate, _taps(sale, ["a", "b"]))  # sells out: the gate closes
    with statements(db, "INSERT") as inserts:
        answers = claim_together(db, gate, _taps(sale, ["c", "d"], buyers=[2, 3]))
    assert [getattr(answer, "code", None) for answer in answers] == ["sold_out", "sold_out"]
    assert inserts == []


def test_a_batch_that_finds_the_sale_sold_out_elsewhere_closes_the_gate_for_its_taps(
        db: Database, make_sale: Callable[[int, int], Sale]) -> None:
    sale = make_sale(2, 5)
    claim_together(db, SoldOutGate(), _taps(sale, ["a", "b"]))  # another process sells out
    gate = SoldOutGate()
    with statements(db, "SELECT") as reads, statements(db, "INSERT") as inserts:
        answers = claim_together(db, gate, _taps(sale, ["c", "d", "e"], buyers=[2, 3, 4]))
    assert [getattr(answer, "code", None) for answer in answers] == ["sold_out"] * 3
    # Cards, the sale, its claimants: not a transaction per tap to hear it is sold out.
    assert len(reads) == 3 and inserts == []
    assert gate.refuses(sale.show_id, sale.variant_id, sale.buyers[4].user_id)
    # A buyer who holds a unit may be retrying: the gate lets them through to replay.
    assert not gate.refuses(sale.show_id, sale.variant_id, sale.buyers[0].user_id)


def test_the_queue_refuses_on_the_loop_what_a_claim_left_on_a_sale_it_found_sold_out(
) -> None:
    gate = SoldOutGate()
    claimed: list[list[int]] = []

    def claim_units(taps: Sequence[Tap]) -> list[Claimed]:
        claimed.append([one.actor.user_id for one in taps])
        if len(claimed) == 1:
            gate.close(1, 1, sale_id=1, claimants=frozenset({7}), version=3)
            return [NEXT_ROUND] * len(taps)
        return [PurchaseTerms(None, 1, 900)] * len(taps)

    taps = [Tap(Actor(user_id, Role.BUYER), 1, 1, 1, UK, str(user_id))
            for user_id in (5, 6, 7)]
    answers = _crowd(TapBatches(claim_units, gate), [taps])
    assert [getattr(answer, "code", None) for answer in answers[:2]] == ["sold_out"] * 2
    # A claimant may be retrying: claimed again.
    assert isinstance(answers[2], PurchaseTerms) and claimed == [[5, 6, 7], [7]]


def test_taps_waiting_behind_a_batch_that_found_the_sale_sold_out_are_refused_at_once(
) -> None:
    gate = SoldOutGate()
    seen: list[int] = []
    release = threading.Event()

    def claim_units(taps: Sequence[Tap]) -> list[Claimed]:
        assert not seen, "a tap on a sale known sold out goes to no database"
        seen.append(len(taps))
        release.wait(5)
        gate.close(1, 1, sale_id=1, claimants=frozenset(), version=3)
        return [NEXT_ROUND] * len(taps)

    taps = _plain_taps(6)
    release_soon = threading.Timer(0.1, release.set)
    release_soon.start()
    # The last four wait for the place, the first two are left for a next round.
    answers = _crowd(TapBatches(claim_units, gate), [taps[:2], taps[2:4], taps[4:]])
    assert seen == [2]  # no second batch sent to a thread to learn what the gate knew
    assert [getattr(answer, "code", None) for answer in answers] == ["sold_out"] * 6


def _stale_room(monkeypatch: pytest.MonkeyPatch, remaining: int) -> list[int]:
    """The claim's first read of the sale sees ``remaining`` units, which claims of another
    process are about to take; later reads see the truth. The units read, each time."""
    read_room = claims._read_room
    reads: list[int] = []

    def stale_first(session: Session, show_id: int, variant_id: int,
                    markets: Collection[str]) -> Any:
        room = read_room(session, show_id, variant_id, markets)
        assert room is not None
        reads.append(room.remaining)
        return replace(room, remaining=remaining) if len(reads) == 1 else room

    monkeypatch.setattr(claims, "_read_room", stale_first)
    return reads


def test_a_batch_that_lost_units_to_another_claim_is_fitted_again_once(
        db: Database, make_sale: Callable[[int, int], Sale],
        monkeypatch: pytest.MonkeyPatch) -> None:
    sale = make_sale(3, 5)
    reads = _stale_room(monkeypatch, remaining=10)
    with statements(db, "UPDATE FLASH_SALES") as sale_updates, \
            statements(db, "SELECT FLASH_SALES.REMAINING") as locks:
        answers = claim_together(db, SoldOutGate(), _taps(sale, ["a", "b", "c", "d", "e"]))
    assert [answer.code if isinstance(answer, DomainError) else getattr(answer, "status", None)
            for answer in answers] == ["pending"] * 3 + ["sold_out"] * 2
    # The stale attempt, then the batch fitted again to the 3 left, the sale's row locked
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
    claim_together(db, SoldOutGate(), _taps(sale, ["a", "b"]))  # another process sells out...
    reads = _stale_room(monkeypatch, remaining=2)  # ...after this batch read the sale
    gate = SoldOutGate()
    with statements(db, "UPDATE FLASH_SALES") as sale_updates:
        answers = claim_together(db, gate, _taps(sale, ["c", "d", "e"], buyers=[2, 3, 4]))
    assert [getattr(answer, "code", None) for answer in answers] == ["sold_out"] * 3
    # No second attempt, and none of its taps went to the database again to hear it.
    assert reads == [0] and len(sale_updates) == 1
    # The batch's buyers, counted in the transaction it rolled back, hold nothing.
    assert gate.refuses(sale.show_id, sale.variant_id, sale.buyers[2].user_id)
    assert not gate.refuses(sale.show_id, sale.variant_id, sale.buyers[0].user_id)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(SalePurchase)) == 2
