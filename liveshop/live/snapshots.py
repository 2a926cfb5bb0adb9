"""What a viewer joining a room is sent first: the room's snapshot, shared by the viewers
who join at about the same time, and what this viewer may do there.

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

from liveshop.accounts.model import Actor
from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.live import model
from liveshop.live.access import can_host, can_moderate, load_show, markets_of
from liveshop.live.chat import banned_from_shop, muted_until, recent_chat
from liveshop.live.frames import SharedSnapshot, Viewer
from liveshop.live.model import epoch_ms
from liveshop.live.sales import active_sale, sale_card
from liveshop.live.shows import lineup_cards, product_card, show_view
from liveshop.live.video_link import video_link

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


def room_snapshot(db: Database, settings: Settings, show_id: int, market: str
                  ) -> SharedSnapshot:
    """The part of the snapshot that is the same for every viewer of the room in ``market``
    (shared by joiners through :class:`SnapshotCache`). ``server_time``, ``viewers`` and
    ``you`` are each joiner's own."""

    with db.read() as session:
        show = load_show(session, show_id)
        markets = markets_of(show)
        sale = active_sale(session, show_id)
        return {
            "type": "snapshot", "v": model.PROTOCOL_VERSION,
            "market": market if market in markets else markets[0],
            "show": {**show_view(session, show).model_dump(mode="json"),
                     "slow_mode_seconds": show.slow_mode_seconds},
            "pinned": product_card(session, show.pinned_product_id, markets)
            if show.pinned_product_id else None,
            "sale": sale_card(session, sale) if sale else None,
            "lineup": lineup_cards(session, show),
            "chat": recent_chat(session, show_id),
            "video": video_link().room_view(session, settings.hls_base_url, show_id),
        }


ANONYMOUS_VIEWER: Viewer = {
    "user_id": None, "name": None, "can_chat": False, "can_moderate": False,
    "can_host": False, "muted_until": None,
}


def room_viewer(db: Database, show_id: int, actor: Actor) -> Viewer:
    """The snapshot's ``you``: what this signed-in viewer may do in the room."""
    with db.read() as session:
        show = load_show(session, show_id)
        muted = muted_until(session, show_id, actor.user_id)
        return {
            "user_id": actor.user_id, "name": actor.display_name,
            "can_chat": not banned_from_shop(session, show.shop_id, actor.user_id),
            "can_moderate": can_moderate(session, actor, show),
            "can_host": can_host(session, actor, show),
            "muted_until": epoch_ms(muted) if muted else None,
        }
