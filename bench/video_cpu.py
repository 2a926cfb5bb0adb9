"""CPU per live stream: 1, 2 and 4 concurrent RTMP publishers into live shows of one app (the
default path, H.264/AAC copied into HLS), then one stream with the 720p + 360p ladder.

Per stream, over a 15 s window, from /proc: the app process itself (RTMP parsing, FLV
re-wrapping, piping), its packager ffmpeg children, and the short poster grabs it has reaped
(``cutime``). Baseline in the same run: the same publishers into bare ``ffmpeg -listen``
remuxers (one per stream, loopback only) writing the same live HLS.

Publishers send a clip encoded once beforehand (``-re -c copy``), so the two shared cores
are not spent encoding test patterns while the remuxers are measured.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import free_port
from bench.video_support import (
    App,
    Processes,
    app,
    bare_remux,
    children,
    clip_publisher,
    cpu,
    create_shows,
    encode_clip,
    media_sequence,
    processes,
    segments,
    wait_for_segment,
    wait_listening,
)

STREAMS = (1, 2, 4)
WARMUP_SECONDS = 2.0
WINDOW_SECONDS = 15.0
IDLE_SECONDS = 3.0
# Long enough for connecting, the first segment, the warm-up and the window.
CLIP_SECONDS = 26
# A grace far beyond the run: a show whose publisher stops between steps must stay open.
GRACE = "600"


@dataclass
class Usage:
    label: str
    streams: int
    seconds: float
    remux: float  # packager ffmpeg (app) or ffmpeg -listen (baseline), CPU seconds
    app: float = 0.0
    posters: float = 0.0
    segments: float = 0.0  # new segments per stream in the window: keeping up means ~1/s

    def per_stream(self, cpu_seconds: float) -> float:
        """Cores per stream."""
        return cpu_seconds / self.seconds / self.streams

    @property
    def total(self) -> float:
        return self.per_stream(self.remux + self.app + self.posters)


def last_index(playlist: Path) -> int:
    with contextlib.suppress(FileNotFoundError):
        text = playlist.read_text()
        if segments(text):
            return media_sequence(text) + len(segments(text)) - 1
    return -1


def packagers(server: App) -> list[int]:
    """The app's long-running ffmpeg children (they read the stream on stdin); poster grabs
    come and go and are counted once reaped."""
    found = []
    for pid in children(server.pid):
        with contextlib.suppress(FileNotFoundError):
            if b"pipe:0" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def start_publishers(started: Processes, clip: Path, urls: list[str],
                     playlists: list[Path]) -> None:
    before = [last_index(playlist) for playlist in playlists]
    publishers = [started.start(clip_publisher(clip, url)) for url in urls]
    for playlist, publisher, after in zip(playlists, publishers, before, strict=True):
        wait_for_segment(playlist, publisher, after=after)


def measure_app(server: App, shows: list[tuple[int, str]], clip: Path, label: str,
                playlist_name: str = "index.m3u8") -> Usage:
    playlists = [server.live_playlist(show_id, playlist_name) for show_id, _ in shows]
    with processes() as started:
        start_publishers(started, clip, [server.rtmp_url(key) for _, key in shows], playlists)
        wait_until(lambda: len(packagers(server)) == len(shows), "the packagers")
        time.sleep(WARMUP_SECONDS)
        pids = packagers(server)
        app_before, remux_before = cpu(server.pid), sum(cpu(pid).own for pid in pids)
        indexes, began = [last_index(playlist) for playlist in playlists], time.monotonic()
        time.sleep(WINDOW_SECONDS)
        app_after, remux_after = cpu(server.pid), sum(cpu(pid).own for pid in pids)
        seconds = time.monotonic() - began
        produced = sum(last_index(playlist) - index
                       for playlist, index in zip(playlists, indexes, strict=True))
    # The publishers are gone: wait for the packagers to flush and exit before the next step.
    wait_until(lambda: not packagers(server), "the packagers to exit")
    return Usage(label, len(shows), seconds, remux_after - remux_before,
                 app=app_after.own - app_before.own,
                 posters=app_after.reaped - app_before.reaped,
                 segments=produced / len(shows))


def measure_baseline(folder: Path, clip: Path, streams: int) -> Usage:
    with processes() as started:
        ports, remuxers, playlists = [], [], []
        for index in range(streams):
            port = free_port()
            live_dir = folder / f"baseline-{streams}-{index}"
            remuxer = started.start(bare_remux(port, live_dir))
            wait_listening(port, remuxer)
            ports.append(port)
            remuxers.append(remuxer)
            playlists.append(live_dir / "index.m3u8")
        start_publishers(started, clip, [f"rtmp://127.0.0.1:{port}/live/x" for port in ports],
                         playlists)
        time.sleep(WARMUP_SECONDS)
        before = sum(cpu(remuxer.pid).own for remuxer in remuxers)
        indexes, began = [last_index(playlist) for playlist in playlists], time.monotonic()
        time.sleep(WINDOW_SECONDS)
        after = sum(cpu(remuxer.pid).own for remuxer in remuxers)
        seconds = time.monotonic() - began
        produced = sum(last_index(playlist) - index
                       for playlist, index in zip(playlists, indexes, strict=True))
    return Usage("bare ffmpeg", streams, seconds, after - before, segments=produced / streams)


def report(usage: Usage, baseline: Usage | None = None) -> None:
    parts = f"remux {usage.per_stream(usage.remux):.3f}"
    if usage.label != "bare ffmpeg":
        parts += (f" + app {usage.per_stream(usage.app):.3f}"
                  f" + posters {usage.per_stream(usage.posters):.3f}")
    line = (f"  {usage.label:<14} {usage.streams} stream(s): {parts} = {usage.total:.3f}"
            f" cores/stream; {usage.segments:.1f} segments/stream in {usage.seconds:.1f} s")
    if baseline is not None:
        line += f"; ratio to bare ffmpeg {usage.total / baseline.total:.1f}"
    print(line, flush=True)


def main() -> None:
    print(f"Video CPU: 720p30 2.5 Mbit/s H.264 + AAC publishers over RTMP, {WINDOW_SECONDS:.0f} s"
          " windows, CPU in cores per stream", flush=True)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        clip = encode_clip(folder, CLIP_SECONDS)
        copied: dict[int, Usage] = {}
        with app(video_grace_seconds=GRACE) as server:
            shows = create_shows(server, max(STREAMS))
            idle_before, idle_began = cpu(server.pid).own, time.monotonic()
            time.sleep(IDLE_SECONDS)
            idle = (cpu(server.pid).own - idle_before) / (time.monotonic() - idle_began)
            print(f"  app idle: {idle:.3f} cores (included in the app figures below)",
                  flush=True)
            for streams in STREAMS:
                copied[streams] = measure_app(server, shows[:streams], clip, "liveshop copy")
        baselines = {streams: measure_baseline(folder, clip, streams) for streams in STREAMS}
        for streams in STREAMS:
            report(baselines[streams])
            report(copied[streams], baselines[streams])
        with app(video_grace_seconds=GRACE, video_ladder="true") as server:
            ladder = measure_app(server, create_shows(server, 1), clip, "liveshop ladder",
                                 playlist_name="720p.m3u8")
        report(ladder, baselines[1])


if __name__ == "__main__":
    main()
