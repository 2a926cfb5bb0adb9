"""The composition root: the FastAPI application on the app's services (built in
liveshop/services.py): routers of every domain, sessions, static files, errors, and the
background work each serving event loop runs.

The top of the house: it may import every package, and none imports it but the entry
points (liveshop/main.py, the CLI) and the demo, which plugs in here (``plug_ins``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveshop.accounts.sessions import SESSION_IDLE
from liveshop.accounts.tokens import forget_after_commit
from liveshop.admin import api as admin_api
from liveshop.admin import pages as admin_pages
from liveshop.affiliates import api as affiliates_api
from liveshop.affiliates import pages as affiliates_pages
from liveshop.auth import api as auth_api
from liveshop.auth import pages as auth_pages
from liveshop.catalog import api as catalog_api
from liveshop.catalog import pages as catalog_pages
from liveshop.checkout import api as checkout_api
from liveshop.checkout import pages as checkout_pages
from liveshop.checkout.service import expire_stale_checkouts
from liveshop.core.collector import freeze_startup_objects
from liveshop.core.config import Settings, check_secret_key
from liveshop.core.db import Database
from liveshop.core.events import EventBus
from liveshop.core.gil import hand_over_sooner
from liveshop.creators import api as creators_api
from liveshop.feed import api as feed_api
from liveshop.feed import pages as feed_pages
from liveshop.feed import training as feed_training
from liveshop.feed.ingest import record_after_commit as feed_after_commit
from liveshop.integrations.shopify import api as shopify_api
from liveshop.integrations.shopify import pages as shopify_pages
from liveshop.integrations.shopify import webhooks as shopify_webhooks
from liveshop.integrations.shopify.rooms import tell_rooms
from liveshop.integrations.shopify.sync import ShopifySync
from liveshop.live import api as live_api
from liveshop.live import pages as live_pages
from liveshop.live import room, room_socket, sales
from liveshop.live.room_events import RoomEvents
from liveshop.live.room_publisher import RoomPublisher
from liveshop.live.sold_out import SoldOutLane
from liveshop.live.video_link import connect as connect_video_link
from liveshop.markets import api as markets_api
from liveshop.notifications import api as notifications_api
from liveshop.notifications import pages as notifications_pages
from liveshop.notifications.subscriptions import notify_after_commit
from liveshop.orders import api as orders_api
from liveshop.orders import pages as orders_pages
from liveshop.payouts import api as payouts_api
from liveshop.payouts import pages as payouts_pages
from liveshop.seller import pages as seller_pages
from liveshop.services import AppServices, Services
from liveshop.storefront import pages as storefront_pages
from liveshop.storefront import shops as shop_pages
from liveshop.video import api as video_api
from liveshop.video import files as video_files
from liveshop.video import link as video_link
from liveshop.video import ws as video_ws
from liveshop.video.link import ShowVideo
from liveshop.web import api_docs
from liveshop.web.errors import ERROR_RESPONSES, install_error_handlers
from liveshop.web.openapi import complete_openapi
from liveshop.web.templating import TEMPLATES_DIR

log = logging.getLogger("liveshop.app")
STATIC_DIR = TEMPLATES_DIR.parent / "static"
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
HLS_JS_DIR = NODE_MODULES / "hls.js" / "dist"
SWAGGER_UI_DIR = NODE_MODULES / "swagger-ui-dist"
# How often unpaid checkouts whose stock hold ran out are cancelled and their stock freed.
EXPIRY_SWEEP_SECONDS = 30.0
TOKEN_USE_WRITE_SECONDS = 10.0
API_PREFIX = "/api/v1"
# In this order FastAPI tries them for each API request, every route of each: the live
# rooms' (taps, chat) come first, since they arrive by the thousand in a flash sale.
API_ROUTERS = (live_api.router, auth_api.router, markets_api.router, catalog_api.router,
               catalog_api.stock_router, checkout_api.router, orders_api.router,
               notifications_api.router, video_api.router, admin_api.router,
               creators_api.router, affiliates_api.router, payouts_api.router,
               shopify_api.router, feed_api.router)
PAGE_ROUTERS = tuple(module.router for module in (
    auth_pages, storefront_pages, seller_pages, catalog_pages, checkout_pages, orders_pages,
    live_pages, notifications_pages, admin_pages, affiliates_pages, payouts_pages, shopify_pages,
    api_docs, feed_pages))
SESSION_COOKIE = "liveshop_session"
SESSION_MAX_AGE = int(SESSION_IDLE.total_seconds())
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


async def run_logged(work: Callable[[], object], what: str) -> None:
    """Run blocking ``work`` in a thread; a failure (e.g. the database restarting) is logged,
    so it cannot end a loop or a shutdown."""
    try:
        await asyncio.to_thread(work)
    except Exception:
        log.exception("%s failed", what)


async def every(interval: float, work: Callable[[], object], what: str) -> None:
    while True:
        await asyncio.sleep(interval)
        await run_logged(work, what)


SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
)


class SecurityHeaders:
    """Adds the security headers to every HTTP response. Plain ASGI rather than
    BaseHTTPMiddleware, which would copy every response body (HLS segments) through a
    stream (docs/decisions/0004-serving-process-tuning.md)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Something that runs beside the app while it serves, given the serving event loop's
