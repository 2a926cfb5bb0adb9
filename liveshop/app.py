"""The composition root: builds the app's services once and the FastAPI application on them
(routers of every domain, sessions, static files, errors, background work).

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
from liveshop.auth import api as auth_api
from liveshop.auth import pages as auth_pages
from liveshop.catalog import api as catalog_api
from liveshop.catalog import pages as catalog_pages
from liveshop.checkout import api as checkout_api
from liveshop.checkout import pages as checkout_pages
from liveshop.checkout.service import expire_stale_checkouts
from liveshop.core.collector import freeze_startup_objects
from liveshop.core.config import Settings, check_secret_key, get_settings
from liveshop.core.db import Database
from liveshop.core.events import EventBus
from liveshop.core.gil import hand_over_sooner
from liveshop.core.mail import mailer_for
from liveshop.core.ratelimit import MemoryRateLimiter, RedisRateLimiter
from liveshop.live import api as live_api
from liveshop.live import pages as live_pages
from liveshop.live import room, room_socket, sales
from liveshop.live.admission import SocketAllowance
from liveshop.live.purchases import LivePurchases
from liveshop.live.room_events import RoomEvents
from liveshop.live.room_publisher import RoomPublisher
from liveshop.live.sold_out import SoldOutGate, SoldOutLane
from liveshop.live.video_link import connect as connect_video_link
from liveshop.markets import api as markets_api
from liveshop.orders import api as orders_api
from liveshop.orders import pages as orders_pages
from liveshop.payments.provider import TestPaymentProvider
from liveshop.storefront import pages as storefront_pages
from liveshop.video import api as video_api
from liveshop.video import files as video_files
from liveshop.video import link as video_link
from liveshop.video import ws as video_ws
from liveshop.video.link import ShowVideo
from liveshop.video.runtime import VideoRuntime
from liveshop.web.context import AppContext
from liveshop.web.errors import ERROR_RESPONSES, install_error_handlers
from liveshop.web.templating import TEMPLATES_DIR

log = logging.getLogger("liveshop.app")
STATIC_DIR = TEMPLATES_DIR.parent / "static"
HLS_JS_DIR = Path(__file__).resolve().parents[1] / "node_modules" / "hls.js" / "dist"
# How often unpaid checkouts whose stock hold ran out are cancelled and their stock freed.
EXPIRY_SWEEP_SECONDS = 30.0
TOKEN_USE_WRITE_SECONDS = 10.0
API_PREFIX = "/api/v1"
# In this order FastAPI tries them for each API request, every route of each: the live
# rooms' (taps, chat) come first, since they arrive by the thousand in a flash sale.
API_ROUTERS = (live_api.router, auth_api.router, markets_api.router, catalog_api.router,
               catalog_api.stock_router, checkout_api.router, orders_api.router,
               video_api.router)
PAGE_ROUTERS = tuple(module.router for module in (
    auth_pages, storefront_pages, catalog_pages, checkout_pages, orders_pages, live_pages))
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
    stream: that tripled the CPU per HLS request."""

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


# Something that runs beside the app while it serves, given the built app: entered once
# everything else has started, left before it stops. The demo's simulated show is one
# (liveshop/demo/app.py); the production app has none.
PlugIn = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


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


def live_purchases(app: FastAPI) -> LivePurchases:
    """The live rooms' purchases on the event loop being started (taps batch on it and its
    settlement queue runs there); the sold-out gate is the process's."""
    context: AppContext = app.state.context
    return LivePurchases(context.db, context.settings, context.payments, context.limiter,
                         app.state.sale_gate)


def tell_rooms_after_commit(db: Database, settings: Settings,
                            rooms_now: Callable[[], RoomEvents]) -> EventBus:
    """The domain events that use cases commit on ``db`` are handled after each commit: the
    live rooms are told, through ``rooms_now()`` (the hub of the event loop serving then)."""
    bus = EventBus()
    rooms = RoomPublisher(rooms_now)
    rooms.subscribe(bus)
    video_link.tell_rooms(bus, rooms, settings)
    db.after_commit = bus
    return bus


