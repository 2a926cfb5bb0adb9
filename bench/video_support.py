"""What the video benchmarks share: the app with RTMP ingest on a free loopback port, a
seller's shows created through the JSON API, ffmpeg publishers and bare-ffmpeg baselines,
playlist parsing and per-process CPU from /proc.

Every process started here is killed on the way out, also when a measurement fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from imageio_ffmpeg import get_ffmpeg_exe

from bench.harness import CLOCK_TICKS, free_port, migrate

FFMPEG = get_ffmpeg_exe()
PLAYLIST_TIMEOUT_SECONDS = 30.0
STARTUP_SECONDS = 30.0
PASSWORD = "correct-horse-battery"
_PDT = re.compile(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)")
_START = re.compile(r"start: (-?\d+\.\d+)")
# What the brief asks every publisher to send: 720p30 test pattern, a keyframe a second.
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "30",
        "-pix_fmt", "yuv420p", "-b:v", "2500k", "-c:a", "aac"]
TEST_PATTERN = ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-f", "lavfi",
                "-i", "sine"]


# --- processes ---


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (the app's packager ffmpegs)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@dataclass(frozen=True)
class Cpu:
    """CPU seconds of one process: its own, and of its children already reaped."""

    own: float
    reaped: float


def cpu(pid: int) -> Cpu:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return Cpu(0.0, 0.0)
    return Cpu((int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
               (int(fields[13]) + int(fields[14])) / CLOCK_TICKS)


class Processes:
    """Everything a benchmark started, stopped in reverse order at the end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, command: list[str], **options: object) -> subprocess.Popen[bytes]:
        options.setdefault("stdin", subprocess.DEVNULL)
        options.setdefault("stdout", subprocess.DEVNULL)
        options.setdefault("stderr", subprocess.DEVNULL)
        process: subprocess.Popen[bytes] = subprocess.Popen(command, **options)  # type: ignore[call-overload]
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            stop(process, timeout=5)
        self.started.clear()


@contextlib.contextmanager
def processes() -> Iterator[Processes]:
    made = Processes()
    try:
        yield made
    finally:
        made.stop_all()


# --- publishers and the bare ffmpeg baseline ---


def live_publisher(url: str) -> list[str]:
    """Encodes a 720p30 test pattern in real time and sends it over RTMP, as OBS would."""
    return [FFMPEG, "-hide_banner", "-loglevel", "error", "-re", *TEST_PATTERN, *X264,
            "-f", "flv", url]


def clip_publisher(clip: Path, url: str) -> list[str]:
    """Sends an already encoded clip in real time: publishing costs almost nothing, so the
    cores are left to what is measured."""
    return [FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-i", str(clip),
            "-c", "copy", "-f", "flv", url]


def encode_clip(folder: Path, seconds: int, extension: str = "flv") -> Path:
    """The publishers' stream once, to a file (ultrafast: the bytes and packets a remuxer
    handles are set by the bitrate and frame rate, not the preset)."""
    clip = folder / f"clip.{extension}"
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *TEST_PATTERN,
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
                    "-pix_fmt", "yuv420p", "-b:v", "2500k", "-maxrate", "2500k",
                    "-bufsize", "2500k", "-c:a", "aac", str(clip)],
                   check=True, timeout=120)
    return clip


def bare_remux(port: int, live_dir: Path) -> list[str]:
    """The baseline: ffmpeg itself listening for RTMP and remuxing to live HLS with the
    app's segmenting (1 s, 6 listed). Loopback only, never exposed."""
    live_dir.mkdir(parents=True, exist_ok=True)
    return [FFMPEG, "-hide_banner", "-loglevel", "error", "-listen", "1",
            "-i", f"rtmp://127.0.0.1:{port}/live/x", "-c", "copy", "-f", "hls",
            "-hls_time", "1", "-hls_list_size", "6",
            "-hls_flags", "delete_segments+program_date_time",
            str(live_dir / "index.m3u8")]


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    """ffmpeg -listen accepts a single connection: watch the socket table instead of
    connecting to it."""
    deadline = time.monotonic() + 10
    needle = f":{port:04X} "
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ffmpeg -listen exited with {process.returncode}")
        if any(needle in line and line.split()[3] == "0A"
               for line in Path("/proc/net/tcp").read_text().splitlines()[1:]):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# --- playlists ---


