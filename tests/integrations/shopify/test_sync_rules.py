"""The sync's pure rules and the Admin API client's handling of Shopify's rate limit and
faults (on an in-memory transport: no sleeping, no network)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from liveshop.core.config import Settings
from liveshop.integrations.shopify.client import AdminClient, ShopifyError, ShopifyUnavailable
from liveshop.integrations.shopify.sync_model import (
    available_here,
    is_stale,
    normalised_domain,
    parse_time,
    shortfall,
    signature_valid,
)

COST = {"requestedQueryCost": 10, "actualQueryCost": 10,
        "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 990.0,
                           "restoreRate": 100.0}}
THROTTLED = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
             "extensions": {"cost": {"requestedQueryCost": 250, "actualQueryCost": None,
                                     "throttleStatus": {"maximumAvailable": 1000.0,
                                                        "currentlyAvailable": 50.0,
                                                        "restoreRate": 100.0}}}}
OK = {"data": {"shop": {"name": "S"}}, "extensions": {"cost": COST}}


def test_stock_rule_keeps_every_unit_promised_here() -> None:
    assert available_here(10, reserved=2, held=3, unpushed=1) == 4
    assert available_here(4, reserved=2, held=3, unpushed=1) == 0
    assert shortfall(4, reserved=2, held=3, unpushed=1) == 2
    assert shortfall(10, 2, 3, 1) == 0


def test_staleness_and_shopify_times() -> None:
    newer = parse_time("2026-12-03T10:00:01-05:00")
    older = parse_time("2026-12-03T15:00:00Z")
    assert newer == datetime(2026, 12, 3, 15, 0, 1, tzinfo=UTC)
    assert is_stale(older, newer) and not is_stale(newer, older)
    assert not is_stale(newer, None) and not is_stale(None, newer)
    assert parse_time("yesterday") is None


def test_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"id": 1}'
    good = base64.b64encode(hmac.new(b"secret", body, hashlib.sha256).digest()).decode()
    assert signature_valid("secret", body, good)
    assert not signature_valid("secret", body + b" ", good)
    assert not signature_valid("other", body, good)
    assert not signature_valid("", body, good)  # no secret configured: nothing is valid
    assert not signature_valid("secret", body, "")


def test_store_domains() -> None:
    assert normalised_domain("https://My-Store.myshopify.com/", False) == "my-store.myshopify.com"
    assert normalised_domain("evil.com/x.myshopify.com", False) is None
    assert normalised_domain("127.0.0.1:8765", False) is None
    assert normalised_domain("127.0.0.1:8765", True) == "127.0.0.1:8765"


class Script:
    """Answers in turn; records requests and sleeps."""

    def __init__(self, *answers: tuple[int, Any]) -> None:
        self.answers, self.requests = list(answers), 0
        self.sleeps: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        status, body = self.answers.pop(0)
        return httpx.Response(status, content=json.dumps(body).encode()
                              if not isinstance(body, str) else body.encode())

    def client(self) -> AdminClient:
        settings = Settings(_env_file=None, shopify_attempts=3,  # type: ignore[call-arg, unused-ignore]
                            shopify_retry_base_seconds=0.5)
        return AdminClient(settings, "s.myshopify.com", "shpat_x",
                           transport=httpx.MockTransport(self.handle),
                           sleep=self.sleeps.append, jitter=lambda low, high: high)


def test_throttled_waits_for_the_missing_points_then_retries() -> None:
    script = Script((200, THROTTLED), (200, OK))
    client = script.client()
    assert client.execute("Shop", "query Shop { shop { name } }") == OK["data"]
    assert script.requests == 2 and client.throttled == 1
    assert script.sleeps == [pytest.approx(2.0)]  # (250 - 50) points at 100 per second
    assert client.throttle.available == 990.0


def test_5xx_is_retried_with_jittered_backoff_then_given_up() -> None:
    script = Script((502, "<h1>502</h1>"), (503, "busy"), (200, OK))
    assert script.client().execute("Shop", "q") == OK["data"]
    assert script.sleeps == [1.0, 2.0]  # the jitter's upper bound: base * 2**attempt
    failing = Script((502, "x"), (502, "x"), (502, "x"))
    with pytest.raises(ShopifyUnavailable, match="3 attempts"):
        failing.client().execute("Shop", "q")


def test_a_mutation_is_never_sent_again_after_a_5xx() -> None:
    script = Script((502, "x"), (200, OK))
    with pytest.raises(ShopifyUnavailable):
        script.client().execute("OrderCreate", "mutation", mutation=True)
    assert script.requests == 1
    throttled = Script((429, "slow down"), (200, OK))  # refused: safe to send again
    assert throttled.client().execute("OrderCreate", "m", mutation=True) == OK["data"]


def test_a_refused_token_is_not_retried() -> None:
    script = Script((401, {"errors": "[API] Invalid API key or access token"}))
    with pytest.raises(ShopifyError, match="access token"):
        script.client().execute("Shop", "q")
    assert script.requests == 1
