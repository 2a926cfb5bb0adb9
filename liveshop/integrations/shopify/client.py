"""A small client of Shopify's Admin GraphQL API that respects its rate limit.

Shopify limits each app and store with a leaky bucket of cost points: every response says
how full it is in ``extensions.cost.throttleStatus`` (maximumAvailable, currentlyAvailable,
restoreRate). The client waits before a call when the last status says the bucket cannot
pay for it, and a call refused with ``THROTTLED`` waits for the points it lacks and is
tried again (it did nothing). A 5xx, a 429 or a broken connection is tried again after a
random wait up to base * 2**attempt ("full jitter"), ``attempts`` times in all; then the
caller gets :class:`ShopifyUnavailable` and its outbox message is retried later. A mutation
is never sent again after a 5xx or a broken connection (it may have taken effect): the
caller gets ShopifyUnavailable at once and finds out (an order is looked up by its tag).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from liveshop.core.config import Settings

# What a call is assumed to cost before Shopify has said (a page of products costs more).
DEFAULT_COST = 50
TIMEOUT_SECONDS = 15.0


class ShopifyError(RuntimeError):
    """A call Shopify refused for good (bad token, bad query, user errors): retrying the
    same call will not help."""


class ShopifyUnavailable(RuntimeError):
    """Shopify did not answer usefully after every attempt (5xx, timeouts): try later."""


@dataclass
class ThrottleStatus:
    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 100.0

    def wait_for(self, cost: float) -> float:
        """Seconds until the bucket holds ``cost`` points."""
        missing = min(cost, self.maximum) - self.available
        return max(0.0, missing / self.restore_rate) if self.restore_rate > 0 else 1.0


def admin_url(settings: Settings, domain: str) -> str:
    scheme = "http" if settings.shopify_allow_http and is_loopback(domain) else "https"
    return f"{scheme}://{domain}/admin/api/{settings.shopify_api_version}/graphql.json"


def is_loopback(domain: str) -> bool:
    host = domain.rsplit(":", 1)[0]
    return host in ("127.0.0.1", "localhost", "[::1]")


class AdminClient:
    """One store's Admin GraphQL endpoint. ``sleep`` and ``jitter`` are the clock and the
    dice (tests pass their own)."""

    def __init__(self, settings: Settings, domain: str, token: str, *,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[float, float], float] = random.uniform) -> None:
        self.url = admin_url(settings, domain)
        self._headers = {"X-Shopify-Access-Token": token, "Content-Type": "application/json"}
        self.attempts = settings.shopify_attempts
        self._base = settings.shopify_retry_base_seconds
        self._sleep, self._jitter = sleep, jitter
        self._transport = transport
        self.throttle = ThrottleStatus()
        # What the calls cost, for the sync page and the tests.
        self.throttled = 0
        self.retried = 0

    def execute(self, operation: str, query: str, variables: dict[str, Any] | None = None,
                cost: float = DEFAULT_COST, mutation: bool = False) -> dict[str, Any]:
        """The ``data`` of the named operation's answer. ``mutation``: an answer lost to a
        5xx or a broken connection is not retried (ShopifyUnavailable at once)."""
        failures = 0
        with httpx.Client(timeout=TIMEOUT_SECONDS, transport=self._transport) as http:
            while True:
                wait = self.throttle.wait_for(cost)
                if wait > 0:
                    self._sleep(wait)
                try:
                    response = http.post(self.url, headers=self._headers, json={
                        "query": query, "operationName": operation,
                        "variables": variables or {}})
                except httpx.TransportError as error:
                    failures = self._back_off(failures, f"{type(error).__name__}: {error}",
                                              final=mutation)
                    continue
                if response.status_code in (401, 403):
                    raise ShopifyError(f"Shopify refused the access token "
                                       f"({response.status_code}): connect the store again")
                if response.status_code == 429 or response.status_code >= 500:
                    # A 429 refused the call; a 5xx may have come after the work was done.
                    failures = self._back_off(failures, f"HTTP {response.status_code}",
                                              final=mutation and response.status_code != 429)
                    continue
                if response.status_code != 200:
                    raise ShopifyError(f"HTTP {response.status_code}: {response.text[:200]}")
                body = response.json()
                self._note_cost(body, cost)
                errors = body.get("errors") or []
                if any(_code(error) == "THROTTLED" for error in errors):
                    # Nothing was done; the bucket status says how long until it can be.
                    self.throttled += 1
                    requested = body.get("extensions", {}).get("cost", {}).get(
                        "requestedQueryCost", cost)
                    self._sleep(max(self.throttle.wait_for(float(requested)), 0.05))
                    continue
                if errors:
                    raise ShopifyError("; ".join(str(error.get("message")) for error in errors))
                data: dict[str, Any] = body.get("data") or {}
                return data

    def _back_off(self, failures: int, reason: str, final: bool = False) -> int:
        failures += 1
        if final or failures >= self.attempts:
            raise ShopifyUnavailable(f"Shopify did not answer after {failures} attempts "
                                     f"(last: {reason})")
        self.retried += 1
        self._sleep(self._jitter(0, self._base * 2 ** failures))
        return failures

    def _note_cost(self, body: dict[str, Any], cost: float) -> None:
        status = body.get("extensions", {}).get("cost", {}).get("throttleStatus")
        if isinstance(status, dict):
            self.throttle = ThrottleStatus(float(status.get("maximumAvailable", 1000)),
                                           float(status.get("currentlyAvailable", 0)),
                                           float(status.get("restoreRate", 100)))


def _code(error: dict[str, Any]) -> str:
    extensions = error.get("extensions")
    return str(extensions.get("code", "")) if isinstance(extensions, dict) else ""


def user_errors(payload: dict[str, Any]) -> None:
    """A mutation's ``userErrors`` as a ShopifyError (the call was understood and refused)."""
    problems = payload.get("userErrors") or []
    if problems:
        raise ShopifyError("; ".join(f"{'.'.join(p.get('field') or [])}: {p.get('message')}"
                                     for p in problems))
