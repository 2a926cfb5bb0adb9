from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from liveshop.core.errors import RateLimited
from liveshop.core.ratelimit import (
    ASYNC_CONNECTIONS,
    MemoryRateLimiter,
    RateLimiter,
    Recent,
    RedisRateLimiter,
)
from liveshop.services import app_services
from tests.conftest import run_async


def exercise(first: RateLimiter, second: RateLimiter) -> None:
    key = f"login:{uuid.uuid4().hex}"
    for _ in range(3):
        first.hit(key, limit=5, window_seconds=60)
    for _ in range(2):
        second.hit(key, limit=5, window_seconds=60)
    with pytest.raises(RateLimited) as raised:
        first.hit(key, limit=5, window_seconds=60)
    assert 0 < raised.value.retry_after <= 60
    second.reset(key)
    first.hit(key, limit=5, window_seconds=60)


def test_memory_limiter_counts_within_one_process() -> None:
    limiter = MemoryRateLimiter()
    exercise(limiter, limiter)


def test_redis_limiter_is_shared_by_every_process(redis_url: str) -> None:
    exercise(RedisRateLimiter(redis_url), RedisRateLimiter(redis_url))


def count_events(first: RateLimiter, second: RateLimiter) -> None:
    """Events (failed log-ins) are counted per key, by any process, for their window; the
    caller learns how many and how long ago the latest was (accounts' log-in throttle)."""
    source, account = (f"login:failed:{name}:{uuid.uuid4().hex}" for name in ("a", "b"))
    assert first.recent([source, account], window_seconds=60) == [Recent(0), Recent(0)]
    first.record([source, account], window_seconds=60)
    second.record([source], window_seconds=60)
    counted_source, counted_account = second.recent([source, account], window_seconds=60)
    assert (counted_source.count, counted_account.count) == (2, 1)
    assert 0 <= counted_source.seconds_since_last < 5
    second.reset(source)
    assert first.recent([source, account], window_seconds=60)[0] == Recent(0)
    # Older than the window: forgotten.
    brief = f"login:failed:brief:{uuid.uuid4().hex}"
    first.record([brief], window_seconds=0.2)
    time.sleep(0.3)
    first.record([brief], window_seconds=0.2)
    assert second.recent([brief], window_seconds=0.2)[0].count == 1


def test_memory_limiter_counts_events() -> None:
    limiter = MemoryRateLimiter()
    count_events(limiter, limiter)


def test_redis_limiter_counts_events_for_every_process(redis_url: str) -> None:
    count_events(RedisRateLimiter(redis_url), RedisRateLimiter(redis_url))


def exercise_on_the_event_loop(limiter: RateLimiter) -> None:
    """The async hit counts with the sync one, and works on one event loop after another
    (a Redis asyncio client belongs to one loop)."""
    key = f"buy:{uuid.uuid4().hex}"

    async def up_to_the_limit() -> None:
        for _ in range(4):
            await limiter.hit_async(key, limit=5, window_seconds=60)
        with pytest.raises(RateLimited) as raised:
            await limiter.hit_async(key, limit=5, window_seconds=60)
        assert 0 < raised.value.retry_after <= 60
        # No aclose(): a loop may end without it, and the next loop must still work.

    async def after_reset() -> None:
        await limiter.hit_async(key, limit=5, window_seconds=60)
        await limiter.aclose()

    limiter.hit(key, limit=5, window_seconds=60)
    run_async(up_to_the_limit())
    with pytest.raises(RateLimited):
        limiter.hit(key, limit=5, window_seconds=60)
    limiter.reset(key)
    run_async(after_reset())


def test_memory_limiter_on_the_event_loop() -> None:
    exercise_on_the_event_loop(MemoryRateLimiter())


def test_redis_limiter_on_the_event_loop(redis_url: str) -> None:
    exercise_on_the_event_loop(RedisRateLimiter(redis_url))


def test_redis_limiter_opens_its_connections_before_traffic(redis_url: str) -> None:
    limiter = RedisRateLimiter(redis_url)
    watcher = redis.Redis.from_url(redis_url)

    async def opened_by_warming() -> int:
        before = len(watcher.client_list())
        await limiter.warm()
        opened = len(watcher.client_list()) - before
        await limiter.hit_async(f"warm:{uuid.uuid4().hex}", limit=1, window_seconds=1)
        await limiter.aclose()
        return opened

    # One connection per request in flight a burst may bring (a few may come and go
    # meanwhile: other clients of this Redis).
    assert run_async(opened_by_warming()) >= ASYNC_CONNECTIONS - 4
    watcher.close()


def test_redis_going_away_is_a_clear_503_not_a_500(app: Any) -> None:
    app_services(app).context.limiter = RedisRateLimiter("redis://127.0.0.1:1")  # nothing listens
    with TestClient(app) as client:
        response = client.post("/api/v1/auth/login",
                               json={"email": "ada@example.com", "password": "whatever-1"})
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"] == "2"


def test_hits_on_the_event_loop_in_one_turn_share_one_round_trip(redis_url: str) -> None:
    """A crowd's hits go to Redis as one pipeline, over one connection, and still count one
    by one against the limit."""
    limiter = RedisRateLimiter(redis_url)
    watcher = redis.Redis.from_url(redis_url)
    key = f"buy:{uuid.uuid4().hex}"

    async def crowd() -> tuple[list[BaseException | None], int]:
        before = len(watcher.client_list())
        outcomes = await asyncio.gather(
            *(limiter.hit_async(key, limit=5, window_seconds=60) for _ in range(30)),
            return_exceptions=True)
        opened = len(watcher.client_list()) - before
        await limiter.aclose()
        return outcomes, opened

    outcomes, opened = run_async(crowd())
    assert outcomes.count(None) == 5
    assert all(isinstance(outcome, RateLimited) for outcome in outcomes if outcome is not None)
    assert opened <= 2  # one at a time, the crowd opened a connection each
    watcher.close()


def test_every_hit_of_a_round_hears_that_redis_is_unreachable() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1")  # nothing listens

    async def crowd() -> list[BaseException | None]:
        return await asyncio.gather(
            *(limiter.hit_async(f"buy:{n}", limit=5, window_seconds=60) for n in range(3)),
            return_exceptions=True)

    outcomes = run_async(crowd())
    assert all(isinstance(outcome, redis.RedisError) for outcome in outcomes), outcomes
