"""Live-room fan-out: one room, thousands of WebSocket viewers, chat at 20 messages/s and a
stock change every 100 ms for 20 s.

Against (a) liveshop, the real app as ``liveshop serve --workers N`` runs it (default 2, one
per core of the 2-core machine, sharing the room through Redis): chat is posted by the show's
host (moderators are exempt from the chat rate limit) through POST /shows/{id}/chat, stock
changes because a buyer taps "buy" every 100 ms; and (b) the baseline: a bare ``websockets``
server that relays each published message to every viewer at once with ``broadcast`` (no
batching, no database). Both are fed from this process at the same rates.

Viewers live in two client processes, each holding half the sockets through a minimal
WebSocket reader (parsing frames, answering pings), so the clients cost far less than the
servers they measure. Every chat message carries its sender's ``time.time()``; a viewer
takes the delivery latency when the message arrives (liveshop sends chat in batches every
150 ms: every message in a batch counts as one delivery).

Reports p50/p99 delivery latency, deliveries/s and frames/s, server CPU per delivery (from
/proc over the measured window), server RSS per connection and the liveshop/baseline ratios.
The load generator shares the machine with the servers, so each run also reports the machine
(CPU model, cores, load average), the CPU its own processes and the whole machine spent in
the window, how the viewers' sockets fell to the server's processes, and the clients'
longest garbage-collector pause. ``--runs N`` repeats the pair of runs (their order swapped
each time) and reports the median and the range of each figure: one run's p99 rests on a
handful of the 400 chat messages (docs/benchmarks.md, "Why fan-out runs differ").
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import httpx

from bench import harness, machine
from liveshop.live.frames import encode
from tests.factories import make_buyers

VIEWERS = 5000
CLIENT_PROCESSES = 2
CHAT_PER_SECOND = 20
STOCK_EVERY_SECONDS = 0.1
DURATION_SECONDS = 20
CALIBRATION_SECONDS = 5
CONNECTS_IN_FLIGHT = 100
BUYERS = 20
MAX_LATENCY_MS = 60_000
DRAIN_QUIET_SECONDS = 3.0
DRAIN_LIMIT_SECONDS = 60.0
STAMP = re.compile(rb"ts=(\d+\.\d+)")
# On a server's PYTHONPATH with --gc-log: its processes log their collections.
GC_PROBE = Path(__file__).resolve().parent / "gc_probe"

TARGET_P99_MS = 250
TARGET_CPU_RATIO = 1.5
TARGET_KB_PER_CONNECTION = 40


# --- viewers (client processes) ---


@dataclass
class Tally:
    frames: int = 0
    chat: int = 0
    stock: int = 0
    last_receive: float = 0.0
    closed: int = 0
    # The client's own collector pauses: a frame read during one is stamped late.
    gc_pause_max_ms: float = 0.0
    gc_pause_total_ms: float = 0.0
    # Delivery latencies in 1 ms buckets: millions of deliveries, a fixed-size summary.
    histogram: list[int] = field(default_factory=lambda: [0] * (MAX_LATENCY_MS + 1))

    def frame(self, payload: bytes) -> None:
        self.frames += 1
        now = time.time()
        self.last_receive = now
        if payload.startswith(b'{"type":"chat"'):
            stamps = STAMP.findall(payload)
            self.chat += len(stamps)
            for stamp in stamps:
                self.histogram[min(MAX_LATENCY_MS, int((now - float(stamp)) * 1000))] += 1
        elif payload.startswith(b'{"type":"stock"'):
            self.stock += 1


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked frame (clients must mask) for the short control frames a viewer sends."""
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