# services: entered once everything else has started, left before it stops. The demo's
# simulated show is one (liveshop/demo/app.py); the production app has none.
PlugIn = Callable[[Services], contextlib.AbstractAsyncContextManager[None]]


@contextlib.asynccontextmanager
async def background(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run ``work`` as a task for the duration of the block."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def tell_rooms_after_commit(db: Database, settings: Settings,
                            rooms_now: Callable[[], RoomEvents],
                            bus: EventBus | None = None) -> EventBus:
    """The domain events that use cases commit on ``db`` are handled after each commit: the
    live rooms are told, through ``rooms_now()`` (the hub of the event loop serving then)."""
    bus = bus or EventBus()
    rooms = RoomPublisher(rooms_now)
    rooms.subscribe(bus)
    video_link.tell_rooms(bus, rooms, settings)
    forget_after_commit(bus)  # a role change or suspension reaches this process's token cache
    db.after_commit = bus
    return bus


async def warm_routes(app: ASGIApp) -> None:
    """Route one request that matches nothing, so that every route is looked at once.

    FastAPI builds what it needs to match a route (its parameters' validators among them)
    the first time a request looks at it; a new process's first requests would pay for every
    route on its event loop while the requests behind them waited
    (docs/decisions/0004-serving-process-tuning.md).
    """
    scope: Scope = {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http",
                    "path": "/.warm-up", "raw_path": b"/.warm-up", "root_path": "",
                    "query_string": b"", "headers": [], "client": None,
                    "server": ("127.0.0.1", 80)}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    try:
        await app(scope, receive, send)
    except Exception:  # serving goes on; the first requests build what they need
        log.exception("warming the routes up failed")


