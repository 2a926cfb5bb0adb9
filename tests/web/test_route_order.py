"""FastAPI tries an app's routes one after the other, each a regular expression and some
bookkeeping, twice per request (to choose the router, then the route). The routes a live
room calls by the thousand come first, so a flash sale's taps do not each walk the whole
API first (that was half the CPU of a tap answered from memory)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.types import Scope


@pytest.fixture
def routes_tried(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    tried: list[str] = []
    matches = APIRoute.matches

    def counted(route: APIRoute, scope: Scope) -> Any:
        tried.append(route.path)
        return matches(route, scope)

    monkeypatch.setattr(APIRoute, "matches", counted)
    return tried


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v1/shows/1/buy"),
    ("GET", "/api/v1/purchases/1"),
    ("POST", "/api/v1/shows/1/chat"),
])
def test_a_live_rooms_busiest_routes_are_tried_first(
        client: TestClient, routes_tried: list[str], method: str, path: str) -> None:
    answered = client.request(method, path, json={})
    assert answered.status_code in (401, 403)  # routed: anonymous callers are refused
    assert len(routes_tried) <= 6, routes_tried


def test_other_routes_are_still_found_after_them(
        client: TestClient, routes_tried: list[str]) -> None:
    assert client.get("/api/v1/markets").status_code == 200
    # Paths as their routers declare them, without the API prefix.
    assert routes_tried[-1] == "/markets" and len(routes_tried) > 6
