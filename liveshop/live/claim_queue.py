"""Taps waiting to claim, handed to the database in batches.

A flash sale's crowd taps within the same second, and claims made one after the other queue
on the sale's row (liveshop/live/sales.py, ``claim_batches``). Here the taps of one process
wait on the event loop, holding no thread; a batch of them goes to a worker thread while
the next batch gathers, at most ``BATCHES_AT_ONCE`` at a time. The taps a batch leaves
(regular prices, retries, ...) are claimed one each, a few at a time, as before batches;
those on a sale known sold out meanwhile are refused on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from starlette.concurrency import run_in_threadpool

from liveshop.live.sales import Offer, SoldOutGate, Tap, sold_out
from liveshop.live.schemas import BuyView

log = logging.getLogger("liveshop.claims")

Claimed = BuyView | Offer
ClaimBatches = Callable[[Sequence[Tap]], dict[int, BuyView]]
ClaimTap = Callable[[Tap], Claimed]


class ClaimQueue:
    # One batch of a whole wave at a time gave a 100-unit sale its shortest tail: a second
    # batch beside it only contended for the GIL and the sale's row, and mostly lost the
    # race (docs/benchmarks.md, flash sale, ninth round).
    BATCHES_AT_ONCE = 1
    LARGEST_BATCH = 100
    # Taps claimed on their own at once, per process (what every tap did before batches).
    SINGLES_AT_ONCE = 4

    def __init__(self, claim_batches: ClaimBatches, claim_tap: ClaimTap,
                 gate: SoldOutGate) -> None:
        """Built on the event loop that serves the taps."""
        self._claim_batches, self._claim_tap, self._gate = claim_batches, claim_tap, gate
        self._waiting: list[tuple[Tap, asyncio.Future[Claimed]]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._alone: set[asyncio.Task[None]] = set()
        self._starting = False
        self._singles = asyncio.Semaphore(self.SINGLES_AT_ONCE)

    async def claim(self, tap: Tap) -> Claimed:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Claimed] = loop.create_future()
        self._waiting.append((tap, answer))
        if not self._starting:
            # On the loop's next turn: taps read off the network in this one join the batch.
            self._starting = True
            loop.call_soon(self._start_batches)
        return await answer

    def _start_batches(self) -> None:
        self._starting = False
        loop = asyncio.get_running_loop()
        # Taps that waited while a batch found the sale sold out hear it now, not after a
        # batch of their own went to a thread to learn what the gate already knows.
        self._waiting = [(tap, answer) for tap, answer in self._waiting
                         if not self._refused(tap, answer)]
        if len(self._waiting) == 1 and len(self._running) < self.BATCHES_AT_ONCE:
            # A tap alone is no batch: it takes no batch's place, which the crowd it may be
            # the first of would otherwise wait for while it is claimed.
            task = loop.create_task(self._claim_alone(*self._waiting.pop()))
            self._alone.add(task)
            task.add_done_callback(self._alone.discard)
        while self._waiting and len(self._running) < self.BATCHES_AT_ONCE:
            batch = self._waiting[:self.LARGEST_BATCH]
            del self._waiting[:self.LARGEST_BATCH]
            task = loop.create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._start_batches()

    async def _run(self, batch: list[tuple[Tap, asyncio.Future[Claimed]]]) -> None:
        # A tap whose client went away is not claimed for nobody.
        batch = [(tap, answer) for tap, answer in batch if not answer.done()]
        claimed: dict[int, BuyView] = {}
        if len(batch) > 1:
            try:
                claimed = await run_in_threadpool(self._claim_batches,
                                                  [tap for tap, _ in batch])
            except Exception:  # e.g. the database is down: each tap, claimed alone, says so
                log.exception("claiming a batch of %d taps failed", len(batch))
        for index, claim in claimed.items():
            if not batch[index][1].done():
                batch[index][1].set_result(claim)
        await asyncio.gather(*(self._claim_alone(tap, answer)
                               for index, (tap, answer) in enumerate(batch)
                               if index not in claimed))

    async def _claim_alone(self, tap: Tap, answer: asyncio.Future[Claimed]) -> None:
        # A batch that found the sale sold out closed the gate: the taps it leaves, a
        # crowd's worth, would otherwise each take a thread and a transaction to hear it.
        if self._refused(tap, answer):
            return
        async with self._singles:
            if answer.done():
                return
            try:
                claimed = await run_in_threadpool(self._claim_tap, tap)
            except Exception as error:  # a DomainError, or e.g. the database is down
                if not answer.done():
                    answer.set_exception(error)
                return
            except BaseException:
                answer.cancel()
                raise
            if not answer.done():
                answer.set_result(claimed)

    def _refused(self, tap: Tap, answer: asyncio.Future[Claimed]) -> bool:
        """Refuse the tap if the gate knows its sale sold out."""
        if not self._gate.known_sold_out(tap.show_id, tap.variant_id, tap.actor.user_id):
            return False
        if not answer.done():
            answer.set_exception(sold_out())
        return True

    async def aclose(self) -> None:
        for task in [*self._running, *self._alone]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
