"""A real server with RTMP ingest on a free port, real ffmpeg publishers, and helpers to
wait for files the packager writes."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from imageio_ffmpeg import get_ffmpeg_exe

from liveshop.core.config import Settings
from liveshop.core.db import Database, utcnow
from tests.factories import VariantSpec, create_product, create_shop
from tests.live.conftest import Person, free_port, people, server

__all__ = ["people", "server"]

FFMPEG = get_ffmpeg_exe()


@pytest.fixture
def grace() -> float:
    return 30.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path, grace: float) -> Settings:
    return Settings(database_url=database_url, media_dir=tmp_path / "media",
                    secret_key="test-secret", rtmp_port=free_port(),
                    video_grace_seconds=grace, _env_file=None)  # type: ignore[call-arg, unused-ignore]


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class Show:
    def __init__(self, host: Person, show_id: int, settings: Settings, app: Any):
        self.host, self.id, self.settings, self.app = host, show_id, settings, app
        info = host.http.get(f"/api/v1/shows/{show_id}/stream")
        assert info.status_code == 200, info.text
        self.key: str = info.json()["stream_key"]
        self.dir = settings.media_dir / "video" / str(show_id)

    @property
    def live_playlist(self) -> Path:
        return self.dir / "live" / "index.m3u8"

    @property
    def recording_playlist(self) -> Path:
        return self.dir / "recording" / "index.m3u8"

    def segments(self, kind: str = "live") -> list[str]:
        path = self.dir / kind / "index.m3u8"
        if not path.exists():
            return []
        return [line for line in path.read_text().splitlines()
                if line and not line.startswith("#")]

    def status(self) -> str:
        response = self.host.http.get(f"/api/v1/shows/{self.id}")
        return str(response.json()["status"])

    def rtmp_url(self, key: str | None = None) -> str:
        return f"rtmp://127.0.0.1:{self.settings.rtmp_port}/live/{key or self.key}"


@pytest.fixture
def scheduled_show(db: Database, people: Callable[..., Person], settings: Settings,
                   app: Any) -> Show:
    host = people("seller", "Vera Video")
    shop_id = create_shop(db, host.id, {"UK": 399})
    product_id, _ = create_product(db, shop_id, [VariantSpec(prices={"UK": 1000}, stock=5)],
                                   title="Camera Strap")
    created = host.http.post("/api/v1/shows", json={
        "shop_id": shop_id, "title": "Video test", "markets": ["UK"],
        "scheduled_at": (utcnow() + timedelta(minutes=5)).isoformat(),
        "product_ids": [product_id]})
    assert created.status_code == 201, created.text
    return Show(host, created.json()["id"], settings, app)


class Publishers:
    """ffmpeg test-pattern publishers, killed at the end of the test."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, url: str, seconds: int = 40) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [FFMPEG, "-hide_banner", "-loglevel", "error", "-re",
             "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
             "-f", "lavfi", "-i", "sine", "-t", str(seconds),
             "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30",
             "-c:a", "aac", "-f", "flv", url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stderr is not None:
                process.stderr.close()


@pytest.fixture
def publishers() -> Iterator[Publishers]:
    made = Publishers()
    yield made
    made.stop_all()


def decodes(path: Path) -> bool:
    """The file decodes end to end without a single error."""
    result = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-f", "null", "-"],
                            capture_output=True, timeout=20)
    return result.returncode == 0 and not result.stderr.strip()
