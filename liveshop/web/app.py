"""The FastAPI application: routers of every domain, sessions, static files, errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response

from liveshop.accounts import api as accounts_api
from liveshop.accounts import pages as accounts_pages
from liveshop.catalog import api as catalog_api
from liveshop.catalog import pages as catalog_pages
from liveshop.checkout import api as checkout_api
from liveshop.checkout import pages as checkout_pages
from liveshop.checkout.service import expire_stale_checkouts
from liveshop.core.config import Settings, get_settings
from liveshop.core.db import Database
from liveshop.demo import simulation
from liveshop.inventory import api as inventory_api
from liveshop.live import api as live_api
from liveshop.live import pages as live_pages
from liveshop.live import runtime as live_runtime
from liveshop.live import ws as live_ws
from liveshop.live.runtime import create_hub
from liveshop.live.sales import SoldOutGate
from liveshop.markets import api as markets_api
from liveshop.orders import api as orders_api
from liveshop.orders import pages as orders_pages
from liveshop.web.context import AppContext
from liveshop.web.errors import install_error_handlers
from liveshop.web.templating import TEMPLATES_DIR

log = logging.getLogger("liveshop.app")
STATIC_DIR = TEMPLATES_DIR.parent / "static"
HLS_JS_DIR = Path(__file__).resolve().parents[2] / "node_modules" / "hls.js" / "dist"
# How often unpaid checkouts whose stock hold ran out are cancelled and their stock freed.
EXPIRY_SWEEP_SECONDS = 30.0
API_PREFIX = "/api/v1"
API_ROUTERS = tuple(module.router for module in (
    accounts_api, markets_api, catalog_api, inventory_api, checkout_api, orders_api, live_api))
PAGE_ROUTERS = tuple(module.router for module in (
    accounts_pages, catalog_pages, checkout_pages, orders_pages, live_pages))
SESSION_COOKIE = "liveshop_session"
SESSION_MAX_AGE = 14 * 24 * 3600
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


async def sweep_expired_checkouts(db: Database, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(expire_stale_checkouts, db)
        except Exception:
            # A failed sweep (e.g. the database restarting) must not end the loop.
            log.exception("expiring stale checkouts failed")


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = db or Database(settings.database_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(sweep_expired_checkouts(db, EXPIRY_SWEEP_SECONDS))
        # The hub belongs to the event loop that serves the sockets, so each serving
        # loop gets its own (tests may run the app on several loops one after another).
        idle_hub, app.state.hub = app.state.hub, create_hub()
        try:
            async with live_runtime.running(app.state.hub, db):
                demo = asyncio.create_task(simulation.run_forever(
                    app.state.context, app.state.hub, app.state.sale_gate)
                ) if settings.demo_simulation else None
                yield
                if demo is not None:
                    demo.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await demo
        finally:
            app.state.hub = idle_hub
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    app = FastAPI(
        lifespan=lifespan,
        title="liveshop",
        version="0.1.0",
        description="Live-shopping platform API. Errors are JSON "
        '`{"error": {"code", "message", "field"}}`; retried writes take an Idempotency-Key.',
    )
    app.state.context = AppContext(settings=settings, db=db)
    # Until the app starts serving, room events have no sockets to reach.
    app.state.hub = create_hub()
    app.state.sale_gate = SoldOutGate()

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.secure_cookies,
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    for router in PAGE_ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.include_router(live_ws.router)

    settings.media_dir.mkdir(parents=True, exist_ok=True)
    # Browser libraries come from the npm registry (`npm ci`), never copied into the repo.
    app.mount("/static/vendor/hls.js", StaticFiles(directory=HLS_JS_DIR, check_dir=False),
              name="hls.js")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/media", StaticFiles(directory=settings.media_dir), name="media")
    return app
