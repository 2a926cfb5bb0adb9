"""The app's services, built in one place and handed to routes, sockets and background work
typed (the composition root's half that builds objects; liveshop/app.py builds the FastAPI
application on them).

Two lifetimes. What lives as long as the app is built with it, once: the web kit's context
(settings, database, rate limiter, payment provider, mailer, token look-ups), the sold-out
gate, the socket allowance, the event bus and its outbox relay. What belongs to the event
loop serving the app is built by the app's lifespan, once per serving loop (tests serve one
app on several loops, one after another): the room hub (on Redis when configured), the live
purchases (their batches of taps and settlement queue) and the video runtime. An app used
without being started (a test client outside ``with``) gets in-process ones, built on its
first request.

Routes and sockets reach them through FastAPI dependencies: ``services_of`` in
liveshop/web/deps.py reads them off the app, and each package's providers take what they
need under a protocol of their own, which mypy checks ``Services`` satisfies (below).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from liveshop.core.config import Settings
from liveshop.core.db import Database
from liveshop.core.events import EventBus, OutboxRelay
from liveshop.core.mail import mailer_for
from liveshop.core.ratelimit import MemoryRateLimiter, RedisRateLimiter
from liveshop.feed.ingest import EventWriter
from liveshop.feed.service import FeedState
from liveshop.live import room
from liveshop.live.admission import SocketAllowance
from liveshop.live.purchases import LivePurchases
from liveshop.live.room import Hub
from liveshop.live.sold_out import SoldOutGate
from liveshop.payments.provider import TestPaymentProvider
from liveshop.video.runtime import VideoRuntime
from liveshop.web.context import AppContext

if TYPE_CHECKING:
    from fastapi import FastAPI

    from liveshop.feed.deps import FeedServices
    from liveshop.live.deps import LiveServices
    from liveshop.video.ws import PublishingServices
    from liveshop.web.deps import WebServices


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the app's routes, sockets and background work use, for one event loop."""

    # The app's own (shared by every loop's Services).
    context: AppContext
    sale_gate: SoldOutGate
    socket_allowance: SocketAllowance
    # Delivers the durable domain events (notices, mails) to their handlers.
    outbox: OutboxRelay
    # The feed's event writer, popularity and kept rankings (one per process).
    feed: FeedState
    # This event loop's.
    hub: Hub
    purchases: LivePurchases  # flash-sale taps and the settlement worker
    video: VideoRuntime

    @property
    def settings(self) -> Settings:
        return self.context.settings

    @property
    def db(self) -> Database:
        return self.context.db


if TYPE_CHECKING:
    # Services gives each package what its dependency providers take from it.
    _web: type[WebServices] = Services
    _live: type[LiveServices] = Services
    _feed: type[FeedServices] = Services
    _video: type[PublishingServices] = Services


class AppServices:
    """One app's services: built with the app, found on it as ``app.state.services``.

    :meth:`current` is what a request gets: the serving event loop's :class:`Services`,
    or, for an app used without being started, in-process ones built on first use."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.context = AppContext(
            settings=settings, db=db,
            limiter=RedisRateLimiter(settings.redis_url) if settings.redis_url
            else MemoryRateLimiter(),
            payments=TestPaymentProvider(settings.test_provider_url or None),
            mailer=mailer_for(settings),
        )
        self.sale_gate = SoldOutGate()
        # The app's domain events: handlers subscribed by the composition root (app.py).
        self.events = EventBus()
        self.outbox = OutboxRelay(db.transaction, self.events)
        self.feed = FeedState(EventWriter(db, capacity=settings.feed_event_queue))
        self.socket_allowance = SocketAllowance(settings.room_sockets_per_ip,
                                                settings.room_sockets_per_user)
        self._serving: Services | None = None
        self._unstarted: Services | None = None
        self._lock = threading.Lock()

    def current(self) -> Services:
        serving = self._serving
        if serving is not None:
            return serving
        # Test clients outside ``with`` each run requests on event loops of their own.
        with self._lock:
            if self._unstarted is None:
                # No loop serves the app: room events have no sockets to reach.
                self._unstarted = self._for_loop(room.create_hub())
            return self._unstarted

    @contextlib.contextmanager
    def serving(self) -> Iterator[Services]:
        """The running event loop's services, what every request gets until the block ends
        (the app's lifespan, which starts and stops them)."""
        services = self._for_loop(room.create_hub(self.context.settings.redis_url))
        # What other processes give back to a sale this one saw sold out reopens it here.
        self.sale_gate.listen(services.hub.broker)
        self._serving = services
        try:
            yield services
        finally:
            self._serving = None
            self.sale_gate.listen(None)

    def _for_loop(self, hub: Hub) -> Services:
        context = self.context
        return Services(
            context=context, sale_gate=self.sale_gate, socket_allowance=self.socket_allowance,
            outbox=self.outbox, feed=self.feed, hub=hub,
            purchases=LivePurchases(context.db, context.settings, context.payments,
                                    context.limiter, self.sale_gate),
            video=VideoRuntime(context.settings, context.db))


def app_services(app: FastAPI) -> Services:
    """The services requests to ``app`` get now (for the tests and tools that hold an app)."""
    services: AppServices = app.state.services
    return services.current()
