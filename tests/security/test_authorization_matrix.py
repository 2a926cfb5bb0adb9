"""Every mutating API route against every kind of caller, on real resources.

The table is checked against ``API_ROUTERS``: a new POST/PUT/PATCH/DELETE route without a
row fails ``test_every_mutating_route_has_a_row``. Every cell sends a valid body and a fresh
Idempotency-Key, so the status reflects authorization, not validation; the shop owner's
(or buyer's) column proves the body is valid.

Columns: anonymous; seller (owns the shop, hosts its shows); customer (the buyer who owns
the cart, cards, tokens, checkouts and orders); stranger (another buyer); other_seller (owns
a different shop); creator (not invited by the shop); moderator (platform role); admin.

Semantics: anonymous gets 401 except sign-up, log-in, log-out, asking for a sign-in link,
the market choice and the feed's events and "not interested" (a visitor has a feed too). A
shop's things answer 403 to everyone but its owner and admins; private things of a person
(orders, carts, checkouts, cards, tokens) answer 404 so ids do not leak. Platform
moderators may moderate chat but not host. Admins act for the platform on shops, shows and
orders; they do not spend another person's cart, checkout or cards (those stay 404) and do
not request returns on the buyer's behalf (403).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select

from liveshop.accounts import service as accounts
from liveshop.accounts.schemas import SignUp
from liveshop.app import API_PREFIX, API_ROUTERS
from liveshop.core.db import Database
from liveshop.creators.orm import CreatorProfile
from liveshop.integrations.shopify.fake import DEFAULT_TOKEN as SHOPIFY_TOKEN
from liveshop.integrations.shopify.fake import FakeShopify
from liveshop.services import app_services
from tests.conftest import DEFAULT_PASSWORD, UserClient
from tests.factories import VariantSpec, create_product
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

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
ROLES = ("anonymous", "seller", "customer", "stranger", "other_seller", "creator", "moderator",
         "admin")
Status = dict[str, int]


@dataclass
class Call:
    path: str
    json: Any = None
    files: dict[str, Any] | None = None
    form: dict[str, str] | None = None  # multipart fields beside ``files``


SHOPIFY_CSV = (b"Handle,Title,Variant Price,Status\r\n"
               b"linen-shirt,Linen shirt,39.00,active\r\n")


@dataclass
class World:
    """Resources built once; ``fresh_*`` build a new one for a cell that uses it up."""

    app: FastAPI
    db: Database
    users: dict[str, UserClient]
    victim: UserClient
    star: UserClient
    shop_id: int = 0
    product_id: int = 0
    variant_id: int = 0
    live_show_id: int = 0
    scheduled_show_id: int = 0
    other_shop_id: int = 0
    shopify_domain: str = ""  # the fake Shopify store's

    @property
    def seller(self) -> UserClient:
        return self.users["seller"]

    @property
    def customer(self) -> UserClient:
        return self.users["customer"]

    def ok(self, client: Any, method: str, path: str, **kwargs: Any) -> Any:
        self.unthrottle()
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        response = client.request(method, API_PREFIX + path, headers=headers, **kwargs)
        assert response.status_code < 300, f"setup {method} {path}: {response.text}"
        return response.json() if response.content else None

    def unthrottle(self) -> None:
        """This test buys far more often than a person would; rate limits have their own
        tests (tests/security/test_csrf_and_limits.py), so they must not mask statuses here."""
        for user in self.users.values():
            app_services(self.app).context.limiter.reset(f"buy:{user.id}")

    def fresh_product(self, stock: int = 50) -> tuple[int, int]:
        product_id, (variant_id,) = create_product(
            self.db, self.shop_id, [VariantSpec(prices={"UK": 1999, "DE": 2299}, stock=stock)])
        return product_id, variant_id

    def fresh_show(self, live: bool) -> int:
        show = self.ok(self.seller, "POST", "/shows", json={
            "shop_id": self.shop_id, "title": "Evening drop", "markets": ["UK"],
            "scheduled_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "product_ids": [self.product_id],
        })
        if live:
            self.ok(self.seller, "POST", f"/shows/{show['id']}/live")
        return int(show["id"])

    def connected_shop(self) -> int:
        """The shop, connected to the fake Shopify store (again)."""
        self.ok(self.seller, "PUT", f"/shops/{self.shop_id}/shopify", json={
            "domain": self.shopify_domain, "access_token": SHOPIFY_TOKEN, "market": "UK"})
        return self.shop_id

    def fresh_plan(self) -> int:
        return int(self.ok(self.seller, "POST", f"/shops/{self.shop_id}/affiliate-plans", json={
            "product_id": self.fresh_product()[0], "kind": "open", "rate_bp": 800})["id"])

    def fresh_open_product(self) -> tuple[int, int]:
        """A product (and its variant) with an open affiliate plan: any creator may
        showcase it and ask for a sample."""
        product_id, variant_id = self.fresh_product()
        self.ok(self.seller, "POST", f"/shops/{self.shop_id}/affiliate-plans", json={
            "product_id": product_id, "kind": "open", "rate_bp": 800})
        return product_id, variant_id

    def fresh_invitation(self) -> int:
        """A targeted plan inviting the creator column's user."""
        return int(self.ok(self.seller, "POST", f"/shops/{self.shop_id}/affiliate-plans", json={
            "product_id": self.fresh_product()[0], "kind": "targeted", "rate_bp": 1500,
            "creator_id": self.users["creator"].id,
            "ends_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()})["id"])

    def fresh_sample_request(self) -> int:
        return int(self.ok(self.users["creator"], "POST", "/sample-requests", json={
            "variant_id": self.fresh_open_product()[1]})["id"])

    def star_handle(self) -> str:
        """The star creator's handle (their profile is made on first use of their pages)."""
        self.ok(self.star, "GET", "/creators/marketplace")
        with self.db.read() as session:
            return session.scalars(select(CreatorProfile.handle).where(
                CreatorProfile.user_id == self.star.id)).one()

    def fresh_own_show(self) -> tuple[int, int]:
        """A live show of the creator's own (no shop), selling a product of the seller's
        shop that an open plan opens to them; and that product's variant."""
        product_id, variant_id = self.fresh_product()
        self.ok(self.seller, "POST", f"/shops/{self.shop_id}/affiliate-plans", json={
            "product_id": product_id, "kind": "open", "rate_bp": 800})
        show = self.ok(self.users["creator"], "POST", "/shows", json={
            "shop_id": None, "title": "My picks", "markets": ["UK"],
            "scheduled_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "product_ids": [product_id]})
        self.ok(self.users["creator"], "POST", f"/shows/{show['id']}/live")
        return int(show["id"]), variant_id

    def fresh_proposal(self, approved: bool = False) -> tuple[int, int]:
        """(show, proposal): a flash sale the creator proposed in their own show."""
        show_id, variant_id = self.fresh_own_show()
        proposal = self.ok(self.users["creator"], "POST", f"/shows/{show_id}/sale-proposals",
                           json=_SALE | {"variant_id": variant_id})
        if approved:
            self.ok(self.seller, "POST", f"/sale-proposals/{proposal['id']}/approve")
        return show_id, int(proposal["id"])

    def fresh_order(self, state: str = "paid") -> int:
        checkout = self.ok(self.customer, "POST", "/buy-now",
                           json={"variant_id": self.variant_id, "quantity": 1})
        order_id = int(checkout["orders"][0]["id"])
        if state in ("shipped", "delivered"):
            self.ok(self.seller, "POST", f"/orders/{order_id}/ship",
                    json={"carrier": "Royal Mail", "tracking_number": "RM1"})
        if state == "delivered":
            self.ok(self.seller, "POST", f"/orders/{order_id}/deliver")
        return order_id

    def fresh_return(self) -> int:
        order_id = self.fresh_order("delivered")
        self.ok(self.customer, "POST", f"/orders/{order_id}/returns", json={"reason": "Too big"})
        returns = self.ok(self.seller, "GET", f"/shops/{self.shop_id}/returns?status=requested")
        return next(int(r["id"]) for r in returns if r["order_id"] == order_id)

    def in_cart(self, client: Any) -> Any:
        """The client's cart with the variant in it, added only if missing: checkouts that
        are never paid leave it there, and adding it again each time would pass the cap on
        units per variant (LIVESHOP_MAX_UNITS_PER_VARIANT)."""
        cart = self.ok(client, "GET", "/cart")
        if any(line["variant_id"] == self.variant_id
               for shop in cart["shops"] for line in shop["lines"]):
            return cart
        return self.ok(client, "POST", "/cart/items", json={"variant_id": self.variant_id})

    def fresh_checkout(self, client: Any) -> int:
        self.in_cart(client)
        checkout = self.ok(client, "POST", "/checkouts", json={"address": ADDRESS})
        return int(checkout["id"])

    def fresh_cart_item(self) -> int:
        cart = self.in_cart(self.customer)
        return next(line["item_id"] for shop in cart["shops"] for line in shop["lines"]
                    if line["variant_id"] == self.variant_id)

    def fresh_user(self) -> int:
        return accounts.sign_up(self.db, SignUp(
            email=f"fresh-{uuid.uuid4().hex[:8]}@example.com", password=DEFAULT_PASSWORD,
            display_name="Fresh")).user_id

    def fresh_message(self) -> int:
        return int(self.ok(self.seller, "POST", f"/shows/{self.live_show_id}/chat",
                           json={"text": "Welcome!"})["id"])

    def victims_message(self) -> int:
        """A message none of the callers wrote, so each may report it."""
        app_services(self.app).context.limiter.reset(f"chat:{self.live_show_id}:{self.victim.id}")
        return int(self.ok(self.victim, "POST", f"/shows/{self.live_show_id}/chat",
                           json={"text": "Buy followers here"})["id"])

    def fresh_report(self) -> int:
        return int(self.ok(self.customer, "POST", "/reports", json={
            "target_type": "chat_message", "target_id": self.victims_message(),
            "reason": "Spam"})["id"])

    def fresh_shop(self) -> int:
        return int(self.ok(self.users["other_seller"], "POST", "/shops", json={
            "name": f"Shop {uuid.uuid4().hex[:6]}",
            "markets": [{"market": "UK", "shipping": 399}]})["id"])

    def fresh_statement(self) -> int:
        return make_statement(self.db, self.shop_id)

    def fresh_replay(self) -> int:
        show_id = self.fresh_show(live=True)
        self.ok(self.seller, "POST", f"/shows/{show_id}/end")
        return show_id


# --- expected statuses ---


def expect(allowed: int, who: tuple[str, ...], others: int, anonymous: int = 401) -> Status:
    return {role: allowed if role in who else others for role in ROLES} | {
        "anonymous": anonymous}


def public(status: int) -> Status:
    return dict.fromkeys(ROLES, status)


def anyone(status: int) -> Status:
    return expect(status, ROLES, status)


def creator_host(status: int) -> Status:
    """A creator's own show: its host (the creator) and admins; the shops whose products
    it sells have no say but on their flash sales' proposals."""
    return expect(status, ("creator", "admin"), 403)


def shop_owner(status: int) -> Status:
    return expect(status, ("seller", "admin"), 403)


def host(status: int) -> Status:
    return expect(status, ("seller", "admin"), 403)


def chat_moderator(status: int) -> Status:
    return expect(status, ("seller", "admin", "moderator"), 403)


def own_private(status: int, *, admin: bool = False) -> Status:
    return expect(status, ("customer", "admin") if admin else ("customer",), 404)


def order_seller(status: int) -> Status:
    return expect(status, ("seller", "admin"), 404) | {"customer": 403}


Setup = Callable[[World, str], Call]


@dataclass(frozen=True)
class Row:
    setup: Setup
    expected: Status
    # The call ends the session it is sent with: each role sends it from a session of its own.
    own_session: bool = False


def _self_checkout(world: World, role: str) -> Call:
    # Each caller checks out their own cart; the anonymous caller has none to fill.
    if role in world.users:
        world.in_cart(world.users[role])
    return Call("/checkouts", {"address": ADDRESS})


def _login(world: World, role: str) -> Call:
    user = world.users.get(role, world.customer)
    return Call("/auth/login", {"email": user.user["email"], "password": DEFAULT_PASSWORD})


def _products_body(title: str = "Hoodie") -> dict[str, Any]:
    return {"title": title, "status": "active", "options": ["Size"], "variants": [
        {"sku": f"H-{uuid.uuid4().hex[:6]}", "options": ["M"],
         "prices": {"UK": {"amount": 3999}}}]}


def _image_file() -> dict[str, Any]:
    return {"file": ("pic.png", png_bytes(), "image/png")}


ROWS: dict[tuple[str, str], Row] = {
    # accounts
    ("POST", "/auth/signup"): Row(lambda w, r: Call("/auth/signup", {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.com", "password": DEFAULT_PASSWORD,
        "display_name": "New"}), public(201), own_session=True),
    ("POST", "/auth/login"): Row(_login, public(200), own_session=True),
    ("POST", "/auth/logout"): Row(lambda w, r: Call("/auth/logout"), public(204),
                                  own_session=True),
    ("POST", "/auth/login-link"): Row(lambda w, r: Call("/auth/login-link", {
        "email": w.users[r].user["email"] if r in w.users
        else f"nobody-{uuid.uuid4().hex[:8]}@example.com"}), public(202)),
    ("POST", "/auth/password"): Row(lambda w, r: Call("/auth/password", {
        "current_password": DEFAULT_PASSWORD, "new_password": DEFAULT_PASSWORD}), anyone(200)),
    ("POST", "/tokens"): Row(lambda w, r: Call("/tokens", {"name": "ci"}), anyone(201)),
    ("DELETE", "/tokens/{token_id}"): Row(
        lambda w, r: Call("/tokens/" + str(w.ok(w.customer, "POST", "/tokens",
                                                json={"name": "x"})["id"])),
        own_private(200, admin=True)),
    ("PATCH", "/me"): Row(lambda w, r: Call("/me", {"display_name": "Renamed"}), anyone(200)),
    ("PUT", "/notifications/read"): Row(
        lambda w, r: Call("/notifications/read", {"up_to_id": 1}), anyone(200)),
    ("POST", "/me/addresses"): Row(lambda w, r: Call("/me/addresses", ADDRESS), anyone(201)),
    ("PUT", "/admin/users/{user_id}/role"): Row(
        lambda w, r: Call(f"/admin/users/{w.victim.id}/role", {"role": "buyer"}),
        expect(200, ("admin",), 403)),
    ("POST", "/admin/users/{user_id}/suspend"): Row(
        lambda w, r: Call(f"/admin/users/{w.fresh_user()}/suspend"),
        expect(200, ("admin",), 403)),
    ("POST", "/admin/users/{user_id}/reinstate"): Row(
        lambda w, r: Call(f"/admin/users/{w.victim.id}/reinstate"),
        expect(200, ("admin",), 403)),
    # back office (liveshop/admin) and reports
    ("POST", "/admin/shops/{shop_id}/suspend"): Row(
        lambda w, r: Call(f"/admin/shops/{w.fresh_shop()}/suspend", {"reason": "Checks"}),
        expect(200, ("admin",), 403)),
    ("POST", "/admin/shops/{shop_id}/reinstate"): Row(
        lambda w, r: Call(f"/admin/shops/{w.fresh_shop()}/reinstate"),
        expect(200, ("admin",), 403)),
    ("POST", "/admin/shows/{show_id}/end"): Row(
        lambda w, r: Call(f"/admin/shows/{w.fresh_show(live=True)}/end"),
        expect(200, ("admin",), 403)),
    ("DELETE", "/admin/shows/{show_id}/replay"): Row(
        lambda w, r: Call(f"/admin/shows/{w.fresh_replay()}/replay"),
        expect(200, ("admin",), 403)),
    ("POST", "/admin/reports/{report_id}/decision"): Row(
        lambda w, r: Call(f"/admin/reports/{w.fresh_report()}/decision",
                          {"decision": "dismiss"}),
        expect(200, ("admin",), 403)),
    ("POST", "/admin/payouts/run"): Row(
        lambda w, r: Call("/admin/payouts/run"), expect(200, ("admin",), 403)),
    ("POST", "/admin/payouts/{statement_id}/paid"): Row(
        lambda w, r: Call(f"/admin/payouts/{w.fresh_statement()}/paid", {"reference": "B-1"}),
        expect(200, ("admin",), 403)),
    ("POST", "/reports"): Row(
        lambda w, r: Call("/reports", {"target_type": "chat_message",
                                       "target_id": w.victims_message(), "reason": "Spam"}),
        anyone(201)),
    # markets
    ("PUT", "/market"): Row(lambda w, r: Call("/market", {"market": "UK"}), public(200)),
    # catalog
    ("POST", "/shops"): Row(
        lambda w, r: Call("/shops", {"name": "Second shop", "markets": [
            {"market": "UK", "shipping": 399}]}),
        expect(201, ("seller", "other_seller", "admin"), 403)),
    ("PATCH", "/shops/{shop_id}"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}", {"description": "Renamed"}), shop_owner(200)),
    ("PUT", "/shops/{shop_id}/markets"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}/markets", [
            {"market": "UK", "shipping": 399}, {"market": "DE", "shipping": 499}]),
        shop_owner(200)),
    ("POST", "/shops/{shop_id}/products"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}/products", _products_body()), shop_owner(201)),
    ("PATCH", "/products/{product_id}"): Row(
        lambda w, r: Call(f"/products/{w.fresh_product()[0]}", {"description": "New text"}),
        shop_owner(200)),
    ("PUT", "/products/{product_id}/variants"): Row(
        lambda w, r: Call(f"/products/{w.fresh_product(stock=0)[0]}/variants", {
            "options": ["Size"], "variants": _products_body()["variants"]}),
        shop_owner(200)),
    # A dry run: the owner gets the report, nothing is written.
    ("POST", "/shops/{shop_id}/imports"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}/imports", files={"file": (
            "products.csv", SHOPIFY_CSV, "text/csv")}, form={"market": "UK", "dry_run": "true"}),
        shop_owner(200)),
    # A connected Shopify store (the fake one, on loopback).
    ("PUT", "/shops/{shop_id}/shopify"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}/shopify", {
            "domain": w.shopify_domain, "access_token": SHOPIFY_TOKEN, "market": "UK"}),
        shop_owner(200)),
    ("DELETE", "/shops/{shop_id}/shopify"): Row(
        lambda w, r: Call(f"/shops/{w.connected_shop()}/shopify"), shop_owner(204)),
    ("POST", "/shops/{shop_id}/shopify/pull"): Row(
        lambda w, r: Call(f"/shops/{w.connected_shop()}/shopify/pull"), shop_owner(200)),
    ("POST", "/shops/{shop_id}/shopify/retry"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}/shopify/retry"), shop_owner(200)),
    ("POST", "/products/{product_id}/images"): Row(
        lambda w, r: Call(f"/products/{w.product_id}/images", files=_image_file()),
        shop_owner(201)),
    ("DELETE", "/products/{product_id}/images/{image_id}"): Row(
        lambda w, r: Call(f"/products/{w.product_id}/images/" + str(w.ok(
            w.seller, "POST", f"/products/{w.product_id}/images", files=_image_file())["id"])),
        shop_owner(204)),
    # inventory
    ("POST", "/variants/{variant_id}/stock/receipts"): Row(
        lambda w, r: Call(f"/variants/{w.variant_id}/stock/receipts", {"quantity": 5}),
        shop_owner(201)),
    # checkout
    ("POST", "/cart/items"): Row(
        lambda w, r: Call("/cart/items", {"variant_id": w.variant_id}), anyone(201)),
    ("PATCH", "/cart/items/{item_id}"): Row(
        lambda w, r: Call(f"/cart/items/{w.fresh_cart_item()}", {"quantity": 2}),
        own_private(200)),
    ("DELETE", "/cart/items/{item_id}"): Row(
        lambda w, r: Call(f"/cart/items/{w.fresh_cart_item()}"), own_private(200)),
    ("POST", "/checkouts"): Row(_self_checkout, anyone(201)),
    ("POST", "/checkouts/{checkout_id}/pay"): Row(
        lambda w, r: Call(f"/checkouts/{w.fresh_checkout(w.customer)}/pay", {"card": CARD}),
        own_private(200)),
    ("POST", "/buy-now"): Row(
        lambda w, r: Call("/buy-now", {"variant_id": w.variant_id}), anyone(200)),
    ("POST", "/payment-methods"): Row(
        lambda w, r: Call("/payment-methods", {"card": CARD}), anyone(201)),
    ("DELETE", "/payment-methods/{method_id}"): Row(
        lambda w, r: Call("/payment-methods/" + str(w.ok(
            w.customer, "POST", "/payment-methods", json={"card": CARD})["id"])),
        own_private(204)),
    # orders
    ("POST", "/orders/{order_id}/ship"): Row(
        lambda w, r: Call(f"/orders/{w.fresh_order()}/ship",
                          {"carrier": "DHL", "tracking_number": "JD1"}),
        order_seller(200)),
    ("POST", "/orders/{order_id}/deliver"): Row(
        lambda w, r: Call(f"/orders/{w.fresh_order('shipped')}/deliver"), order_seller(200)),
    ("POST", "/orders/{order_id}/cancel"): Row(
        lambda w, r: Call(f"/orders/{w.fresh_order()}/cancel", {"reason": "Changed my mind"}),
        order_seller(200) | {"customer": 200}),
    ("POST", "/orders/{order_id}/refunds"): Row(
        lambda w, r: Call(f"/orders/{w.fresh_order()}/refunds", {"full": True}),
        order_seller(201)),
    ("POST", "/orders/{order_id}/returns"): Row(
        lambda w, r: Call(f"/orders/{w.fresh_order('delivered')}/returns", {"reason": "Small"}),
        own_private(201) | {"seller": 403, "admin": 403}),
    ("POST", "/returns/{return_id}/approve"): Row(
        lambda w, r: Call(f"/returns/{w.fresh_return()}/approve"), order_seller(200)),
    ("POST", "/returns/{return_id}/reject"): Row(
        lambda w, r: Call(f"/returns/{w.fresh_return()}/reject"), order_seller(200)),
    # live
    ("POST", "/shows"): Row(
        lambda w, r: Call("/shows", {
            "shop_id": w.shop_id, "title": "Show", "markets": ["UK"],
            "scheduled_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()}),
        host(201)),
    ("PATCH", "/shows/{show_id}"): Row(
        lambda w, r: Call(f"/shows/{w.scheduled_show_id}", {"description": "Updated"}),
        host(200)),
    ("PUT", "/shows/{show_id}/cover"): Row(
        lambda w, r: Call(f"/shows/{w.scheduled_show_id}/cover", files=_image_file()),
        host(200)),
    ("POST", "/shows/{show_id}/live"): Row(
        lambda w, r: Call(f"/shows/{w.fresh_show(live=False)}/live"), host(200)),
    ("POST", "/shows/{show_id}/end"): Row(
        lambda w, r: Call(f"/shows/{w.fresh_show(live=True)}/end"), host(200)),
    ("PUT", "/shows/{show_id}/pin"): Row(
        lambda w, r: Call(f"/shows/{w.live_show_id}/pin", {"product_id": w.product_id}),
        host(200)),
    ("POST", "/shows/{show_id}/sales"): Row(
        lambda w, r: Call(f"/shows/{w.fresh_show(live=True)}/sales", {
            "variant_id": w.variant_id, "prices": {"UK": 999}, "quantity": 3,
            "duration_seconds": 60}),
        host(201)),
    ("POST", "/shows/{show_id}/sales/{sale_id}/stop"): Row(
        lambda w, r: _sale_to_stop(w), host(200)),
    ("POST", "/shows/{show_id}/chat"): Row(
        lambda w, r: Call(f"/shows/{w.live_show_id}/chat", {"text": "Hello"}), anyone(201)),
    ("DELETE", "/shows/{show_id}/chat/{message_id}"): Row(
        lambda w, r: Call(f"/shows/{w.live_show_id}/chat/{w.fresh_message()}"),
        chat_moderator(200)),
    ("POST", "/shows/{show_id}/mutes"): Row(
        lambda w, r: Call(f"/shows/{w.live_show_id}/mutes",
                          {"user_id": w.victim.id, "minutes": 5}),
        chat_moderator(201)),
    ("POST", "/shows/{show_id}/bans"): Row(
        lambda w, r: Call(f"/shows/{w.live_show_id}/bans", {"user_id": w.victim.id}),
        chat_moderator(201)),
    ("DELETE", "/shows/{show_id}/bans/{user_id}"): Row(
        lambda w, r: Call(f"/shows/{w.live_show_id}/bans/{w.victim.id}"),
        chat_moderator(200)),
    ("PUT", "/shows/{show_id}/slow-mode"): Row(
        lambda w, r: Call(f"/shows/{w.live_show_id}/slow-mode", {"seconds": 0}),
        chat_moderator(200)),
    ("PUT", "/shows/{show_id}/moderators/{user_id}"): Row(
        lambda w, r: Call(f"/shows/{w.live_show_id}/moderators/{w.victim.id}"), host(200)),
    ("POST", "/shows/{show_id}/moderators"): Row(
        lambda w, r: Call(f"/shows/{w.live_show_id}/moderators",
                          {"user": w.victim.user["email"]}), host(200)),
    ("DELETE", "/shows/{show_id}/moderators/{user_id}"): Row(
        lambda w, r: Call(f"/shows/{w.live_show_id}/moderators/{w.victim.id}"), host(200)),
    ("PUT", "/shops/{shop_id}/chat-filter"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}/chat-filter", {"words": ["spam"]}),
        shop_owner(200)),
    ("PUT", "/shops/{shop_id}/follow"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}/follow"), anyone(200)),
    ("DELETE", "/shops/{shop_id}/follow"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}/follow"), anyone(200)),
    ("PUT", "/creators/{creator_id}/follow"): Row(
        lambda w, r: Call(f"/creators/{w.star.id}/follow"), anyone(200)),
    ("DELETE", "/creators/{creator_id}/follow"): Row(
        lambda w, r: Call(f"/creators/{w.star.id}/follow"), anyone(200)),
    ("POST", "/events"): Row(lambda w, r: Call("/events", {"events": [
        {"type": "click", "item_type": "product", "item_id": w.product_id}]}), public(202)),
    ("PUT", "/feed/not-interested/{item_type}/{item_id}"): Row(
        lambda w, r: Call(f"/feed/not-interested/product/{w.product_id}"), public(204)),
    ("PUT", "/shows/{show_id}/reminder"): Row(
        lambda w, r: Call(f"/shows/{w.scheduled_show_id}/reminder"), anyone(200)),
    ("DELETE", "/shows/{show_id}/reminder"): Row(
        lambda w, r: Call(f"/shows/{w.scheduled_show_id}/reminder"), anyone(200)),
    ("POST", "/shows/{show_id}/buy"): Row(
        lambda w, r: Call(f"/shows/{w.live_show_id}/buy", {"variant_id": w.variant_id}),
        anyone(201)),
    ("PUT", "/shops/{shop_id}/creators/{creator_id}"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}/creators/{w.star.id}",
                          {"commission_percent": "10"}),
        shop_owner(200)),
    ("DELETE", "/shops/{shop_id}/creators/{creator_id}"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}/creators/{w.star.id}"), shop_owner(200)),
    ("POST", "/shows/{show_id}/sale-proposals"): Row(
        lambda w, r: _proposal_call(w), creator_host(201)),
    ("POST", "/shows/{show_id}/sale-proposals/{proposal_id}/start"): Row(
        lambda w, r: Call("/shows/{}/sale-proposals/{}/start".format(
            *w.fresh_proposal(approved=True))), creator_host(201)),
    ("POST", "/sale-proposals/{proposal_id}/approve"): Row(
        lambda w, r: Call(f"/sale-proposals/{w.fresh_proposal()[1]}/approve"),
        shop_owner(200)),
    ("POST", "/sale-proposals/{proposal_id}/decline"): Row(
        lambda w, r: Call(f"/sale-proposals/{w.fresh_proposal()[1]}/decline"),
        shop_owner(200)),
    # creators
    ("POST", "/shops/{shop_id}/affiliate-plans"): Row(
        lambda w, r: Call(f"/shops/{w.shop_id}/affiliate-plans", {
            "product_id": w.fresh_product()[0], "kind": "open", "rate_bp": 800}),
        shop_owner(201)),
    ("PATCH", "/affiliate-plans/{plan_id}"): Row(
        lambda w, r: Call(f"/affiliate-plans/{w.fresh_plan()}", {"rate_bp": 900}),
        shop_owner(200)),
    # creator storefront (liveshop/affiliates): a share link's click is anyone's; the
    # showcase, accepting an invitation and asking for samples are a creator's own; a
    # shop's sample requests are its owner's to decide.
    ("POST", "/share-clicks"): Row(
        lambda w, r: Call("/share-clicks", {"ref": w.star_handle(), "product_id": w.product_id}),
        public(201)),
    ("PUT", "/me/showcase/{product_id}"): Row(
        lambda w, r: Call(f"/me/showcase/{w.fresh_open_product()[0]}"),
        expect(200, ("creator",), 403)),
    ("DELETE", "/me/showcase/{product_id}"): Row(
        lambda w, r: Call(f"/me/showcase/{w.product_id}"), expect(200, ("creator",), 403)),
    ("POST", "/affiliate-plans/{plan_id}/accept"): Row(
        lambda w, r: Call(f"/affiliate-plans/{w.fresh_invitation()}/accept"),
        expect(200, ("creator",), 404)),
    ("POST", "/sample-requests"): Row(
        lambda w, r: Call("/sample-requests", {"variant_id": w.fresh_open_product()[1]}),
        expect(201, ("creator",), 403)),
    ("POST", "/sample-requests/{request_id}/approve"): Row(
        lambda w, r: Call(f"/sample-requests/{w.fresh_sample_request()}/approve"),
        shop_owner(200)),
    ("POST", "/sample-requests/{request_id}/decline"): Row(
        lambda w, r: Call(f"/sample-requests/{w.fresh_sample_request()}/decline"),
        shop_owner(200)),
    # video
    ("POST", "/shows/{show_id}/stream/key"): Row(
        lambda w, r: Call(f"/shows/{w.scheduled_show_id}/stream/key"), host(200)),
}


