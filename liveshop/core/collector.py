"""Python's cyclic garbage collector, set for a serving process.

A full collection walks every object the collector tracks while the event loop waits. An app
process holds a large heap from start-up (modules, routes, ORM mappers, pydantic
validators), and with the default thresholds the objects of requests in flight kept reaching
the oldest generation: full collections then came often under load and each paused every
request in flight (measured: docs/decisions/0004-serving-process-tuning.md).
"""

import gc

# Young collections after 10,000 new objects rather than 700: a request's objects are mostly
# freed by reference counting before a collection sees them, instead of being promoted while
# the request is in flight. The older generations keep their default ratios.
SERVING_THRESHOLDS = (10_000, 10, 10)


def freeze_startup_objects() -> None:
    """Take what start-up built out of the collector's view and collect less often.

    Call once the app has started, in the process that serves it. Frozen objects are still freed
    when their last reference goes; only cycles among them would outlive the process, and
    start-up objects live as long as it does anyway.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_THRESHOLDS)
