"""A fake Shopify store for the tests and the demo (a development tool, never used by the app
itself): a real HTTP server on loopback speaking the subset of the Admin GraphQL API the
sync uses, with answers shaped as Shopify documents them, and delivering signed webhooks.

- ``POST /admin/api/<version>/graphql.json`` with ``X-Shopify-Access-Token``: the operations
  of liveshop/integrations/shopify/remote.py, chosen by ``operationName`` (Locations,
  Products with cursor pagination, Product, OrderByTag, OrderCreate). Every answer carries
  ``extensions.cost`` with a leaky bucket's ``throttleStatus``.
- Faults on demand (:meth:`FakeShopify.fail_next`): ``"throttled"`` (HTTP 200, a
  ``THROTTLED`` error, nothing done), ``"502"`` (a gateway error, nothing done) and
  ``"502-after"`` (done, then a 502: the caller cannot know it worked).
- What a merchant does in the Shopify admin (:meth:`set_available`, :meth:`fulfil`,
  :meth:`cancel_order`, :meth:`update_product`), and the store's own stock moves when an
  order is created, send webhooks to ``webhook_url`` signed with the app secret
  (``X-Shopify-Hmac-Sha256``). Like Shopify's, each is delivered twice when ``twice`` is
  set (the same ``X-Shopify-Webhook-Id``), and :meth:`held` keeps them back to deliver
  them late and in reverse order.
- ``GET /`` is a small admin page (stock and orders, with forms to change stock and fulfil),
  for the demo and the browser test; ``GET /state.json`` the same as JSON.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import html
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx

from liveshop.integrations.shopify.remote import gid, numeric_id

DEFAULT_TOKEN = "shpat_fake_admin_token"
DEFAULT_SECRET = "fake-shopify-app-secret"
GRAPHQL_PATH = re.compile(r"^/admin/api/[0-9a-z-]+/graphql\.json$")
# A leaky bucket as on a standard plan.
BUCKET_SIZE = 1000.0
RESTORE_RATE = 100.0
OPERATION_COST = {"Products": 112, "Product": 12, "Locations": 3, "OrderByTag": 3,
                  "OrderCreate": 10}

WebhookSink = Callable[[dict[str, str], bytes], int]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def sign(secret: str, body: bytes) -> str:
    """Shopify's webhook signature: base64 of the body's HMAC-SHA256 under the app secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class FakeVariant:
    id: int
    sku: str
    price: str
    options: list[str]
    inventory_item_id: int
    available: int
    compare_at: str | None = None
    barcode: str = ""
    grams: int = 0
    # When the location's count last changed (InventoryLevel.updatedAt).
    counted_at: str = field(default_factory=_now)


@dataclass
class FakeProduct:
    id: int
    handle: str
    title: str
    option_names: list[str]
    variants: list[FakeVariant]
    description_html: str = ""
    tags: list[str] = field(default_factory=list)
    status: str = "ACTIVE"
    images: list[str] = field(default_factory=list)
    updated_at: str = field(default_factory=_now)


@dataclass
class FakeOrder:
    id: int
    name: str
    tags: list[str]
    lines: list[dict[str, Any]]
    currency: str
    fulfilled: dict[str, str] | None = None
    cancelled: bool = False


