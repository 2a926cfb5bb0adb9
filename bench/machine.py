"""The machine a benchmark ran on, and how busy it was meanwhile.

A figure from a shared 2-core VM means little without the machine: the same code's p99 has
differed several-fold between VMs and between quiet and busy stretches of one VM
(docs/benchmarks.md, "Why fan-out runs differ"). Every scale benchmark prints
:func:`describe` first, and the fan-out benchmark what the whole machine
(:class:`CpuTimes`) and each of its own processes spent during the measured window.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import harness


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _is_virtual() -> bool:
    try:
        return " hypervisor" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("nan")


def _filesystem_of(path: str) -> str:
    """The file system type holding ``path`` (where the benchmarks' SQLite files go)."""
    try:
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    holding = [fields for fields in mounts
               if len(fields) > 2 and (path == fields[1] or path.startswith(
                   fields[1].rstrip("/") + "/"))]
    return max(holding, key=lambda fields: len(fields[1]))[2] if holding else "unknown"


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def describe() -> str:
    """One line: CPU model, cores (and those this process may use), memory, load average
    now, Python, and the file system of the temporary directory."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()} cores" + (
        f" ({usable} usable)" if usable is not None and usable != os.cpu_count() else "")
    kind = "VM" if _is_virtual() else "host"
    return (f"machine: {_cpu_model()}, {cores}, {_memory_gib():.0f} GiB, {kind};"
            f" load average {load_average()}; Python {platform.python_version()}"
            f" ({sys.implementation.name}); {tempfile.gettempdir()} on"
            f" {_filesystem_of(tempfile.gettempdir())}")


@dataclass(frozen=True)
class CpuTimes:
    """The whole machine's CPU time so far (/proc/stat), in seconds summed over cores."""

    busy: float
    idle: float
    steal: float

    @classmethod
    def now(cls) -> CpuTimes:
        try:
            fields = [int(value) for value in
                      Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        except (OSError, ValueError):
            return cls(0.0, 0.0, 0.0)
        fields += [0] * (8 - len(fields))
        user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
        ticks = harness.CLOCK_TICKS
        return cls((user + nice + system + irq + softirq) / ticks, (idle + iowait) / ticks,
                   steal / ticks)

    def until(self, later: CpuTimes, seconds: float) -> str:
        """How many cores were busy, idle and stolen by the hypervisor from this reading
        to ``later``, ``seconds`` apart."""
        seconds = max(seconds, 1e-3)
        return (f"machine busy {(later.busy - self.busy) / seconds:.2f} cores, idle"
                f" {(later.idle - self.idle) / seconds:.2f}, stolen"
                f" {(later.steal - self.steal) / seconds:.2f}")


def _socket_inodes(port: int) -> set[str]:
    """Inodes of the established TCP connections whose local port is ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(fields[9])
    return inodes


def connections_by_process(pid: int, port: int) -> list[int]:
    """How many of the connections to ``port`` each process of ``pid``'s tree holds
    (uvicorn's workers take new connections in turn as they win ``accept``, not evenly),
    largest first; processes holding none are left out."""
    wanted = {f"socket:[{inode}]" for inode in _socket_inodes(port)}
    counts = []
    for process in [pid, *harness.children(pid)]:
        held = 0
        try:
            for fd in Path(f"/proc/{process}/fd").iterdir():
                try:
                    held += os.readlink(fd) in wanted
                except OSError:
                    continue
        except OSError:
            continue
        if held:
            counts.append(held)
    return sorted(counts, reverse=True)