async def warm_routes(app: ASGIApp) -> None:
    """Route one request that matches nothing, so that every route is looked at once.

    FastAPI builds what it needs to match a route (its parameters' validators among them)
    the first time a request looks at it: ~300 ms over every route here, spent by a new
    process's first requests on its event loop while the requests behind them waited. A
    flash sale's first taps on a new process paid it (docs/benchmarks.md, flash sale).
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


def create_app(settings: Settings | None = None, db: Database | None = None, *,
               serving_process: bool = False, plug_ins: Sequence[PlugIn] = ()) -> FastAPI:
    """``serving_process``: this process serves the app from now on; once it has started,
    every route is made ready (:func:`warm_routes`), what start-up built is taken out of
    the garbage collector's way (liveshop/core/collector.py) and worker threads get the GIL
    back sooner (liveshop/core/gil.py). A serving process also refuses to be built with a
    missing, short or placeholder secret key (``InsecureSecretKey``); any other app built
    without one signs its cookies with a random key of its own, never a known one.
    ``plug_ins`` run beside the app while it serves (:data:`PlugIn`).
    """
    settings = settings or get_settings()
    if serving_process:
        check_secret_key(settings)
    elif not settings.secret_key:
        settings = settings.model_copy(update={"secret_key": secrets.token_urlsafe(48)})
    db = db or Database(settings.database_url)
    # The rooms show the video's state, and a show handed back gets a new stream key,
    # through this link: live cannot import video, which builds on it.
    connect_video_link(ShowVideo())
    app = FastAPI(
        lifespan=_lifespan(settings, db, serving_process, plug_ins),
        title="liveshop",
        version="0.1.0",
        description="Live-shopping platform API. Errors are JSON "
        '`{"error": {"code", "message", "field"}}`; retried writes take an Idempotency-Key.',
    )
    app.state.context = AppContext(
        settings=settings, db=db,
        limiter=RedisRateLimiter(settings.redis_url) if settings.redis_url
        else MemoryRateLimiter(),
        payments=TestPaymentProvider(settings.test_provider_url or None),
        mailer=mailer_for(settings),
    )
    # Until the app starts serving, room events have no sockets to reach.
    app.state.hub = room.create_hub()
    tell_rooms_after_commit(db, settings, lambda: app.state.hub.events)
    app.state.sale_gate = SoldOutGate()
    app.state.socket_allowance = SocketAllowance(settings.room_sockets_per_ip,
                                                 settings.room_sockets_per_user)
    # Serving starts its own (lifespan); these serve an app used without starting it.
    app.state.purchases = live_purchases(app)
    _route(app)
    _add_middleware(app, settings)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    # Browser libraries come from the npm registry (`npm ci`), never copied into the repo.
    app.mount("/static/vendor/hls.js", StaticFiles(directory=HLS_JS_DIR, check_dir=False),
              name="hls.js")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/media", StaticFiles(directory=settings.media_dir), name="media")
    return app


def _lifespan(settings: Settings, db: Database, serving_process: bool,
              plug_ins: Sequence[PlugIn]
              ) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The hub and the purchases belong to the event loop that serves, so each serving
        # loop gets its own (tests may run the app on several loops one after another).
        idle_hub, app.state.hub = app.state.hub, room.create_hub(settings.redis_url)
        # What other processes give back to a sale this one saw sold out reopens it here.
        app.state.sale_gate.listen(app.state.hub.broker)
        app.state.purchases = live_purchases(app)
        try:
            async with contextlib.AsyncExitStack() as running:
                await _start_background_work(app, settings, db, running)
                for plug_in in plug_ins:
                    await running.enter_async_context(plug_in(app))
                if serving_process:
                    await warm_routes(app)
                    freeze_startup_objects()
                    hand_over_sooner()
                yield
        finally:
            app.state.sale_gate.listen(None)
            app.state.hub = idle_hub

    return lifespan


async def _start_background_work(app: FastAPI, settings: Settings, db: Database,
                                 running: contextlib.AsyncExitStack) -> None:
    """What a serving event loop runs beside the requests, stopped in reverse order."""
    context: AppContext = app.state.context
    purchases: LivePurchases = app.state.purchases
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
    await running.enter_async_context(room.serving(app.state.hub))
    await running.enter_async_context(background(sales.end_expired_sales_forever(db)))
    # Flash-sale purchases are paid for after the tap is answered.
    await running.enter_async_context(background(purchases.settle_forever()))
    # RTMP ingest, browser publishing and the video supervisor (docs/video.md).
    app.state.video = VideoRuntime(settings, db)
    await app.state.video.start()
    running.push_async_callback(app.state.video.stop)


def _route(app: FastAPI) -> None:
    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for router in PAGE_ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.include_router(room_socket.router)
    app.include_router(video_ws.router)
    app.include_router(video_files.router)


def _add_middleware(app: FastAPI, settings: Settings) -> None:
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
    app.add_middleware(SoldOutLane, buy_path=API_PREFIX + live_api.BUY_PATH)
    app.add_middleware(SecurityHeaders)
