"""A connected Shopify store: connect, pull the catalog, keep stock and orders in sync.

The use cases (one transaction each, except where a call to Shopify sits between two):

- ``connect``: the store's domain and Admin API access token, checked by asking Shopify for
  its locations (the first active one is synced); the token is stored encrypted.
- ``pull``: every product, page by page, read as the CSV import's drafts and imported by
  the import's own batches (``imports.import_drafts``); each variant's Shopify count then
  sets the stock here by the sync's stock rule (sync_model.py).
- A paid order of a connected shop (``OrderPaid``, through the outbox) becomes an order push
  row and an ``OrderPushDue`` event; its handler creates the order in Shopify once: it first
  looks for the order by its tag (a push whose answer was lost, to a 502 or a crash, did
  create it) and only then creates it. Shopify lowers its own stock with the order
  (``inventoryBehaviour: DECREMENT_OBEYING_POLICY``) and the answer carries the count left.
- Webhooks are verified, stored once per X-Shopify-Webhook-Id and answered at once; the
  stored webhook's ``WebhookReceived`` event (outbox) processes it in the background.

Calls to Shopify go through ``AdminClient`` (rate limit, retries); a failure leaves the
outbox message to be retried with backoff, and the sync page shows it with its reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liveshop.accounts.model import Actor, Role
from liveshop.catalog import service as catalog
from liveshop.catalog.access import owned_shop
from liveshop.catalog.orm import Shop
from liveshop.catalog.schemas import ProductUpdate
from liveshop.core.config import Settings
from liveshop.core.db import Database, rows_affected, utcnow
from liveshop.core.errors import Conflict, DomainError, InvalidInput, NotAuthenticated
from liveshop.core.events import EventBus, OutboxMessage, record
from liveshop.core.money import MINOR_DIGITS
from liveshop.integrations.shopify import imports, remote
from liveshop.integrations.shopify.client import (
    AdminClient,
    ShopifyError,
    ShopifyUnavailable,
    user_errors,
)
from liveshop.integrations.shopify.events import OrderPushDue, WebhookReceived
from liveshop.integrations.shopify.imports import ImportReport
from liveshop.integrations.shopify.model import ProductDraft
from liveshop.integrations.shopify.orm import (
    ShopifyConnection,
    ShopifyOrderPush,
    ShopifyProductLink,
    ShopifyVariantLink,
    ShopifyWebhook,
)
from liveshop.integrations.shopify.secrets import decrypt_token, encrypt_token
from liveshop.integrations.shopify.sync_model import (
    WEBHOOK_TOPICS,
    available_here,
    is_stale,
    normalised_domain,
    order_tag,
    parse_time,
    shortfall,
    signature_valid,
)
from liveshop.inventory import service as inventory
from liveshop.inventory.orm import StockLevel
from liveshop.orders import service as orders
from liveshop.orders.events import OrderPaid
from liveshop.orders.orm import Order, OrderLine
from liveshop.orders.schemas import ShipIn

log = logging.getLogger("liveshop.shopify")
STOCK_NOTE = "Shopify count"
# Orders in these states hold units Shopify must hear of (a cancelled one gave them back).
SOLD_STATUSES = ("paid", "shipped", "delivered")
# The outbox topics of the sync: what the sync page counts and retries.
SYNC_TOPICS = (OrderPushDue.topic, WebhookReceived.topic)
RECENT = 10
# Longer than a push takes with every retry and throttle wait (the client's attempts).
PUSH_CLAIM = timedelta(minutes=5)

Clients = Callable[[str, str], AdminClient]
# Told the variants whose stock a Shopify count changed (the live rooms are told).
StockMoved = Callable[[Session, list[int]], None]


class PushInProgress(RuntimeError):
    """Another delivery of the same push is running: this one is retried later."""


@dataclass(frozen=True)
class ConnectionView:
    shop_id: int
    domain: str
    market: str
    location_name: str
    status: str
    connected_at: datetime
    last_sync_at: datetime | None
    last_sync_report: dict[str, Any] | None
    last_error: str | None


@dataclass(frozen=True)
class Failure:
    what: str
    reason: str
    attempts: int
    since: datetime


@dataclass(frozen=True)
class SyncView:
    connection: ConnectionView | None
    # Durable work of this shop not yet done (order pushes, webhooks to process).
    waiting: int = 0
    failures: list[Failure] = field(default_factory=list)
    pushed: list[tuple[str, str]] = field(default_factory=list)  # (order number, Shopify's)
    webhooks: list[tuple[str, str, datetime]] = field(default_factory=list)


def _view(connection: ShopifyConnection) -> ConnectionView:
    return ConnectionView(connection.shop_id, connection.domain, connection.market,
                          connection.location_name, connection.status,
                          connection.connected_at, connection.last_sync_at,
                          connection.last_sync_report, connection.last_error)


def _owner(session: Session, shop_id: int) -> Actor:
    """The shop's seller, on whose behalf the store's changes are applied."""
    shop = session.get_one(Shop, shop_id)
    return Actor(user_id=shop.owner_id, role=Role.SELLER)


def _money(minor: int, currency: str) -> str:
    return str(Decimal(minor).scaleb(-MINOR_DIGITS.get(currency, 2)))


class ShopifySync:
    """The sync's use cases over one database; ``clients`` makes the Admin API client of a
    store (tests may hand their own)."""

    def __init__(self, db: Database, settings: Settings, clients: Clients | None = None,
                 stock_moved: StockMoved | None = None) -> None:
        self.db, self.settings = db, settings
        self.clients: Clients = clients or (
            lambda domain, token: AdminClient(settings, domain, token))
        self.stock_moved = stock_moved

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(OrderPaid, self.order_paid)
        bus.subscribe(OrderPushDue, self.push_order)
        bus.subscribe(WebhookReceived, self.process_webhook)

    # --- connecting ---

    def connect(self, actor: Actor, shop_id: int, domain: str, token: str,
                market: str) -> ConnectionView:
        store = normalised_domain(domain, self.settings.shopify_allow_http)
        if store is None:
            raise InvalidInput("Give the store's domain, like my-store.myshopify.com",
                               field="domain")
        token = token.strip()
        if not 8 <= len(token) <= 200 or not token.isprintable() or " " in token:
            raise InvalidInput("Paste the Admin API access token of the store's custom app "
                               "(it starts with shpat_)", field="access_token")
        code = imports.check_shop(self.db, actor, shop_id, market)
        client = self.clients(store, token)
        client.attempts = min(client.attempts, 2)  # the seller waits for the answer
        try:
            answer = client.execute("Locations", remote.LOCATIONS)
        except ShopifyError as error:
            raise InvalidInput(f"Shopify refused: {error}", field="access_token") from None
        except Exception as error:  # unreachable, timing out: nothing stored
            raise InvalidInput(f"The store did not answer ({error}); check the domain",
                               field="domain") from None
        location = next((node for node in answer.get("locations", {}).get("nodes", [])
                         if node.get("isActive")), None)
        if location is None:
            raise InvalidInput("The store has no active location to sync stock with",
                               field="domain")
        with self.db.transaction() as session:
            owned_shop(session, actor, shop_id)
            connection = session.scalar(select(ShopifyConnection).where(
                ShopifyConnection.shop_id == shop_id))
            taken = session.scalar(select(ShopifyConnection.shop_id).where(
                ShopifyConnection.domain == store, ShopifyConnection.shop_id != shop_id))
            if taken is not None:
                raise Conflict("That store is connected to another shop", field="domain")
            if connection is None:
                # Since when sales here are the store's to hear of (kept on reconnecting).
                connection = ShopifyConnection(shop_id=shop_id, connected_at=utcnow())
                session.add(connection)
            connection.domain, connection.market = store, code
            connection.token_encrypted = encrypt_token(self.settings, token)
            connection.location_id = str(location["id"])
            connection.location_name = str(location.get("name") or "")[:200]
            connection.status, connection.last_error = "active", None
            session.flush()
            return _view(connection)

    def disconnect(self, actor: Actor, shop_id: int) -> None:
        with self.db.transaction() as session:
            owned_shop(session, actor, shop_id)
            connection = self._connection(session, shop_id)
            session.delete(connection)

    def _connection(self, session: Session, shop_id: int) -> ShopifyConnection:
        connection = session.scalar(select(ShopifyConnection).where(
            ShopifyConnection.shop_id == shop_id))
        if connection is None:
            raise Conflict("The shop has no connected Shopify store: connect one first",
                           field="shop_id")
        return connection

    def _client(self, connection: ShopifyConnection) -> AdminClient:
        if connection.status != "active" or not connection.token_encrypted:
            raise ShopifyError("The store uninstalled the app: connect it again")
        return self.clients(connection.domain,
                            decrypt_token(self.settings, connection.token_encrypted))

    # --- the sync page ---

    def view(self, actor: Actor, shop_id: int) -> SyncView:
        with self.db.read() as session:
            owned_shop(session, actor, shop_id)
            connection = session.scalar(select(ShopifyConnection).where(
                ShopifyConnection.shop_id == shop_id))
            if connection is None:
                return SyncView(None)
            messages = self._waiting_messages(session, shop_id)
            failures = [Failure(_what(message), _reason(message), message.attempts,
                                message.created_at)
                        for message in messages if message.last_error]
            pushes = session.execute(
                select(Order.number, ShopifyOrderPush.shopify_order_name)
                .join(Order, Order.id == ShopifyOrderPush.order_id)
                .where(ShopifyOrderPush.shop_id == shop_id,
                       ShopifyOrderPush.status == "pushed")
                .order_by(ShopifyOrderPush.id.desc()).limit(RECENT)).all()
            hooks = session.execute(
                select(ShopifyWebhook.topic, ShopifyWebhook.outcome,
                       ShopifyWebhook.received_at)
                .where(ShopifyWebhook.shop_domain == connection.domain)
                .order_by(ShopifyWebhook.id.desc()).limit(RECENT)).all()
            return SyncView(_view(connection), len(messages), failures,
                            [(number, name) for number, name in pushes],
                            [(topic, outcome or "waiting", at) for topic, outcome, at in hooks])

    @staticmethod
    def _waiting_messages(session: Session, shop_id: int) -> list[OutboxMessage]:
        return [message for message in session.scalars(
            select(OutboxMessage).where(OutboxMessage.delivered_at.is_(None),
                                        OutboxMessage.topic.in_(SYNC_TOPICS))
            .order_by(OutboxMessage.id))
            if message.payload.get("shop_id") == shop_id]

    def retry(self, actor: Actor, shop_id: int) -> int:
        """Make the shop's failed pushes and webhooks due now (the relay's next sweep takes
        them), those the relay gave up on too, with their attempts counted afresh; how many."""
        with self.db.transaction() as session:
            owned_shop(session, actor, shop_id)
            ids = [message.id for message in self._waiting_messages(session, shop_id)]
            if ids:
                session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                                .values(lease_until=None, gave_up_at=None, attempts=0))
            return len(ids)

    # --- pulling the catalog ---

    def pull(self, actor: Actor, shop_id: int) -> ImportReport:
        with self.db.read() as session:
            owned_shop(session, actor, shop_id)
            connection = self._connection(session, shop_id)
            session.expunge(connection)
        try:
            client = self._client(connection)
            report = imports.import_drafts(
                self.db, actor, shop_id, self._pages(client, connection), connection.market,
                lambda session, batch: self._link_pulled(session, connection, batch))
        except (ShopifyError, RuntimeError) as error:
            self._note_sync(shop_id, None, str(error))
            raise Conflict(f"The pull stopped: {error}", field="shop_id") from None
        self._note_sync(shop_id, report, None)
        return report

    def _pages(self, client: AdminClient, connection: ShopifyConnection
               ) -> Iterator[ProductDraft]:
        after: str | None = None
        while True:
            page = client.execute("Products", remote.PRODUCTS, {
                "first": remote.PAGE_SIZE, "after": after,
                "location": connection.location_id}, cost=remote.PAGE_COST)["products"]
            for node in page["nodes"]:
                yield remote.draft_of(node, connection.market)
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def _note_sync(self, shop_id: int, report: ImportReport | None, error: str | None) -> None:
        with self.db.transaction() as session:
            connection = self._connection(session, shop_id)
            connection.last_error = error[:500] if error else None
            if report is not None:
                connection.last_sync_at = utcnow()
                connection.last_sync_report = {
                    "created": report.created, "updated": report.updated,
                    "unchanged": report.unchanged, "skipped": report.skipped,
                    "problems": [str(problem) for problem in report.problems[:50]]}

    def _link_pulled(self, session: Session, connection: ShopifyConnection,
                     batch: list[ProductDraft]) -> None:
        """A pulled batch's Shopify ids on the import's links, then each variant's count."""
        now = utcnow()
        links = {link.handle: link for link in session.scalars(
            select(ShopifyProductLink).where(
                ShopifyProductLink.shop_id == connection.shop_id,
                ShopifyProductLink.handle.in_([draft.handle for draft in batch])))}
        counted: list[ShopifyVariantLink] = []
        for draft in batch:
            link = links.get(draft.handle)
            if link is None or not draft.remote_id:
                continue  # skipped: refused by the catalog
            link.shopify_id = draft.remote_id
            link.shopify_updated_at = parse_time(draft.remote_updated_at) or now
            variant_links = {(row.sku, row.options_key): row for row in session.scalars(
                select(ShopifyVariantLink).where(ShopifyVariantLink.product_link_id == link.id))}
            for variant in draft.variants:
                key = (variant.sku.lower(), "") if variant.sku else ("", variant.options_key)
                row = variant_links.get(key)
                if row is None:
                    continue
                row.shopify_id = variant.remote_id
                row.inventory_item_id = variant.inventory_item_id
                if variant.quantity is not None:
                    row.shopify_available, row.stock_updated_at = variant.quantity, now
                    counted.append(row)
        session.flush()
        self._settle(session, connection, counted)

    # --- stock ---

    def _settle(self, session: Session, connection: ShopifyConnection,
                links: list[ShopifyVariantLink]) -> list[str]:
        """Stock here follows Shopify's count less the units promised here (the stock rule,
        sync_model.py); any shortfall, as warnings."""
        warnings, moved = [], []
        for link in links:
            if link.shopify_available is None:
                continue
            inventory.ensure_level(session, link.variant_id)
            level = session.get_one(StockLevel, link.variant_id, with_for_update=True,
                                    populate_existing=True)
            unpushed = self._unpushed(session, connection, link.variant_id)
            target = available_here(link.shopify_available, level.reserved, level.held,
                                    unpushed)
            short = shortfall(link.shopify_available, level.reserved, level.held, unpushed)
            if short:
                warnings.append(f"variant {link.variant_id}: {short} unit(s) promised here "
                                "beyond Shopify's count")
            if inventory.set_available(session, link.variant_id, target, note=STOCK_NOTE):
                moved.append(link.variant_id)
        if moved and self.stock_moved is not None:
            self.stock_moved(session, moved)
        return warnings

    @staticmethod
    def _unpushed(session: Session, connection: ShopifyConnection, variant_id: int) -> int:
        """Units of the variant sold here since the store was connected whose order Shopify
        has not been told of (its push is waiting, failing, or not even recorded yet)."""
        total = session.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity - OrderLine.refunded_quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .outerjoin(ShopifyOrderPush, ShopifyOrderPush.order_id == Order.id)
            .where(Order.shop_id == connection.shop_id, OrderLine.variant_id == variant_id,
                   Order.status.in_(SOLD_STATUSES),
                   or_(ShopifyOrderPush.status == "pending",
                       and_(ShopifyOrderPush.id.is_(None),
                            Order.paid_at >= connection.connected_at))))
        return int(total or 0)

    def _apply_counts(self, session: Session, connection: ShopifyConnection,
                      counts: list[tuple[str, int, str]]) -> str:
        """Shopify's counts (inventory item, available, when) applied unless stale."""
        applied, stale = [], 0
        for item_id, available, when in counts:
            link = session.scalar(
                select(ShopifyVariantLink)
                .join(ShopifyProductLink,
                      ShopifyProductLink.id == ShopifyVariantLink.product_link_id)
                .where(ShopifyProductLink.shop_id == connection.shop_id,
                       ShopifyVariantLink.inventory_item_id == item_id))
            if link is None:
                continue
            counted_at = parse_time(when) or utcnow()
            if is_stale(counted_at, link.stock_updated_at):
                stale += 1
                continue
            link.shopify_available, link.stock_updated_at = max(available, 0), counted_at
            applied.append(link)
        warnings = self._settle(session, connection, applied)
        if not applied:
            return "stale: a newer count was applied" if stale else "not a synced variant"
        return "applied" + (f" ({'; '.join(warnings)})" if warnings else "")

    # --- orders ---

    def order_paid(self, event: OrderPaid) -> None:
        """A paid order of a connected shop: its push, recorded once."""
        try:
            with self.db.transaction() as session:
                connection = session.scalar(select(ShopifyConnection).where(
                    ShopifyConnection.shop_id == event.shop_id))
                if connection is None or session.scalar(select(ShopifyOrderPush.id).where(
                        ShopifyOrderPush.order_id == event.order_id)) is not None:
                    return
                push = ShopifyOrderPush(order_id=event.order_id, shop_id=event.shop_id,
                                        status="pending")
                session.add(push)
                session.flush()
                record(session, OrderPushDue(push.id, event.shop_id, event.order_id))
        except IntegrityError:
            return  # recorded meanwhile by another delivery of the same event

    def push_order(self, event: OrderPushDue) -> None:
        """Create the order in Shopify, once: found there by its tag, or created."""
        with self.db.read() as session:
            push = session.get(ShopifyOrderPush, event.push_id)
            if push is None or push.status != "pending":
                return
            connection = self._connection(session, event.shop_id)
            order = session.get_one(Order, event.order_id)
            variant_ids = {line.variant_id for line in order.lines}
            remote_ids = dict(session.execute(
                select(ShopifyVariantLink.variant_id, ShopifyVariantLink.shopify_id)
                .where(ShopifyVariantLink.variant_id.in_(variant_ids),
                       ShopifyVariantLink.shopify_id.is_not(None))).tuples().all())
            order_input = _order_input(order, remote_ids)
            session.expunge(connection)
        if not self._claim(event.push_id):
            raise PushInProgress(f"Order {order_input['sourceIdentifier']} is being pushed "
                                 "by another delivery; tried again later")
        try:
            created = self._create_once(self._client(connection), connection, order_input)
        except Exception as error:
            self._push_failed(event.push_id, error)
            raise
        with self.db.transaction() as session:
            push = session.get_one(ShopifyOrderPush, event.push_id, with_for_update=True)
            if push.status != "pending":
                return
            push.status, push.pushed_at, push.claimed_until = "pushed", utcnow(), None
            push.shopify_order_id = str(created["id"])
            push.shopify_order_name = str(created.get("name") or "")[:40]
            push.last_error = None
            connection = self._connection(session, event.shop_id)
            # The count the order left there, with Shopify's time: newer than any webhook
            # sent before it, and the order no longer counts as unpushed.
            self._apply_counts(session, connection, remote.order_levels(created))

    def _create_once(self, client: AdminClient, connection: ShopifyConnection,
                     order_input: dict[str, Any]) -> dict[str, Any]:
        """The order in Shopify: found by its tag, or created. A create whose answer was
        lost (a 502 after the work, a dropped connection) is looked up again before it is
        tried again, so the order is never created twice."""
        tag = order_tag(order_input["sourceIdentifier"])
        location = {"location": connection.location_id}
        lost: ShopifyUnavailable | None = None
        for _attempt in range(self.settings.shopify_attempts):
            found = client.execute("OrderByTag", remote.ORDER_BY_TAG,
                                   {"query": f"tag:'{tag}'", **location})["orders"]["nodes"]
            if found:
                return dict(found[0])
            try:
                answer = client.execute("OrderCreate", remote.ORDER_CREATE, {
                    "order": order_input, **location,
                    "options": {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY",
                                "sendReceipt": False, "sendFulfillmentReceipt": False}},
                    mutation=True)["orderCreate"]
            except ShopifyUnavailable as error:
                lost = error
                continue
            user_errors(answer)
            return dict(answer["order"])
        raise lost or ShopifyUnavailable("The order could not be created")

    def _claim(self, push_id: int) -> bool:
        """Hold the push for this delivery (one conditional UPDATE); False if another
        delivery holds it."""
        now = utcnow()
        with self.db.transaction() as session:
            return rows_affected(session.execute(
                update(ShopifyOrderPush)
                .where(ShopifyOrderPush.id == push_id, ShopifyOrderPush.status == "pending",
                       or_(ShopifyOrderPush.claimed_until.is_(None),
                           ShopifyOrderPush.claimed_until < now))
                .values(claimed_until=now + PUSH_CLAIM))) == 1

    def _push_failed(self, push_id: int, error: Exception) -> None:
        with self.db.transaction() as session:
            push = session.get(ShopifyOrderPush, push_id)
            if push is not None:
                push.attempts += 1
                push.last_error = f"{type(error).__name__}: {error}"[:500]
                push.claimed_until = None

    # --- webhooks ---

    def receive_webhook(self, headers: Mapping[str, str], body: bytes) -> str:
        """Verify and store a webhook; "accepted" (processed in the background),
        "duplicate" or "ignored" (a topic or store not synced here). NotAuthenticated
        when the signature is not the app's: nothing is stored."""
        secret = self.settings.shopify_app_secret.get_secret_value()
        if not signature_valid(secret, body, headers.get("x-shopify-hmac-sha256", "")):
            raise NotAuthenticated("The webhook's X-Shopify-Hmac-Sha256 is not valid",
                                   field="X-Shopify-Hmac-Sha256")
        topic = headers.get("x-shopify-topic", "")
        webhook_id = headers.get("x-shopify-webhook-id", "")[:100]
        domain = headers.get("x-shopify-shop-domain", "").lower()[:255]
        if not webhook_id:
            raise InvalidInput("X-Shopify-Webhook-Id is missing", field="X-Shopify-Webhook-Id")
        if topic not in WEBHOOK_TOPICS:
            return "ignored"
        try:
            payload = json.loads(body)
        except ValueError:
            raise InvalidInput("The body is not JSON", field="body") from None
        if not isinstance(payload, dict):
            raise InvalidInput("The body is not a JSON object", field="body")
        with self.db.transaction() as session:
            shop_id = session.scalar(select(ShopifyConnection.shop_id).where(
                ShopifyConnection.domain == domain))
            if shop_id is None:
                return "ignored"
            try:
                with session.begin_nested():
                    hook = ShopifyWebhook(
                        webhook_id=webhook_id, topic=topic, shop_domain=domain,
                        payload=payload,
                        triggered_at=parse_time(headers.get("x-shopify-triggered-at")))
                    session.add(hook)
                    session.flush()
            except IntegrityError:
                return "duplicate"
            record(session, WebhookReceived(hook.id, shop_id, topic))
        return "accepted"

    def process_webhook(self, event: WebhookReceived) -> None:
        with self.db.read() as session:
            hook = session.get(ShopifyWebhook, event.webhook_id)
            if hook is None or hook.processed_at is not None:
                return
            payload: dict[str, Any] = dict(hook.payload)
        handler = {
            "products/create": self._product_changed, "products/update": self._product_changed,
            "products/delete": self._product_deleted,
            "inventory_levels/update": self._level_changed,
            "fulfillments/create": self._fulfilled, "orders/cancelled": self._cancelled,
            "app/uninstalled": self._uninstalled,
        }[event.webhook_topic]
        outcome = handler(event.shop_id, payload)
        with self.db.transaction() as session:
            session.execute(update(ShopifyWebhook).where(ShopifyWebhook.id == event.webhook_id)
                            .values(processed_at=utcnow(), outcome=outcome[:200]))

    def _level_changed(self, shop_id: int, payload: dict[str, Any]) -> str:
        with self.db.transaction() as session:
            connection = self._connection(session, shop_id)
            if str(payload.get("location_id")) != remote.numeric_id(connection.location_id):
                return "another location: not synced"
            item = remote.gid("InventoryItem", payload.get("inventory_item_id"))
            return self._apply_counts(session, connection, [
                (item, int(payload.get("available") or 0), str(payload.get("updated_at")))])

    def _product_changed(self, shop_id: int, payload: dict[str, Any]) -> str:
        product_gid = str(payload.get("admin_graphql_api_id")
                          or remote.gid("Product", payload.get("id")))
        with self.db.read() as session:
            connection = self._connection(session, shop_id)
            link = session.scalar(select(ShopifyProductLink).where(
                ShopifyProductLink.shop_id == shop_id,
                ShopifyProductLink.shopify_id == product_gid))
            if link is not None and is_stale(parse_time(payload.get("updated_at")),
                                             link.shopify_updated_at):
                return "stale: a newer version was applied"
            owner = _owner(session, shop_id)
            session.expunge(connection)
        # The webhook is the signal; the product is read fresh (its newest version).
        node = self._client(connection).execute("Product", remote.PRODUCT, {
            "id": product_gid, "location": connection.location_id})["product"]
        if node is None:
            return "gone from Shopify"
        report = imports.import_drafts(
            self.db, owner, shop_id, [remote.draft_of(node, connection.market)],
            connection.market, lambda session, batch: self._link_pulled(session, connection,
                                                                        batch))
        if report.skipped:
            return "skipped: " + "; ".join(str(problem) for problem in report.errors)[:180]
        return "created" if report.created else "updated" if report.updated else "unchanged"

    def _product_deleted(self, shop_id: int, payload: dict[str, Any]) -> str:
        with self.db.transaction() as session:
            link = session.scalar(select(ShopifyProductLink).where(
                ShopifyProductLink.shop_id == shop_id,
                ShopifyProductLink.shopify_id == remote.gid("Product", payload.get("id"))))
            if link is None:
                return "not a synced product"
            # Archived, not deleted: its orders and stock history stay.
            catalog.change_product(session, _owner(session, shop_id), link.product_id,
                                   ProductUpdate.model_validate({"status": "archived"}))
            return "archived"

    def _fulfilled(self, shop_id: int, payload: dict[str, Any]) -> str:
        with self.db.read() as session:
            order_id = session.scalar(select(ShopifyOrderPush.order_id).where(
                ShopifyOrderPush.shop_id == shop_id,
                ShopifyOrderPush.shopify_order_id == remote.gid("Order",
                                                                payload.get("order_id"))))
            owner = _owner(session, shop_id)
        if order_id is None:
            return "not an order pushed from here"
        numbers = payload.get("tracking_numbers") or [payload.get("tracking_number") or ""]
        try:
            orders.ship(self.db, owner, order_id, ShipIn(
                carrier=str(payload.get("tracking_company") or "Shopify")[:50],
                tracking_number=str(numbers[0] or payload.get("name") or "—")[:100]))
        except DomainError as error:  # already shipped, cancelled here meanwhile
            return f"not shipped here: {error.message}"
        except ValidationError as error:  # a carrier or number the orders service refuses
            return f"not shipped here: {error.errors()[0]['msg']}"
        return "shipped"

    def _cancelled(self, shop_id: int, payload: dict[str, Any]) -> str:
        """Cancelled in Shopify: noted for the seller, who decides here (a refund moves the
        buyer's money, which only this side holds)."""
        with self.db.transaction() as session:
            push = session.scalar(select(ShopifyOrderPush).where(
                ShopifyOrderPush.shop_id == shop_id,
                ShopifyOrderPush.shopify_order_id == remote.gid("Order", payload.get("id"))))
            if push is None:
                return "not an order pushed from here"
            push.status = "cancelled"
            number = session.get_one(Order, push.order_id).number
            return f"order {number} cancelled in Shopify: cancel or refund it here"

    def _uninstalled(self, shop_id: int, _payload: dict[str, Any]) -> str:
        with self.db.transaction() as session:
            connection = self._connection(session, shop_id)
            connection.status, connection.token_encrypted = "uninstalled", ""
            connection.last_error = "The app was uninstalled from the store: connect it again"
        return "disconnected"


