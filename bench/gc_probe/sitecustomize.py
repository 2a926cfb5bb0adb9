"""Logs every garbage collection of a benchmarked server process (``--gc-log``).

Python imports ``sitecustomize`` at start-up from its path: ``bench.fanout --gc-log`` puts
this folder on the server's PYTHONPATH, so uvicorn and each worker it spawns write one line
per collection (start time, generation, milliseconds) to ``gc.<pid>`` in the folder named by
``LIVESHOP_BENCH_GC_LOG``. Nothing happens without that variable.
"""

import gc
import os
import time

_folder = os.environ.get("LIVESHOP_BENCH_GC_LOG")
if _folder:
    _log = open(os.path.join(_folder, f"gc.{os.getpid()}"), "w", buffering=1)  # noqa: SIM115
    _started = [0.0, 0.0]

    def _time_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            _started[:] = [time.time(), time.perf_counter()]
            return
        pause_ms = (time.perf_counter() - _started[1]) * 1000
        _log.write(f"{_started[0]:.4f} {info['generation']} {pause_ms:.2f}\n")

    gc.callbacks.append(_time_collection)
