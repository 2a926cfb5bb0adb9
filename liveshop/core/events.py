"""Domain events: a use case records what happened inside its transaction; handlers run
only after the commit.

- ``record(session, event)`` inside ``db.transaction()`` adds the event to that unit of
  work. A rolled-back transaction's events are dropped with it, so no handler ever acts on a
  change that did not happen (Zulip's ``send_event_on_commit``, Saleor's ``on_commit``).
- After the commit, ``Database`` hands them to its :class:`EventBus`, which calls every
  handler subscribed to the event's type, in the committing thread, in recording order.
  Such handlers must be quick and must not fail the use case: a handler that raises is
  logged and the others still run. Room broadcasts are handled this way.
- An event whose class is ``durable`` must not be lost (mail, and later ledger postings or
  pushes to Shopify): it is also written to the ``outbox`` table in the same transaction,
  and :class:`OutboxRelay` delivers it to its handlers at least once, retrying with backoff
  until they succeed, even across a crash between the commit and the delivery. Its
  handlers must therefore be idempotent. A handler that must hear a durable event at once
  and may miss it (a room broadcast of an order paid) uses ``subscribe_at_commit``.
- Durable events travel in lanes (``DomainEvent.lane``): each lane is relayed on its own, so
  a slow mail server delays mail and nothing else. A message whose handler says retrying
  cannot help (:class:`Undeliverable`), or that failed ``MAX_ATTEMPTS`` times, is given up
  (``gave_up_at``, with its last error) instead of retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from sqlalchemy import JSON, Integer, String, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from liveshop.core.db import PENDING_EVENTS, Base, UTCDateTime, rows_affected, utcnow

log = logging.getLogger("liveshop.events")


class DomainEvent:
    """Base of every domain event: a frozen dataclass naming what happened, in the past
    tense. Its fields are plain JSON values (ids, strings, numbers, lists, dicts)."""

    # Delivered through the outbox, at least once, instead of right after the commit.
    durable: ClassVar[bool] = False
    # The outbox lane a durable event is relayed in (see the module's docstring).
    lane: ClassVar[str] = "events"
    topic: ClassVar[str]
    _topics: ClassVar[dict[str, type[DomainEvent]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.topic = f"{cls.__module__}.{cls.__qualname__}"
        DomainEvent._topics[cls.topic] = cls

    @classmethod
    def of_topic(cls, topic: str, payload: dict[str, Any]) -> DomainEvent:
        return cls._topics[topic](**payload)


E = TypeVar("E", bound=DomainEvent)


class OutboxMessage(Base):
    """A durable event waiting to be (or already) delivered to its handlers."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(200))
    payload: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Held by a relay until then (or to be retried from then on, after a failure).
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True,
                                                          index=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    lane: Mapped[str] = mapped_column(String(20), default="events", server_default="events")
    # Not retried any more: its handler said it never can succeed, or it failed too often.
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Undeliverable(Exception):
    """Raised by a durable event's handler when trying again cannot help (a mail server's
    permanent 5xx refusal): the relay gives the message up instead of retrying it."""


def record(session: Session, event: DomainEvent) -> None:
    """Record ``event`` in the session's transaction: handled once it commits."""
    if not dataclasses.is_dataclass(event):
        raise TypeError(f"{type(event).__name__} must be a dataclass")
    session.info.setdefault(PENDING_EVENTS, []).append(event)
    if event.durable:
        session.add(OutboxMessage(topic=event.topic, lane=event.lane,
                                  payload=dataclasses.asdict(event)))


Handler = Callable[[Any], None]


class EventBus:
    """Who handles which event. Handlers are subscribed once, by the composition root (or
    a test), before traffic; handling goes on from any thread."""

    def __init__(self) -> None:
        # Each type's handlers are replaced whole under the lock and read without it (a
        # dict read is atomic): every claim of a flash sale is handled here.
        self._handlers: dict[type[DomainEvent], tuple[Handler, ...]] = {}
        # Called right after the commit even when the event is durable (and delivered to
        # ``_handlers`` by the relay).
        self._at_commit: dict[type[DomainEvent], tuple[Handler, ...]] = {}
        self._lock = threading.Lock()
        # Told that durable events were committed (the relay wakes up); thread-safe.
        self.durable_committed: Callable[[], None] = lambda: None

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """``handler`` hears every committed ``event_type``: right after the commit, or,
        for a durable event, through the outbox (at least once)."""
        with self._lock:
            self._handlers[event_type] = (*self._handlers.get(event_type, ()), handler)

    def subscribe_at_commit(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """``handler`` hears ``event_type`` right after the commit, in the committing
        thread, even when the event is durable: for quick handlers that must not wait for
        the relay and may miss an event (a crash between the commit and the call)."""
        with self._lock:
            if event_type.durable:
                self._at_commit[event_type] = (*self._at_commit.get(event_type, ()), handler)
            else:
                self._handlers[event_type] = (*self._handlers.get(event_type, ()), handler)

    def handlers(self, event_type: type[DomainEvent]) -> tuple[Handler, ...]:
        return self._handlers.get(event_type, ())

    def committed(self, events: Iterable[DomainEvent]) -> None:  # Database's AfterCommit
        """Handle what a transaction recorded, now that it committed."""
        durable = False
        for event in events:
            if event.durable:
                durable = True
                handlers = self._at_commit.get(type(event), ())
            else:
                handlers = self.handlers(type(event))
            for handler in handlers:
                try:
                    handler(event)
                except Exception:
                    log.exception("handling %s failed", event.topic)
        if durable:
            self.durable_committed()


# A durable event's handlers are retried after this long, doubling, up to the maximum.
FIRST_RETRY = timedelta(seconds=5)
LAST_RETRY = timedelta(minutes=30)


# After this many failed attempts (about eight hours of retries) a message is given up.
MAX_ATTEMPTS = 25


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(0, attempts - 1), LAST_RETRY)


