from __future__ import annotations

import uuid

import pytest

from liveshop.core.errors import RateLimited
from liveshop.core.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter


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
