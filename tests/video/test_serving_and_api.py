"""HLS file serving (headers, names), the host's stream API, snapshot and retention."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from liveshop.live.orm import Show
from liveshop.services import app_services
from liveshop.video import service
from liveshop.video.orm import VideoStream
from tests.factories import create_shop

PLAYLIST = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\ns0.ts\n"


def _show(make_user: Any, db: Database) -> tuple[Any, int]:
    host = make_user("seller")
    shop_id = create_shop(db, host.id, {"UK": 399})
    created = host.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Files", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(hours=1)).isoformat()})
    assert created.status_code == 201, created.text
    return host, created.json()["id"]


def _write(settings: Settings, show_id: int, relative: str, content: bytes) -> Path:
    path = settings.media_dir / "video" / str(show_id) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_files_are_served_with_their_cache_headers(client: Any, settings: Settings) -> None:
    _write(settings, 7, "live/index.m3u8", PLAYLIST.encode())
    _write(settings, 7, "live/s0.ts", b"\x47" * 188)
    _write(settings, 7, "recording/index.m3u8", PLAYLIST.encode())
    _write(settings, 7, "poster.jpg", b"\xff\xd8\xff\xe0jpeg")

    playlist = client.get("/video/7/live/index.m3u8")
    assert playlist.status_code == 200 and playlist.text == PLAYLIST
    assert playlist.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert playlist.headers["cache-control"] == "no-cache"
    segment = client.get("/video/7/live/s0.ts")
    assert segment.headers["content-type"] == "video/mp2t"
    assert segment.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get("/video/7/recording/index.m3u8").headers["cache-control"] == "no-cache"
    _write(settings, 7, "recording/index.m3u8", (PLAYLIST + "#EXT-X-ENDLIST\n").encode())
    assert client.get("/video/7/recording/index.m3u8").headers["cache-control"] == (
        "public, max-age=60")
    poster = client.get("/video/7/poster.jpg")
    assert poster.headers["content-type"] == "image/jpeg"
    assert poster.headers["cache-control"] == "public, max-age=5"


@pytest.mark.parametrize("path", [
    "/video/7/live/..%2F..%2F..%2Ftest.db", "/video/7/live/%2e%2e%2fposter.jpg",
    "/video/7/live/ffmpeg.log", "/video/7/live/index.m3u8.tmp", "/video/7/other/index.m3u8",
    "/video/7/live/poster.jpg", "/video/7/live/%2e%2e", "/video/x/live/index.m3u8",
    "/video/7/live/.hidden.ts", "/video/7/live/a.b.ts",
])
def test_nothing_outside_the_hls_files_is_reachable(client: Any, settings: Settings,
                                                   path: str) -> None:
    _write(settings, 7, "live/index.m3u8", PLAYLIST.encode())
    _write(settings, 7, "live/ffmpeg.log", b"secret")
    _write(settings, 7, "poster.jpg", b"\xff\xd8")
    response = client.get(path)
    assert response.status_code in (404, 422)
    assert b"secret" not in response.content and b"EXTM3U" not in response.content


def test_stream_api_is_for_the_host_and_regenerating_the_key_replaces_it(
        make_user: Any, db: Database) -> None:
    host, show_id = _show(make_user, db)
    info = host.get(f"/api/v1/shows/{show_id}/stream")
    assert info.status_code == 200, info.text
    body = info.json()
    assert len(body["stream_key"]) >= 24 and body["state"] == "idle"
    port = app_services(host.app).context.settings.rtmp_port
    assert body["rtmp_url"] == f"rtmp://testserver:{port}/live"
    assert body["playlist"] == f"/video/{show_id}/live/index.m3u8"
    assert body["publish_url"] == f"/ws/shows/{show_id}/publish"
    assert host.get(f"/api/v1/shows/{show_id}/stream").json()["stream_key"] == \
        body["stream_key"]

    renewed = host.post(f"/api/v1/shows/{show_id}/stream/key")
    assert renewed.status_code == 200
    assert renewed.json()["stream_key"] != body["stream_key"]
    with pytest.raises(Exception, match="Unknown stream key"):
        service.begin_publish(db, service.Publisher.RTMP, key=body["stream_key"])

    stranger = make_user("seller")
    assert stranger.get(f"/api/v1/shows/{show_id}/stream").status_code == 403
    assert stranger.post(f"/api/v1/shows/{show_id}/stream/key").status_code == 403
    assert make_user().get("/api/v1/shows/999999/stream").status_code == 404


def test_hls_base_url_is_used_in_urls(make_user: Any, db: Database, settings: Settings,
                                      app: Any) -> None:
    settings.hls_base_url = "https://cdn.example.com/video/"
    host, show_id = _show(make_user, db)
    body = host.get(f"/api/v1/shows/{show_id}/stream").json()
    assert body["playlist"] == f"https://cdn.example.com/video/{show_id}/live/index.m3u8"
    assert body["poster"] == f"https://cdn.example.com/video/{show_id}/poster.jpg"
    event = service.video_frame(settings.hls_base_url, show_id, "live")
    assert event["playlist"] == body["playlist"]


def test_old_recordings_are_deleted(make_user: Any, db: Database, settings: Settings) -> None:
    _, old_id = _show(make_user, db)
    _, recent_id = _show(make_user, db)
    for show_id, days in ((old_id, 40), (recent_id, 3)):
        _write(settings, show_id, "recording/index.m3u8", PLAYLIST.encode())
        with db.transaction() as session:
            if session.get(VideoStream, show_id) is None:
                session.add(VideoStream(show_id=show_id, stream_key=f"k{show_id}"))
                session.flush()
            session.execute(update(VideoStream).where(VideoStream.show_id == show_id).values(
                state="ended", recording_started_at=utcnow() - timedelta(days=days),
                updated_at=utcnow() - timedelta(days=days)))
            session.execute(update(Show).where(Show.id == show_id).values(status="ended"))
    assert service.delete_expired_recordings(db, settings.media_dir, 30) == [old_id]
    assert not (settings.media_dir / "video" / str(old_id)).exists()
    assert (settings.media_dir / "video" / str(recent_id) / "recording").exists()
    with db.read() as session:
        assert service.room_view(session, "", old_id)["recording"] is None
        assert service.room_view(session, "", recent_id)["recording"] == (
            f"/video/{recent_id}/recording/index.m3u8")