def _reason(message: OutboxMessage) -> str:
    """Why it is waiting; one the relay gave up on waits for "Retry now" alone."""
    error = message.last_error or ""
    return f"Given up after {message.attempts} attempts: {error}" if message.gave_up_at \
        else error


def _what(message: OutboxMessage) -> str:
    if message.topic == OrderPushDue.topic:
        return f"order push (order {message.payload.get('order_id')})"
    return f"webhook {message.payload.get('webhook_topic')}"


def _order_input(order: Order, remote_ids: dict[int, str | None]) -> dict[str, Any]:
    """The OrderCreateOrderInput of a paid order: its synced variants by their Shopify ids,
    other lines as custom items, paid, tagged so a retry finds it."""
    ship_to = order.ship_to or {}
    lines = []
    for line in order.lines:
        price = {"shopMoney": {"amount": _money(line.unit_price, order.currency),
                               "currencyCode": order.currency}}
        remote_id = remote_ids.get(line.variant_id)
        lines.append({"variantId": remote_id, "quantity": line.quantity, "priceSet": price}
                     if remote_id else
                     {"title": f"{line.product_title} {line.variant_title}".strip(),
                      "quantity": line.quantity, "priceSet": price, "sku": line.sku})
    return {
        "currency": order.currency, "financialStatus": "PAID",
        "sourceName": "liveshop", "sourceIdentifier": order.number,
        "tags": [order_tag(order.number), "liveshop"], "lineItems": lines,
        "shippingAddress": {
            "firstName": "", "lastName": str(ship_to.get("full_name", ""))[:120],
            "address1": ship_to.get("line1", ""), "address2": ship_to.get("line2", ""),
            "city": ship_to.get("city", ""), "zip": ship_to.get("postcode", ""),
            "provinceCode": ship_to.get("region", "") or None,
            "countryCode": ship_to.get("country", "")},
        "transactions": [{"kind": "SALE", "status": "SUCCESS", "amountSet": {"shopMoney": {
            "amount": _money(order.total, order.currency), "currencyCode": order.currency}}}],
    }
