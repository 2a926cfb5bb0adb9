"""Domain events: handled after the commit, never after a rollback; durable ones through the
outbox, at least once."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from liveshop.accounts.orm import User
from liveshop.core.db import Database, utcnow
from liveshop.core.events import (
    MAX_ATTEMPTS,
    DomainEvent,
    EventBus,
    OutboxMessage,
    OutboxRelay,
    Undeliverable,
    record,
    retry_delay,
)


@dataclass(frozen=True)
class Renamed(DomainEvent):
    user_id: int
    name: str


@dataclass(frozen=True)
class Welcomed(DomainEvent):
    durable = True
    user_id: int
    lines: list[str]


@dataclass(frozen=True)
class Posted(DomainEvent):
    """A durable event of its own lane, as mail is."""

    durable = True
    lane = "post"
    user_id: int


@pytest.fixture
def bus(db: Database) -> EventBus:
    events = EventBus()
    db.after_commit = events
    return events


def _user(db: Database) -> int:
    with db.transaction() as session:
        user = User(email="ann@example.com", display_name="Ann", password_hash="-",
                    role="buyer")
        session.add(user)
        session.flush()
        return user.id


def _rename(db: Database, user_id: int, name: str, *, fail: bool = False) -> None:
    with db.transaction() as session:
        session.get_one(User, user_id).display_name = name
        record(session, Renamed(user_id, name))
        if fail:
            raise RuntimeError("the use case failed after recording")


def test_events_are_handled_after_the_commit_in_order(db: Database, bus: EventBus) -> None:
    user_id = _user(db)
    seen: list[tuple[str, str]] = []

    def handle(event: Renamed) -> None:
        # The change is committed: another session sees it.
        with db.read() as session:
            seen.append((event.name, session.get_one(User, event.user_id).display_name))

    bus.subscribe(Renamed, handle)
    with db.transaction() as session:
        session.get_one(User, user_id).display_name = "Bea"
        record(session, Renamed(user_id, "Bea"))
        record(session, Renamed(user_id, "Bea again"))
        assert seen == []  # nothing before the commit
    assert seen == [("Bea", "Bea"), ("Bea again", "Bea")]


def test_a_rolled_back_transaction_handles_nothing(db: Database, bus: EventBus) -> None:
    user_id = _user(db)
    seen: list[Renamed] = []
    bus.subscribe(Renamed, seen.append)
    with pytest.raises(RuntimeError):
        _rename(db, user_id, "Cy", fail=True)
    assert seen == []
    _rename(db, user_id, "Di")
    assert seen == [Renamed(user_id, "Di")]  # the failed one's event did not linger


def test_a_failing_handler_is_logged_and_the_others_still_run(
        db: Database, bus: EventBus, caplog: pytest.LogCaptureFixture) -> None:
    user_id = _user(db)
    seen: list[str] = []

    def broken(event: Renamed) -> None:
        raise ValueError("handler bug")

    bus.subscribe(Renamed, broken)
    bus.subscribe(Renamed, lambda event: seen.append(event.name))
    with caplog.at_level(logging.ERROR, logger="liveshop.events"):
        _rename(db, user_id, "Eve")
    assert seen == ["Eve"]
    assert "handling" in caplog.text and "handler bug" in caplog.text
    with db.read() as session:
        assert session.get_one(User, user_id).display_name == "Eve"


def _outbox(db: Database) -> list[OutboxMessage]:
    with db.read() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _welcome(db: Database, user_id: int, *, fail: bool = False) -> None:
    with db.transaction() as session:
        record(session, Welcomed(user_id, ["Hello", "and welcome"]))
        if fail:
            raise RuntimeError("rolled back")


def test_a_durable_event_is_stored_with_its_transaction_and_relayed(
        db: Database, bus: EventBus) -> None:
    user_id = _user(db)
    delivered: list[Welcomed] = []
    bus.subscribe(Welcomed, delivered.append)
    woken: list[bool] = []
    bus.durable_committed = lambda: woken.append(True)

    with pytest.raises(RuntimeError):
        _welcome(db, user_id, fail=True)
    assert _outbox(db) == [] and woken == []
    _welcome(db, user_id)
    assert delivered == []  # not handled in the committing thread: the relay delivers it
    assert woken == [True]
    [message] = _outbox(db)
    assert message.topic.endswith("Welcomed") and message.delivered_at is None

    relay = OutboxRelay(db.transaction, bus)
    assert relay.deliver_due() == 1
    assert delivered == [Welcomed(user_id, ["Hello", "and welcome"])]
    [message] = _outbox(db)
    assert message.delivered_at is not None and message.attempts == 1
    assert relay.deliver_due() == 0  # delivered once


def test_a_failing_durable_handler_is_retried_later_until_it_succeeds(
        db: Database, bus: EventBus) -> None:
    user_id = _user(db)
    outcomes = iter([ConnectionError("mail server down"), None])
    delivered: list[int] = []

    def send(event: Welcomed) -> None:
        failure = next(outcomes)
        if failure is not None:
            raise failure
        delivered.append(event.user_id)

    bus.subscribe(Welcomed, send)
    _welcome(db, user_id)
    relay = OutboxRelay(db.transaction, bus)
    before = utcnow()
    assert relay.deliver_due() == 0
    [message] = _outbox(db)
    assert message.delivered_at is None and message.attempts == 1
    assert message.last_error is not None and "mail server down" in message.last_error
    assert message.lease_until is not None
    assert message.lease_until >= before + retry_delay(1)
    assert relay.deliver_due() == 0  # not due yet
    with db.transaction() as session:  # time passes
        session.execute(update(OutboxMessage).values(lease_until=utcnow()))
    assert relay.deliver_due() == 1
    assert delivered == [user_id]


def test_a_message_held_by_a_process_that_died_is_delivered_when_its_lease_ends(
        db: Database, bus: EventBus) -> None:
    user_id = _user(db)
    delivered: list[int] = []
    bus.subscribe(Welcomed, lambda event: delivered.append(event.user_id))
    _welcome(db, user_id)
    with db.transaction() as session:  # another process took it, then died
        session.execute(update(OutboxMessage).values(
            lease_until=utcnow() + timedelta(seconds=60), attempts=1))
    relay = OutboxRelay(db.transaction, bus)
    assert relay.deliver_due() == 0
    with db.transaction() as session:
        session.execute(update(OutboxMessage).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert relay.deliver_due() == 1
    assert delivered == [user_id]
    assert _outbox(db)[0].attempts == 2


def test_relays_racing_deliver_each_message_once(db: Database, bus: EventBus) -> None:
    user_id = _user(db)
    delivered: list[int] = []
    lock = threading.Lock()

    def send(event: Welcomed) -> None:
        with lock:
            delivered.append(event.user_id)

    bus.subscribe(Welcomed, send)
    for _ in range(20):
        _welcome(db, user_id)
    relays = [OutboxRelay(db.transaction, bus) for _ in range(4)]
    threads = [threading.Thread(target=relay.deliver_due) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(delivered) == 20
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.delivered_at.is_(None))) == 0


def test_the_running_relay_delivers_right_after_the_commit(db: Database, bus: EventBus) -> None:
    user_id = _user(db)
    relay = OutboxRelay(db.transaction, bus)
    relay.SWEEP_SECONDS = 60.0  # only the wake-up can deliver within the test

    async def scenario() -> list[Any]:
        delivered: list[Any] = []
        arrived = asyncio.Event()
        loop = asyncio.get_running_loop()

        def send(event: Welcomed) -> None:
            delivered.append(event.user_id)
            loop.call_soon_threadsafe(arrived.set)

        bus.subscribe(Welcomed, send)
        running = asyncio.create_task(relay.run())
        await asyncio.sleep(0.05)  # the relay is waiting
        await asyncio.to_thread(_welcome, db, user_id)
        await asyncio.wait_for(arrived.wait(), 5)
        running.cancel()
        return delivered

    assert asyncio.run(scenario()) == [user_id]


def test_retries_back_off_up_to_a_ceiling() -> None:
    assert retry_delay(1) == timedelta(seconds=5)
    assert retry_delay(2) == timedelta(seconds=10)
    assert retry_delay(4) == timedelta(seconds=40)
    assert retry_delay(30) == timedelta(minutes=30)


def test_a_durable_event_can_also_be_heard_right_after_the_commit(
        db: Database, bus: EventBus) -> None:
    user_id = _user(db)
    at_once: list[int] = []
    relayed: list[int] = []
    bus.subscribe_at_commit(Welcomed, lambda event: at_once.append(event.user_id))
    bus.subscribe(Welcomed, lambda event: relayed.append(event.user_id))
    _welcome(db, user_id)
    assert (at_once, relayed) == ([user_id], [])  # the room hears it; the mail waits
    assert OutboxRelay(db.transaction, bus).deliver_due() == 1
    assert (at_once, relayed) == ([user_id], [user_id])  # each once
    with pytest.raises(RuntimeError):
        _welcome(db, user_id, fail=True)
    assert at_once == [user_id]


def test_a_starting_relay_delivers_what_was_left_before_it_waits(
        db: Database, bus: EventBus) -> None:
    user_id = _user(db)
    _welcome(db, user_id)  # committed while no relay ran (a seed, a process that died)
    relay = OutboxRelay(db.transaction, bus)
    relay.SWEEP_SECONDS = 60.0  # no sweep within the test: only the start can deliver

    async def scenario() -> list[int]:
        delivered: list[int] = []
        arrived = asyncio.Event()
        loop = asyncio.get_running_loop()

        def send(event: Welcomed) -> None:
            delivered.append(event.user_id)
            loop.call_soon_threadsafe(arrived.set)

        bus.subscribe(Welcomed, send)
        running = asyncio.create_task(relay.run())
        await asyncio.wait_for(arrived.wait(), 5)
        running.cancel()
        return delivered

    assert asyncio.run(scenario()) == [user_id]


def test_a_handler_that_says_retrying_cannot_help_is_given_up_at_once(
        db: Database, bus: EventBus) -> None:
    user_id = _user(db)
    tried: list[int] = []

    def refuse(event: Welcomed) -> None:
        tried.append(event.user_id)
        raise Undeliverable("550 no such mailbox")

    bus.subscribe(Welcomed, refuse)
    _welcome(db, user_id)
    relay = OutboxRelay(db.transaction, bus)
    assert relay.deliver_due() == 0
    with db.transaction() as session:  # however long one waits
        session.execute(update(OutboxMessage).values(lease_until=utcnow()))
    assert relay.deliver_due() == 0
    [message] = _outbox(db)
    assert tried == [user_id] and message.attempts == 1
    assert message.gave_up_at is not None and message.delivered_at is None
    assert message.last_error is not None and "550 no such mailbox" in message.last_error


def test_a_message_failing_every_attempt_is_given_up_after_the_last(
        db: Database, bus: EventBus) -> None:
    user_id = _user(db)
    tries: list[int] = []

    def fail(event: Welcomed) -> None:
        tries.append(event.user_id)
        raise ConnectionError("still down")

    bus.subscribe(Welcomed, fail)
    _welcome(db, user_id)
    with db.transaction() as session:  # it has been retried for hours
        session.execute(update(OutboxMessage).values(attempts=MAX_ATTEMPTS - 2))
    relay = OutboxRelay(db.transaction, bus)
    for _ in range(3):
        relay.deliver_due()
        with db.transaction() as session:
            session.execute(update(OutboxMessage).values(lease_until=utcnow()))
    [message] = _outbox(db)
    assert len(tries) == 2 and message.attempts == MAX_ATTEMPTS
    assert message.gave_up_at is not None


def test_a_slow_lane_delays_only_its_own_messages(db: Database, bus: EventBus) -> None:
    """A mail server taking its time (here: until the test lets it go) does not hold up
    the order events queued behind the mail."""
    user_id = _user(db)
    release = threading.Event()
    relay = OutboxRelay(db.transaction, bus)
    relay.SWEEP_SECONDS = 60.0

    async def scenario() -> list[str]:
        heard: list[str] = []
        arrived = asyncio.Event()
        loop = asyncio.get_running_loop()

        def slow_post(event: Posted) -> None:
            release.wait(10)
            heard.append("posted")

        def welcome(event: Welcomed) -> None:
            heard.append("welcomed")
            loop.call_soon_threadsafe(arrived.set)

        bus.subscribe(Posted, slow_post)
        bus.subscribe(Welcomed, welcome)
        with db.transaction() as session:  # the slow one first
            record(session, Posted(user_id))
        _welcome(db, user_id)
        running = asyncio.create_task(relay.run())
        try:
            await asyncio.wait_for(arrived.wait(), 5)
        finally:
            release.set()
            running.cancel()
        return heard

    assert asyncio.run(scenario())[0] == "welcomed"
    with db.read() as session:
        lanes = {topic: lane for topic, lane in session.execute(
            select(OutboxMessage.topic, OutboxMessage.lane))}
    assert lanes == {Posted.topic: "post", Welcomed.topic: "events"}
