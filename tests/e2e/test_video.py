"""Acceptance: live video end to end (docs/video.md).

A host publishes with ffmpeg over RTMP (what OBS does) or from the control room with
Chromium's fake camera; viewers' <video> elements must actually play (currentTime advances)
through hls.js; after the show, the replay seeks to a pinned product and sells it.

These tests run their own server (module scope) because RTMP ingest needs a free port.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime

import imageio_ffmpeg
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, Page, expect

from liveshop.app import SESSION_COOKIE
from liveshop.orders.orm import Order
from tests.e2e import conftest as harness
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    LiveServer,
    NewContext,
    PageErrors,
    Screenshot,
)
from tests.e2e.scene import PRODUCT, Account, Scene, live_scene, ok

pytestmark = pytest.mark.e2e

# Generous: ffmpeg, the packager and Chromium share two cores with other test runs.
PLAYLIST_TIMEOUT_S = 30.0
PLAY_TIMEOUT_MS = 30_000
SECONDS = re.compile(r"^-?\d+\.\d s$")
STREAM_KEY = re.compile(r"^[A-Za-z0-9_-]{24,}$")
CURRENT = re.compile(r"\bcurrent\b")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Like conftest's server, plus RTMP ingest on a free port (never the default 1935, which
    another run on this machine may hold)."""
    with harness.serve_app(tmp_path_factory.mktemp("video"),
                           rtmp_port=harness._free_port()) as server:
        yield server


@pytest.fixture(scope="module")
def camera_browser(browser: Browser) -> Iterator[Browser]:
    """Chromium with a fake camera and microphone that it may use without asking (launched
    through the session's Playwright: one process may run only one)."""
    chromium = browser.browser_type.launch(
        executable_path=str(CHROMIUM), headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
              "--use-fake-ui-for-media-stream"])
    yield chromium
    chromium.close()


@pytest.fixture
def scene(live_server: LiveServer) -> Iterator[Scene]:
    with live_scene(live_server) as prepared:
        yield prepared

class RtmpPublisher:
    """ffmpeg sending a test pattern and a tone over RTMP in real time, as OBS would."""

    def __init__(self, url: str):
        self.url = url
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re",
             "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine",
             "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", self.url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture
def rtmp(scene: Scene) -> Iterator[RtmpPublisher]:
    stream = ok(scene.host.http.get(f"{scene.api}/stream"))
    publisher = RtmpPublisher(f"{stream['rtmp_url']}/{stream['stream_key']}")
    yield publisher
    publisher.stop()


def wait_for_playlist(server: LiveServer, path: str, publisher: RtmpPublisher | None = None
                      ) -> str:
    """Waits until the playlist lists a segment, so no player ever sees a 404 (which
    Chromium would log as a console error)."""
    deadline = time.monotonic() + PLAYLIST_TIMEOUT_S
    with server.http() as http:
        while time.monotonic() < deadline:
            if publisher and publisher.process and publisher.process.poll() is not None:
                pytest.fail(f"ffmpeg exited with {publisher.process.returncode}")
            response = http.get(path)
            if response.status_code == 200 and ".ts" in response.text:
                return response.text
            time.sleep(0.25)
    pytest.fail(f"{path} had no segment after {PLAYLIST_TIMEOUT_S}s")


def signed_in(context: BrowserContext, server: LiveServer, account: Account) -> BrowserContext:
    context.add_cookies([{"name": SESSION_COOKIE, "value": account.http.cookies[SESSION_COOKIE],
                          "url": server.url}])
    return context


def current_time(page: Page) -> float:
    return float(page.locator(".video-slot video").evaluate("video => video.currentTime"))


def expect_playing(page: Page, seconds: float = 3.0) -> None:
    """The picture moves: currentTime advances over `seconds` of wall-clock time."""
    page.wait_for_function(
        "() => { const v = document.querySelector('.video-slot video');"
        " return v && v.currentTime > 0.5 && !v.paused; }", timeout=PLAY_TIMEOUT_MS)
    before = current_time(page)
    page.wait_for_timeout(seconds * 1000)
    advanced = current_time(page) - before
    assert advanced > seconds * 0.6, f"currentTime advanced {advanced:.2f}s in {seconds}s"


def test_a_viewer_watches_an_rtmp_stream_with_its_latency(
        live_server: LiveServer, scene: Scene, rtmp: RtmpPublisher, new_context: NewContext,
        screenshot: Screenshot) -> None:
    rtmp.start()
    wait_for_playlist(live_server, f"/video/{scene.show_id}/live/index.m3u8", rtmp)
    assert ok(scene.host.http.get(f"/api/v1/shows/{scene.show_id}"))["status"] == "live"

    viewer = new_context(viewport=PHONE, label="viewer").new_page()
    viewer.goto(f"/shows/{scene.show_id}?debug=1")
    expect(viewer.locator(".live-badge")).to_be_visible()
    expect_playing(viewer)
    expect(viewer.locator(".video-note")).to_be_hidden()
    expect(viewer.locator(".video-unmute")).to_be_visible()
    latency = viewer.locator(".video-debug .latency")
    expect(latency).to_have_text(SECONDS, timeout=5000)
    measured = float(latency.inner_text().split()[0])
    assert 0 < measured < 20, f"latency {measured}s"
    expect(viewer.locator(".video-debug .level")).to_contain_text("p")
    screenshot(viewer, "video-01-room-phone")
    viewer.set_viewport_size(DESKTOP)
    screenshot(viewer, "video-02-room-desktop")

    # The publisher drops: viewers are told, then the picture comes back on reconnect.
    rtmp.stop()
    expect(viewer.locator(".video-note")).to_have_text("Host reconnecting…", timeout=15_000)
    viewer.set_viewport_size(PHONE)
    screenshot(viewer, "video-06-room-reconnecting-phone")
    rtmp.start()
    expect(viewer.locator(".video-note")).to_be_hidden(timeout=PLAY_TIMEOUT_MS)
    expect_playing(viewer)

    # Tap to unmute.
    viewer.locator(".video-unmute").click()
    assert viewer.locator(".video-slot video").evaluate("video => video.muted") is False
    expect(viewer.locator(".video-unmute")).to_be_hidden()


