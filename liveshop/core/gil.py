"""How soon a worker thread gets the GIL back, set for a serving process.

The event loop holds the GIL while it works: a burst of requests, a fan-out pass over
thousands of sockets. A worker thread whose database statement has returned waits for the
loop to let go, which CPython forces once per switch interval, 5 ms by default; a claim batch
or a purchase waits so after each of its statements, holding its locks meanwhile. A shorter
interval shortens those waits (measured: docs/decisions/0004-serving-process-tuning.md).
"""

import sys

SERVING_SWITCH_INTERVAL_SECONDS = 0.001


def hand_over_sooner() -> None:
    """Call once the app has started, in the process that serves it."""
    sys.setswitchinterval(SERVING_SWITCH_INTERVAL_SECONDS)
