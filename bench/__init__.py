"""Benchmark scripts that print figures, run from the repository root as `python -m bench.NAME`,
and the helpers that the tests share with them (servers, canvases)."""
