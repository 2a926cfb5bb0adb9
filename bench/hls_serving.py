"""HLS serving: 300 simulated viewers polling one live show's playlist and fetching each new
segment, against the app and, in the same run, against a bare Starlette StaticFiles app
serving the same files (the baseline: what serving files costs without liveshop around it).

Reports requests/s, p50/p99 latency, bytes/s and the server's CPU seconds per request
(from /proc of the server process), and the ratio to the baseline.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import imageio_ffmpeg

VIEWERS = 300
DURATION_SECONDS = 20
SHOW_ID = 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

BASELINE_APP = """
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
import os
app = Starlette(routes=[Mount("/video", StaticFiles(directory=os.environ["HLS_ROOT"]))])
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def start_packager(live_dir: Path) -> subprocess.Popen[bytes]:
    """A real live HLS stream: 1 s segments, six in the playlist, like the app's packager."""
    live_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([
        imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-re",
        "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
        "-f", "lavfi", "-i", "sine", "-c:v", "libx264", "-preset", "ultrafast",
        "-b:v", "2500k", "-g", "30", "-c:a", "aac", "-f", "hls", "-hls_time", "1",
        "-hls_list_size", "6", "-hls_flags", "delete_segments+program_date_time",
        str(live_dir / "index.m3u8")])


async def viewer(client: httpx.AsyncClient, playlist: str, stop: float,
                 latencies: list[float], sizes: list[int]) -> None:
    seen: set[str] = set()
    base = playlist.rsplit("/", 1)[0]
    while time.monotonic() < stop:
        started = time.perf_counter()
        response = await client.get(playlist)
        latencies.append(time.perf_counter() - started)
        if response.status_code == 200:
            for line in response.text.splitlines():
                if line.endswith(".ts") and line not in seen:
                    seen.add(line)
                    began = time.perf_counter()
                    segment = await client.get(f"{base}/{line}")
                    latencies.append(time.perf_counter() - began)
                    sizes.append(len(segment.content))
        await asyncio.sleep(1.0)


async def load(url: str, pid: int) -> dict[str, float]:
    latencies: list[float] = []
    sizes: list[int] = []
    limits = httpx.Limits(max_connections=VIEWERS, max_keepalive_connections=VIEWERS)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        cpu_before, began = cpu_seconds(pid), time.monotonic()
        stop = began + DURATION_SECONDS
        await asyncio.gather(*(viewer(client, url, stop, latencies, sizes)
                               for _ in range(VIEWERS)))
        elapsed, cpu = time.monotonic() - began, cpu_seconds(pid) - cpu_before
    ordered = sorted(latencies)
    return {"requests_per_s": len(latencies) / elapsed,
            "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
            "mbit_per_s": sum(sizes) * 8 / elapsed / 1e6,
            "cpu_ms_per_request": cpu * 1000 / max(1, len(latencies)),
            "server_cpu_percent": cpu / elapsed * 100}


def serve(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(command, env={**os.environ, **env},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("server did not start")


def report(name: str, result: dict[str, float]) -> None:
    print(f"  {name:<10} {result['requests_per_s']:7.0f} req/s  p50 {result['p50_ms']:6.1f} ms"
          f"  p99 {result['p99_ms']:7.1f} ms  {result['mbit_per_s']:7.1f} Mbit/s"
          f"  {result['cpu_ms_per_request']:.3f} CPU ms/req"
          f"  ({result['server_cpu_percent']:.0f}% of a core)")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        media = Path(folder) / "media"
        live_dir = media / "video" / str(SHOW_ID) / "live"
        packager = start_packager(live_dir)
        try:
            while not (live_dir / "index.m3u8").exists():
                time.sleep(0.2)
            time.sleep(3)
            print(f"HLS serving: {VIEWERS} viewers for {DURATION_SECONDS} s, 1 s segments "
                  f"at 2.5 Mbit/s")
            results = {}
            database = {"LIVESHOP_DATABASE_URL": f"sqlite:///{folder}/bench.db"}
            subprocess.run([sys.executable, "-m", "liveshop.cli", "migrate"], check=True,
                           env={**os.environ, **database}, stdout=subprocess.DEVNULL)
            for name, command, env in (
                ("baseline", [sys.executable, "-m", "uvicorn", "--app-dir", folder,
                              "baseline_app:app", "--log-level", "warning"],
                 {"HLS_ROOT": str(media / "video")}),
                ("liveshop", [sys.executable, "-m", "uvicorn", "liveshop.main:app",
                              "--log-level", "warning"],
                 {"LIVESHOP_MEDIA_DIR": str(media), "LIVESHOP_RTMP_PORT": "0", **database}),
            ):
                (Path(folder) / "baseline_app.py").write_text(BASELINE_APP)
                port = free_port()
                server = serve([*command, "--port", str(port)], env, port)
                try:
                    url = f"http://127.0.0.1:{port}/video/{SHOW_ID}/live/index.m3u8"
                    results[name] = asyncio.run(load(url, server.pid))
                    report(name, results[name])
                finally:
                    server.terminate()
                    server.wait()
            ratio = (results["liveshop"]["cpu_ms_per_request"]
                     / results["baseline"]["cpu_ms_per_request"])
            print(f"  CPU per request, liveshop / baseline: {ratio:.2f}")
        finally:
            packager.terminate()
            packager.wait()
            shutil.rmtree(live_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