def segments(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def media_sequence(playlist: str) -> int:
    found = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", playlist)
    return int(found.group(1)) if found else 0


def first_program_date_time(playlist: str) -> float:
    found = _PDT.search(playlist)
    if found is None:
        raise RuntimeError("the playlist has no #EXT-X-PROGRAM-DATE-TIME")
    return datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def segment_start(path: Path) -> float:
    """The first timestamp in a segment, as ffmpeg reports it."""
    result = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True,
                            timeout=20, check=False)
    found = _START.search(result.stderr.decode(errors="replace"))
    if found is None:
        raise RuntimeError(f"no start time in {path}")
    return float(found.group(1))


def wait_for_segment(playlist: Path, process: subprocess.Popen[bytes] | None = None,
                     after: int = -1) -> str:
    """The playlist's text once it lists a segment with a media sequence above ``after``."""
    deadline = time.monotonic() + PLAYLIST_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the publisher exited with {process.returncode}")
        with contextlib.suppress(FileNotFoundError):
            text = playlist.read_text()
            if segments(text) and media_sequence(text) + len(segments(text)) - 1 > after:
                return text
        time.sleep(0.05)
    raise RuntimeError(f"{playlist} had no segment after {PLAYLIST_TIMEOUT_SECONDS} s")


# --- the app ---


@dataclass
class App:
    url: str
    pid: int
    rtmp_port: int
    media_dir: Path

    def rtmp_url(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/live/{key}"

    def live_playlist(self, show_id: int, name: str = "index.m3u8") -> Path:
        return self.media_dir / "video" / str(show_id) / "live" / name


@contextlib.contextmanager
def app(**settings: str) -> Iterator[App]:
    """The real app (uvicorn, temporary migrated SQLite, RTMP ingest on a free loopback
    port) in its own process; its ffmpeg children are killed with it."""
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{folder}/bench.db"
        migrate(database_url)
        port, rtmp_port = free_port(), free_port()
        env = {**os.environ, "LIVESHOP_DATABASE_URL": database_url,
               "LIVESHOP_MEDIA_DIR": f"{folder}/media", "LIVESHOP_RTMP_PORT": str(rtmp_port),
               "LIVESHOP_RTMP_HOST": "127.0.0.1", "LIVESHOP_SECRET_KEY": secrets.token_urlsafe(48),
               **{f"LIVESHOP_{name.upper()}": value for name, value in settings.items()}}
        with (Path(folder) / "server.log").open("wb") as log:
            # Started in the temp dir so a developer's .env cannot leak in.
            server = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "liveshop.main:app", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "warning", "--no-access-log"],
                cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(server, url, Path(folder) / "server.log")
            yield App(url, server.pid, rtmp_port, Path(folder) / "media")
        finally:
            leftovers = children(server.pid)
            stop(server, timeout=15)
            for pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)


def _wait_until_up(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the app exited: {log.read_text(errors='replace')}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("the app did not start")


def _ok(response: httpx.Response) -> dict[str, object]:
    if not response.is_success:
        raise RuntimeError(f"{response.request.method} {response.request.url}: "
                           f"{response.status_code} {response.text}")
    body: dict[str, object] = response.json()
    return body


def create_shows(server: App, count: int) -> list[tuple[int, str]]:
    """A seller, a shop, a product and ``count`` scheduled shows through the JSON API;
    returns (show id, stream key) pairs. Publishing takes a show live."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        created = _ok(http.post("/api/v1/auth/signup", json={
            "email": f"host-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD,
            "display_name": "Bench Host", "role": "seller"}))
        http.headers["X-CSRF-Token"] = str(created["csrf_token"])
        shop = _ok(http.post("/api/v1/shops", json={
            "name": "Bench Studio", "description": "Benchmarks.",
            "markets": [{"market": "UK", "shipping": 399}]}))
        product = _ok(http.post(f"/api/v1/shops/{shop['id']}/products", json={
            "title": "Glow Jacket", "description": "Reflective.", "status": "active",
            "options": ["Size"], "variants": [
                {"sku": f"GLOW-{uuid.uuid4().hex[:6]}", "options": ["M"],
                 "prices": {"UK": {"amount": 2500}}}]}))
        shows = []
        for index in range(count):
            show = _ok(http.post("/api/v1/shows", json={
                "shop_id": shop["id"], "title": f"Bench show {index}", "markets": ["UK"],
                "scheduled_at": (datetime.now(UTC) + timedelta(minutes=10)).isoformat(),
                "product_ids": [product["id"]]}))
            stream = _ok(http.get(f"/api/v1/shows/{show['id']}/stream"))
            shows.append((int(str(show["id"])), str(stream["stream_key"])))
        return shows
