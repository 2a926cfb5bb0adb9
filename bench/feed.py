"""The discovery feed at scale: generated shops, products, people, follows and interaction
events in SQLite (10,000 products, 50,000 users and 2,000,000 events at full size), then,
on one app process:

- feed: 200 concurrent signed-in users (each their own API token, follows and history)
  asking for their For-you first page (a full ranking each time) for ``--seconds``; and
  the same users paging on with the cursor (kept rankings);
- ingestion: 200 concurrent anonymous visitors posting batches of 100 events; events/s
  accepted, and written (rows in the table once the writer caught up);
- training: ``liveshop feed train`` in its own process, with its time and peak memory.

``--scale 0.1`` generates a tenth of everything (for a quick look). Baseline in the same
run, through the same client and server: GET /static/css/site.css.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa
import uvloop

from bench import harness, machine

USERS = 200
CHUNK = 50_000


def generate(url: str, products: int, users: int, events: int, seed: int = 7) -> list[str]:
    """The data, inserted in bulk; returns API tokens of the first ``USERS`` people."""
    from liveshop.accounts import security
    from liveshop.accounts.orm import ApiToken, User
    from liveshop.catalog.orm import Product, Shop, ShopMarket, Variant, VariantPrice
    from liveshop.feed.orm import FeedEvent
    from liveshop.inventory.orm import StockLevel
    from liveshop.live.orm import CreatorFollow

    rng = np.random.default_rng(seed)
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    shops = max(10, products // 100)
    tastes = 20
    started = time.perf_counter()
    with engine.begin() as connection:
        password = security.hash_password("bench-not-used")
        connection.execute(sa.insert(User), [
            {"id": i + 1, "email": f"u{i}@bench.example", "display_name": f"User {i}",
             "password_hash": password, "role": "seller" if i < shops else "buyer",
             "is_active": True, "created_at": now} for i in range(users)])
        connection.execute(sa.insert(Shop), [
            {"id": s + 1, "owner_id": s + 1, "name": f"Shop {s}", "slug": f"shop-{s}",
             "description": "", "created_at": now} for s in range(shops)])
        connection.execute(sa.insert(ShopMarket), [
            {"shop_id": s + 1, "market": market, "shipping_minor": 399}
            for s in range(shops) for market in ("UK", "DE")])
        shop_of = rng.integers(1, shops + 1, products)
        connection.execute(sa.insert(Product), [
            {"id": p + 1, "shop_id": int(shop_of[p]), "title": f"Product {p}",
             "description": "", "tags": "", "status": "active",
             "created_at": now - timedelta(minutes=p), "updated_at": now}
            for p in range(products)])
        connection.execute(sa.insert(Variant), [
            {"id": p + 1, "product_id": p + 1, "shop_id": int(shop_of[p]), "sku": f"S{p}",
             "weight_grams": 0, "position": 0} for p in range(products)])
        connection.execute(sa.insert(VariantPrice), [
            {"variant_id": p + 1, "market": market, "currency": currency,
             "amount_minor": 1000 + p % 5000}
            for p in range(products) for market, currency in (("UK", "GBP"), ("DE", "EUR"))])
        connection.execute(sa.insert(StockLevel), [
            {"variant_id": p + 1, "available": 50, "reserved": 0, "sold": 0, "held": 0,
             "version": 0} for p in range(products)])
        follows = {(int(u), int(c)) for u, c in zip(
            rng.integers(shops + 1, users + 1, users * 2), rng.integers(1, shops + 1, users * 2),
            strict=True)}
        connection.execute(sa.insert(CreatorFollow), [
            {"follower_id": u, "creator_id": c, "created_at": now} for u, c in follows])
        tokens = []
        for n in range(USERS):
            token = security.new_api_token()
            tokens.append(token)
            connection.execute(sa.insert(ApiToken), {
                "user_id": shops + 1 + n, "name": "bench", "token_hash":
                security.token_digest(token), "prefix": token[:10], "created_at": now})
    # Events: each person has a taste (a slice of the catalogue) and mostly keeps to it.
    taste_of_user = rng.integers(0, tastes, users + 1)
    per_taste = products // tastes
    kinds = np.array(["impression", "click", "watch", "like", "add_to_cart", "purchase"])
    kind_p = np.array([0.45, 0.3, 0.1, 0.07, 0.05, 0.03])
    written = 0
    with engine.begin() as connection:
        while written < events:
            n = min(CHUNK, events - written)
            who = rng.integers(1, users + 1, n)
            on_taste = rng.random(n) < 0.8
            within = np.minimum(rng.zipf(1.3, n) - 1, per_taste - 1)
            item = np.where(on_taste, taste_of_user[who] * per_taste + within,
                            rng.integers(0, products, n)) + 1
            kind = kinds[rng.choice(len(kinds), n, p=kind_p)]
            age = rng.uniform(0, 30 * 86400, n)
            connection.execute(sa.insert(FeedEvent), [
                {"kind": str(kind[i]), "user_id": int(who[i]), "visitor_id": None,
                 "item_type": "product", "item_id": int(item[i]),
                 "shop_id": int(shop_of[item[i] - 1]), "creator_id": None, "show_id": None,
                 "market": "UK" if who[i] % 2 else "DE",
                 "occurred_at": now - timedelta(seconds=float(age[i])),
                 "value": 60.0 if kind[i] == "watch" else 1.0} for i in range(n)])
            written += n
    engine.dispose()
    print(f"  generated {products} products, {users} users, {len(follows)} follows, "
          f"{events} events in {time.perf_counter() - started:.0f} s", flush=True)
    return tokens


async def _hammer(port: int, paths: list[str], headers: list[dict[str, str]], seconds: float,
                  method: str = "GET", bodies: list[bytes] | None = None, think: float = 0.0,
                  users: int = USERS) -> tuple[list[float], Counter[int | str], float]:
    """USERS users on kept-alive connections; each asks again ``think`` seconds after its
    last answer (0: at once, a closed loop that measures the most the process serves)."""
    latencies: list[float] = []
    statuses: Counter[int | str] = Counter()

    async def user(n: int) -> None:
        connection = harness.KeepAliveConnection(port)
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                status, _ = await connection.request(
                    method, paths[n % len(paths)], headers[n % len(headers)],
                    bodies[n % len(bodies)] if bodies else b"")
            except (OSError, asyncio.IncompleteReadError, KeyError, ValueError):
                statuses["connection lost"] += 1
                continue
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            if think:
                await asyncio.sleep(think * random.uniform(0.5, 1.5))
        connection.close()

    began = time.monotonic()
    stop = began + seconds
    await asyncio.gather(*(user(n) for n in range(users)))
    return latencies, statuses, time.monotonic() - began


def _report(name: str, latencies: list[float], statuses: Counter[int | str],
            seconds: float) -> float:
    ordered = sorted(latencies)
    p99 = harness.percentile(ordered, 0.99) * 1000
    print(f"  {name:<28} {len(ordered) / seconds:7.0f} req/s  p50 "
          f"{harness.percentile(ordered, 0.5) * 1000:7.1f} ms  p99 {p99:7.1f} ms  "
          f"statuses {dict(statuses)}", flush=True)
    return p99


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def _train(url: str) -> None:
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run([sys.executable, "-m", "liveshop.cli", "feed", "train"],
                            env={**os.environ, "LIVESHOP_DATABASE_URL": url},
                            capture_output=True, text=True, check=False)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"  training: {time.perf_counter() - started:.1f} s wall, peak RSS "
          f"{max(peak, before) / 1024:.0f} MB; {result.stdout.strip() or result.stderr[-300:]}",
          flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args(argv)
    harness.raise_fd_limit()
    print(machine.describe(), flush=True)
    products, users, events = (int(10_000 * options.scale), int(50_000 * options.scale),
                               int(2_000_000 * options.scale))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        harness.migrate(url)
        tokens = generate(url, products, users, events)
        _train(url)
        port = harness.free_port()
        env = harness.app_env(url, folder) | {
            "LIVESHOP_FEED_EVENT_BATCHES_PER_MINUTE": "1000000",
            "LIVESHOP_FEED_TRAIN_INTERVAL_SECONDS": "0",
            "LIVESHOP_FEED_EVENT_QUEUE": "1000000"}
        print(f"Feed: {USERS} concurrent users, {options.seconds:.0f} s each, one app "
              "process, SQLite", flush=True)
        with harness.server(harness.uvicorn_app(port, 1), env, port,
                            probe="/static/css/site.css"):
            signed_in = [{"Authorization": f"Bearer {t}", "Accept-Language": "en-GB"}
                         for t in tokens]
            baseline = uvloop.run(_hammer(port, ["/static/css/site.css"], signed_in,
                                          options.seconds))
            _report("baseline site.css", *baseline)
            # Warm the market's popularity (computed once per process per 2 minutes).
            uvloop.run(_hammer(port, ["/api/v1/feed"], signed_in[:1], 1.0, users=1))
            first = uvloop.run(_hammer(port, ["/api/v1/feed"], signed_in, options.seconds))
            _report("For you, closed loop", *first)
            # People read a page before the next: 200 users, each about once a second.
            paced = uvloop.run(_hammer(port, ["/api/v1/feed"], signed_in, options.seconds,
                                       think=1.0))
            p99 = _report("For you, 1 s think time", *paced)
            print(f"  target p99 <= 50 ms at 200 users: {'met' if p99 <= 50 else 'NOT met'}",
                  flush=True)
            following = uvloop.run(_hammer(port, ["/api/v1/feed?tab=following"], signed_in,
                                           options.seconds))
            _report("Following, first page", *following)
            rows_before = _count(url, "feed_events")
            body = json.dumps({"events": [
                {"type": "impression", "item_type": "product",
                 "item_id": random.randint(1, products)} for _ in range(100)]}).encode()
            anonymous = [{"Content-Type": "application/json", "Accept-Language": "en-GB"}]
            posted = uvloop.run(_hammer(port, ["/api/v1/events"], anonymous, options.seconds,
                                        "POST", [body]))
            _report("POST /events (100 each)", *posted)
            accepted = posted[1][202] * 100
            print(f"  ingestion: {accepted / posted[2]:.0f} events/s accepted", flush=True)
            deadline = time.monotonic() + 60
            while (written := _count(url, "feed_events") - rows_before) < accepted:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            print(f"  written: {written} of {accepted} accepted events", flush=True)


if __name__ == "__main__":
    main()
