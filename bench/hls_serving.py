"""HLS serving: 300 simulated viewers polling one live show's playlist and fetching each new
segment, from the app (its route ``/video/{id}/live/{name}``) and, in the same run, from a
bare Starlette StaticFiles app serving the same files (the baseline: what serving files
costs without liveshop around it).

The live stream is written into the app's media folder by ffmpeg copying a clip encoded
beforehand in real time (1 s segments, six listed, like the app's packager), so that neither
an encoder nor the app's packager competes with the server for the two cores.

Reports requests/s, p50/p99 latency, Mbit/s, transport errors, how many segments a viewer got
per second (1.0 = keeping up with the live stream) and the server's CPU (from /proc) per
request and in cores, and the ratio to the baseline. The viewers all run in this one Python
process; its own CPU is printed too, since on two cores it can be what limits the rate.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import uvloop

from bench.harness import (
    KeepAliveConnection,
    app_env,
    cpu_seconds,
    free_port,
    migrate,
    percentile,
    raise_fd_limit,
    server,
    uvicorn_app,
)
from bench.video_support import FFMPEG, encode_clip, processes, stop, wait_for_segment

VIEWERS = 300
DURATION_SECONDS = 20
SHOW_ID = 1
CLIP_SECONDS = 10
# hls.js (liveSyncDurationCount 3, as the app's player) starts this far from the newest.
LIVE_SYNC_SEGMENTS = 3

BASELINE_APP = """
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
import os
app = Starlette(routes=[Mount("/video", StaticFiles(directory=os.environ["HLS_ROOT"]))])
"""


def live_stream(clip: Path, live_dir: Path) -> list[str]:
    """The clip, looped in real time into live HLS with the app's segmenting."""
    live_dir.mkdir(parents=True, exist_ok=True)
    return [FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
            "-i", str(clip), "-c", "copy", "-f", "hls", "-hls_time", "1",
            "-hls_list_size", "6", "-hls_flags", "delete_segments+program_date_time",
            "-hls_segment_filename", str(live_dir / "s%d.ts"), str(live_dir / "index.m3u8")]


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.bytes = 0
        self.live_segments = 0
        self.errors = 0


async def timed(connection: KeepAliveConnection, path: str, tally: Tally) -> tuple[int, bytes]:
    started = time.perf_counter()
    status, body = await connection.get(path)
    tally.latencies.append(time.perf_counter() - started)
    return status, body


async def viewer(port: int, playlist: str, stop_at: float, tally: Tally) -> None:
    """What hls.js does on a live stream: start three segments behind the newest, reload
    the playlist once a target duration (1 s), fetch every segment not fetched yet."""
    connection = KeepAliveConnection(port)
    seen: set[str] | None = None
    base = playlist.rsplit("/", 1)[0]
    while time.monotonic() < stop_at:
        try:
            status, body = await timed(connection, playlist, tally)
            names = [line for line in body.decode().splitlines() if line.endswith(".ts")]
            first_load = seen is None
            if seen is None:
                seen = set(names[:-LIVE_SYNC_SEGMENTS])
            for name in names if status == 200 else []:
                if name not in seen:
                    seen.add(name)
                    status, segment = await timed(connection, f"{base}/{name}", tally)
                    if status == 200:
                        tally.bytes += len(segment)
                        tally.live_segments += not first_load
        except (OSError, asyncio.IncompleteReadError, KeyError, ValueError):
            tally.errors += 1
        await asyncio.sleep(1.0)
    connection.close()


async def load(port: int, pid: int) -> dict[str, float]:
    tally = Tally()
    playlist = f"/video/{SHOW_ID}/live/index.m3u8"
    cpu_before, own_before = cpu_seconds(pid), cpu_seconds(os.getpid())
    began = time.monotonic()
    stop_at = began + DURATION_SECONDS
    await asyncio.gather(*(viewer(port, playlist, stop_at, tally) for _ in range(VIEWERS)))
    elapsed = time.monotonic() - began
    cpu, own = cpu_seconds(pid) - cpu_before, cpu_seconds(os.getpid()) - own_before
    ordered = sorted(tally.latencies)
    return {"requests_per_s": len(ordered) / elapsed,
            "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": percentile(ordered, 0.99) * 1000,
            "mbit_per_s": tally.bytes * 8 / elapsed / 1e6,
            "errors": tally.errors,
            # After the first load, a viewer keeping up gets one new segment a second.
            "segments_per_viewer_s": tally.live_segments / VIEWERS / elapsed,
            "cpu_ms_per_request": cpu * 1000 / max(1, len(ordered)),
            "server_cores": cpu / elapsed,
            "client_cores": own / elapsed}


def report(name: str, result: dict[str, float]) -> None:
    print(f"  {name:<9} {result['requests_per_s']:5.0f} req/s  p50 {result['p50_ms']:6.1f} ms"
          f"  p99 {result['p99_ms']:7.1f} ms  {result['mbit_per_s']:5.0f} Mbit/s"
          f"  {result['errors']:.0f} errors"
          f"  {result['segments_per_viewer_s']:.2f} live segments/viewer/s"
          f"  server {result['cpu_ms_per_request']:.3f} CPU ms/req"
          f" ({result['server_cores']:.2f} cores)  viewers' process {result['client_cores']:.2f}"
          " cores", flush=True)


def main() -> None:
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as name, processes() as started:
        folder = Path(name)
        live_dir = folder / "media" / "video" / str(SHOW_ID) / "live"
        clip = encode_clip(folder, CLIP_SECONDS, extension="ts")
        packager = started.start(live_stream(clip, live_dir))
        wait_for_segment(live_dir / "index.m3u8", packager)
        # A full playlist (six segments) before anyone watches.
        time.sleep(6)
        print(f"HLS serving: {VIEWERS} viewers for {DURATION_SECONDS} s, 1 s segments"
              f" at 2.5 Mbit/s", flush=True)
        (folder / "baseline_app.py").write_text(BASELINE_APP)
        database_url = f"sqlite:///{folder}/bench.db"
        migrate(database_url)
        results = {}
        baseline = [sys.executable, "-m", "uvicorn", "--app-dir", str(folder), "baseline_app:app",
                    "--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"]
        for label, env in (("baseline", {"HLS_ROOT": str(folder / "media" / "video")}),
                           ("liveshop", app_env(database_url, str(folder)))):
            port = free_port()
            command = ([*baseline, "--port", str(port)] if label == "baseline"
                       else uvicorn_app(port))
            with server(command, env, port,
                        probe="/video/1/live/index.m3u8") as process:
                results[label] = uvloop.run(load(port, process.pid))
                report(label, results[label])
        if packager.poll() is not None:
            raise RuntimeError("the live stream stopped during the run")
        stop(packager)
        ratio = (results["liveshop"]["cpu_ms_per_request"]
                 / results["baseline"]["cpu_ms_per_request"])
        throughput = results["liveshop"]["requests_per_s"] / results["baseline"]["requests_per_s"]
        print(f"  liveshop / baseline: CPU per request {ratio:.2f},"
              f" requests/s {throughput:.2f}", flush=True)


if __name__ == "__main__":
    main()
