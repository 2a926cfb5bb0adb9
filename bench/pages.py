"""Server-rendered pages under load: 200 concurrent users for 20 s on each of the home page,
a product page and the live-room page of the demo data (seeded into a temporary SQLite
database, the demo show live), one page at a time.

The app runs as ``liveshop serve --workers N`` runs it (default 2, with Redis); the users
are a minimal keep-alive HTTP/1.1 client on uvloop, which costs far less than the server.
Baseline in the same run, through the same client and server: the site's stylesheet,
/static/css/site.css (a static file: what serving a request costs without a database or a
template). Reports requests/s, p50/p99 and the server's CPU per request, and the ratios.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import uvloop
from sqlalchemy import select

from bench import harness, machine

USERS = 200
DURATION_SECONDS = 20


@dataclass
class PageLoad:
    latencies: list[float]
    statuses: Counter[int | str]
    seconds: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, fraction: float) -> float:
        return harness.percentile(sorted(self.latencies), fraction) * 1000

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / max(1, len(self.latencies))


async def _hammer(port: int, path: str, pid: int) -> PageLoad:
    """USERS users, each on its own kept-alive connection, requesting the page again as
    soon as the last answer arrives."""
    latencies: list[float] = []
    statuses: Counter[int | str] = Counter()
    headers = {"Accept-Language": "en-GB"}

    async def user() -> None:
        connection = harness.KeepAliveConnection(port)
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                status, _ = await connection.request("GET", path, headers)
            except (OSError, asyncio.IncompleteReadError, KeyError, ValueError):
                # On an overloaded machine the server may close a keep-alive connection
                # just as the next request goes out: count it, as a browser would see it.
                statuses["connection lost"] += 1
                continue
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
        connection.close()

    cpu_before, began = harness.tree_cpu_seconds(pid), time.monotonic()
    stop = began + DURATION_SECONDS
    await asyncio.gather(*(user() for _ in range(USERS)))
    return PageLoad(latencies, statuses, time.monotonic() - began,
                    harness.tree_cpu_seconds(pid) - cpu_before)


def _demo(url: str, folder: str) -> tuple[int, int]:
    """The demo catalogue and its live show; returns (a product id, the show id)."""
    from liveshop.catalog.orm import Product
    from liveshop.core.config import Settings
    from liveshop.core.db import Database
    from liveshop.demo.seed import seed_demo
    from liveshop.demo.simulation import ensure_live_show
    from liveshop.web.context import AppContext

    settings = Settings(database_url=url, media_dir=Path(folder) / "media")
    db = Database(url)
    try:
        seed_demo(db, settings)
        show_id, _, lineup = ensure_live_show(AppContext(settings=settings, db=db))
        with db.read() as session:
            product_id = lineup[0] if lineup else session.scalars(
                select(Product.id).where(Product.status == "active")).first()
        assert product_id is not None
        return product_id, show_id
    finally:
        db.dispose()


def main() -> None:
    options = harness.workers_option(__doc__)
    harness.raise_fd_limit()
    print(machine.describe(), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        harness.migrate(url)
        product_id, show_id = _demo(url, folder)
        port = harness.free_port()
        pages = {"baseline site.css": "/static/css/site.css", "home": "/",
                 "product": f"/products/{product_id}", "live room": f"/shows/{show_id}"}
        print(f"Pages: {USERS} concurrent users, {DURATION_SECONDS} s per page, demo data"
              f" on SQLite, {options.workers} app process(es)", flush=True)
        results: dict[str, PageLoad] = {}
        with harness.server(harness.uvicorn_app(port, options.workers),
                            harness.app_env(url, folder, options.redis_url), port) as process:
            for name, path in pages.items():
                load = results[name] = uvloop.run(_hammer(port, path, process.pid))
                print(f"  {name:<18} GET {path:<22} {load.per_second:7.0f} req/s"
                      f"  p50 {load.p(0.5):7.1f} ms  p99 {load.p(0.99):7.1f} ms"
                      f"  {load.cpu_ms_per_request:6.2f} CPU ms/req"
                      f"  statuses {dict(load.statuses)}", flush=True)
        baseline = results["baseline site.css"]
        print("  ratios to baseline (requests/s, p99): " + "; ".join(
            f"{name} {load.per_second / baseline.per_second:.2f}, "
            f"{load.p(0.99) / baseline.p(0.99):.1f}x"
            for name, load in results.items() if load is not baseline), flush=True)


if __name__ == "__main__":
    main()
