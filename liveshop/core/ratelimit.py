"""Sliding-window rate limits, and counts of events (such as failed log-ins) that a caller
turns into its own delays. In-process by default; the interface lets a shared store (Redis)
replace it when several app processes must agree."""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from liveshop.core.batching import PerLoop, TurnBatcher
from liveshop.core.errors import RateLimited

log = logging.getLogger("liveshop.ratelimit")

if TYPE_CHECKING:
    import redis.asyncio


# Events remembered per key at most: callers' delays stop growing long before this.
MAX_EVENTS_PER_KEY = 1_000


@dataclass(frozen=True)
class Recent:
    """A key's events within a window: how many, and how long ago the latest was."""

    count: int
    seconds_since_last: float = math.inf


class RateLimiter(Protocol):
    def hit(self, key: str, *, limit: int, window_seconds: float) -> None:
        """Count one attempt; raise RateLimited if the key is over its limit."""

    def record(self, keys: Sequence[str], *, window_seconds: float) -> None:
        """Count one event (e.g. a failed log-in) for each key, remembered ``window_seconds``."""

    def recent(self, keys: Sequence[str], *, window_seconds: float) -> list[Recent]:
        """Each key's events of the last ``window_seconds``, in the order of ``keys``."""

    async def hit_async(self, key: str, *, limit: int, window_seconds: float) -> None:
        """``hit`` for the event loop: no blocking I/O, so no worker thread is needed."""

    def reset(self, key: str) -> None: ...

    async def warm(self) -> None:
        """Get ``hit_async`` ready on the running event loop before traffic comes."""

    async def aclose(self) -> None:
        """Release what ``hit_async`` holds on the running event loop (call at shutdown)."""


