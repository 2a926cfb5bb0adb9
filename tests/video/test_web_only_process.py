"""A web-only process (LIVESHOP_VIDEO_INGEST=false) of a multi-process deployment leaves
the ingest process's streams alone and sends publishers to the ingest process."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from liveshop.app import create_app
from liveshop.core.db import Database, utcnow
from liveshop.live.orm import Show
from liveshop.video.orm import VideoStream
from tests.factories import create_shop


@pytest.fixture
def live_stream(db: Database, make_user: Any) -> tuple[Any, int]:
    host = make_user("seller")
    shop_id = create_shop(db, host.id)
    with db.transaction() as session:
        show = Show(shop_id=shop_id, host_id=host.id, title="On air", markets=",UK,",
                    status="live", scheduled_at=utcnow(), started_at=utcnow())
        session.add(show)
        session.flush()
        session.add(VideoStream(show_id=show.id, stream_key="k" * 32, state="live",
                                publisher="rtmp", connected_at=utcnow(),
                                recording_started_at=utcnow() - timedelta(minutes=1)))
        return host, show.id


def test_starting_a_web_process_does_not_touch_live_streams(
    settings: Any, db: Database, live_stream: tuple[Any, int]
) -> None:
    host, show_id = live_stream
    web = create_app(settings.model_copy(update={"video_ingest": False}), db)
    with TestClient(web):
        with db.read() as session:
            stream = session.get(VideoStream, show_id)
            assert stream is not None and (stream.state, stream.publisher) == ("live", "rtmp")
        with TestClient(web, cookies=dict(host.http.cookies)) as client, \
                client.websocket_connect(f"/ws/shows/{show_id}/publish") as socket:
            assert json.loads(socket.receive_text())["code"] == "not_ingest"
            with pytest.raises(WebSocketDisconnect) as closed:
                socket.receive_text()
        assert closed.value.code == 4503
