"""Publishing from the browser: WebM chunks over the publish WebSocket, as MediaRecorder
sends them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.live.conftest import Person
from tests.video.conftest import FFMPEG, Show, decodes, wait_for

CHUNK = 32 * 1024


@pytest.fixture(scope="module")
def vp8_webm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("webm") / "camera.webm"
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error",
                    "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
                    "-f", "lavfi", "-i", "sine", "-t", "3",
                    "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "30",
                    "-c:a", "libopus", "-f", "webm", str(path)], check=True, timeout=60)
    return path.read_bytes()


def _publish_socket(person: Person, show_id: int, origin: str | None = None
                    ) -> ClientConnection:
    cookie = "; ".join(f"{k}={v}" for k, v in person.http.cookies.items())
    return connect(f"ws://{person.host}/ws/shows/{show_id}/publish",
                   additional_headers={"Cookie": cookie,
                                       "Origin": origin or f"http://{person.host}"})


def _refusal(connection: ClientConnection) -> tuple[str, int]:
    error = json.loads(connection.recv(timeout=5))
    with pytest.raises(ConnectionClosed) as closed:
        connection.recv(timeout=5)
    assert closed.value.rcvd is not None
    return error["code"], closed.value.rcvd.code


def test_browser_chunks_become_a_live_playlist(scheduled_show: Show, vp8_webm: bytes,
                                              people: Callable[..., Person]) -> None:
    show = scheduled_show
    room = people().join(show.id)
    with _publish_socket(show.host, show.id) as socket:
        assert json.loads(socket.recv(timeout=10)) == {"type": "publishing", "resumed": False}
        for start in range(0, len(vp8_webm), CHUNK):
            socket.send(vp8_webm[start:start + CHUNK])
        assert room.next("status", timeout=10)["status"] == "live"
        video = room.next("video", timeout=15)
        assert video["state"] == "live"
        wait_for(lambda: len(show.segments("recording")) >= 2, timeout=15, what="segments")
    assert room.next("video", timeout=10)["state"] == "reconnecting"
    first = show.dir / "recording" / show.segments("recording")[0]
    assert decodes(first)
    probe = subprocess.run([FFMPEG, "-hide_banner", "-i", str(first)], capture_output=True,
                           text=True)
    assert "h264" in probe.stderr and "aac" in probe.stderr


def test_only_the_host_may_publish(scheduled_show: Show, people: Callable[..., Person],
                                   server: str) -> None:
    buyer = people()
    with _publish_socket(buyer, scheduled_show.id) as socket:
        assert _refusal(socket) == ("forbidden", 4403)
    with connect(f"ws://{server}/ws/shows/{scheduled_show.id}/publish") as anonymous:
        assert _refusal(anonymous) == ("not_authenticated", 4403)
    host = scheduled_show.host
    with _publish_socket(host, scheduled_show.id, origin="https://evil.example") as socket:
        assert _refusal(socket) == ("bad_origin", 4401)
    with _publish_socket(host, 999_999) as socket:
        assert _refusal(socket)[1] == 4404
    with _publish_socket(host, scheduled_show.id) as socket:
        assert json.loads(socket.recv(timeout=5))["type"] == "publishing"
        socket.send(b"this is not webm")
        assert _refusal(socket) == ("not_webm", 4415)
    assert scheduled_show.status() == "live"  # accepted publishing took it live


def test_a_second_publisher_is_refused_while_one_is_connected(
        scheduled_show: Show) -> None:
    host = scheduled_show.host
    with _publish_socket(host, scheduled_show.id) as first:
        assert json.loads(first.recv(timeout=5))["type"] == "publishing"
        with _publish_socket(host, scheduled_show.id) as second:
            assert _refusal(second) == ("already_publishing", 4409)


def test_text_frames_on_the_publish_socket_are_ignored(scheduled_show: Show) -> None:
    """The mirror of the room socket's binary frames: media is binary, and a text frame (or
    an empty binary one) neither crashes the socket nor counts as media."""
    with _publish_socket(scheduled_show.host, scheduled_show.id) as socket:
        assert json.loads(socket.recv(timeout=5))["type"] == "publishing"
        socket.send('{"type": "ping"}')
        socket.send(b"")
        socket.send(b"this is not webm")  # still read: the socket is alive and judged on media
        assert _refusal(socket) == ("not_webm", 4415)
