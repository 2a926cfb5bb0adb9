"""Benchmarks, run by ``make bench``; the method and current figures: docs/benchmarks.md."""
