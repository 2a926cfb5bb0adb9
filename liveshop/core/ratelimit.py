"""Sliding-window rate limits. In-process by default; the interface lets a shared store
(Redis) replace it when several app processes must agree."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from typing import Protocol

from liveshop.core.errors import RateLimited


class RateLimiter(Protocol):
    def hit(self, key: str, *, limit: int, window_seconds: float) -> None:
        """Count one attempt; raise RateLimited if the key is over its limit."""

    def reset(self, key: str) -> None: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window_seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - window_seconds:
                hits.popleft()
            if len(hits) >= limit:
                retry_after = math.ceil(hits[0] + window_seconds - now)
                raise RateLimited(
                    f"Too many attempts; try again in {retry_after} s", retry_after=retry_after
                )
            hits.append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


# Atomic sliding window: drop hits older than the window, refuse if at the limit (returning
# the oldest hit so the caller can say when to retry), else record this hit.
_SLIDING_WINDOW = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tostring(oldest[2])
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return false
"""


class RedisRateLimiter:
    """The same limits shared by every app process (used when LIVESHOP_REDIS_URL is set)."""

    def __init__(self, url: str, prefix: str = "liveshop:ratelimit:"):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._redis.register_script(_SLIDING_WINDOW)
        self._prefix = prefix
        self._counter = 0
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window_seconds: float) -> None:
        now = time.time()
        with self._lock:
            self._counter += 1
            member = f"{now:.6f}:{self._counter}"
        oldest = self._script(keys=[self._prefix + key],
                              args=[now, window_seconds, limit, member])
        if oldest is not None:
            retry_after = max(1, math.ceil(float(oldest) + window_seconds - now))
            raise RateLimited(f"Too many attempts; try again in {retry_after} s",
                              retry_after=retry_after)

    def reset(self, key: str) -> None:
        self._redis.delete(self._prefix + key)
