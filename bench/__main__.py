"""Run every benchmark in turn."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["bench.reservations", "bench.flash_sale", "bench.pages", "bench.fanout",
              "bench.video_latency", "bench.video_cpu", "bench.hls_serving", "bench.shopify_import",
              "bench.recommender", "bench.feed"]


def main() -> int:
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        importlib.import_module(name).main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
