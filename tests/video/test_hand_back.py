"""A creator the shop removes stops publishing at once: their show gets a new stream key,
the publisher streaming with the old one is cut off, and the shop publishes with the new."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from liveshop.accounts.model import Actor, Role
from liveshop.accounts.orm import User
from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.core.errors import Forbidden
from liveshop.live.orm import Show
from liveshop.video import service
from liveshop.video.model import Publisher, StreamState
from liveshop.video.orm import VideoStream
from liveshop.video.runtime import VideoRuntime
from tests.conftest import run_async
from tests.factories import VariantSpec, create_product, create_shop
from tests.live.conftest import Person
from tests.video.conftest import Publishers


def _stream(db: Database, show_id: int) -> VideoStream:
    with db.read() as session:
        stream = session.get_one(VideoStream, show_id)
        session.expunge(stream)
        return stream


def test_the_creators_publisher_is_cut_off_and_the_shop_publishes_with_the_new_key(
        db: Database, people: Callable[..., Person], publishers: Publishers,
        settings: Settings) -> None:
    owner, creator = people("seller", "Sam Seller"), people("creator", "Cleo")
    shop_id = create_shop(db, owner.id, {"UK": 399})
    product_id, _ = create_product(db, shop_id, [VariantSpec(prices={"UK": 1000})])
    assert owner.http.put(f"/api/v1/shops/{shop_id}/creators/{creator.id}",
                          json={"commission_percent": 10}).status_code == 200
    show_id = creator.http.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Cleo live", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(minutes=5)).isoformat(),
        "product_ids": [product_id]}).json()["id"]
    old_key = creator.http.get(f"/api/v1/shows/{show_id}/stream").json()["stream_key"]
    room = people().join(show_id)
    rtmp = f"rtmp://127.0.0.1:{settings.rtmp_port}/live/"
    streaming = publishers.start(rtmp + old_key)
    assert room.next("video", timeout=15)["state"] == "live"

    removed = owner.http.delete(f"/api/v1/shops/{shop_id}/creators/{creator.id}")
    assert removed.status_code == 200, removed.text
    assert room.next("host")["host_name"] == "Sam Seller"
    assert room.next("video", timeout=5)["state"] == "reconnecting"
    # The ingest process's supervisor disconnects the publisher (within about a second).
    assert streaming.wait(timeout=15) is not None
    assert publishers.start(rtmp + old_key).wait(timeout=15) != 0  # the old key is dead
    assert creator.http.get(f"/api/v1/shows/{show_id}/stream").status_code == 403

    new_key = owner.http.get(f"/api/v1/shows/{show_id}/stream").json()["stream_key"]
    assert new_key != old_key
    publishers.start(rtmp + new_key)
    assert room.next("video", timeout=15)["state"] == "live"
    assert owner.http.get(f"/api/v1/shows/{show_id}").json()["status"] == "live"


def _user(db: Database, role: Role, name: str) -> Actor:
    with db.transaction() as session:
        user = User(email=f"{name.lower()}@video.test", display_name=name, password_hash="-",
                    role=role.value)
        session.add(user)
        session.flush()
        return Actor(user.id, role, name)


def _live_show(db: Database, host: Actor | None = None) -> tuple[int, str]:
    """A live show of a seller's shop, hosted by ``host`` (the owner by default), with a
    stream key and nobody publishing."""
    owner = _user(db, Role.SELLER, "Owner")
    shop_id = create_shop(db, owner.user_id)
    key = "old-" + "k" * 28
    with db.transaction() as session:
        show = Show(shop_id=shop_id, host_id=(host or owner).user_id, title="On air",
                    markets=",UK,", status="live", scheduled_at=utcnow(), started_at=utcnow())
        session.add(show)
        session.flush()
        session.add(VideoStream(show_id=show.id, stream_key=key, state=StreamState.IDLE))
        return show.id, key


def _revoke(db: Database, show_id: int) -> str:
    with db.transaction() as session:
        assert service.revoke_publishing(session, [show_id]) == [show_id]
        stream = session.get_one(VideoStream, show_id)
        return stream.stream_key


def test_a_publisher_cut_off_in_the_database_goes_before_the_next_one_publishes(
        db: Database, settings: Settings) -> None:
    show_id, old_key = _live_show(db)

    async def scenario() -> dict[str, Any]:
        runtime = VideoRuntime(settings, db)
        cut = await runtime.accept(Publisher.RTMP, key=old_key)
        new_key = _revoke(db, show_id)
        # The shop publishes before the supervisor came round: the old session goes first,
        # and its going does not mark the new publisher dropped.
        taking_over = await runtime.accept(Publisher.RTMP, key=new_key)
        seen = {"cut": (cut.kick.is_set(), cut.closed.is_set()),
                "current": runtime.sessions.get(show_id) is taking_over,
                "state": _stream(db, show_id).state}
        # Cut off again, the supervisor finds the session the database no longer has live.
        _revoke(db, show_id)
        await runtime.supervise_once()
        seen["after supervisor"] = (taking_over.kick.is_set(), show_id in runtime.sessions,
                                    _stream(db, show_id).state)
        return seen

    seen = run_async(scenario())
    assert seen == {"cut": (True, True), "current": True, "state": StreamState.LIVE,
                    "after supervisor": (True, False, StreamState.RECONNECTING)}


def test_a_host_without_the_shops_grant_cannot_publish_from_the_browser(
        db: Database) -> None:
    # E.g. a creator the shop removed before shows were handed back on removal.
    creator = _user(db, Role.CREATOR, "Cleo")
    show_id, _ = _live_show(db, host=creator)
    with pytest.raises(Forbidden):
        service.begin_publish(db, Publisher.BROWSER, show_id=show_id, actor=creator)
    assert _stream(db, show_id).state == StreamState.IDLE
