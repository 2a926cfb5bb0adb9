"""CSRF on every HTML form post, and the rate limits that exist (log-in, chat).

Buying has no rate limit of its own: repeated buys are guarded by the Idempotency-Key (a
retry replays, it does not order twice) and flash sales by their per-buyer limit. That is
documented by ``test_a_retried_buy_orders_once`` rather than a limit being invented here.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from liveshop.app import PAGE_ROUTERS
from liveshop.core.ratelimit import MemoryRateLimiter
from liveshop.live.model import CHAT_BURST
from liveshop.services import app_services
from tests.conftest import DEFAULT_PASSWORD, UserClient
from tests.factories import VariantSpec, create_product
from tests.incentives.conftest import open_voucher
from tests.payouts.helpers import make_statement
from tests.security.conftest import (
    ADDRESS,
    CARD,
    build_app,
    clone,
    log_in_again,
    png_bytes,
    sign_up,
)


@dataclass
class Site:
    app: FastAPI
    seller: UserClient
    buyer: UserClient
    admin: UserClient
    ids: dict[str, int]
    # The back office's forms act on targets of their own (another seller's shop, show and
    # product, another user): suspending the shop the other forms use would refuse them.
    admin_ids: dict[str, int]
    # The creator pages' forms (/creators/...) are a creator's.
    creator: UserClient | None = None


def api(user: UserClient, method: str, path: str, **kwargs: Any) -> Any:
    response = user.request(method, "/api/v1" + path, headers={
        "Idempotency-Key": uuid.uuid4().hex}, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.text}"
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    app, db, _ = build_app(Path(tmp_path_factory.mktemp("csrf")))
    seller, buyer = sign_up(app, "seller"), sign_up(app, "buyer")
    shop_id = api(seller, "POST", "/shops", json={
        "name": "Shop", "markets": [{"market": "UK", "shipping": 399}]})["id"]
    product_id, (variant_id,) = create_product(
        db, shop_id, [VariantSpec(prices={"UK": 1999}, stock=100)])
    image_id = api(seller, "POST", f"/products/{product_id}/images",
                   files={"file": ("a.png", png_bytes(), "image/png")})["id"]
    api(buyer, "POST", "/me/addresses", json=ADDRESS)
    card_id = api(buyer, "POST", "/payment-methods", json={"card": CARD, "make_default": True})
    order_id = api(buyer, "POST", "/buy-now", json={"variant_id": variant_id})["orders"][0]["id"]
    delivered = api(buyer, "POST", "/buy-now", json={"variant_id": variant_id})["orders"][0]["id"]
    api(seller, "POST", f"/orders/{delivered}/ship", json={"carrier": "DHL",
                                                            "tracking_number": "1"})
    api(seller, "POST", f"/orders/{delivered}/deliver")
    api(buyer, "POST", f"/orders/{delivered}/returns", json={"reason": "Too small"})
    return_id = api(seller, "GET", f"/shops/{shop_id}/returns")[0]["id"]
    cart = api(buyer, "POST", "/cart/items", json={"variant_id": variant_id})
    # A flash sale a creator proposed in their own show, for the seller to decide on.
    creator = sign_up(app, "creator")
    api(seller, "POST", f"/shops/{shop_id}/affiliate-plans", json={
        "product_id": product_id, "kind": "open", "rate_bp": 1000})
    own_show = api(creator, "POST", "/shows", json={
        "shop_id": None, "title": "Picks", "markets": ["UK"], "product_ids": [product_id],
        "scheduled_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})["id"]
    proposal = api(creator, "POST", f"/shows/{own_show}/sale-proposals", json={
        "variant_id": variant_id, "prices": {"UK": 999}, "quantity": 2,
        "duration_seconds": 60})
    ids = {
        "shop_id": shop_id, "product_id": product_id, "variant_id": variant_id,
        "image_id": image_id, "method_id": card_id["id"], "order_id": order_id,
        "return_id": return_id, "item_id": cart["shops"][0]["lines"][0]["item_id"],
        "token_id": api(buyer, "POST", "/tokens", json={"name": "t"})["id"],
        "proposal_id": proposal["id"],
    }
    admin, other_seller = sign_up(app, "admin"), sign_up(app, "seller")
    other_shop = api(other_seller, "POST", "/shops", json={
        "name": "Other", "markets": [{"market": "UK", "shipping": 399}]})["id"]
    other_product, _ = create_product(db, other_shop, [VariantSpec(prices={"UK": 999})])
    other_show = api(other_seller, "POST", "/shows", json={
        "shop_id": other_shop, "title": "Other", "markets": ["UK"],
        "product_ids": [other_product],
        "scheduled_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})["id"]
    report = api(buyer, "POST", "/reports", json={
        "target_type": "product", "target_id": other_product, "reason": "Looks fake"})
    admin_ids = {"shop_id": other_shop, "show_id": other_show, "product_id": other_product,
                 "user_id": sign_up(app, "buyer").id, "report_id": report["id"],
                 "statement_id": make_statement(db, other_shop),
                 "voucher_id": open_voucher(db, code=None)}
    # The same creator is invited to the product and asks for a sample of it.
    api(creator, "POST", "/me/addresses", json=ADDRESS)
    ids["plan_id"] = api(seller, "POST", f"/shops/{shop_id}/affiliate-plans", json={
        "product_id": product_id, "kind": "targeted", "rate_bp": 1500,
        "creator_id": creator.id,
        "ends_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()})["id"]
    ids["request_id"] = api(creator, "POST", "/sample-requests",
                            json={"variant_id": variant_id})["id"]
    yield Site(app, seller, buyer, admin, ids, admin_ids, creator)
    for user in (seller, buyer, admin, other_seller, creator):
        user.http.close()
    db.dispose()


# Which logged-in user posts each form (the one it is meant for).
# API tokens are for sellers and admins: a buyer is refused before the CSRF check.
SELLER_FORMS = re.compile(r"^/seller/|^/account/tokens$")


def page_post_routes() -> list[str]:
    return sorted(
        route.path for router in PAGE_ROUTERS for route in router.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or set())
    )


def fill(path: str, ids: dict[str, int]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "approve" if m.group(1) == "decision"
                  else str(ids[m.group(1)]), path)


def test_page_post_routes_are_all_covered() -> None:
    routes = page_post_routes()
    assert len(routes) >= 20, routes
    for path in routes:
        for name in re.findall(r"\{(\w+)\}", path):
            assert name == "decision" or name in KNOWN_PARAMS, f"fill {{{name}}} of {path}"


KNOWN_PARAMS = {"shop_id", "product_id", "variant_id", "image_id", "method_id", "order_id",
                "return_id", "item_id", "token_id", "show_id", "user_id", "report_id",
                "statement_id", "plan_id", "request_id", "voucher_id", "proposal_id"}
ADMIN_FORMS = re.compile(r"^/admin/")
CREATOR_FORMS = re.compile(r"^/creators/")


def _poster(site: Site, path: str) -> UserClient:
    if ADMIN_FORMS.match(path):
        return site.admin
    if CREATOR_FORMS.match(path) and site.creator is not None:
        return site.creator
    return site.seller if SELLER_FORMS.match(path) else site.buyer


def _ids_for(site: Site, path: str) -> dict[str, int]:
    return site.admin_ids if ADMIN_FORMS.match(path) else site.ids


# Posting these ends the session they are sent with (on the server), which the other
# routes' posters still need: they get a session of their own.
ENDS_THE_SESSION = {"/logout"}


@pytest.mark.parametrize("path", page_post_routes())
def test_form_post_without_csrf_token_is_refused(site: Site, path: str) -> None:
    user = _poster(site, path)
    if path in ENDS_THE_SESSION:
        user = log_in_again(site.app, user)
    url = fill(path, _ids_for(site, path))
    # A cross-site form carries the session cookie but neither the field nor the header.
    forged = clone(site.app, user)
    del forged.headers["X-CSRF-Token"]
    for data in ({"name": "x"}, {"name": "x", "csrf_token": "forged-token"}):
        response = forged.post(url, data=data, follow_redirects=False)
        assert response.status_code == 403, f"{path} {data}: {response.status_code}"
    # The same post with the session's token gets past the check: the row is a real route.
    token = _csrf_of(user)
    allowed = clone(site.app, user).post(url, data={"csrf_token": token},
                                         follow_redirects=False)
    assert allowed.status_code not in (403, 404, 405), f"{path}: {allowed.text[:300]}"


def _csrf_of(user: UserClient) -> str:
    return str(user.http.headers["X-CSRF-Token"])


def test_anonymous_login_form_needs_the_token_too(site: Site) -> None:
    visitor = TestClient(site.app)
    response = visitor.post("/login", data={"email": site.buyer.user["email"],
                                            "password": DEFAULT_PASSWORD},
                            follow_redirects=False)
    assert response.status_code == 403


# --- rate limits ---


@pytest.fixture
def fresh_app(tmp_path: Path) -> Iterator[FastAPI]:
    app, db, _ = build_app(tmp_path)
    # The limiter's clock stands still: past the free failures a log-in waits 1 s, which a
    # loaded machine (parallel test workers) may spend serving the next request.
    stopped = time.monotonic()
    app_services(app).context.limiter = MemoryRateLimiter(clock=lambda: stopped)
    yield app
    db.dispose()


def _login(client: TestClient, email: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_login_slows_the_guessing_source_down(fresh_app: FastAPI) -> None:
    """Per account and source, slowed rather than locked; the owner's ways in are tested in
    tests/accounts/test_login_throttle.py."""
    victim = sign_up(fresh_app, "buyer")
    email = victim.user["email"]
    limit = app_services(fresh_app).context.settings.login_failures_per_source
    attacker = TestClient(fresh_app)
    for _ in range(limit):
        assert _login(attacker, email, "wrong-password-1").status_code == 401
    blocked = _login(attacker, email, DEFAULT_PASSWORD)
    assert blocked.status_code == 429, "the right password must wait like a wrong one"
    assert int(blocked.headers["Retry-After"]) > 0
    assert blocked.json()["error"]["code"] == "rate_limited"
    # Other accounts from the same address are not locked out.
    other = sign_up(fresh_app, "buyer")
    assert _login(TestClient(fresh_app), other.user["email"], DEFAULT_PASSWORD
                  ).status_code == 200


def test_login_is_limited_per_address(fresh_app: FastAPI) -> None:
    limit = app_services(fresh_app).context.settings.login_attempts_per_ip
    attacker = TestClient(fresh_app)
    for number in range(limit):
        assert _login(attacker, f"guess{number}@example.com", "x").status_code == 401
    assert _login(attacker, "guess-last@example.com", "x").status_code == 429


def test_login_form_shares_the_limit(fresh_app: FastAPI) -> None:
    email = sign_up(fresh_app, "buyer").user["email"]
    limit = app_services(fresh_app).context.settings.login_failures_per_source
    browser = TestClient(fresh_app)
    for _ in range(limit):
        assert _login(browser, email, "wrong-password-1").status_code == 401
    page = browser.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = browser.post("/login", data={"csrf_token": token.group(1), "email": email,
                                            "password": DEFAULT_PASSWORD},
                            follow_redirects=False)
    assert response.status_code == 429


def _live_show(app: FastAPI, seller: UserClient) -> int:
    db = app_services(app).context.db
    shop_id = api(seller, "POST", "/shops", json={
        "name": "Live", "markets": [{"market": "UK", "shipping": 399}]})["id"]
    product_id, _ = create_product(db, shop_id, [VariantSpec(prices={"UK": 999})])
    show = api(seller, "POST", "/shows", json={
        "shop_id": shop_id, "title": "Live", "markets": ["UK"], "product_ids": [product_id],
        "scheduled_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})
    api(seller, "POST", f"/shows/{show['id']}/live")
    return int(show["id"])


def test_chat_is_limited_per_user(fresh_app: FastAPI) -> None:
    seller, spammer, neighbour = (sign_up(fresh_app, r) for r in ("seller", "buyer", "buyer"))
    show_id = _live_show(fresh_app, seller)
    url = f"/api/v1/shows/{show_id}/chat"
    for number in range(CHAT_BURST):
        assert spammer.post(url, json={"text": f"buy {number}"}).status_code == 201
    flooded = spammer.post(url, json={"text": "one more"})
    assert flooded.status_code == 429
    assert int(flooded.headers["Retry-After"]) > 0
    # The limit is the spammer's alone; the host is never throttled in their own room.
    assert neighbour.post(url, json={"text": "hi"}).status_code == 201
    for number in range(CHAT_BURST + 2):
        assert seller.post(url, json={"text": f"host {number}"}).status_code == 201


def test_a_retried_buy_orders_once(fresh_app: FastAPI) -> None:
    seller, buyer = sign_up(fresh_app, "seller"), sign_up(fresh_app, "buyer")
    show_id = _live_show(fresh_app, seller)
    api(buyer, "POST", "/me/addresses", json=ADDRESS)
    api(buyer, "POST", "/payment-methods", json={"card": CARD, "make_default": True})
    product_id = api(buyer, "GET", f"/shows/{show_id}")["product_ids"][0]
    product = api(buyer, "GET", f"/products/{product_id}")
    body = {"variant_id": product["variants"][0]["id"]}
    key = {"Idempotency-Key": "tap-1"}
    answers = [buyer.post(f"/api/v1/shows/{show_id}/buy", json=body, headers=key)
               for _ in range(5)]
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["checkout_id"] for a in answers}) == 1
    assert len(api(buyer, "GET", "/orders")) == 1
