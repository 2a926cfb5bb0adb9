"""The shared part of the room snapshot: built once for everyone joining in one generation,
rebuilt after any event that could change it."""

from __future__ import annotations

import asyncio

import pytest

from liveshop.live.room import create_hub
from liveshop.live.snapshots import SnapshotCache
from tests.conftest import run_async


class Builds:
    """A snapshot builder that counts its builds and takes a moment, like the database."""

    def __init__(self) -> None:
        self.count = 0

    async def build(self) -> str:
        self.count += 1
        number = self.count
        await asyncio.sleep(0.01)
        return f'{{"build":{number}}}'


def test_joiners_of_one_generation_share_one_build() -> None:
    async def scenario() -> tuple[list[str], int]:
        cache, builds = SnapshotCache(), Builds()
        results = await asyncio.gather(*(cache.shared(1, "UK", 7, builds.build)
                                         for _ in range(50)))
        results.append(await cache.shared(1, "UK", 7, builds.build))  # built, still fresh
        return results, builds.count

    results, count = run_async(scenario())
    assert count == 1 and set(results) == {'{"build":1}'}


def test_markets_and_generations_get_their_own_build() -> None:
    async def scenario() -> list[str]:
        cache, builds = SnapshotCache(), Builds()
        return [await cache.shared(1, "UK", 7, builds.build),
                await cache.shared(1, "DE", 7, builds.build),
                await cache.shared(1, "UK", 8, builds.build)]

    assert run_async(scenario()) == ['{"build":1}', '{"build":2}', '{"build":3}']


def test_a_failed_build_is_not_kept() -> None:
    async def scenario() -> str:
        cache = SnapshotCache()

        async def failing() -> str:
            raise LookupError("database restarting")

        with pytest.raises(LookupError):
            await cache.shared(1, "UK", 7, failing)
        return await cache.shared(1, "UK", 7, Builds().build)

    assert run_async(scenario()) == '{"build":1}'


class Watcher:
    user_id: int | None = 9
    visitor_id, is_staff = "user:9", False

    def offer(self, frame: str) -> bool:
        return True

    def close_soon(self, code: int) -> None:
        pass


def test_a_room_gets_a_new_generation_with_each_event_but_reactions_and_on_resync() -> None:
    async def scenario() -> list[int | None]:
        hub = create_hub()
        await hub.broker.start(asyncio.get_running_loop())
        seen = [hub.generation(1)]
        hub.join(1, Watcher())
        seen.append(hub.generation(1))
        hub.events.hearts(1, 3)
        await asyncio.sleep(0)  # the broker delivers on the loop
        seen.append(hub.generation(1))
        for publish in (lambda: hub.events.chat(1, {"id": 1}),
                        lambda: hub.events.stock(1, {"variants": {"5": [3, 1]}}),
                        lambda: hub.events.to_user(1, 9, {"type": "muted"})):
            publish()
            await asyncio.sleep(0)
            seen.append(hub.generation(1))
        hub.resync_all()  # the broker reconnected: events may have been lost
        seen.append(hub.generation(1))
        return seen

    absent, joined, after_hearts, *after_events = run_async(scenario())
    assert absent is None and after_hearts == joined
    assert len({joined, *after_events}) == 5
