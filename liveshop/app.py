"""The composition root: builds the app's services once and the FastAPI application on them
(routers of every domain, sessions, static files, errors, background work).

The top of the house: it may import every package, and none imports it but the entry
points (liveshop/main.py, the CLI) and the demo, which plugs in here (``plug_ins``)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
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
from liveshop.core.collector import settle_for_serving
from liveshop.core.config import Settings, check_secret_key, get_settings
from liveshop.core.db import Database
from liveshop.core.gil import hand_over_sooner
from liveshop.core.mail import mailer_for
from liveshop.core.ratelimit import MemoryRateLimiter, RedisRateLimiter
from liveshop.live import api as live_api
from liveshop.live import pages as live_pages
from liveshop.live import runtime as live_runtime
from liveshop.live import sales
from liveshop.live import ws as live_ws
from liveshop.live.admission import SocketAllowance
from liveshop.live.claim_queue import ClaimQueue
from liveshop.live.runtime import create_hub
from liveshop.live.sales import SoldOutGate
from liveshop.live.settlement import Settlements
from liveshop.live.sold_out_lane import SoldOutLane
from liveshop.live.video_link import connect as connect_video_link
from liveshop.markets import api as markets_api
from liveshop.orders import api as orders_api
from liveshop.orders import pages as orders_pages
from liveshop.payments.provider import TestPaymentProvider
from liveshop.storefront import pages as storefront_pages
from liveshop.video import api as video_api
from liveshop.video import files as video_files
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
PURCHASES_AT_ONCE = 4
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


def claim_queue(app: FastAPI) -> ClaimQueue:
    context: AppContext = app.state.context
    claiming = (context.db, app.state.hub.events, app.state.sale_gate)
    return ClaimQueue(functools.partial(sales.claim_batches, *claiming),
                      functools.partial(sales.claim_tap, *claiming), app.state.sale_gate)


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

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The hub belongs to the event loop that serves the sockets, so each serving
        # loop gets its own (tests may run the app on several loops one after another).
        idle_hub, app.state.hub = app.state.hub, create_hub(settings.redis_url)
        # What other processes give back to a sale this one saw sold out reopens it here.
        app.state.sale_gate.listen(app.state.hub.broker)
        app.state.claims = claim_queue(app)  # this loop's
        app.state.purchase_slots = asyncio.Semaphore(PURCHASES_AT_ONCE)
        try:
            async with contextlib.AsyncExitStack() as running:
                running.push_async_callback(app.state.context.limiter.aclose)
                await app.state.context.limiter.warm()
                await run_in_threadpool(db.warm)
                running.push_async_callback(app.state.claims.aclose)
                await running.enter_async_context(background(every(
                    EXPIRY_SWEEP_SECONDS, lambda: expire_stale_checkouts(db),
                    "expiring stale checkouts")))
                token_use, session_use = (app.state.context.token_use,
                                          app.state.context.session_use)

                def stamp_use() -> None:
                    token_use.write(db)
                    session_use.write(db)

                await running.enter_async_context(background(every(
                    TOKEN_USE_WRITE_SECONDS, stamp_use, "stamping token and session use")))
                running.push_async_callback(run_logged, stamp_use,
                                            "stamping token and session use")
                await running.enter_async_context(live_runtime.running(app.state.hub, db))
                app.state.settlements = Settlements()  # this loop's
                await running.enter_async_context(background(app.state.settlements.run(
                    db, app.state.context.payments, settings, app.state.hub.events,
                    app.state.sale_gate)))
                # RTMP ingest, browser publishing and the video supervisor (docs/video.md).
                app.state.video = VideoRuntime(settings, db, app.state.hub.events)
                await app.state.video.start()
                running.push_async_callback(app.state.video.stop)
                for plug_in in plug_ins:
                    await running.enter_async_context(plug_in(app))
                if serving_process:
                    await warm_routes(app)
                    settle_for_serving()
                    hand_over_sooner()
                yield
        finally:
            app.state.sale_gate.listen(None)
            app.state.hub = idle_hub

    app = FastAPI(
        lifespan=lifespan,
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
    app.state.hub = create_hub()
    app.state.sale_gate = SoldOutGate()
    app.state.socket_allowance = SocketAllowance(settings.room_sockets_per_ip,
                                                 settings.room_sockets_per_user)
    # Flash-sale purchases are paid for after the tap is answered (liveshop/live/settlement.py).
    app.state.settlements = Settlements()
    # Taps claim in batches (liveshop/live/claim_queue.py). Purchases paid at once (regular
    # prices) run a few at a time per process: buyers of one item queue for its stock row,
    # locked from an UPDATE to the commit, and with many threads competing for the GIL each
    # holder is slow to reach its commit and the queue crawls. The waiting taps hold no
    # thread (docs/benchmarks.md, flash sale).
    app.state.claims = claim_queue(app)
    app.state.purchase_slots = asyncio.Semaphore(PURCHASES_AT_ONCE)

    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for router in PAGE_ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.include_router(live_ws.router)
    app.include_router(video_ws.router)
    app.include_router(video_files.router)

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

    settings.media_dir.mkdir(parents=True, exist_ok=True)
    # Browser libraries come from the npm registry (`npm ci`), never copied into the repo.
    app.mount("/static/vendor/hls.js", StaticFiles(directory=HLS_JS_DIR, check_dir=False),
              name="hls.js")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/media", StaticFiles(directory=settings.media_dir), name="media")
    return app
