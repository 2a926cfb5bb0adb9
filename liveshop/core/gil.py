"""How soon a worker thread gets the GIL back, set for a serving process.

The event loop holds the GIL while it works: a burst of requests, a fan-out pass over
thousands of sockets. A worker thread whose database statement has returned waits for the
loop to let go, which CPython forces once per switch interval, 5 ms by default. A flash
sale's claim batch runs 7 statements and a purchase nearly 50, each waiting its turn, and on
SQLite a purchase holds the write lock, which chat posts need too, across all of its own.
With a 1 ms interval the flash sale's p99 on PostgreSQL fell from a median of 247 to 212 ms
over eight alternating runs each (docs/benchmarks.md, "Eighth round").
"""

import sys

SERVING_SWITCH_INTERVAL_SECONDS = 0.001


def hand_over_sooner() -> None:
    """Call once the app has started, in the process that serves it."""
    sys.setswitchinterval(SERVING_SWITCH_INTERVAL_SECONDS)