class Viewer(asyncio.Protocol):
    """A WebSocket viewer that only reads: frames are parsed, pings answered."""

    def __init__(self, tally: Tally, request: bytes, ready: asyncio.Future[None]):
        self.tally, self.request, self.ready = tally, request, ready
        self.buffer = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.tally.closed += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before the first frame"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(bytes(self.buffer[:60]).decode()))
                return
            del self.buffer[:end + 4]
            self.upgraded = True
        self._read_frames()

    def _read_frames(self) -> None:
        buffer, position, size = self.buffer, 0, len(self.buffer)
        while size - position >= 2:
            length, head = buffer[position + 1] & 0x7F, 2
            if length == 126:
                if size - position < 4:
                    break
                length, head = int.from_bytes(buffer[position + 2:position + 4]), 4
            elif length == 127:
                if size - position < 10:
                    break
                length, head = int.from_bytes(buffer[position + 2:position + 10]), 10
            if size - position < head + length:
                break
            opcode = buffer[position] & 0x0F
            payload = bytes(buffer[position + head:position + head + length])
            position += head + length
            if opcode == 0x1:
                self.tally.frame(payload)
                if not self.ready.done():
                    self.ready.set_result(None)
            elif opcode == 0x9 and self.transport is not None:
                self.transport.write(_client_frame(0xA, payload))
        del buffer[:position]


def _upgrade_request(port: int, path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n").encode()


async def _connect_all(tally: Tally, port: int, path: str, count: int,
                       transports: list[asyncio.BaseTransport]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT)
    failures: list[str] = []

    async def one() -> None:
        async with gate:
            ready: asyncio.Future[None] = loop.create_future()
            try:
                transport, _ = await loop.create_connection(
                    lambda: Viewer(tally, _upgrade_request(port, path), ready),
                    "127.0.0.1", port)
                transports.append(transport)
                await asyncio.wait_for(ready, 60)
            except (OSError, ConnectionError, TimeoutError) as error:
                failures.append(str(error) or type(error).__name__)

    began = time.monotonic()
    await asyncio.gather(*(one() for _ in range(count)))
    return {"connected": count - len(failures), "failed": len(failures),
            "seconds": time.monotonic() - began, "errors": failures[:3]}


def client_process(pipe: Connection) -> None:
    """One client process: holds its share of the viewers and answers the controller."""
    import uvloop  # what uvicorn serves with, so both sides use the same loop

    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    tally = Tally()
    transports: list[asyncio.BaseTransport] = []
    tasks: set[asyncio.Task[None]] = set()

    async def connect(port: int, path: str, count: int) -> None:
        pipe.send(await _connect_all(tally, port, path, count, transports))

    def command() -> None:
        kind, *arguments = pipe.recv()
        if kind == "connect":
            task = loop.create_task(connect(*arguments))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif kind == "reset":
            fresh = Tally()
            tally.__dict__.update(fresh.__dict__)
            pipe.send(None)
        elif kind == "progress":
            pipe.send((tally.chat, tally.last_receive))
        elif kind == "report":
            pipe.send(tally.__dict__)
        elif kind == "close":
            for transport in transports:
                transport.close()
            loop.stop()

    collecting_since = 0.0

    def time_collections(phase: str, info: dict[str, int]) -> None:
        nonlocal collecting_since
        if phase == "start":
            collecting_since = time.perf_counter()
            return
        pause = (time.perf_counter() - collecting_since) * 1000
        tally.gc_pause_total_ms += pause
        tally.gc_pause_max_ms = max(tally.gc_pause_max_ms, pause)

    gc.callbacks.append(time_collections)
    loop.add_reader(pipe.fileno(), command)
    loop.run_forever()
    loop.close()


class Viewers:
    """The client processes, driven over pipes."""

    def __init__(self, processes: int):
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=client_process, args=(theirs,), daemon=True)
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    def ask(self, *message: Any) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(message)
        return [pipe.recv() for pipe in self.pipes]

    def connect(self, port: int, path: str, count: int) -> dict[str, Any]:
        shares = [count // len(self.pipes) + (index < count % len(self.pipes))
                  for index in range(len(self.pipes))]
        for pipe, share in zip(self.pipes, shares, strict=True):
            pipe.send(("connect", port, path, share))
        answers = [pipe.recv() for pipe in self.pipes]
        return {"connected": sum(a["connected"] for a in answers),
                "failed": sum(a["failed"] for a in answers),
                "seconds": max(a["seconds"] for a in answers),
                "errors": [e for a in answers for e in a["errors"]][:3]}

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(("close",))
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()