def create_app(settings: Settings, db: Database | None = None, *,
               serving_process: bool = False, plug_ins: Sequence[PlugIn] = ()) -> FastAPI:
    """``serving_process``: this process serves the app from now on; once it has started,
    every route is made ready (:func:`warm_routes`), what start-up built is taken out of
    the garbage collector's way (liveshop/core/collector.py) and worker threads get the GIL
    back sooner (liveshop/core/gil.py). A serving process also refuses to be built with a
    missing, short or placeholder secret key (``InsecureSecretKey``); any other app built
    without one signs its cookies with a random key of its own, never a known one.
    ``plug_ins`` run beside the app while it serves (:data:`PlugIn`).
    """
    if serving_process:
        check_secret_key(settings)
        video_files.quiet_hls_access_log()
    elif not settings.secret_key:
        settings = settings.model_copy(update={"secret_key": secrets.token_urlsafe(48)})
    db = db or Database(settings.database_url)
    # The rooms show the video's state, and a show handed back gets a new stream key,
    # through this link: live cannot import video, which builds on it.
    connect_video_link(ShowVideo())
    services = AppServices(settings, db)
    app = FastAPI(
        lifespan=_lifespan(services, serving_process, plug_ins),
        title="liveshop",
        version="0.1.0",
        # /docs is liveshop.web.api_docs (Swagger UI from npm, no inline script); FastAPI's
        # own pages load from a CDN, which the CSP refuses.
        docs_url=None,
        redoc_url=None,
        description="Live-shopping platform API. Errors are JSON "
        '`{"error": {"code", "message", "field"}}`; retried writes take an Idempotency-Key.',
    )
    # The one thing on the app's state: routes and sockets reach it through their
    # dependencies (liveshop/web/deps.py services_of).
    app.state.services = services
    bus = tell_rooms_after_commit(db, settings, lambda: services.current().hub.events,
                                  services.events)
    # Notices and mails, delivered through the outbox by services.outbox (the lifespan).
    notify_after_commit(bus, db, services.context.mailer, settings.public_url)
    # Connected Shopify stores: order pushes and webhooks, through the outbox too.
    ShopifySync(db, settings, stock_moved=tell_rooms).subscribe(bus)
    # Purchases, follows, cart lines and chat messages become the feed's interaction events.
    feed_after_commit(bus, services.feed.writer)
    _route(app)
    complete_openapi(app, settings)
    _add_middleware(app, services)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    # Browser libraries come from the npm registry (`npm ci`), never copied into the repo.
    app.mount("/static/vendor/hls.js", StaticFiles(directory=HLS_JS_DIR, check_dir=False),
              name="hls.js")
    app.mount("/static/vendor/swagger-ui",
              StaticFiles(directory=SWAGGER_UI_DIR, check_dir=False), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/media", StaticFiles(directory=settings.media_dir), name="media")
    return app


def _lifespan(services: AppServices, serving_process: bool, plug_ins: Sequence[PlugIn]
              ) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The hub, the purchases and the video runtime belong to the event loop that serves,
        # so each serving loop gets its own (tests may run the app on several loops).
        with services.serving() as serving:
            async with contextlib.AsyncExitStack() as running:
                await _start_background_work(serving, running)
                for plug_in in plug_ins:
                    await running.enter_async_context(plug_in(serving))
                if serving_process:
                    await warm_routes(app)
                    freeze_startup_objects()
                    hand_over_sooner()
                yield

    return lifespan


async def _start_background_work(services: Services,
                                 running: contextlib.AsyncExitStack) -> None:
    """What a serving event loop runs beside the requests, stopped in reverse order."""
    context, db, hub, purchases = services.context, services.db, services.hub, services.purchases
    running.push_async_callback(context.limiter.aclose)
    await context.limiter.warm()
    await run_in_threadpool(db.warm)
    running.push_async_callback(purchases.aclose)
    await running.enter_async_context(background(every(
        EXPIRY_SWEEP_SECONDS, lambda: expire_stale_checkouts(db), "expiring stale checkouts")))

    def stamp_use() -> None:
        context.token_use.write(db)
        context.session_use.write(db)

    await running.enter_async_context(background(every(
        TOKEN_USE_WRITE_SECONDS, stamp_use, "stamping token and session use")))
    running.push_async_callback(run_logged, stamp_use, "stamping token and session use")
    await running.enter_async_context(room.serving(hub))
    # Durable events (notices, mails) to their handlers, at least once.
    await running.enter_async_context(background(services.outbox.run()))
    await running.enter_async_context(background(
        sales.end_expired_sales_forever(db)))
    # Flash-sale purchases are paid for after the tap is answered.
    await running.enter_async_context(background(purchases.settle_forever()))
    # The feed's event writer flushes at shutdown; its model is retrained on an interval.
    running.push_async_callback(run_logged, services.feed.writer.stop, "writing feed events")
    if services.settings.feed_train_interval_seconds > 0:
        await running.enter_async_context(background(every(
            services.settings.feed_train_interval_seconds, lambda: feed_training.train(db),
            "training the feed")))
    # RTMP ingest, browser publishing and the video supervisor (docs/video.md).
    await services.video.start()
    running.push_async_callback(services.video.stop)


def _route(app: FastAPI) -> None:
    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for router in PAGE_ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.include_router(room_socket.router)
    # Shopify's webhooks: signed by Shopify (HMAC), not by a browser session (no CSRF).
    app.include_router(shopify_webhooks.router, include_in_schema=False)
    app.include_router(video_ws.router)
    app.include_router(video_files.router)
    # Last of all: every other path wins over a shop's page at /{shop_slug}.
    app.include_router(shop_pages.router, include_in_schema=False)


def _add_middleware(app: FastAPI, services: AppServices) -> None:
    settings = services.context.settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    # Between the two: late taps on a sold-out sale carry the security headers, and skip
    # the session, FastAPI's routing and the buy route's dependencies.
    app.add_middleware(SoldOutLane, buy_path=API_PREFIX + live_api.BUY_PATH,
                       gate=services.sale_gate, tokens=services.context.tokens,
                       purchases=lambda: services.current().purchases)
    app.add_middleware(SecurityHeaders)
