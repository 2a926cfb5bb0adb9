"""RTMP ingest end to end: a real ffmpeg publishes to the app's RTMP server, a real room
WebSocket watches, and the HLS files on disk are checked with ffmpeg."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest

from liveshop.services import app_services
from tests.live.conftest import Person
from tests.video.conftest import Publishers, Show, decodes, wait_for


def test_publishing_takes_the_show_live_and_survives_drops(
        scheduled_show: Show, publishers: Publishers, people: Callable[..., Person]) -> None:
    show = scheduled_show
    viewer = people()
    room = viewer.join(show.id)
    assert room.snapshot["video"] == {"state": "idle", "playlist": None, "poster": None,
                                      "recording": None, "recording_started_at": None}

    first = publishers.start(show.rtmp_url())
    assert room.next("status", timeout=10)["status"] == "live"
    video = room.next("video", timeout=10)
    assert video["state"] == "live"
    assert video["playlist"] == f"/video/{show.id}/live/index.m3u8"
    assert video["poster"] == f"/video/{show.id}/poster.jpg"
    assert show.status() == "live"
    text = show.live_playlist.read_text()
    assert "#EXT-X-PROGRAM-DATE-TIME:" in text and "#EXT-X-TARGETDURATION:1" in text
    assert (show.dir / "poster.jpg").stat().st_size > 1000

    # A second publisher on the same key is refused while the first one runs.
    second = publishers.start(show.rtmp_url())
    assert second.wait(timeout=10) != 0
    # So is an unknown key, and nothing is written for it.
    wrong = publishers.start(show.rtmp_url("not-a-key"))
    assert wrong.wait(timeout=10) != 0

    count = len(show.segments())
    wait_for(lambda: len(show.segments("recording")) >= count + 2, what="playlist growth")
    newest = show.dir / "live" / show.segments()[-1]
    assert decodes(newest)
    recorded = show.segments("recording")
    assert recorded == [f"s{index}.ts" for index in range(len(recorded))]
    assert first.poll() is None

    # The packager's ffmpeg dies while the publisher is still connected: a new one continues
    # the same playlists.
    runtime = app_services(show.app).video
    packager = runtime.sessions[show.id].packager
    os.kill(packager.pid, signal.SIGKILL)
    before = len(show.segments("recording"))
    wait_for(lambda: len(show.segments("recording")) >= before + 2, timeout=10,
             what="segments after the packager restart")
    assert packager.restarts == 1
    assert first.poll() is None

    # The publisher drops: viewers are told to wait; the show stays live.
    first.kill()
    assert room.next("video", timeout=10)["state"] == "reconnecting"
    assert show.status() == "live"
    snapshot = people().join(show.id).snapshot["video"]
    assert snapshot["state"] == "reconnecting"
    assert snapshot["playlist"] == f"/video/{show.id}/live/index.m3u8"
    assert snapshot["recording"] == f"/video/{show.id}/recording/index.m3u8"
    assert abs(snapshot["recording_started_at"] / 1000 - time.time()) < 60

    # Back within the grace period: live again, appended after a discontinuity.
    dropped_at = len(show.segments("recording"))
    publishers.start(show.rtmp_url())
    assert room.next("video", timeout=10)["state"] == "live"
    recording = show.recording_playlist.read_text()
    assert recording.count("#EXT-X-DISCONTINUITY") >= 3
    assert len(show.segments("recording")) > dropped_at
    assert "#EXT-X-ENDLIST" not in recording


@pytest.mark.parametrize("grace", [2.0])
def test_a_publisher_that_does_not_return_ends_the_show(
        scheduled_show: Show, publishers: Publishers, people: Callable[..., Person]) -> None:
    show = scheduled_show
    room = people().join(show.id)
    publisher = publishers.start(show.rtmp_url())
    assert room.next("video", timeout=10)["state"] == "live"
    publisher.kill()
    assert room.next("video", timeout=10)["state"] == "reconnecting"
    assert room.next("status", timeout=8)["status"] == "ended"
    ended = room.next("video", timeout=5)
    assert ended["state"] == "ended" and ended["playlist"] is None
    assert show.status() == "ended"
    assert show.recording_playlist.read_text().rstrip().endswith("#EXT-X-ENDLIST")
    assert decodes(show.dir / "recording" / show.segments("recording")[0])
    # An ended show's key is refused.
    again = publishers.start(show.rtmp_url())
    assert again.wait(timeout=10) != 0


def test_ending_the_show_from_the_control_room_stops_the_video(
        scheduled_show: Show, publishers: Publishers, people: Callable[..., Person]) -> None:
    show = scheduled_show
    room = people().join(show.id)
    publisher = publishers.start(show.rtmp_url())
    assert room.next("video", timeout=10)["state"] == "live"
    assert show.host.http.post(f"/api/v1/shows/{show.id}/end").status_code == 200
    assert room.next("video", timeout=5, where=lambda e: e["state"] == "ended")
    assert publisher.wait(timeout=10) is not None  # the publisher was disconnected
    assert show.live_playlist.read_text().rstrip().endswith("#EXT-X-ENDLIST")
    assert show.recording_playlist.read_text().rstrip().endswith("#EXT-X-ENDLIST")