# --- publishers ---


def chat_text(sequence: int) -> str:
    return f"ts={time.time():.6f} n={sequence}"


async def paced(rate_per_second: float, count: int,
                send: Callable[[int], Coroutine[Any, Any, bool]]) -> int:
    """Start ``send(i)`` on schedule (never waiting for the previous one); count successes."""
    began = time.monotonic()
    pending: list[asyncio.Task[bool]] = []
    for sequence in range(count):
        delay = began + sequence / rate_per_second - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(send(sequence)))
    return sum(await asyncio.gather(*pending))


async def publish_liveshop(port: int, room: harness.LiveRoom, buyers: list[str],
                           seconds: float, took: dict[str, list[float]] | None = None
                           ) -> dict[str, int]:
    """Post chat and buy at the benchmark's rates; ``took`` collects each request's seconds
    by path ("chat", "buy"): how much of a delivery's latency is the publishing itself."""
    base = f"http://127.0.0.1:{port}/api/v1/shows/{room.show_id}"
    limits = httpx.Limits(max_connections=64)
    took = {"chat": [], "buy": []} if took is None else took
    took.setdefault("chat", [])
    took.setdefault("buy", [])
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        async def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> bool:
            started = time.perf_counter()
            # A post the server could not answer in time is a message that was not sent.
            try:
                response = await http.post(f"{base}/{path}", json=body, headers=headers)
            except httpx.TimeoutException:
                return False
            took[path].append(time.perf_counter() - started)
            return response.status_code == 201

        async def chat(sequence: int) -> bool:
            return await post("chat", {"text": chat_text(sequence)},
                              {"Authorization": f"Bearer {room.host_token}"})

        async def buy(sequence: int) -> bool:
            return await post("buy", {"variant_id": room.variant_id, "quantity": 1},
                              {"Authorization": f"Bearer {buyers[sequence % len(buyers)]}",
                               "Accept-Language": "en-GB",
                               "Idempotency-Key": uuid.uuid4().hex})

        chats, stocks = await asyncio.gather(
            paced(CHAT_PER_SECOND, int(CHAT_PER_SECOND * seconds), chat),
            paced(1 / STOCK_EVERY_SECONDS, int(seconds / STOCK_EVERY_SECONDS), buy))
    return {"chat": chats, "stock": stocks}


async def publish_baseline(port: int, seconds: float) -> dict[str, int]:
    from websockets.asyncio.client import connect

    async with connect(f"ws://127.0.0.1:{port}/publish", compression=None) as socket:
        async def chat(sequence: int) -> bool:
            message = {"id": sequence, "user_id": 1, "author": "Hannah Host",
                       "text": chat_text(sequence), "at": int(time.time() * 1000)}
            await socket.send(encode({"type": "chat", "messages": [message]}))
            return True

        async def stock(sequence: int) -> bool:
            await socket.send(encode({"type": "stock", "variants": {"1": 100_000 - sequence}}))
            return True

        chats, stocks = await asyncio.gather(
            paced(CHAT_PER_SECOND, int(CHAT_PER_SECOND * seconds), chat),
            paced(1 / STOCK_EVERY_SECONDS, int(seconds / STOCK_EVERY_SECONDS), stock))
    return {"chat": chats, "stock": stocks}


def baseline_server(port: int) -> None:
    """Relay every message from /publish to every other socket at once (no batching)."""
    import uvloop
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    viewers: set[ServerConnection] = set()

    async def handler(socket: ServerConnection) -> None:
        if socket.request is not None and socket.request.path == "/publish":
            async for message in socket:
                broadcast(viewers, message)
            return
        viewers.add(socket)
        try:
            await socket.send('{"type":"hello"}')
            await socket.wait_closed()
        finally:
            viewers.discard(socket)

    async def run() -> None:
        async with serve(handler, "127.0.0.1", port, compression=None) as server:
            await server.serve_forever()

    uvloop.run(run())


# --- measurement ---