def _refused(retry_after: int) -> RateLimited:
    return RateLimited(f"Too many attempts; try again in {retry_after} s",
                       retry_after=retry_after)


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window_seconds: float) -> None:
        now = self._clock()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - window_seconds:
                hits.popleft()
            if len(hits) >= limit:
                raise _refused(math.ceil(hits[0] + window_seconds - now))
            hits.append(now)

    async def hit_async(self, key: str, *, limit: int, window_seconds: float) -> None:
        self.hit(key, limit=limit, window_seconds=window_seconds)

    def record(self, keys: Sequence[str], *, window_seconds: float) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                events = self._hits[key]
                events.append(now)
                while events and (events[0] <= now - window_seconds
                                  or len(events) > MAX_EVENTS_PER_KEY):
                    events.popleft()

    def recent(self, keys: Sequence[str], *, window_seconds: float) -> list[Recent]:
        now = self._clock()
        found = []
        with self._lock:
            for key in keys:
                events = [at for at in self._hits.get(key, ()) if at > now - window_seconds]
                found.append(Recent(len(events), now - events[-1]) if events else Recent(0))
        return found

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    async def warm(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


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


_TIMEOUT_SECONDS = 2
# Per process and event loop: a round of hits holds one until the event loop, busy with a
# crowd, gets back to reading the answer; the rounds of the turns meanwhile must not wait.
ASYNC_CONNECTIONS = 64


class _Rounds:
    """The hits made on one event loop, sent to Redis in rounds: those of one turn as one
    pipeline, on the loop's next turn. A flash sale's crowd of taps arrives together, and a
    round trip per hit cost the loop CPU while the crowd waited
    (docs/decisions/0004-serving-process-tuning.md)."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self._batcher: TurnBatcher[list[Any], Any] = TurnBatcher(self._send)

    async def hit(self, arguments: list[Any]) -> Any:
        return await self._batcher.submit(arguments)

    async def _send(self, hits: list[list[Any]]) -> list[Any]:
        # The script's text, not its SHA: a Redis restarted meanwhile (which forgot the
        # script) needs no second round trip; Redis caches it by its SHA anyway.
        async with self.client.pipeline(transaction=False) as pipeline:
            for arguments in hits:
                pipeline.eval(_SLIDING_WINDOW, 1, *arguments)
            return list(await pipeline.execute(raise_on_error=False))


class RedisRateLimiter:
    """The same limits shared by every app process (used when LIVESHOP_REDIS_URL is set)."""

    def __init__(self, url: str, prefix: str = "liveshop:ratelimit:"):
        import redis

        self._url = url
        self._redis = redis.Redis.from_url(url, socket_timeout=_TIMEOUT_SECONDS,
                                           socket_connect_timeout=_TIMEOUT_SECONDS)
        self._script = self._redis.register_script(_SLIDING_WINDOW)
        self._prefix = prefix
        self._counter = 0
        # Two processes may count an event in the same microsecond.
        self._origin = secrets.token_hex(4)
        self._lock = threading.Lock()
        self._rounds = PerLoop(self._new_rounds)

    def hit(self, key: str, *, limit: int, window_seconds: float) -> None:
        now, arguments = self._attempt(key, limit, window_seconds)
        self._verdict(self._script(keys=arguments[:1], args=arguments[1:]), now,
                      window_seconds)

    async def hit_async(self, key: str, *, limit: int, window_seconds: float) -> None:
        now, arguments = self._attempt(key, limit, window_seconds)
        self._verdict(await self._rounds.here().hit(arguments), now, window_seconds)

    def record(self, keys: Sequence[str], *, window_seconds: float) -> None:
        now = time.time()
        with self._redis.pipeline(transaction=False) as pipeline:
            for key in keys:
                name = self._prefix + key
                pipeline.zadd(name, {self._member(now): now})
                pipeline.zremrangebyscore(name, "-inf", now - window_seconds)
                pipeline.zremrangebyrank(name, 0, -MAX_EVENTS_PER_KEY - 1)
                pipeline.pexpire(name, math.ceil(window_seconds * 1000))
            pipeline.execute()

    def recent(self, keys: Sequence[str], *, window_seconds: float) -> list[Recent]:
        now = time.time()
        with self._redis.pipeline(transaction=False) as pipeline:
            for key in keys:
                name = self._prefix + key
                pipeline.zcount(name, f"({now - window_seconds}", "+inf")
                pipeline.zrange(name, -1, -1, withscores=True)
            answers = pipeline.execute()
        found = []
        for count, latest in zip(answers[::2], answers[1::2], strict=True):
            found.append(Recent(int(count), max(0.0, now - float(latest[0][1])))
                         if count else Recent(0))
        return found

    def reset(self, key: str) -> None:
        self._redis.delete(self._prefix + key)

    async def warm(self) -> None:
        """Open this loop's connections now. Opened in a flash sale's first burst, each
        connection's handshake waited on the crowded event loop, and so did the first taps
        (docs/decisions/0004-serving-process-tuning.md)."""
        import redis

        client = self._rounds.here().client
        try:
            # Concurrent pings hold a connection each, so the pool opens them all.
            await asyncio.gather(*(client.ping() for _ in range(ASYNC_CONNECTIONS)))
        except redis.RedisError as error:  # serving starts anyway; limited calls answer 503
            log.warning("could not open the rate limiter's Redis connections: %s", error)

    async def aclose(self) -> None:
        rounds = self._rounds.pop_here()
        if rounds is not None:
            await rounds.client.aclose()

    def _attempt(self, key: str, limit: int, window_seconds: float) -> tuple[float, list[Any]]:
        """The time of the attempt, and the script's key and arguments for it."""
        now = time.time()
        return now, [self._prefix + key, now, window_seconds, limit, self._member(now)]

    def _member(self, now: float) -> str:
        """A unique member for an event at ``now`` (members of a sorted set are a set)."""
        with self._lock:
            self._counter += 1
            return f"{now:.6f}:{self._origin}:{self._counter}"

    @staticmethod
    def _verdict(oldest: Any, now: float, window_seconds: float) -> None:
        if oldest is not None:
            raise _refused(max(1, math.ceil(float(oldest) + window_seconds - now)))

    def _new_rounds(self) -> _Rounds:
        import redis.asyncio

        # Rounds waiting for a connection wait instead of failing on "too many".
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            self._url, max_connections=ASYNC_CONNECTIONS, timeout=_TIMEOUT_SECONDS,
            socket_timeout=_TIMEOUT_SECONDS, socket_connect_timeout=_TIMEOUT_SECONDS)
        return _Rounds(redis.asyncio.Redis.from_pool(pool))