_SALE = {"prices": {"UK": 999}, "quantity": 3, "duration_seconds": 60}


def _proposal_call(world: World) -> Call:
    show_id, variant_id = world.fresh_own_show()
    return Call(f"/shows/{show_id}/sale-proposals", _SALE | {"variant_id": variant_id})


def _sale_to_stop(world: World) -> Call:
    show_id = world.fresh_show(live=True)
    sale = world.ok(world.seller, "POST", f"/shows/{show_id}/sales", json={
        "variant_id": world.variant_id, "prices": {"UK": 999}, "quantity": 3,
        "duration_seconds": 60})
    return Call(f"/shows/{show_id}/sales/{sale['id']}/stop")


def mutating_routes() -> set[tuple[str, str]]:
    return {
        (method, route.path_format)
        for router in API_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in (route.methods or set()) & MUTATING
    }


def test_every_mutating_route_has_a_row() -> None:
    routes = mutating_routes()
    missing = sorted(routes - ROWS.keys())
    stale = sorted(ROWS.keys() - routes)
    assert not missing, f"add authorization rows for: {missing}"
    assert not stale, f"rows for routes that no longer exist: {stale}"
    for key, row in ROWS.items():
        assert set(row.expected) == set(ROLES), key


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    store = FakeShopify(currency="GBP")
    store.start()
    app, db, _ = build_app(Path(tmp_path_factory.mktemp("authz")), shopify_allow_http=True)
    users = {
        "seller": sign_up(app, "seller"), "customer": sign_up(app, "buyer", "Customer"),
        "stranger": sign_up(app, "buyer", "Stranger"),
        "other_seller": sign_up(app, "seller", "Other"), "creator": sign_up(app, "creator"),
        "moderator": sign_up(app, "moderator"), "admin": sign_up(app, "admin"),
    }
    world = World(app=app, db=db, users=users, victim=sign_up(app, "buyer", "Victim"),
                  star=sign_up(app, "creator", "Star"), shopify_domain=store.domain)
    shop = world.ok(world.seller, "POST", "/shops", json={
        "name": "Owner shop", "markets": [{"market": "UK", "shipping": 399},
                                          {"market": "DE", "shipping": 499}]})
    world.shop_id = shop["id"]
    world.other_shop_id = world.ok(users["other_seller"], "POST", "/shops", json={
        "name": "Other shop", "markets": [{"market": "UK", "shipping": 399}]})["id"]
    world.product_id, (world.variant_id,) = create_product(
        db, world.shop_id, [VariantSpec(prices={"UK": 1999, "DE": 2299}, stock=100_000)])
    world.live_show_id = world.fresh_show(live=True)
    world.scheduled_show_id = world.fresh_show(live=False)
    # Everyone can buy in one tap: a default address and card each.
    for user in users.values():
        world.ok(user, "POST", "/me/addresses", json=ADDRESS)
        world.ok(user, "POST", "/payment-methods", json={"card": CARD, "make_default": True})
        user.http.headers["Accept"] = "application/json"
    yield world
    for user in [*users.values(), world.victim, world.star]:
        user.http.close()
    db.dispose()
    store.stop()


@pytest.mark.parametrize("route", sorted(ROWS), ids=" ".join)
def test_route_answers_each_role_as_expected(world: World, route: tuple[str, str]) -> None:
    method, _ = route
    row = ROWS[route]
    mismatches = []
    for role in ROLES:
        call = row.setup(world, role)
        world.unthrottle()
        user = world.users.get(role)
        if row.own_session and user is not None:
            user = log_in_again(world.app, user)
        client = clone(world.app, user)
        response = client.request(
            method, API_PREFIX + call.path, json=call.json, files=call.files, data=call.form,
            headers={"Idempotency-Key": uuid.uuid4().hex})
        client.close()
        if response.status_code != row.expected[role]:
            mismatches.append(f"{role}: expected {row.expected[role]}, got "
                              f"{response.status_code} {response.text[:200]}")
    assert not mismatches, f"{method} {API_PREFIX}{route[1]}\n" + "\n".join(mismatches)

