"""Training the feed's recommender: time and peak memory by catalogue size.

``python -m bench.recommender`` trains on simulated shoppers (liveshop/feed/synthetic.py:
50,000 users, about 17 interactions each, taste groups of 100 items) with EASE up to its
``max_items`` default and with ALS past it. Each measurement runs in a process of its own, so
its peak memory (``VmHWM``) is its own; the baseline in the same process is counting
popularity (``most_popular``, the feed's cold-start fallback) over the same interactions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench import machine

USERS = 50_000
RUNS = [("ease", 2_000), ("ease", 5_000), ("ease", 10_000), ("ease", 20_000),
        ("als", 20_000), ("als", 50_000)]


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(method: str, items: int) -> dict[str, float]:
    from liveshop.feed.recommender import most_popular, train
    from liveshop.feed.synthetic import synthetic_interactions

    interactions = synthetic_interactions(1, USERS, items, groups=max(1, items // 100))
    started = time.perf_counter()
    most_popular(interactions, 100)
    baseline = time.perf_counter() - started
    before = _peak_mb()
    started = time.perf_counter()
    model = train(interactions, method=method)
    seconds = time.perf_counter() - started
    return {"interactions": len(interactions), "seconds": seconds, "baseline": baseline,
            "peak_before": before, "peak": _peak_mb(), "rows": sum(1 for _ in model.to_rows())}


def main() -> None:
    print(machine.describe(), flush=True)
    print("| method | items | interactions | train s | popularity s | peak MB (data alone) "
          "| neighbour rows |")
    print("|---|---|---|---|---|---|---|")
    for method, items in RUNS:
        out = subprocess.run([sys.executable, "-m", "bench.recommender", method, str(items)],
                             check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(f"| {method} | {items:,} | {result['interactions']:,} | {result['seconds']:.1f} "
              f"| {result['baseline']:.2f} | {result['peak']:,.0f} "
              f"({result['peak_before']:,.0f}) | {result['rows']:,} |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
    else:
        main()