class FakeShopify:
    """One store. Thread-safe: the server answers on its own threads."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, app_secret: str = DEFAULT_SECRET,
                 currency: str = "USD", twice: bool = True) -> None:
        self.token, self.app_secret, self.currency, self.twice = token, app_secret, currency, twice
        self.location_id = 76543210987
        self.products: dict[int, FakeProduct] = {}
        self.orders: list[FakeOrder] = []
        self.webhook_url = ""
        # How webhooks leave: an HTTP POST to webhook_url, unless a test sends them itself.
        self.sink: WebhookSink = self._post_webhook
        self.delivered: list[tuple[str, str]] = []  # (topic, webhook id), every delivery
        self.operations: list[str] = []  # operationName of every GraphQL call answered
        self._faults: list[str] = []
        self._held: list[tuple[str, bytes, str]] | None = None
        self._ids = itertools.count(7_180_000_000_001)
        self._bucket, self._bucket_at = BUCKET_SIZE, time.monotonic()
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self.domain = ""

    # --- running ---

    def start(self, port: int = 0) -> str:
        """Serve on loopback (``port`` 0: a free one); the store's domain
        (``127.0.0.1:<port>``)."""
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, name="fake-shopify", daemon=True).start()
        self.domain = f"127.0.0.1:{server.server_address[1]}"
        return self.domain

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://{self.domain}"

    # --- the catalog ---

    def add_product(self, handle: str, title: str, variants: list[dict[str, Any]], *,
                    option_names: list[str] | None = None, description_html: str = "",
                    tags: list[str] | None = None, status: str = "ACTIVE",
                    images: list[str] | None = None) -> FakeProduct:
        """``variants``: dicts with sku, price ("19.99"), available, options (values), and
        optionally compare_at, barcode, grams."""
        with self._lock:
            names = option_names or ["Title"]
            product = FakeProduct(
                id=next(self._ids), handle=handle, title=title, option_names=names,
                description_html=description_html, tags=tags or [], status=status,
                images=images or [],
                variants=[FakeVariant(
                    id=next(self._ids), sku=v.get("sku", ""), price=str(v["price"]),
                    options=list(v.get("options") or ["Default Title"]),
                    inventory_item_id=next(self._ids), available=int(v.get("available", 0)),
                    compare_at=v.get("compare_at"), barcode=v.get("barcode", ""),
                    grams=int(v.get("grams", 0))) for v in variants])
            self.products[product.id] = product
            return product

    def variant_by_sku(self, sku: str) -> FakeVariant:
        with self._lock:
            return next(v for p in self.products.values() for v in p.variants if v.sku == sku)

    def available(self, sku: str) -> int:
        return self.variant_by_sku(sku).available

    # --- faults ---

    def fail_next(self, *faults: str) -> None:
        """The next GraphQL calls fail, one fault each: "throttled", "502" or "502-after"."""
        with self._lock:
            self._faults.extend(faults)

    # --- what a merchant does in Shopify's admin ---

    def set_available(self, sku: str, quantity: int) -> None:
        """A stock count at the location: inventory_levels/update."""
        with self._lock:
            variant = self.variant_by_sku(sku)
            variant.available = quantity
            variant.counted_at = _now()
            self._send_level(variant)

    def create_product(self, handle: str, title: str, variants: list[dict[str, Any]],
                       **options: Any) -> FakeProduct:
        """A product added in Shopify's admin: products/create."""
        with self._lock:
            product = self.add_product(handle, title, variants, **options)
            self._send("products/create", self._product_payload(product))
            return product

    def update_product(self, product_id: int, **changes: Any) -> None:
        with self._lock:
            product = self.products[product_id]
            for name, value in changes.items():
                setattr(product, name, value)
            product.updated_at = _now()
            self._send("products/update", self._product_payload(product))

    def delete_product(self, product_id: int) -> None:
        with self._lock:
            self.products.pop(product_id)
            self._send("products/delete", {"id": product_id})

    def fulfil(self, order_name: str, company: str, number: str) -> None:
        with self._lock:
            order = next(o for o in self.orders if o.name == order_name)
            order.fulfilled = {"company": company, "number": number}
            fulfillment_id = next(self._ids)
            self._send("fulfillments/create", {
                "id": fulfillment_id, "order_id": order.id, "status": "success",
                "created_at": _now(), "updated_at": _now(), "service": "manual",
                "tracking_company": company, "tracking_number": number,
                "tracking_numbers": [number], "tracking_url": "", "tracking_urls": [],
                "name": f"{order.name}.1", "location_id": self.location_id,
                "admin_graphql_api_id": gid("Fulfillment", fulfillment_id),
                "line_items": [{"variant_id": line["variant_id"], "quantity": line["quantity"],
                                "sku": line["sku"]} for line in order.lines]})

    def cancel_order(self, order_name: str) -> None:
        with self._lock:
            order = next(o for o in self.orders if o.name == order_name)
            order.cancelled = True
            self._send("orders/cancelled", {
                "id": order.id, "name": order.name, "cancelled_at": _now(),
                "cancel_reason": "other", "updated_at": _now(),
                "admin_graphql_api_id": gid("Order", order.id)})

    def uninstall(self) -> None:
        self._send("app/uninstalled", {"id": 548380009, "name": "Fake store",
                                       "myshopify_domain": self.domain, "domain": self.domain})

    # --- webhooks ---

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Webhooks sent inside the block are delivered when it ends, newest first (as a
        delivery that failed and was retried arrives after a later one)."""
        with self._lock:
            self._held = []
        try:
            yield
        finally:
            with self._lock:
                held, self._held = self._held or [], None
            for topic, body, webhook_id in reversed(held):
                self._deliver(topic, body, webhook_id)

    def _send(self, topic: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        webhook_id = str(uuid.uuid4())
        if self._held is not None:
            self._held.append((topic, body, webhook_id))
            return
        self._deliver(topic, body, webhook_id)

    def _deliver(self, topic: str, body: bytes, webhook_id: str) -> None:
        headers = {
            "Content-Type": "application/json", "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(self.app_secret, body),
            "X-Shopify-Shop-Domain": self.domain, "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Event-Id": str(uuid.uuid4()), "X-Shopify-Triggered-At": _now(),
            "X-Shopify-API-Version": "2025-01"}
        for _ in range(2 if self.twice else 1):
            self.delivered.append((topic, webhook_id))
            self.sink(headers, body)

    def _post_webhook(self, headers: dict[str, str], body: bytes) -> int:
        if not self.webhook_url:
            return 0
        try:
            return httpx.post(self.webhook_url, content=body, headers=headers,
                              timeout=10).status_code
        except httpx.HTTPError:
            return 0  # Shopify would retry later; the fake drops it

    def _send_level(self, variant: FakeVariant) -> None:
        self._send("inventory_levels/update", {
            "inventory_item_id": variant.inventory_item_id, "location_id": self.location_id,
            "available": variant.available, "updated_at": variant.counted_at,
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{self.location_id}"
                                    f"?inventory_item_id={variant.inventory_item_id}"})

    def _product_payload(self, product: FakeProduct) -> dict[str, Any]:
        return {"id": product.id, "title": product.title, "handle": product.handle,
                "status": product.status.lower(), "updated_at": product.updated_at,
                "admin_graphql_api_id": gid("Product", product.id),
                "variants": [{"id": v.id, "sku": v.sku, "price": v.price,
                              "inventory_item_id": v.inventory_item_id,
                              "inventory_quantity": v.available} for v in product.variants]}

    # --- GraphQL ---

    def answer(self, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any] | str]:
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return 401, {"errors": "[API] Invalid API key or access token (unrecognized login "
                                   "or wrong password)"}
        operation = str(body.get("operationName") or "")
        variables = body.get("variables") or {}
        cost = OPERATION_COST.get(operation, 10)
        with self._lock:
            fault = self._faults.pop(0) if self._faults else ""
            if fault == "502":
                return 502, "<html><body><h1>502 Bad Gateway</h1></body></html>"
            available = self._restore()
            if fault == "throttled" or available < cost:
                # A forced throttle says the bucket is empty, as a burst of other calls would.
                status = self._status(0.0 if fault else available)
                return 200, {
                    "errors": [{"message": "Throttled", "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                    "extensions": {"cost": {"requestedQueryCost": cost,
                                            "actualQueryCost": None, "throttleStatus": status}}}
            self._bucket -= cost
            handler = getattr(self, f"_op_{operation}", None)
            if handler is None:
                return 200, {"errors": [{"message": f"Unknown operation {operation!r}"}]}
            data = handler(variables)
            self.operations.append(operation)
            answer = {"data": data, "extensions": {"cost": {
                "requestedQueryCost": cost, "actualQueryCost": cost,
                "throttleStatus": self._status(self._bucket)}}}
        if fault == "502-after":
            return 502, "<html><body><h1>502 Bad Gateway</h1></body></html>"
        return 200, answer

    def _restore(self) -> float:
        now = time.monotonic()
        self._bucket = min(BUCKET_SIZE, self._bucket + (now - self._bucket_at) * RESTORE_RATE)
        self._bucket_at = now
        return self._bucket

    @staticmethod
    def _status(available: float) -> dict[str, float]:
        return {"maximumAvailable": BUCKET_SIZE, "currentlyAvailable": available,
                "restoreRate": RESTORE_RATE}

    def _op_Locations(self, _variables: dict[str, Any]) -> dict[str, Any]:
        return {"shop": {"name": "Fake store", "currencyCode": self.currency},
                "locations": {"nodes": [{"id": gid("Location", self.location_id),
                                         "name": "Warehouse", "isActive": True}]}}

    def _op_Products(self, variables: dict[str, Any]) -> dict[str, Any]:
        ordered = sorted(self.products.values(), key=lambda p: p.id)
        start = int(base64.b64decode(variables["after"]).decode()) if variables.get(
            "after") else 0
        page = ordered[start:start + int(variables.get("first", 50))]
        end = start + len(page)
        return {"products": {
            "pageInfo": {"hasNextPage": end < len(ordered),
                         "endCursor": base64.b64encode(str(end).encode()).decode()},
            "nodes": [self._node(product) for product in page]}}

    def _op_Product(self, variables: dict[str, Any]) -> dict[str, Any]:
        product = self.products.get(int(numeric_id(str(variables.get("id", "0")))))
        return {"product": self._node(product) if product is not None else None}

    def _node(self, product: FakeProduct) -> dict[str, Any]:
        return {
            "id": gid("Product", product.id), "handle": product.handle, "title": product.title,
            "descriptionHtml": product.description_html, "tags": product.tags,
            "status": product.status, "updatedAt": product.updated_at,
            "options": [{"name": name} for name in product.option_names],
            "media": {"nodes": [{"image": {"url": url, "altText": ""}}
                                for url in product.images]},
            "variants": {"nodes": [{
                "id": gid("ProductVariant", v.id), "sku": v.sku, "barcode": v.barcode,
                "price": v.price, "compareAtPrice": v.compare_at,
                "selectedOptions": [{"name": name, "value": value}
                                    for name, value in zip(product.option_names, v.options,
                                                           strict=False)],
                "inventoryItem": {
                    "id": gid("InventoryItem", v.inventory_item_id), "tracked": True,
                    "measurement": {"weight": {"unit": "GRAMS", "value": float(v.grams)}},
                    "inventoryLevel": {"quantities": [{"name": "available",
                                                       "quantity": v.available}]}},
            } for v in product.variants]},
        }

    def _op_OrderByTag(self, variables: dict[str, Any]) -> dict[str, Any]:
        wanted = re.search(r"tag:'?([^'\s]+)'?", str(variables.get("query", "")))
        found = [o for o in self.orders if wanted and wanted.group(1) in o.tags][:1]
        return {"orders": {"nodes": [self._order_node(o) for o in found]}}

    def _order_node(self, order: FakeOrder) -> dict[str, Any]:
        variants = {v.id: v for p in self.products.values() for v in p.variants}
        nodes = []
        for line in order.lines:
            variant = variants.get(line["variant_id"])
            nodes.append({"variant": None if variant is None else {
                "id": gid("ProductVariant", variant.id),
                "inventoryItem": {"id": gid("InventoryItem", variant.inventory_item_id),
                                  "inventoryLevel": {
                                      "updatedAt": variant.counted_at,
                                      "quantities": [{"name": "available",
                                                      "quantity": variant.available}]}}}})
        return {"id": gid("Order", order.id), "name": order.name,
                "lineItems": {"nodes": nodes}}

    def _op_OrderCreate(self, variables: dict[str, Any]) -> dict[str, Any]:
        order_input = variables.get("order") or {}
        lines, moved = [], []
        for index, item in enumerate(order_input.get("lineItems") or []):
            if not item.get("variantId"):  # a custom item: a title and a price
                lines.append({"variant_id": None, "sku": "", "title": item.get("title", ""),
                              "quantity": int(item.get("quantity", 1))})
                continue
            variant_id = int(numeric_id(str(item.get("variantId", "0"))))
            variant = next((v for p in self.products.values() for v in p.variants
                            if v.id == variant_id), None)
            if variant is None:
                return {"orderCreate": {"order": None, "userErrors": [{
                    "field": ["order", "lineItems", str(index), "variantId"],
                    "message": "Variant does not exist"}]}}
            quantity = int(item.get("quantity", 1))
            lines.append({"variant_id": variant.id, "sku": variant.sku, "quantity": quantity,
                          "price": (item.get("priceSet") or {}).get("shopMoney", {})})
            moved.append((variant, quantity))
        behaviour = (variables.get("options") or {}).get("inventoryBehaviour", "BYPASS")
        order = FakeOrder(id=next(self._ids), name=f"#{1001 + len(self.orders)}",
                          tags=list(order_input.get("tags") or []), lines=lines,
                          currency=str(order_input.get("currency") or self.currency))
        self.orders.append(order)
        if behaviour != "BYPASS":
            for variant, quantity in moved:
                variant.available -= quantity
                variant.counted_at = _now()
                self._send_level(variant)
        return {"orderCreate": {"order": self._order_node(order), "userErrors": []}}

    # --- the admin page ---

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "products": [{"id": p.id, "handle": p.handle, "title": p.title, "variants": [
                    {"sku": v.sku, "options": v.options, "available": v.available}
                    for v in p.variants]} for p in self.products.values()],
                "orders": [{"name": o.name, "tags": o.tags, "lines": o.lines,
                            "fulfilled": o.fulfilled, "cancelled": o.cancelled}
                           for o in self.orders]}

    def admin_page(self) -> str:
        state = self.state()
        rows = "".join(
            f"<tr><td>{html.escape(p['title'])}</td><td>{html.escape(v['sku'])}</td>"
            f"<td class='available' data-sku='{html.escape(v['sku'])}'>{v['available']}</td>"
            f"<td><form method='post' action='/admin/inventory'>"
            f"<input type='hidden' name='sku' value='{html.escape(v['sku'])}'>"
            f"<input name='available' type='number' value='{v['available']}' "
            f"aria-label='Available {html.escape(v['sku'])}'>"
            f"<button>Save</button></form></td></tr>"
            for p in state["products"] for v in p["variants"])
        orders = "".join(
            f"<tr><td class='order-name'>{html.escape(o['name'])}</td>"
            f"<td>{', '.join(html.escape(t) for t in o['tags'])}</td>"
            f"<td>{sum(int(line['quantity']) for line in o['lines'])}</td><td>"
            + (f"Fulfilled: {html.escape(o['fulfilled']['company'])} "
               f"{html.escape(o['fulfilled']['number'])}" if o["fulfilled"] else
               f"<form method='post' action='/admin/fulfil'>"
               f"<input type='hidden' name='order' value='{html.escape(o['name'])}'>"
               f"<input name='company' value='UPS' aria-label='Carrier'>"
               f"<input name='number' placeholder='Tracking number' "
               f"aria-label='Tracking number'><button>Fulfil</button></form>")
            + "</td></tr>" for o in state["orders"])
        return ("<!doctype html><html><head><meta charset='utf-8'><title>Fake Shopify admin"
                "</title><meta name='viewport' content='width=device-width'>"
                "<link rel='icon' href='data:,'></head><body>"
                "<h1>Fake Shopify admin</h1><h2>Stock</h2><table><thead><tr><th>Product</th>"
                f"<th>SKU</th><th>Available</th><th></th></tr></thead><tbody>{rows}</tbody>"
                "</table><h2>Orders</h2><table><thead><tr><th>Order</th><th>Tags</th>"
                f"<th>Units</th><th></th></tr></thead><tbody>{orders}</tbody></table>"
                "</body></html>")


def _handler_for(store: FakeShopify) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/state.json":
                self._reply(200, json.dumps(store.state()).encode(), "application/json")
            elif self.path == "/":
                self._reply(200, store.admin_page().encode(), "text/html; charset=utf-8")
            else:
                self._reply(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if GRAPHQL_PATH.match(self.path):
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._reply(400, b'{"errors":"Bad JSON"}', "application/json")
                    return
                status, answer = store.answer(self.headers.get("X-Shopify-Access-Token", ""),
                                              body)
                if isinstance(answer, str):
                    self._reply(status, answer.encode(), "text/html")
                else:
                    self._reply(status, json.dumps(answer).encode(), "application/json")
                return
            form = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
            try:
                if self.path == "/admin/inventory":
                    store.set_available(form["sku"], int(Decimal(form["available"])))
                elif self.path == "/admin/fulfil":
                    store.fulfil(form["order"], form.get("company", ""), form["number"])
                else:
                    self._reply(404, b"not found", "text/plain")
                    return
            except (KeyError, ValueError, StopIteration, ArithmeticError):
                self._reply(400, b"bad form", "text/plain")
                return
            self.send_response(303)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
