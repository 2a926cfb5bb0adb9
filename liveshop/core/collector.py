"""Python's cyclic garbage collector, set for a serving process.

A full collection walks every object the collector tracks while the event loop waits. An app
process holds ~150,000 of them from start-up (modules, routes, ORM mappers, pydantic
validators), and with the default thresholds the objects of requests in flight kept reaching
the oldest generation, so full collections came every half second under load and each held
every request for 60-140 ms: that pause was the p99 of every route, and scanning cost a third
of a request's CPU (docs/benchmarks.md, "Fifth round").
"""

import gc

# Young collections after 10,000 new objects rather than 700: a request's objects are mostly
# freed by reference counting before a collection sees them, instead of being promoted while
# the request is in flight. The older generations keep their default ratios.
SERVING_THRESHOLDS = (10_000, 10, 10)


def settle_for_serving() -> None:
    """Take what start-up built out of the collector's view and collect less often.

    Call once the app has started, in the process that serves it. Frozen objects are still freed
    when their last reference goes; only cycles among them would outlive the process, and
    start-up objects live as long as it does anyway.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_THRESHOLDS)
