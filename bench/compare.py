"""One benchmark on two versions of the code, run by run in alternation.

    python -m bench.compare flash_sale --base 7ff5fe1 --pairs 6
    python -m bench.compare fanout --base main~3 --pairs 4
    python -m bench.compare flash_sale_creator --against flash_sale --pairs 4

``--against`` compares two variants of one benchmark on this checkout's code instead of
two revisions (the flash sale in a creator's own show, commission posted, against the
seller's show), alternating the same way.

This machine's speed drifts within minutes (other tenants), so a change is judged by runs
of the old and the new code taken in turns, each order swapped every pair, and compared by
their medians. The base revision is checked out into a temporary git worktree (node_modules
linked from this checkout) and each run is a fresh process importing its own tree's code;
both use this checkout's virtualenv. Flash sale: PostgreSQL, two app processes with Redis.
Fan-out: the default room, two app processes with Redis (its baseline server is the same for
both and is not re-run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench import machine

HERE = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("LIVESHOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# Each prints one line "RESULT {json}" of figures where higher is better or lower is better.
RUNS = {
    "flash_sale": f"""
import json, tempfile
from bench import flash_sale, harness
harness.raise_fd_limit()
with tempfile.TemporaryDirectory() as folder, harness.fresh_postgres() as url:
    result = flash_sale.run(url, "PostgreSQL", folder, 2, {REDIS_URL!r})
print("RESULT", json.dumps({{"attempts/s": result["per_second"], "p99 ms": result["p99_ms"]}}))
""",
    "flash_sale_creator": f"""
import json, tempfile
from bench import flash_sale, harness
harness.raise_fd_limit()
with tempfile.TemporaryDirectory() as folder, harness.fresh_postgres() as url:
    result = flash_sale.run(url, "PostgreSQL", folder, 2, {REDIS_URL!r}, hosted_by_creator=True)
print("RESULT", json.dumps({{"attempts/s": result["per_second"], "p99 ms": result["p99_ms"]}}))
""",
    "fanout": f"""
import json
from bench import fanout, harness
harness.raise_fd_limit()
result = fanout.run_liveshop(fanout.VIEWERS, fanout.DURATION_SECONDS, 2, {REDIS_URL!r})
print("RESULT", json.dumps({{"p99 ms": result.p99_ms,
                             "CPU us/delivery": result.cpu_us_per_delivery,
                             "KB/connection": result.kb_per_connection}}))
""",
}
HIGHER_IS_BETTER = {"attempts/s"}


@contextlib.contextmanager
def checked_out(revision: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="liveshop-base-") as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--quiet", "--detach",
                        str(tree), revision], check=True)
        try:
            (tree / "node_modules").symlink_to(HERE / "node_modules")
            yield tree
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force",
                            str(tree)], check=False)


@contextlib.contextmanager
def this_checkout() -> Iterator[Path]:
    yield HERE


def run_once(benchmark: str, tree: Path) -> dict[str, float] | None:
    done = subprocess.run([sys.executable, "-c", RUNS[benchmark]], cwd=tree,
                          env={**os.environ, "PYTHONPATH": str(tree)},
                          capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            figures: dict[str, float] = json.loads(line.removeprefix("RESULT "))
            return figures
    print(f"    run failed:\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}", flush=True)
    return None


def _range(runs: list[dict[str, float]], key: str) -> str:
    values = [run[key] for run in runs]
    return f"{min(values):,.1f} to {max(values):,.1f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare",
                                     description=__doc__.split("\n", 1)[0])
    parser.add_argument("benchmark", choices=sorted(RUNS))
    parser.add_argument("--base", help="git revision of the code before")
    parser.add_argument("--against", choices=sorted(RUNS),
                        help="instead of --base: the benchmark variant to compare with, "
                        "on this checkout")
    parser.add_argument("--pairs", type=int, default=4)
    options = parser.parse_args(argv)
    if (options.base is None) == (options.against is None):
        parser.error("give --base or --against")
    print(machine.describe(), flush=True)
    results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    before_run = options.against or options.benchmark
    with checked_out(options.base) if options.base else this_checkout() as base:
        trees = [("before", base, before_run), ("after", HERE, options.benchmark)]
        for pair in range(options.pairs):
            for name, tree, benchmark in trees if pair % 2 == 0 else trees[::-1]:
                figures = run_once(benchmark, tree)
                if figures is not None:
                    results[name].append(figures)
                    shown = ", ".join(f"{key} {value:,.1f}" for key, value in figures.items())
                    print(f"  pair {pair + 1} {name:6}: {shown}", flush=True)
    if not (results["before"] and results["after"]):
        sys.exit("no comparison: every run of one side failed")
    print(f"{options.benchmark}, medians of {len(results['before'])} runs before"
          f" ({options.base or options.against}) and {len(results['after'])} after:")
    for key in results["after"][0]:
        before = statistics.median(run[key] for run in results["before"])
        after = statistics.median(run[key] for run in results["after"])
        better = "higher" if key in HIGHER_IS_BETTER else "lower"
        print(f"  {key}: {before:,.1f} -> {after:,.1f} ({after / before:.2f}x; {better} is"
              f" better); range before {_range(results['before'], key)}, after"
              f" {_range(results['after'], key)}")


if __name__ == "__main__":
    main()
