"""Who is watching a room across every app process (Redis), for an exact viewer count.

Each process writes its own viewers of a room into one sorted set every second, scored with
an expiry time; the count is the number of unexpired members, so one person watching through
two processes (two tabs behind a load balancer) still counts once, and a crashed process's
viewers age out within ``TTL_SECONDS``.
"""

from __future__ import annotations

import time
from typing import Any

TTL_SECONDS = 15.0


class RedisPresence:
    def __init__(self, url: str):
        import redis.asyncio as aioredis

        self._redis: Any = aioredis.Redis.from_url(url, socket_timeout=2,
                                                   socket_connect_timeout=2)

    @staticmethod
    def _key(show_id: int) -> str:
        return f"liveshop:viewers:{show_id}"

    async def refresh(self, show_id: int, visitors: set[str]) -> int:
        """Record this process's viewers of the room; return the room's total."""
        now = time.time()
        key = self._key(show_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            if visitors:
                pipe.zadd(key, {visitor: now + TTL_SECONDS for visitor in visitors})
            pipe.zcard(key)
            pipe.expire(key, int(TTL_SECONDS * 2))
            results = await pipe.execute()
        return int(results[-2])

    async def forget(self, show_id: int, visitor: str) -> None:
        await self._redis.zrem(self._key(show_id), visitor)

    async def close(self) -> None:
        await self._redis.aclose()
