"""Room snapshots shared by the viewers who join at about the same time.

Building a snapshot takes about 17 queries; a reconnect storm of thousands of viewers must
not run them thousands of times. The part every viewer of a room in one market sees
(everything but ``server_time``, ``viewers`` and ``you``) is built once (concurrent joiners
wait for the same build) and reused while the room's generation is unchanged: the hub moves
a room to a new generation with every event that could change the snapshot. A joiner joins
the hub first and reads the generation afterwards, so a snapshot of that generation already
contains every event the joiner will not receive. Changes that send no event (a renamed
show, a product edited in the catalog) show up within ``MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

MAX_AGE_SECONDS = 1.0


@dataclass(slots=True)
class _Shared:
    generation: int
    started_at: float
    encoded: asyncio.Task[str]


class SnapshotCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[int, str], _Shared] = {}

    async def shared(self, show_id: int, market: str, generation: int,
                     build: Callable[[], Awaitable[str]]) -> str:
        """The encoded shared part for ``generation``: built by ``build`` unless a build of
        that generation is under way or done (and not too old)."""
        key, now = (show_id, market), time.monotonic()
        entry = self._entries.get(key)
        if (entry is None or entry.generation != generation
                or now - entry.started_at > MAX_AGE_SECONDS):
            self._forget_older_than(now - MAX_AGE_SECONDS)
            entry = _Shared(generation, now, asyncio.ensure_future(build()))
            entry.encoded.add_done_callback(lambda task: self._forget_failed(key, task))
            self._entries[key] = entry
        # One joiner giving up (its socket closed) must not cancel the build for the others.
        return await asyncio.shield(entry.encoded)

    def _forget_older_than(self, moment: float) -> None:
        for key in [k for k, entry in self._entries.items() if entry.started_at < moment]:
            del self._entries[key]

    def _forget_failed(self, key: tuple[int, str], task: asyncio.Task[str]) -> None:
        if task.cancelled() or task.exception() is not None:
            entry = self._entries.get(key)
            if entry is not None and entry.encoded is task:
                del self._entries[key]

