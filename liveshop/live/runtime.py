"""Wiring of the live layer into the app: the broker, this process's hub and the loop
that closes flash sales when their time is up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from liveshop.core.db import Database
from liveshop.live import service
from liveshop.live.broker import Broker, InProcessBroker, RedisBroker
from liveshop.live.hub import Hub, RoomEvents
from liveshop.live.presence import RedisPresence

log = logging.getLogger("liveshop.live")
SALE_SWEEP_SECONDS = 1.0


def create_hub(redis_url: str | None = None) -> Hub:
    """This process's hub: on Redis when a URL is given (several processes share rooms),
    else in-process."""
    if not redis_url:
        broker: Broker = InProcessBroker()
        return Hub(broker, RoomEvents(broker))
    redis_broker = RedisBroker(redis_url)
    hub = Hub(redis_broker, RoomEvents(redis_broker), RedisPresence(redis_url))
    redis_broker.on_resubscribe = hub.resync_all
    return hub


async def _end_expired_sales_forever(db: Database, events: RoomEvents) -> None:
    while True:
        await asyncio.sleep(SALE_SWEEP_SECONDS)
        try:
            await asyncio.to_thread(service.end_expired_sales, db, events)
        except Exception:
            log.exception("ending expired flash sales failed")


@contextlib.asynccontextmanager
async def running(hub: Hub, db: Database) -> AsyncIterator[None]:
    await hub.broker.start(asyncio.get_running_loop())
    await hub.start()
    sweeper = asyncio.create_task(_end_expired_sales_forever(db, hub.events))
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await hub.stop()
        await hub.broker.stop()
