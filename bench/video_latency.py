"""Glass-to-glass latency of live video: an ffmpeg publisher encoding a 720p30 test pattern
in real time over RTMP, watched in headless Chromium through hls.js.

Two legs, added up:

- ingest offset: how late the packager's clock stamps a frame compared with the moment the
  publisher produced it: ``PROGRAM-DATE-TIME(first segment) - T0``, T0 being the publisher's
  wall clock when it was started (taken just before it starts, so a little early: the figure
  errs on the slow side). The first segment begins with the publisher's first frame (x264's
  first frame is a keyframe; the app starts its packager on it, ffmpeg -listen keeps
  everything), whose publisher timestamp is 0. The segment's own "start" cannot stand in
  for that: it is an output offset, 0.0 s through the app's tee muxer but 1.4 s (twice
  -muxdelay) from ffmpeg's direct HLS muxer; it is printed for the record;
- player latency: what the show page's debug overlay says, ``now - hls.playingDate``
  (PROGRAM-DATE-TIME of the picture on screen), sampled once a second.

Baseline in the same run: the same publisher into a bare ``ffmpeg -listen`` remuxing to HLS
with the app's segmenting, played by a minimal page with hls.js configured like the app's
player (same hls.js build, liveSyncDurationCount 3), served by a tiny static server.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from bench.harness import free_port, percentile
from bench.video_support import (
    app,
    bare_remux,
    create_shows,
    first_program_date_time,
    live_publisher,
    processes,
    segment_start,
    segments,
    wait_for_segment,
    wait_listening,
)

TARGET_SECONDS = 5.0
SAMPLES = 20
SETTLE_SECONDS = 2.0
PLAY_TIMEOUT_MS = 30_000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
HLS_JS = Path(__file__).resolve().parents[1] / "node_modules" / "hls.js" / "dist" / "hls.min.js"
PLAYING = ("() => { const v = document.querySelector('video');"
           " return v && v.currentTime > 0.5 && !v.paused; }")
# The app's player settings (liveshop/web/static/js/player.js, LivePlayer).
BASELINE_PAGE = """<!doctype html>
<meta charset="utf-8"><title>baseline</title>
<video muted autoplay playsinline></video>
<script src="/hls.min.js"></script>
<script>
const video = document.querySelector("video");
const hls = new Hls({ lowLatencyMode: false, liveSyncDurationCount: 3,
                      maxLiveSyncPlaybackRate: 1.1 });
hls.loadSource("/live/index.m3u8");
hls.attachMedia(video);
window.sample = () => [hls.playingDate ? (Date.now() - hls.playingDate.getTime()) / 1000 : null,
                       hls.latency];