def _percentile_ms(histogram: list[int], fraction: float) -> float:
    total = sum(histogram)
    if not total:
        return float("nan")
    wanted, seen = fraction * total, 0
    for bucket, count in enumerate(histogram):
        seen += count
        if seen >= wanted:
            return float(bucket)
    return float(MAX_LATENCY_MS)


@dataclass
class Load:
    """What ran beside the server during the measured window, and how the machine fared."""

    client_cpu_seconds: float
    publisher_cpu_seconds: float
    machine: str
    load_at_start: str
    connections_by_process: list[int]
    client_gc_max_ms: float
    client_gc_total_ms: float


@dataclass
class Result:
    name: str
    viewers: int
    connect_seconds: float
    published: dict[str, int]
    deliveries: int
    chat_deliveries: int
    expected_chat: int
    frames: int
    seconds: float
    cpu_seconds: float
    publish_cpu_seconds: float
    kb_per_connection: float
    kb_per_connection_end: float
    p50_ms: float
    p99_ms: float
    dropped: int
    load: Load
    began: float  # the measured window's start, time.time()
    # Each publishing request's seconds by path (liveshop only: "chat", "buy").
    posts: dict[str, list[float]] = field(default_factory=dict)
    # With --gc-log: the server processes' collections in the window, a line each.
    collections: list[str] = field(default_factory=list)

    @property
    def cpu_us_per_delivery(self) -> float:
        return self.cpu_seconds * 1e6 / max(1, self.deliveries)

    @property
    def fanout_cpu_us_per_delivery(self) -> float:
        """Without what publishing alone costs (chat posts and purchases, no viewers)."""
        return (self.cpu_seconds - self.publish_cpu_seconds) * 1e6 / max(1, self.deliveries)

    def post_ms(self, path: str, fraction: float) -> float:
        return harness.percentile(sorted(self.posts.get(path, [])), fraction) * 1000

    def print(self) -> None:
        load = self.load
        print(f"  {self.name:<9} viewers={self.viewers} p50={self.p50_ms:.0f}ms"
              f" p99={self.p99_ms:.0f}ms deliveries/s={self.deliveries / self.seconds:,.0f}"
              f" frames/s={self.frames / self.seconds:,.0f}"
              f" cpu_us/delivery={self.cpu_us_per_delivery:.2f}"
              f" (fan-out only {self.fanout_cpu_us_per_delivery:.2f})"
              f" server_cpu={self.cpu_seconds / self.seconds * 100:.0f}%"
              f" rss_kb/conn={self.kb_per_connection:.1f}"
              f" (at end {self.kb_per_connection_end:.1f})", flush=True)
        print(f"  {'':<9} connect {self.connect_seconds:.1f}s;"
              f" published chat={self.published['chat']} stock={self.published['stock']};"
              f" chat delivered {self.chat_deliveries:,} of"
              f" {self.expected_chat:,}; viewers closed by the server: {self.dropped}",
              flush=True)
        if self.posts:
            print(f"  {'':<9} " + "; ".join(
                f"POST {path} p50 {self.post_ms(path, 0.5):.0f} ms"
                f" p99 {self.post_ms(path, 0.99):.0f} ms" for path in self.posts), flush=True)
        print(f"  {'':<9} load at start {load.load_at_start}; sockets per server process"
              f" {' / '.join(f'{count:,}' for count in load.connections_by_process)};"
              f" in the window: server {self.cpu_seconds / self.seconds:.2f} cores, viewers'"
              f" clients {load.client_cpu_seconds / self.seconds:.2f}, publisher"
              f" {load.publisher_cpu_seconds / self.seconds:.2f}; {load.machine};"
              f" clients' longest GC pause {load.client_gc_max_ms:.0f} ms"
              f" ({load.client_gc_total_ms:.0f} ms in all)", flush=True)
        if self.collections:
            print(f"  {'':<9} server GC in the window: " + "; ".join(self.collections),
                  flush=True)


