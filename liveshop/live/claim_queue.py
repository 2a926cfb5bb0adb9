"""Taps waiting to claim, handed to the database in batches.

A flash sale's crowd taps within the same second, and claims made one after the other queue
on the sale's row (liveshop/live/sales.py, ``claim_many``). Here the taps of one process
wait on the event loop, holding no thread; a batch of them goes to a worker thread while
the next batch gathers, at most ``BATCHES_AT_ONCE`` at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from starlette.concurrency import run_in_threadpool

from liveshop.core.errors import DomainError
from liveshop.live.sales import Offer, Tap
from liveshop.live.schemas import BuyView

Claimed = BuyView | Offer
ClaimMany = Callable[[Sequence[Tap]], list[BuyView | Offer | DomainError]]


class ClaimQueue:
    # Two at a time sold a 100-unit sale fastest when each claim went alone; taps
    # arriving meanwhile wait for the next batch (docs/benchmarks.md, flash sale).
    BATCHES_AT_ONCE = 2
    LARGEST_BATCH = 50

    def __init__(self, claim_many: ClaimMany) -> None:
        """Built on the event loop that serves the taps."""
        self._claim_many = claim_many
        self._waiting: list[tuple[Tap, asyncio.Future[Claimed]]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._starting = False

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
        while self._waiting and len(self._running) < self.BATCHES_AT_ONCE:
            batch = self._waiting[:self.LARGEST_BATCH]
            del self._waiting[:self.LARGEST_BATCH]
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._start_batches()

    async def _run(self, batch: list[tuple[Tap, asyncio.Future[Claimed]]]) -> None:
        # A tap whose client went away is not claimed for nobody.
        batch = [(tap, answer) for tap, answer in batch if not answer.done()]
        if not batch:
            return
        try:
            answers = await run_in_threadpool(self._claim_many, [tap for tap, _ in batch])
        except Exception as error:  # e.g. the database is down: every tap hears it
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(error)
            return
        except BaseException:
            for _, answer in batch:
                answer.cancel()
            raise
        for (_, answer), claimed in zip(batch, answers, strict=True):
            if answer.done():
                continue
            if isinstance(claimed, DomainError):
                answer.set_exception(claimed)
            else:
                answer.set_result(claimed)

    async def aclose(self) -> None:
        for task in list(self._running):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
