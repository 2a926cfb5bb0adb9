"""A live show ready for the browser tests: a host with a shop, a product in stock and a
scheduled show, and a viewer with a saved address and card — made over the JSON API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.conftest import LiveServer

PASSWORD = "correct-horse-battery"
PRODUCT = "Glow Jacket"


@dataclass
class Account:
    http: httpx.Client
    id: int
    name: str


@dataclass
class Scene:
    host: Account
    viewer: Account
    show_id: int
    product_id: int

    @property
    def api(self) -> str:
        return f"/api/v1/shows/{self.show_id}"


def sign_up(server: LiveServer, role: str, name: str) -> Account:
    http = server.http()
    created = http.post("/api/v1/auth/signup", json={
        "email": f"{role}-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD,
        "display_name": name, "role": role})
    assert created.status_code == 201, created.text
    http.headers["X-CSRF-Token"] = created.json()["csrf_token"]
    return Account(http, created.json()["user"]["id"], name)


def ok(response: httpx.Response) -> Any:
    assert response.is_success, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


@contextmanager
def live_scene(server: LiveServer) -> Iterator[Scene]:
    host = sign_up(server, "seller", "Hannah Host")
    shop = ok(host.http.post("/api/v1/shops", json={
        "name": "Glow Studio", "description": "Jackets that glow.",
        "markets": [{"market": "UK", "shipping": 399}]}))
    product = ok(host.http.post(f"/api/v1/shops/{shop['id']}/products", json={
        "title": PRODUCT, "description": "Reflective.", "status": "active",
        "options": ["Size"], "variants": [
            {"sku": f"GLOW-M-{uuid.uuid4().hex[:6]}", "options": ["M"],
             "prices": {"UK": {"amount": 2500}}}]}))
    ok(host.http.post(f"/api/v1/variants/{product['variants'][0]['id']}/stock/receipts",
                      json={"quantity": 20, "note": "e2e"}))
    show = ok(host.http.post("/api/v1/shows", json={
        "shop_id": shop["id"], "title": "Friday glow drop", "markets": ["UK"],
        "scheduled_at": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
        "product_ids": [product["id"]]}))
    viewer = sign_up(server, "buyer", "Vera Viewer")
    ok(viewer.http.post("/api/v1/me/addresses", json={
        "full_name": "Vera Viewer", "line1": "1 High Street", "city": "London",
        "postcode": "N1 1AA", "country": "GB", "is_default": True}))
    ok(viewer.http.post("/api/v1/payment-methods", json={
        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034,
                 "cvc": "123"}, "make_default": True}))
    try:
        yield Scene(host, viewer, show["id"], product["id"])
    finally:
        host.http.close()
        viewer.http.close()
