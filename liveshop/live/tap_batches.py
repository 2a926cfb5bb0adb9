"""Taps waiting to claim, handed to the database in batches.

A flash sale's crowd taps within the same second, and claims made one after the other queue
on the sale's row (liveshop/live/claims.py). Here the taps of one process wait on the event
loop, holding no thread; a batch of them goes to a worker thread while the next batch
gathers, one batch at a time (liveshop/core/batching.py). A tap the claim leaves for its next
round waits for the next batch; one on a sale known sold out meanwhile is refused on the
event loop, without a transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.concurrency import run_in_threadpool

from liveshop.core.batching import TurnBatcher
from liveshop.live.claims import Claimed, NextRound, Tap
from liveshop.live.model import PurchaseTerms, sold_out
from liveshop.live.schemas import BuyView
from liveshop.live.sold_out import SoldOutGate

ClaimUnits = Callable[[Sequence[Tap]], list[Claimed]]


class TapBatches:
    # One batch of a whole wave at a time: a second batch beside it only contends for the
    # GIL and the sale's row, and mostly loses the race for the units
    # (docs/decisions/0004-serving-process-tuning.md).
    BATCHES_AT_ONCE = 1
    LARGEST_BATCH = 100

    def __init__(self, claim_units: ClaimUnits, gate: SoldOutGate) -> None:
        """Built on the event loop that serves the taps."""
        self._claim_units, self._gate = claim_units, gate
        self._batches: TurnBatcher[Tap, BuyView | PurchaseTerms | NextRound] = TurnBatcher(
            self._claim_batch, at_once=self.BATCHES_AT_ONCE, largest=self.LARGEST_BATCH)

    async def claim(self, tap: Tap) -> BuyView | PurchaseTerms:
        """The tap's claim (a pending purchase, a replay, or regular-price terms); raises
        the error that refuses it."""
        while True:
            claimed = await self._batches.submit(tap)
            if not isinstance(claimed, NextRound):
                return claimed

    async def _claim_batch(self, taps: list[Tap]) -> list[Claimed]:
        # Taps that waited while a claim found their sale sold out hear it now, rather than
        # go to a thread to learn what the gate already knows.
        refused = [self._gate.refuses(tap.show_id, tap.variant_id, tap.actor.user_id)
                   for tap in taps]
        claiming = [tap for tap, no in zip(taps, refused, strict=True) if not no]
        claimed = iter(await run_in_threadpool(self._claim_units, claiming) if claiming else [])
        return [sold_out() if no else next(claimed) for no in refused]

    async def aclose(self) -> None:
        await self._batches.aclose()