</script>
"""
# The app's page: the debug overlay's "Latency" and "Behind edge" rows ("3.4 s" or "—").
APP_SAMPLE = """() => [".latency", ".edge"].map((name) => {
  const text = document.querySelector(`.video-debug ${name}`)?.textContent ?? "";
  const value = parseFloat(text);
  return Number.isFinite(value) ? value : null;
})"""


@dataclass
class Result:
    name: str
    ingest: float
    first_start: float
    player: list[float]
    edge: list[float]

    @property
    def glass(self) -> list[float]:
        return sorted(sample + self.ingest for sample in self.player)

    def p50(self) -> float:
        return statistics.median(self.glass)

    def p95(self) -> float:
        return percentile(self.glass, 0.95)


def ingest_offset(playlist: Path, publisher_t0: float, text: str) -> tuple[float, float]:
    """How late PROGRAM-DATE-TIME stamps the first segment's first frame (the publisher's
    first frame) against the publisher's clock; and that segment's start timestamp."""
    start = segment_start(playlist.parent / segments(text)[0])
    return first_program_date_time(text) - publisher_t0, start


def publisher_startup() -> float:
    """Seconds from T0 to the publisher's first output byte: how much of the ingest offset
    is the publisher starting up rather than the packager."""
    with processes() as started:
        t0 = time.time()
        publisher = started.start(live_publisher("pipe:1"), stdout=subprocess.PIPE)
        assert publisher.stdout is not None
        publisher.stdout.read(1)
        return time.time() - t0


def sample(page: Page, script: str) -> tuple[list[float], list[float]]:
    page.wait_for_function(PLAYING, timeout=PLAY_TIMEOUT_MS)
    page.wait_for_timeout(SETTLE_SECONDS * 1000)
    latencies: list[float] = []
    edges: list[float] = []
    for _ in range(SAMPLES):
        page.wait_for_timeout(1000)
        latency, edge = page.evaluate(script)
        if latency is not None:
            latencies.append(float(latency))
        if edge is not None and edge > 0:
            edges.append(float(edge))
    if len(latencies) < SAMPLES // 2:
        raise RuntimeError(f"the player reported a latency only {len(latencies)} times")
    return latencies, edges


def measure_app(browser: Browser) -> Result:
    with app() as server, processes() as started:
        [(show_id, key)] = create_shows(server, 1)
        t0 = time.time()
        publisher = started.start(live_publisher(server.rtmp_url(key)))
        playlist = server.live_playlist(show_id)
        text = wait_for_segment(playlist, publisher)
        ingest, start = ingest_offset(playlist, t0, text)
        context = browser.new_context(viewport={"width": 390, "height": 844})
        try:
            page = context.new_page()
            page.goto(f"{server.url}/shows/{show_id}?debug=1")
            player, edge = sample(page, APP_SAMPLE)
        finally:
            context.close()
        return Result("liveshop", ingest, start, player, edge)


class _Quiet(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        # Without it Chromium may reuse a stale live playlist (heuristic freshness).
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def static_server(folder: Path) -> Iterator[str]:
    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port),
                                functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def measure_baseline(browser: Browser) -> Result:
    with tempfile.TemporaryDirectory() as name, processes() as started:
        folder = Path(name)
        (folder / "index.html").write_text(BASELINE_PAGE)
        shutil.copy(HLS_JS, folder / "hls.min.js")
        port = free_port()
        remux = started.start(bare_remux(port, folder / "live"))
        wait_listening(port, remux)
        t0 = time.time()
        publisher = started.start(live_publisher(f"rtmp://127.0.0.1:{port}/live/x"))
        playlist = folder / "live" / "index.m3u8"
        text = wait_for_segment(playlist, publisher)
        ingest, start = ingest_offset(playlist, t0, text)
        with static_server(folder) as url:
            context = browser.new_context(viewport={"width": 390, "height": 844})
            try:
                page = context.new_page()
                page.goto(f"{url}/index.html")
                player, edge = sample(page, "() => window.sample()")
            finally:
                context.close()
        return Result("bare ffmpeg", ingest, start, player, edge)


def report(result: Result) -> None:
    player = sorted(result.player)
    edge = statistics.median(result.edge) if result.edge else float("nan")
    print(f"  {result.name:<12} ingest offset {result.ingest:5.2f} s"
          f" (first segment start {result.first_start:.3f})"
          f"  player p50 {statistics.median(player):4.1f} s p95 {percentile(player, 0.95):4.1f} s"
          f"  behind edge p50 {edge:4.1f} s"
          f"  glass-to-glass p50 {result.p50():4.1f} s p95 {result.p95():4.1f} s"
          f"  ({len(player)} samples)", flush=True)


def main() -> None:
    print(f"Video latency: 720p30 x264 veryfast publisher over RTMP, 1 s segments, hls.js"
          f" 3 segments behind; {SAMPLES} samples a second apart per path", flush=True)
    print(f"  publisher startup (T0 to its first output byte): {publisher_startup():.2f} s,"
          " part of both ingest offsets", flush=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            measured = measure_app(browser)
            report(measured)
            baseline = measure_baseline(browser)
            report(baseline)
        finally:
            browser.close()
    verdict = "PASS" if measured.p95() <= TARGET_SECONDS else "FAIL"
    print(f"  glass-to-glass p50 ratio liveshop / bare ffmpeg: "
          f"{measured.p50() / baseline.p50():.2f}; target p95 <= {TARGET_SECONDS:.0f} s: "
          f"{verdict}", flush=True)


if __name__ == "__main__":
    main()
