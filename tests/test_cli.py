"""`liveshop serve --workers N`: web-only workers sharing rooms through Redis, video ingest
in one supervised process, and no split rooms without Redis; no serving without a strong
secret key, which `liveshop demo` makes for itself."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner
from uvicorn.importer import import_from_string

from liveshop import cli as cli_module
from liveshop.core import migrate as migrations
from liveshop.core.config import get_settings, secret_key_problem
from liveshop.core.db import Database, utcnow
from liveshop.demo.app import create_demo_app
from liveshop.video.ws import MAX_FRAME_BYTES
from tests.factories import create_shop
from tests.live.conftest import Person, anonymous_join, free_port
from tests.processes import ROOT, SERVING_SECRET_KEY, wait_until_answering

TCP_LISTEN = "0A"


def children_of(pid: int) -> dict[int, str]:
    """Child process id -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name in field 2 may hold spaces; the fields after ")" do not.
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
        if parent == pid:
            found[int(entry.name)] = command
    return found


def listening_ports(pid: int) -> set[int]:
    """TCP ports the process holds a listening socket of (its own or inherited)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == TCP_LISTEN and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """The serve process, its workers and its ingest process (one process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    # Whatever is left of the group (a stuck worker, the multiprocessing resource tracker).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass
class Deployment:
    process: subprocess.Popen[bytes]
    db: Database
    port: int
    ingest_port: int
    rtmp_port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def deployment(redis_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """`serve --workers 2 --with-ingest` on a migrated SQLite database."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrations.upgrade(url)
    port, ingest_port, rtmp_port = free_port(), free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIVESHOP_DATABASE_URL": url,
           "LIVESHOP_REDIS_URL": redis_url.rsplit("/", 1)[0] + "/3",
           "LIVESHOP_SECRET_KEY": SERVING_SECRET_KEY, "LIVESHOP_MEDIA_DIR": str(tmp_path / "media"),
           "LIVESHOP_RTMP_PORT": str(rtmp_port)}
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "liveshop.cli", "serve", "--workers", "2", "--port",
             str(port), "--with-ingest", "--ingest-port", str(ingest_port)],
            env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True)
    db = Database(url)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}", process, log)
        wait_until_answering(f"http://127.0.0.1:{ingest_port}", process, log)
        yield Deployment(process, db, port, ingest_port, rtmp_port)
    finally:
        stop_group(process)
        db.dispose()


def test_two_web_only_workers_share_a_room_and_one_ingest_process_takes_video(
    deployment: Deployment,
) -> None:
    children = children_of(deployment.process.pid)
    workers = [pid for pid, command in children.items() if "spawn_main" in command]
    [ingest] = [pid for pid, command in children.items() if "liveshop.cli ingest" in command]
    assert len(workers) == 2, children
    for worker in workers:
        assert listening_ports(worker) == {deployment.port}  # no RTMP, no other port
        environment = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
        assert b"LIVESHOP_VIDEO_INGEST=false" in environment
    assert listening_ports(ingest) == {deployment.ingest_port, deployment.rtmp_port}

    host = Person(deployment.address, "seller", "Hannah Host")
    viewers = []
    try:
        shop = create_shop(deployment.db, host.id, {"UK": 399})
        created = host.http.post("/api/v1/shows", json={
            "shop_id": shop, "title": "Two workers", "markets": ["UK"],
            "scheduled_at": utcnow().isoformat()})
        assert created.status_code == 201, created.text
        show = created.json()["id"]
        assert host.http.post(f"/api/v1/shows/{show}/live").status_code == 200
        viewers = [anonymous_join(deployment.address, show) for _ in range(6)]
        assert host.http.post(f"/api/v1/shows/{show}/chat",
                              json={"text": "hello, every worker"}).status_code == 201
        for viewer in viewers:
            assert viewer.chat_texts(timeout=5) == ["hello, every worker"]
    finally:
        for viewer in viewers:
            viewer.close()
        host.close()


@pytest.mark.parametrize("command", [
    ["serve", "--workers", "2"], ["serve", "--with-ingest"], ["ingest"]],
    ids=["workers", "with-ingest", "ingest"])
def test_separate_processes_without_redis_are_refused(command: list[str],
                                                      tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIVESHOP_REDIS_URL": "",
           "LIVESHOP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "LIVESHOP_SECRET_KEY": SERVING_SECRET_KEY}
    result = subprocess.run([sys.executable, "-m", "liveshop.cli", *command,
                             "--port", str(free_port())], env=env, cwd=tmp_path,
                            capture_output=True, timeout=60)
    assert result.returncode != 0
    assert b"needs LIVESHOP_REDIS_URL" in result.stderr


# --- the secret key (issue 16, item 6) ---


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Settings read anew from an environment this test changes (restored afterwards), in a
    directory of its own (no developer's .env, and var/ is the test's)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIVESHOP_SECRET_KEY", "")
    monkeypatch.setenv("LIVESHOP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("command", [["serve"], ["serve", "--workers", "2"], ["ingest"]],
                         ids=["serve", "workers", "ingest"])
@pytest.mark.parametrize("secret", ["", "dev-insecure-change-me", "too-short"],
                         ids=["missing", "old default", "short"])
def test_serving_commands_refuse_an_unusable_secret_key(
        command: list[str], secret: str, fresh_settings: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVESHOP_SECRET_KEY", secret)
    monkeypatch.setattr(cli_module, "_uvicorn", _must_not_serve)
    result = CliRunner().invoke(cli_module.app, command)
    assert result.exit_code == 2
    [message] = result.output.strip().splitlines()
    assert message.startswith("error: LIVESHOP_SECRET_KEY")


def _must_not_serve(*args: object, **kwargs: object) -> None:
    raise AssertionError("served with an unusable secret key")


def test_demo_makes_a_secret_key_on_first_run_and_keeps_it(
        fresh_settings: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    served_with: list[str] = []
    monkeypatch.setattr(cli_module, "migrate", lambda: None)
    monkeypatch.setattr(cli_module, "seed", lambda: None)
    monkeypatch.setattr(cli_module, "_uvicorn", lambda *args, **kwargs: served_with.append(
        get_settings().secret_key))
    for _ in range(2):
        monkeypatch.setenv("LIVESHOP_SECRET_KEY", "")  # a new shell: only the file remains
        get_settings.cache_clear()
        result = CliRunner().invoke(cli_module.app, ["demo"])
        assert result.exit_code == 0, result.output
    key_file = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert secret_key_problem(key) is None
    assert served_with == [key, key]


def test_demo_serves_the_app_with_the_simulated_show_and_serve_the_production_app(
        fresh_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[tuple[str, bool]] = []
    monkeypatch.setenv("LIVESHOP_SECRET_KEY", SERVING_SECRET_KEY)
    get_settings.cache_clear()
    monkeypatch.setattr(cli_module, "migrate", lambda: None)
    monkeypatch.setattr(cli_module, "seed", lambda: None)
    monkeypatch.setattr(cli_module.uvicorn, "run", lambda app, **options: served.append(
        (app, options["factory"])))
    for command in (["demo"], ["serve"]):
        result = CliRunner().invoke(cli_module.app, command)
        assert result.exit_code == 0, result.output
    assert served == [("liveshop.demo.app:create_demo_app", True), ("liveshop.main:app", False)]
    assert import_from_string(served[0][0]) is create_demo_app


def test_serving_bounds_websocket_messages_to_a_publishers_chunk(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn would otherwise buffer messages of up to 16 MiB from any socket."""
    runs: list[dict[str, object]] = []
    monkeypatch.setattr(cli_module.uvicorn, "run", lambda *args, **kwargs: runs.append(kwargs))
    cli_module._uvicorn("127.0.0.1", 8000)
    [options] = runs
    assert options["ws_max_size"] == cli_module.WS_MAX_SIZE
    assert MAX_FRAME_BYTES < cli_module.WS_MAX_SIZE <= 5 * 1024 * 1024
