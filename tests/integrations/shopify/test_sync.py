"""A connected store against the fake Shopify on loopback (a real HTTP server): connect,
pull, order pushes through the outbox despite throttling, 502s and restarts, and webhooks
(forged, duplicated, stale, and each topic's effect)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from liveshop.app import create_app
from liveshop.catalog.orm import Product
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.events import MAX_ATTEMPTS, OutboxMessage
from liveshop.integrations.shopify.fake import DEFAULT_SECRET, sign
from liveshop.integrations.shopify.orm import (
    ShopifyConnection,
    ShopifyOrderPush,
    ShopifyVariantLink,
    ShopifyWebhook,
)
from liveshop.inventory import service as inventory
from tests.integrations.shopify.sync_helpers import (
    Store,
    buy,
    connect,
    deliver,
    pull,
    stock,
    sync_settings,
    variant_id,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return sync_settings(settings)


def test_connect_stores_the_token_encrypted_and_never_shows_it(
        make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    shown = seller.get(f"/api/v1/shops/{shop['id']}/shopify")
    assert shown.status_code == 200
    assert shown.json()["connection"]["location_name"] == "Warehouse"
    assert store.fake.token not in shown.text
    with db.read() as session:
        stored = session.scalar(select(ShopifyConnection.token_encrypted))
        assert stored and store.fake.token not in stored
    wrong = seller.put(f"/api/v1/shops/{shop['id']}/shopify", json={
        "domain": store.fake.domain, "access_token": "shpat_wrong_token", "market": "UK"})
    assert (wrong.status_code, wrong.json()["error"]["field"]) == (422, "access_token")
    not_a_store = seller.put(f"/api/v1/shops/{shop['id']}/shopify", json={
        "domain": "evil.example.com", "access_token": "shpat_x_token", "market": "UK"})
    assert (not_a_store.status_code, not_a_store.json()["error"]["field"]) == (422, "domain")
    other = make_user("seller")
    assert other.get(f"/api/v1/shops/{shop['id']}/shopify").status_code == 403


def test_pull_maps_products_as_the_import_does_page_by_page(
        make_user: Any, store: Store, db: Database) -> None:
    for number in range(60):  # more than a page (50)
        store.fake.add_product(f"sock-{number}", f"Sock {number}",
                               [{"sku": f"SOCK-{number}", "price": "4.00", "available": 2}])
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    report = pull(seller, shop["id"])
    assert (report["created"], report["skipped"]) == (62, 0), report
    assert store.fake.operations.count("Products") == 2
    products = seller.get(f"/api/v1/shops/{shop['id']}/products",
                          params={"limit": 100}).json()
    shirt = seller.get("/api/v1/products/{}".format(next(
        p["id"] for p in products if p["title"] == "Linen Shirt"))).json()
    assert shirt["options"] == ["Size"] and shirt["tags"] == ["summer"]
    assert "<" not in shirt["description"] and "linen" in shirt["description"]
    medium = next(v for v in shirt["variants"] if v["sku"] == "LIN-M")
    assert medium["prices"]["UK"]["amount"] == 2900
    assert medium["prices"]["UK"]["compare_at"] == 3900
    assert stock(db, variant_id(db, shop["id"], "LIN-S"))[0] == 6
    assert stock(db, variant_id(db, shop["id"], "MUG-1"))[0] == 10
    # "Default Title": a product without options.
    mug = seller.get("/api/v1/products/{}".format(next(
        p["id"] for p in products if p["title"] == "Mug"))).json()
    assert mug["options"] == []
    again = pull(seller, shop["id"])
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 62)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ShopifyVariantLink).where(
            ShopifyVariantLink.inventory_item_id.is_not(None))) == 63


def test_a_paid_order_is_pushed_once_despite_throttling_and_502s(
        app: Any, make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    pull(seller, shop["id"])
    buyer = make_user()
    buy(buyer, variant_id(db, shop["id"], "LIN-S"), 2)
    # The look-up is throttled, then meets a 502; the create is done, then answered 502.
    store.fake.fail_next("throttled", "502", "502-after")
    deliver(app)
    orders = store.fake.state()["orders"]
    assert len(orders) == 1, orders
    assert orders[0]["lines"][0]["quantity"] == 2
    assert store.fake.available("LIN-S") == 4
    assert store.fake.operations.count("OrderCreate") == 1
    with db.read() as session:
        push = session.scalars(select(ShopifyOrderPush)).one()
        assert (push.status, push.shopify_order_name) == ("pushed", "#1001")
    # Stock here: 6 pulled, 2 sold; Shopify's count after the order (4) says the same.
    assert stock(db, variant_id(db, shop["id"], "LIN-S"))[:4:3] == (4, 2)
    # The webhooks the order's stock move sent change nothing more; the event again neither.
    assert store.post_webhooks(buyer) == [200, 200]
    deliver(app)
    assert stock(db, variant_id(db, shop["id"], "LIN-S"))[0] == 4
    with db.transaction() as session:
        for message in session.scalars(select(OutboxMessage)):
            message.delivered_at, message.lease_until = None, None
    deliver(app)
    assert len(store.fake.state()["orders"]) == 1


def test_a_restart_with_pushes_in_the_outbox_delivers_them_once(
        settings: Settings, app: Any, make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    pull(seller, shop["id"])
    buy(make_user(), variant_id(db, shop["id"], "MUG-1"))
    # Shopify is down for every attempt: the push waits in the outbox with its reason.
    store.fake.fail_next(*["502"] * settings.shopify_attempts)
    deliver(app)
    assert store.fake.state()["orders"] == []
    failing = seller.get(f"/api/v1/shops/{shop['id']}/shopify").json()
    assert failing["waiting"] >= 1
    assert "HTTP 502" in failing["failures"][0]["reason"]
    # The process stops; another starts on the same database and is asked to retry now.
    restarted = create_app(settings, Database(settings.database_url))
    assert seller.post(f"/api/v1/shops/{shop['id']}/shopify/retry").json()["retried"] >= 1
    deliver(restarted)
    deliver(restarted)
    assert len(store.fake.state()["orders"]) == 1
    assert seller.get(f"/api/v1/shops/{shop['id']}/shopify").json()["waiting"] == 0


def test_a_push_the_relay_gave_up_on_is_shown_and_retried_on_request(
        settings: Settings, app: Any, make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    pull(seller, shop["id"])
    buy(make_user(), variant_id(db, shop["id"], "MUG-1"))
    store.fake.fail_next(*["502"] * settings.shopify_attempts)
    deliver(app)
    with db.transaction() as session:  # hours of failures later
        session.execute(update(OutboxMessage).where(OutboxMessage.delivered_at.is_(None),
                                                    OutboxMessage.last_error.is_not(None))
                        .values(gave_up_at=utcnow(), attempts=MAX_ATTEMPTS))
    deliver(app)
    assert store.fake.state()["orders"] == []
    [failure] = seller.get(f"/api/v1/shops/{shop['id']}/shopify").json()["failures"]
    assert failure["reason"].startswith(f"Given up after {MAX_ATTEMPTS} attempts: ")
    assert seller.post(f"/api/v1/shops/{shop['id']}/shopify/retry").json()["retried"] >= 1
    deliver(app)
    deliver(app)
    assert len(store.fake.state()["orders"]) == 1
    assert seller.get(f"/api/v1/shops/{shop['id']}/shopify").json()["waiting"] == 0


def _webhook(topic: str, payload: dict[str, Any], domain: str, webhook_id: str = "w-1",
             secret: str = DEFAULT_SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": sign(secret, body),
                  "X-Shopify-Shop-Domain": domain, "X-Shopify-Webhook-Id": webhook_id,
                  "Content-Type": "application/json"}


def test_a_forged_webhook_is_refused_and_changes_nothing(
        app: Any, make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    pull(seller, shop["id"])
    variant = store.fake.variant_by_sku("MUG-1")
    payload = {"inventory_item_id": variant.inventory_item_id, "available": 0,
               "location_id": store.fake.location_id, "updated_at": "2099-01-01T00:00:00Z"}
    body, headers = _webhook("inventory_levels/update", payload, store.fake.domain,
                             secret="not-the-app-secret")
    refused = seller.http.post("/integrations/shopify/webhooks", content=body, headers=headers)
    assert refused.status_code == 401
    unsigned = seller.http.post("/integrations/shopify/webhooks", content=body,
                                headers={**headers, "X-Shopify-Hmac-Sha256": ""})
    assert unsigned.status_code == 401
    _, signed = _webhook("inventory_levels/update", payload, store.fake.domain)
    tampered = seller.http.post("/integrations/shopify/webhooks", content=body + b" ",
                                headers=signed)
    assert tampered.status_code == 401
    deliver(app)
    assert stock(db, variant_id(db, shop["id"], "MUG-1"))[0] == 10
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ShopifyWebhook)) == 0


def test_inventory_webhooks_set_stock_here_duplicates_and_stale_ones_ignored(
        app: Any, make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    pull(seller, shop["id"])
    mug = variant_id(db, shop["id"], "MUG-1")
    # Two counts, delivered late and newest first, each twice (as Shopify may).
    with store.fake.held():
        store.fake.set_available("MUG-1", 7)
        store.fake.set_available("MUG-1", 3)
    answers = [seller.http.post("/integrations/shopify/webhooks", content=body,
                                headers=headers).json()["outcome"]
               for headers, body in store.sent]
    assert answers == ["accepted", "duplicate", "accepted", "duplicate"]
    deliver(app)
    assert stock(db, mug)[0] == 3
    with db.read() as session:
        outcomes = sorted(session.scalars(select(ShopifyWebhook.outcome)))
        assert outcomes == ["applied", "stale: a newer count was applied"]


def test_a_shopify_count_never_takes_a_flash_sales_units(
        app: Any, make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    pull(seller, shop["id"])
    mug = variant_id(db, shop["id"], "MUG-1")
    with db.transaction() as session:
        inventory.hold(session, mug, 4, note="flash sale")
    assert stock(db, mug)[:3] == (6, 0, 4)
    store.fake.set_available("MUG-1", 5)  # sold 5 in the Shopify shop meanwhile
    store.post_webhooks(seller.http)
    deliver(app)
    assert stock(db, mug)[:3] == (1, 0, 4)
    store.fake.set_available("MUG-1", 2)  # fewer than the sale holds: the sale keeps them
    store.post_webhooks(seller.http)
    deliver(app)
    assert stock(db, mug)[:3] == (0, 0, 4)
    with db.read() as session:
        last = session.scalars(select(ShopifyWebhook.outcome)
                               .order_by(ShopifyWebhook.id.desc())).first()
        assert last is not None and "beyond Shopify's count" in last


def test_fulfilled_there_ships_here_with_tracking(
        app: Any, make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    pull(seller, shop["id"])
    buyer = make_user()
    paid = buy(buyer, variant_id(db, shop["id"], "LIN-M"))
    deliver(app)
    store.sent.clear()
    store.fake.fulfil("#1001", "Royal Mail", "RM123456789GB")
    assert store.post_webhooks(buyer.http) == [200, 200]
    deliver(app)
    order = buyer.get(f"/api/v1/orders/{paid['orders'][0]['id']}").json()
    assert (order["status"], order["carrier"], order["tracking_number"]) == (
        "shipped", "Royal Mail", "RM123456789GB")


def test_product_webhooks_update_and_archive_and_uninstall_disconnects(
        app: Any, make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    pull(seller, shop["id"])
    shirt = next(p for p in store.fake.products.values() if p.handle == "linen-shirt")
    mug = next(p for p in store.fake.products.values() if p.handle == "mug")
    store.fake.update_product(shirt.id, title="Linen Shirt (new)")
    store.fake.delete_product(mug.id)
    store.fake.create_product("tea-towel", "Tea Towel", [
        {"sku": "TT-1", "price": "12.00", "available": 8}])
    store.post_webhooks(seller.http)
    deliver(app)
    with db.read() as session:
        titles = dict(session.execute(select(Product.title, Product.status).where(
            Product.shop_id == shop["id"])).tuples().all())
    assert titles == {"Linen Shirt (new)": "active", "Mug": "archived", "Tea Towel": "active"}
    assert stock(db, variant_id(db, shop["id"], "TT-1"))[0] == 8
    store.fake.uninstall()
    store.post_webhooks(seller.http)
    deliver(app)
    view = seller.get(f"/api/v1/shops/{shop['id']}/shopify").json()
    assert view["connection"]["status"] == "uninstalled"


def test_the_sync_page_shows_failures_and_retries_them(
        settings: Settings, app: Any, make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop_id = connect(seller, store.fake)["id"]
    page = seller.get(f"/seller/shops/{shop_id}/shopify")
    assert page.status_code == 200 and "Pull products and stock" in page.text
    assert store.fake.token not in page.text
    pulled = seller.post(f"/seller/shops/{shop_id}/shopify/pull",
                         data={"csrf_token": seller.headers["X-CSRF-Token"]})
    assert "Pulled: 2 created" in pulled.text
    buy(make_user(), variant_id(db, shop_id, "MUG-1"))
    store.fake.fail_next(*["502"] * settings.shopify_attempts)
    deliver(app)
    failing = seller.get(f"/seller/shops/{shop_id}/shopify").text
    assert "HTTP 502" in failing and "Retry now" in failing and "1 item" in failing
    retried = seller.post(f"/seller/shops/{shop_id}/shopify/retry",
                          data={"csrf_token": seller.headers["X-CSRF-Token"]})
    assert "1 item(s) will be tried again" in retried.text
    deliver(app)
    done = seller.get(f"/seller/shops/{shop_id}/shopify").text
    assert "→ Shopify #1001" in done and "0 items" in done


def test_an_order_cancelled_there_is_named_for_the_seller(
        app: Any, make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    pull(seller, shop["id"])
    paid = buy(make_user(), variant_id(db, shop["id"], "MUG-1"))
    deliver(app)
    store.fake.cancel_order("#1001")
    store.post_webhooks(seller.http)
    deliver(app)
    with db.read() as session:
        assert session.scalars(select(ShopifyOrderPush.status)).one() == "cancelled"
        outcome = session.scalars(select(ShopifyWebhook.outcome).where(
            ShopifyWebhook.topic == "orders/cancelled")).one()
    assert outcome.startswith(f"order {paid['orders'][0]['number']} cancelled in Shopify")


def test_a_second_delivery_of_a_push_in_flight_waits(
        settings: Settings, app: Any, make_user: Any, store: Store, db: Database) -> None:
    seller = make_user("seller")
    shop = connect(seller, store.fake)
    pull(seller, shop["id"])
    buy(make_user(), variant_id(db, shop["id"], "MUG-1"))
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ShopifyOrderPush)) == 0
    deliver(app)  # OrderPaid: the push recorded, and pushed
    with db.transaction() as session:
        push = session.scalars(select(ShopifyOrderPush)).one()
        # As if another delivery held it: this one must not create the order again.
        push.status, push.claimed_until = "pending", utcnow() + timedelta(minutes=1)
        for message in session.scalars(select(OutboxMessage)):
            message.delivered_at, message.lease_until = None, None
    deliver(app)
    assert len(store.fake.state()["orders"]) == 1
    assert store.fake.operations.count("OrderCreate") == 1
    with db.read() as session:
        waiting = session.scalars(select(OutboxMessage.last_error).where(
            OutboxMessage.delivered_at.is_(None))).all()
    assert any("being pushed by another delivery" in (error or "") for error in waiting)
