"""Calls of one event-loop turn run together: the batcher behind rate-limit rounds, token
look-ups and flash-sale taps."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from liveshop.core.batching import PerLoop, TurnBatcher
from tests.conftest import run_async


class Recorder:
    """A batch runner that records each batch and answers each item doubled; ``hold``
    keeps a batch running until released."""

    def __init__(self, hold: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.release: asyncio.Event | None = None
        self.hold = hold

    async def __call__(self, items: list[int]) -> Sequence[int | BaseException]:
        self.batches.append(items)
        if self.hold:
            if self.release is None:
                self.release = asyncio.Event()
            await self.release.wait()
        return [ValueError(item) if item < 0 else item * 2 for item in items]


def test_calls_of_one_turn_run_as_one_batch_and_each_gets_its_answer() -> None:
    runner = Recorder()

    async def crowd() -> list[object]:
        batcher = TurnBatcher(runner)
        first = await asyncio.gather(*(batcher.submit(n) for n in (1, 2, -3, 4)),
                                     return_exceptions=True)
        second = await asyncio.gather(*(batcher.submit(n) for n in (5, 6)))
        return [*first, *second]

    answers = run_async(crowd())
    assert runner.batches == [[1, 2, -3, 4], [5, 6]]
    assert answers[:2] == [2, 4] and isinstance(answers[2], ValueError)
    assert answers[3:] == [8, 10, 12]


def test_a_failing_batch_fails_each_of_its_calls() -> None:
    async def broken(items: list[int]) -> Sequence[int]:
        raise ConnectionError("down")

    async def crowd() -> list[object]:
        batcher: TurnBatcher[int, int] = TurnBatcher(broken)
        return list(await asyncio.gather(*(batcher.submit(n) for n in range(3)),
                                         return_exceptions=True))

    assert [type(answer) for answer in run_async(crowd())] == [ConnectionError] * 3


def test_with_one_place_calls_that_wait_form_the_next_batch_up_to_the_largest() -> None:
    runner = Recorder(hold=True)

    async def crowd() -> list[int]:
        batcher = TurnBatcher(runner, at_once=1, largest=4)
        waiting = [asyncio.create_task(batcher.submit(n)) for n in (1, 2)]
        await asyncio.sleep(0.01)
        for arrived in ((3,), (4, 5), (6, 7, 8)):  # three turns while the first batch runs
            waiting += [asyncio.create_task(batcher.submit(n)) for n in arrived]
            await asyncio.sleep(0.01)
        assert runner.batches == [[1, 2]]
        assert runner.release is not None
        runner.release.set()
        return list(await asyncio.gather(*waiting))

    assert run_async(crowd()) == [2, 4, 6, 8, 10, 12, 14, 16]
    assert runner.batches == [[1, 2], [3, 4, 5, 6], [7, 8]]


def test_a_call_alone_takes_no_place_so_the_crowd_behind_it_runs_at_once() -> None:
    runner = Recorder(hold=True)

    async def crowd() -> list[list[int]]:
        batcher = TurnBatcher(runner, at_once=1)
        waiting = [asyncio.create_task(batcher.submit(0))]  # the first of a crowd
        await asyncio.sleep(0.01)
        waiting += [asyncio.create_task(batcher.submit(n)) for n in (1, 2, 3)]
        await asyncio.sleep(0.01)
        running = [list(batch) for batch in runner.batches]
        assert runner.release is not None
        runner.release.set()
        await asyncio.gather(*waiting)
        return running

    assert run_async(crowd()) == [[0], [1, 2, 3]]


def test_a_call_whose_caller_went_away_is_left_out() -> None:
    runner = Recorder(hold=True)

    async def crowd() -> list[int]:
        batcher = TurnBatcher(runner, at_once=1)
        first = [asyncio.create_task(batcher.submit(n)) for n in (1, 2)]
        await asyncio.sleep(0.01)
        gone = asyncio.create_task(batcher.submit(3))
        stays = asyncio.create_task(batcher.submit(4))
        await asyncio.sleep(0.01)
        gone.cancel()
        assert runner.release is not None
        runner.release.set()
        return list(await asyncio.gather(*first, stays))

    assert run_async(crowd()) == [2, 4, 8]
    assert runner.batches == [[1, 2], [4]]


def test_closing_cancels_the_batches_in_flight() -> None:
    runner = Recorder(hold=True)

    async def crowd() -> bool:
        batcher = TurnBatcher(runner)
        waiting = [asyncio.create_task(batcher.submit(n)) for n in (1, 2)]
        await asyncio.sleep(0.01)
        await batcher.aclose()
        with pytest.raises(asyncio.CancelledError):
            await waiting[0]
        return waiting[1].cancelled()

    assert run_async(crowd())


def test_per_loop_makes_one_for_each_event_loop() -> None:
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    per_loop = PerLoop(make)

    async def twice() -> tuple[object, object, object | None]:
        return per_loop.here(), per_loop.here(), per_loop.pop_here()

    first, again, popped = run_async(twice())
    assert first is again is popped
    other, _, _ = run_async(twice())
    assert other is not first and len(made) == 2