def test_the_host_goes_live_from_the_browser_camera(
        live_server: LiveServer, scene: Scene, camera_browser: Browser,
        new_context: NewContext, page_errors: PageErrors, screenshot: Screenshot) -> None:
    host_context = signed_in(camera_browser.new_context(
        base_url=live_server.url, viewport=DESKTOP, locale="en-GB",
        permissions=["camera", "microphone"]), live_server, scene.host)
    host_context.set_default_timeout(10_000)
    try:
        host = host_context.new_page()
        page_errors.watch(host, "host")
        host.goto(f"/shows/{scene.show_id}/control")
        expect(host.locator("#stream-key")).to_have_value(STREAM_KEY)
        assert host.locator("#rtmp-url").input_value().startswith("rtmp://")
        host.get_by_role("button", name="Start camera").click()
        expect(host.locator("#publish-status")).to_have_text(
            "Live from this browser.", timeout=15_000)
        expect(host.locator("#show-status")).to_have_text("live", timeout=15_000)
        host.wait_for_function(
            "() => document.getElementById('publish-preview').currentTime > 0.5")
        wait_for_playlist(live_server, f"/video/{scene.show_id}/live/index.m3u8")
        expect(host.locator("#video-state")).to_have_text("video live", timeout=15_000)
        screenshot(host, "video-03-control-room-camera")

        viewer = new_context(viewport=PHONE, label="viewer").new_page()
        viewer.goto(f"/shows/{scene.show_id}")
        expect_playing(viewer)

        # Stopping the camera drops the publisher: the viewer is told the host is reconnecting.
        host.get_by_role("button", name="Stop camera").click()
        expect(host.locator("#start-publish")).to_be_visible()
        expect(viewer.locator(".video-note")).to_have_text("Host reconnecting…", timeout=15_000)
    finally:
        host_context.close()


def test_the_replay_seeks_to_a_pinned_product_and_sells_it(
        live_server: LiveServer, scene: Scene, rtmp: RtmpPublisher, new_context: NewContext,
        screenshot: Screenshot) -> None:
    rtmp.start()
    wait_for_playlist(live_server, f"/video/{scene.show_id}/live/index.m3u8", rtmp)
    time.sleep(4)
    ok(scene.host.http.put(f"{scene.api}/pin", json={"product_id": scene.product_id}))
    time.sleep(3)
    ok(scene.host.http.post(f"{scene.api}/end"))
    rtmp.stop()
    recording = _wait_for_endlist(live_server, f"/video/{scene.show_id}/recording/index.m3u8")
    assert "#EXT-X-PROGRAM-DATE-TIME" in recording
    stream = ok(scene.host.http.get(f"{scene.api}/stream"))
    pin = ok(scene.host.http.get(f"{scene.api}/pins"))[0]
    offset = (datetime.fromisoformat(pin["pinned_at"])
              - datetime.fromisoformat(stream["recording_started_at"])).total_seconds()
    assert offset > 2

    page = signed_in(new_context(viewport=DESKTOP, label="buyer"), live_server,
                     scene.viewer).new_page()
    page.goto(f"/shows/{scene.show_id}")
    entry = page.locator(f".pin-entry[data-product-id='{scene.product_id}']")
    expect(entry).to_contain_text(PRODUCT)
    page.wait_for_function(
        "() => document.querySelector('.video-slot video').readyState >= 1",
        timeout=PLAY_TIMEOUT_MS)
    entry.locator(".pin-seek").click()
    page.wait_for_function(
        "offset => Math.abs(document.querySelector('.video-slot video').currentTime - offset)"
        " < 1.5", arg=offset, timeout=PLAY_TIMEOUT_MS)
    expect(entry).to_have_class(CURRENT)
    screenshot(page, "video-04-replay-desktop")

    entry.get_by_role("button", name="Buy").click()
    expect(page.locator("#confirmation")).to_be_visible()
    number = page.locator("#confirmation-number").inner_text()
    with live_server.db.read() as session:
        order = session.execute(sa.select(Order.show_id, Order.total, Order.buyer_id)
                                .where(Order.number == number)).one()
    # The regular price plus UK shipping, attributed to the show.
    assert (order.show_id, order.total, order.buyer_id) == (scene.show_id, 2500 + 399,
                                                            scene.viewer.id)
    page.locator("#confirmation").get_by_role("button", name="Back to the show").click()
    page.set_viewport_size(PHONE)
    screenshot(page, "video-05-replay-phone")


def _wait_for_endlist(server: LiveServer, path: str) -> str:
    deadline = time.monotonic() + PLAYLIST_TIMEOUT_S
    with server.http() as http:
        while time.monotonic() < deadline:
            response = http.get(path)
            if response.status_code == 200 and "#EXT-X-ENDLIST" in response.text:
                return response.text
            time.sleep(0.25)
    pytest.fail(f"{path} was not closed with #EXT-X-ENDLIST")