class OutboxRelay:
    """Delivers durable events from the outbox to their handlers: right after the commit
    that wrote them (the bus wakes it), and by a sweep for those another process left
    (it died, or a handler failed and waits for its retry). Each lane runs on its own.

    A message is leased to one relay while its handlers run; the lease (five minutes) must
    outlast any handler (the SMTP timeout is 30 s), or another relay would deliver it too."""

    SWEEP_SECONDS = 5.0
    BATCH = 50

    def __init__(self, db_transaction: Callable[[], contextlib.AbstractContextManager[Session]],
                 bus: EventBus, lease: timedelta = timedelta(minutes=5)) -> None:
        self._transaction, self._bus, self._lease = db_transaction, bus, lease
        self._wakes: list[asyncio.Event] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def deliver_due(self, lane: str | None = None) -> int:
        """Deliver what is due now in ``lane`` (every lane: None), one message at a time;
        how many were delivered."""
        delivered = 0
        while (message := self._take_next(lane)) is not None:
            delivered += self._deliver(message)
        return delivered

    def _take_next(self, lane: str | None) -> OutboxMessage | None:
        with self._transaction() as session:
            while True:
                now = utcnow()
                due = or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
                waiting = [OutboxMessage.delivered_at.is_(None),
                           OutboxMessage.gave_up_at.is_(None), due]
                if lane is not None:
                    waiting.append(OutboxMessage.lane == lane)
                message_id = session.scalar(
                    select(OutboxMessage.id).where(*waiting)
                    .order_by(OutboxMessage.id).limit(1))
                if message_id is None:
                    return None
                taken = rows_affected(session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id, OutboxMessage.delivered_at.is_(None),
                           due)
                    .values(lease_until=now + self._lease, attempts=OutboxMessage.attempts + 1)))
                if taken == 1:
                    message = session.get_one(OutboxMessage, message_id)
                    session.expunge(message)
                    return message

    def _deliver(self, message: OutboxMessage) -> int:
        try:
            event = DomainEvent.of_topic(message.topic, dict(message.payload))
            for handler in self._bus.handlers(type(event)):
                handler(event)
        except Exception as error:
            last_error = repr(error)[:500]
            if isinstance(error, Undeliverable) or message.attempts >= MAX_ATTEMPTS:
                log.error("delivering %s (outbox %s, attempt %d) failed; given up: %s",
                          message.topic, message.id, message.attempts, last_error)
                self._finish(message.id, gave_up_at=utcnow(), lease_until=None,
                             last_error=last_error)
                return 0
            log.exception("delivering %s (outbox %s, attempt %d) failed; will retry",
                          message.topic, message.id, message.attempts)
            self._finish(message.id, lease_until=utcnow() + retry_delay(message.attempts),
                         last_error=last_error)
            return 0
        self._finish(message.id, delivered_at=utcnow(), lease_until=None)
        return 1

    def _finish(self, message_id: int, **values: Any) -> None:
        with self._transaction() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                            .values(**values))

    def wake(self) -> None:
        """From any thread: durable events were committed."""
        if self._loop is not None:
            for wake in self._wakes:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    self._loop.call_soon_threadsafe(wake.set)

    async def run(self) -> None:
        """Deliver every lane until cancelled (the app's lifespan runs this)."""
        lanes = sorted({DomainEvent.lane, *(event.lane for event in
                                            DomainEvent._topics.values() if event.durable)})
        self._loop, self._wakes = asyncio.get_running_loop(), [asyncio.Event() for _ in lanes]
        self._bus.durable_committed = self.wake
        try:
            await asyncio.gather(*(self._run_lane(lane, wake)
                                   for lane, wake in zip(lanes, self._wakes, strict=True)))
        finally:
            self._bus.durable_committed = lambda: None
            self._loop, self._wakes = None, []

    async def _run_lane(self, lane: str, wake: asyncio.Event) -> None:
        while True:
            # First what is due already: what a stopped process (or a seed) left.
            wake.clear()
            try:
                await asyncio.to_thread(self.deliver_due, lane)
            except Exception:  # e.g. the database restarting: the next sweep tries again
                log.exception("relaying outbox messages (%s) failed", lane)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.SWEEP_SECONDS)