def _drain(viewers: Viewers, expected_chat: int) -> float:
    """Wait until every chat message has reached every viewer (or delivery has stopped)."""
    began = time.monotonic()
    last_total, last_change = -1, began
    while time.monotonic() - began < DRAIN_LIMIT_SECONDS:
        progress = viewers.ask("progress")
        total = sum(chat for chat, _ in progress)
        if total >= expected_chat:
            break
        if total != last_total:
            last_total, last_change = total, time.monotonic()
        elif time.monotonic() - last_change > DRAIN_QUIET_SECONDS:
            break
        time.sleep(0.1)
    return max(last for _, last in viewers.ask("progress"))


def _own_cpu_seconds() -> float:
    """This process's CPU time (it publishes, and waits for the viewers' clients)."""
    times = os.times()
    return times.user + times.system


def measure(name: str, pid: int, port: int, path: str, count: int, seconds: float,
            publish: Callable[[float], dict[str, int]], publish_cpu_per_second: float
            ) -> Result:
    viewers = Viewers(CLIENT_PROCESSES)
    clients = [process.pid for process in viewers.processes if process.pid is not None]
    try:
        idle_rss = harness.tree_rss_kb(pid)
        connected = viewers.connect(port, path, count)
        print(f"  {name}: {connected['connected']} viewers connected in"
              f" {connected['seconds']:.1f} s, {connected['failed']} failed"
              f" {connected['errors'] or ''}", flush=True)
        time.sleep(2)  # joins settle (liveshop sends the viewer count at most once a second)
        connected_rss = harness.tree_rss_kb(pid)
        spread = machine.connections_by_process(pid, port)
        viewers.ask("reset")
        load_at_start = machine.load_average()
        machine_before, own_before = machine.CpuTimes.now(), _own_cpu_seconds()
        clients_before = sum(harness.cpu_seconds(client) for client in clients)
        cpu_before, began = harness.tree_cpu_seconds(pid), time.time()
        published = publish(seconds)
        expected = published["chat"] * connected["connected"]
        last_receive = _drain(viewers, expected)
        cpu = harness.tree_cpu_seconds(pid) - cpu_before
        clients_cpu = sum(harness.cpu_seconds(client) for client in clients) - clients_before
        own_cpu, window = _own_cpu_seconds() - own_before, time.time() - began
        machine_use = machine_before.until(machine.CpuTimes.now(), window)
        end_rss = harness.tree_rss_kb(pid)
        tallies = viewers.ask("report")
    finally:
        viewers.close()
    histogram = [sum(bucket) for bucket in zip(*(t["histogram"] for t in tallies), strict=True)]
    chat = sum(t["chat"] for t in tallies)
    per_connection = max(1, connected["connected"])
    return Result(
        name=name, viewers=connected["connected"], connect_seconds=connected["seconds"],
        published=published, deliveries=chat + sum(t["stock"] for t in tallies),
        chat_deliveries=chat, expected_chat=expected,
        frames=sum(t["frames"] for t in tallies), seconds=max(1e-3, last_receive - began),
        cpu_seconds=cpu, publish_cpu_seconds=publish_cpu_per_second * seconds,
        kb_per_connection=(connected_rss - idle_rss) / per_connection,
        kb_per_connection_end=(end_rss - idle_rss) / per_connection,
        p50_ms=_percentile_ms(histogram, 0.50), p99_ms=_percentile_ms(histogram, 0.99),
        dropped=sum(t["closed"] for t in tallies), began=began,
        load=Load(client_cpu_seconds=clients_cpu, publisher_cpu_seconds=own_cpu,
                  machine=machine_use, load_at_start=load_at_start,
                  connections_by_process=spread,
                  client_gc_max_ms=max(t["gc_pause_max_ms"] for t in tallies),
                  client_gc_total_ms=sum(t["gc_pause_total_ms"] for t in tallies)))


def collections_in(folder: Path, began: float, ended: float) -> list[str]:
    """Per server process, its collections that started in the window, by generation."""
    found = []
    for log in sorted(folder.glob("gc.*")):
        pauses: dict[int, list[float]] = defaultdict(list)
        for line in log.read_text().splitlines():
            started, generation, pause_ms = line.split()
            if began <= float(started) <= ended:
                pauses[int(generation)].append(float(pause_ms))
        if pauses:
            found.append(f"pid {log.suffix[1:]} " + ", ".join(
                f"gen{generation} x{len(pauses[generation])}"
                f" (longest {max(pauses[generation]):.0f} ms)" for generation in sorted(pauses)))
    return found


