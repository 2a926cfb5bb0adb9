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
