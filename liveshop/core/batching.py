"""Calls gathered over one turn of the event loop and run together on the next.

A crowd's requests arrive together, and work done for each of them alone costs each a round
trip or a hand-off to a worker thread. Gathered, the calls made during one turn share one:
the rate limit's Redis checks go as one pipeline, API-token look-ups as one query, and a
flash sale's taps claim in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
T = TypeVar("T")

RunBatch = Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]]


class TurnBatcher(Generic[Item, Result]):
    """``await batcher.submit(item)`` answers with what ``run`` gives for the item.

    ``run`` gets the items submitted since the last batch was taken (at most ``largest``,
    oldest first) and returns a result or an exception for each, in their order; if it
    raises, every item of the batch gets that exception. Items whose caller stopped waiting
    (a request cancelled) are left out. At most ``at_once`` batches run together (None: no
    bound); items submitted meanwhile wait and form the next one. A batch of one item takes
    no place: it is often the first of a crowd, whose batch then need not wait for it.

    One batcher serves one event loop at a time (see :class:`PerLoop`).
    """

    def __init__(self, run: RunBatch[Item, Result], *, at_once: int | None = None,
                 largest: int | None = None) -> None:
        self._run = run
        self._at_once, self._largest = at_once, largest
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._gathering = False
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> Result:
        answer: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        self._gather()
        return await answer

    def _gather(self) -> None:
        """Take the waiting items on the loop's next turn, if a batch may start: the items
        submitted during this turn join them first."""
        if self._gathering or not self._waiting:
            return
        if self._at_once is not None and self._running >= self._at_once:
            return
        self._gathering = True
        task = asyncio.get_running_loop().create_task(self._take_and_run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _take_and_run(self) -> None:
        self._gathering = False
        waiting = [(item, answer) for item, answer in self._waiting if not answer.done()]
        size = len(waiting) if self._largest is None else self._largest
        batch, self._waiting = waiting[:size], waiting[size:]
        if not batch:
            return
        takes_place = len(batch) > 1
        if takes_place:
            self._running += 1
        self._gather()  # more than ``largest`` waited
        try:
            await self._run_batch(batch)
        finally:
            if takes_place:
                self._running -= 1
            self._gather()

    async def _run_batch(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
        except Exception as error:
            results = [error] * len(batch)
        except BaseException:
            for _, answer in batch:
                answer.cancel()
            raise
        for (_, answer), result in zip(batch, results, strict=True):
            if answer.done():  # its caller stopped waiting
                continue
            if isinstance(result, BaseException):
                answer.set_exception(result)
            else:
                answer.set_result(result)

    async def aclose(self) -> None:
        """Cancel the batches in flight (at shutdown)."""
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class PerLoop(Generic[T]):
    """One ``T`` per event loop, made on first use there: futures and asyncio clients belong
    to the loop they were made on, and tests serve an app on several loops, one after
    another and sometimes at once."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._made: dict[asyncio.AbstractEventLoop, T] = {}
        self._lock = threading.Lock()

    def here(self) -> T:
        loop = asyncio.get_running_loop()
        with self._lock:
            made = self._made.get(loop)
            if made is None:
                # A loop that ended took what was made for it along.
                for ended in [known for known in self._made if known.is_closed()]:
                    del self._made[ended]
                made = self._made[loop] = self._make()
            return made

    def pop_here(self) -> T | None:
        """Forget this loop's ``T`` (at its shutdown), returning it."""
        with self._lock:
            return self._made.pop(asyncio.get_running_loop(), None)
