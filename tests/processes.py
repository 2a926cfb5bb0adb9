"""The app as separate OS processes, for tests of what happens between processes
(crashes, several processes sharing one room)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

from liveshop.live.socket_writes import PROTOCOL_PATH
from tests.live.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30.0
# A serving process refuses a missing, short or placeholder secret key; the processes of one
# test run share this one, as a deployment's processes share theirs.
SERVING_SECRET_KEY = secrets.token_urlsafe(48)


def run_python(code: str, env: dict[str, str] | None = None) -> str:
    """Run ``code`` in a fresh interpreter (for what must not touch the test process, such
    as freezing its heap); what it printed."""
    finished = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        env={**os.environ, "LIVESHOP_SECRET_KEY": SERVING_SECRET_KEY, **(env or {}),
             "PYTHONPATH": str(ROOT)}, timeout=60, check=False)
    assert finished.returncode == 0, finished.stderr
    return finished.stdout.strip()


def wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path,
                         probe: str = "/api/v1/markets") -> None:
    """Until the server started as ``process`` answers ``probe``; fails with its log if it
    exits or stays silent."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        assert process.poll() is None, (
            f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}{probe}", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, (
            f"the server did not answer within {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


class Server:
    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "liveshop.main:app", "--port",
                 str(self.port), "--log-level", "warning", "--ws", PROTOCOL_PATH],
                env={**os.environ, "LIVESHOP_SECRET_KEY": SERVING_SECRET_KEY, **self.env,
                     "PYTHONPATH": str(ROOT)}, stdout=log,
                stderr=subprocess.STDOUT)
        wait_until_answering(self.url, self.process, self.log)

    def kill9(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