def run_liveshop(count: int, seconds: float, workers: int, redis_url: str | None, *,
                 gc_log: bool = False) -> Result:
    """``gc_log``: the server's processes log their collections (see :data:`GC_PROBE`)."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        harness.migrate(url)
        from liveshop.core.db import Database

        db = Database(url)
        try:
            room = harness.make_live_show(db, stock=100_000)
            buyers = make_buyers(db, BUYERS)
        finally:
            db.dispose()
        port = harness.free_port()
        # Every viewer connects from 127.0.0.1: lift the cap per address above their number
        # (the cap is still counted on every connect, as in production).
        env = harness.app_env(url, folder, redis_url) | {
            "LIVESHOP_ROOM_SOCKETS_PER_IP": str(count + 100)}
        collections = Path(folder) / "gc"
        if gc_log:
            collections.mkdir()
            env |= {"LIVESHOP_BENCH_GC_LOG": str(collections), "PYTHONPATH": os.pathsep.join(
                [str(GC_PROBE), *filter(None, [os.environ.get("PYTHONPATH")])])}
        with harness.server(harness.uvicorn_app(port, workers), env, port) as process:
            took: dict[str, list[float]] = {}

            def publish(seconds: float) -> dict[str, int]:
                took.clear()
                return asyncio.run(publish_liveshop(port, room, buyers, seconds, took))

            # What the posts and purchases cost with nobody watching (also warms the app).
            cpu_before = harness.tree_cpu_seconds(process.pid)
            publish(CALIBRATION_SECONDS)
            publish_cpu = (harness.tree_cpu_seconds(process.pid) - cpu_before) / CALIBRATION_SECONDS
            result = measure("liveshop", process.pid, port,
                             f"/ws/shows/{room.show_id}?market=UK", count, seconds, publish,
                             publish_cpu)
            result.posts = {path: list(times) for path, times in took.items()}
        if gc_log:
            result.collections = collections_in(collections, result.began,
                                                 result.began + result.seconds)
        return result


def run_baseline(count: int, seconds: float) -> Result:
    port = harness.free_port()
    command = [sys.executable, "-m", "bench.fanout", "--baseline-server", str(port)]
    with harness.server(command, {}, port) as process:
        return measure("baseline", process.pid, port, "/room", count, seconds,
                       lambda seconds: asyncio.run(publish_baseline(port, seconds)), 0.0)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


@dataclass
class Pair:
    baseline: Result
    liveshop: Result

    @property
    def cpu_ratio(self) -> float:
        return self.liveshop.cpu_us_per_delivery / self.baseline.cpu_us_per_delivery

    def print_ratios(self) -> None:
        liveshop, baseline = self.liveshop, self.baseline
        fanout_ratio = liveshop.fanout_cpu_us_per_delivery / baseline.cpu_us_per_delivery
        frames_ratio = ((liveshop.frames / liveshop.seconds)
                        / (baseline.frames / baseline.seconds))
        print(f"  ratios liveshop/baseline: cpu_per_delivery={self.cpu_ratio:.2f}"
              f" (fan-out only {fanout_ratio:.2f})"
              f" p99={liveshop.p99_ms / max(1.0, baseline.p99_ms):.2f}"
              f" frames/s={frames_ratio:.2f}"
              f" rss/conn={liveshop.kb_per_connection / max(0.1, baseline.kb_per_connection):.2f}")
        print(f"  target p99 <= {TARGET_P99_MS} ms: {verdict(liveshop.p99_ms <= TARGET_P99_MS)}"
              f"; cpu per delivery <= {TARGET_CPU_RATIO}x baseline:"
              f" {verdict(self.cpu_ratio <= TARGET_CPU_RATIO)}"
              f"; <= {TARGET_KB_PER_CONNECTION} KB per connection:"
              f" {verdict(liveshop.kb_per_connection <= TARGET_KB_PER_CONNECTION)}",
              flush=True)


def run_pair(options: argparse.Namespace, baseline_first: bool) -> Pair:
    """One run of each server; the first of them runs on a machine that has been quiet
    the longest, so :func:`main` swaps the order every run."""
    results: dict[str, Result] = {}
    for name in ("baseline", "liveshop") if baseline_first else ("liveshop", "baseline"):
        if name == "baseline":
            results[name] = run_baseline(options.viewers, options.seconds)
        else:
            results[name] = run_liveshop(options.viewers, options.seconds, options.workers,
                                         options.redis_url, gc_log=options.gc_log)
        results[name].print()
    return Pair(results["baseline"], results["liveshop"])


def _spread(values: list[float], unit: str, digits: int = 0) -> str:
    """Median and range of one figure over the runs."""
    return (f"median {statistics.median(values):,.{digits}f}{unit}"
            f" (range {min(values):,.{digits}f} to {max(values):,.{digits}f}{unit})")


def summarise(pairs: list[Pair]) -> None:
    """Median and range of each figure over the runs, and how many runs met each target."""
    shops = [pair.liveshop for pair in pairs]
    p99s = [shop.p99_ms for shop in shops]
    print(f"Over {len(pairs)} runs (liveshop p99 of each: "
          f"{', '.join(f'{p99:.0f}' for p99 in p99s)} ms):")
    print(f"  liveshop p99 {_spread(p99s, ' ms')}; p50"
          f" {_spread([shop.p50_ms for shop in shops], ' ms')}")
    print(f"  liveshop POST /chat p99 {_spread([s.post_ms('chat', 0.99) for s in shops], ' ms')}")
    print(f"  baseline p99 {_spread([pair.baseline.p99_ms for pair in pairs], ' ms')}")
    print(f"  cpu per delivery, liveshop/baseline"
          f" {_spread([pair.cpu_ratio for pair in pairs], 'x', 2)}")
    print(f"  KB per connection {_spread([shop.kb_per_connection for shop in shops], '', 1)}")
    met = sum(p99 <= TARGET_P99_MS for p99 in p99s)
    median_p99 = statistics.median(p99s)
    print(f"  target p99 <= {TARGET_P99_MS} ms: met in {met} of {len(pairs)} runs; the"
          f" median {median_p99:.0f} ms: {verdict(median_p99 <= TARGET_P99_MS)}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout")
    parser.add_argument("--viewers", type=int, default=VIEWERS)
    parser.add_argument("--seconds", type=float, default=DURATION_SECONDS)
    parser.add_argument("--runs", type=int, default=1,
                        help="pairs of runs (baseline and liveshop, order swapped each"
                             " time); reports the median and range of each figure")
    parser.add_argument("--gc-log", action="store_true",
                        help="report the liveshop server processes' garbage collections in"
                             " the measured window")
    harness.add_workers_options(parser, default=2)
    parser.add_argument("--baseline-server", type=int, help=argparse.SUPPRESS)
    options = harness.parse_with_workers(parser, argv)
    harness.raise_fd_limit()
    if options.baseline_server:
        baseline_server(options.baseline_server)
        return
    print(machine.describe(), flush=True)
    print(f"Live fan-out: {options.viewers} viewers in one room, {CHAT_PER_SECOND} chat/s and a"
          f" stock change every {STOCK_EVERY_SECONDS * 1000:.0f} ms for {options.seconds:.0f} s,"
          f" {CLIENT_PROCESSES} client processes, {options.workers} liveshop process(es),"
          f" {options.runs} run(s)", flush=True)
    pairs = []
    for run in range(options.runs):
        if options.runs > 1:
            print(f"run {run + 1} of {options.runs}, load average {machine.load_average()}",
                  flush=True)
        pair = run_pair(options, baseline_first=run % 2 == 0)
        pair.print_ratios()
        pairs.append(pair)
    if len(pairs) > 1:
        summarise(pairs)


if __name__ == "__main__":
    main()
