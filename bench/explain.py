"""The cost of "show why": a plain answer and an explain answer, side by side in one run.

    python -m bench.explain [--requests 300] [--digits 100] [--json FILE]

Real MNIST test digits drawn on the page's 280 px canvas and encoded by chromium as the page
sends them (bench/canvases.py). Each round answers one data URL twice, in turn:

- plain: `mnistdraw.api.handle`, the function that both servers call;
- explain: the same call with the query string explain=1.

Interleaved, so both see the same machine. Prints p50 and p99 of each, their ratio, and the
size of the explain object and of the whole explain answer. Targets (issue 13): explain p50
at most 20x plain's, the explain object at most 120 KB (the whole answer at most 150 KB).
Figures only, never a pass/fail test.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from mnistdraw import api, explain

from . import servers
from .canvases import page_bodies
from .latency import summary
from .stats import percentile, report_targets

TARGETS = {"explain p50 / plain p50": 20.0, "explain object p50 (KB)": 120.0}


def explain_answer(body: bytes) -> api.Answer:
    """The answer with explain=1, as both servers give it."""
    return api.handle("POST", {"Content-Type": servers.PAGE_CONTENT_TYPE}, body, "explain=1")


def run(requests: int, digits: int) -> dict:
    bodies = page_bodies(digits)
    headers = {"Content-Type": servers.PAGE_CONTENT_TYPE}
    kept = [b for b in bodies if api.handle("POST", headers, b).status == 200]  # warm-up
    for body in kept[:10]:
        explain_answer(body)  # loads the companion graph once, as a server would
    plain, explained, plain_bytes, answer_bytes, object_bytes = [], [], [], [], []
    for i in range(requests):
        body = kept[i % len(kept)]
        started = time.perf_counter()
        answer = api.handle("POST", headers, body)
        plain.append(time.perf_counter() - started)
        assert answer.status == 200
        started = time.perf_counter()
        full = explain_answer(body)
        explained.append(time.perf_counter() - started)
        assert full.status == 200
        if i < len(kept):
            plain_bytes.append(len(answer.body()))
            answer_bytes.append(len(full.body()))
            entry = full.payload["digits"][0]
            object_bytes.append(len(json.dumps(entry["explain"], separators=(",", ":"))))
    return {
        "requests": requests,
        "digits": len(kept),
        "plain_ms": summary(plain),
        "explain_ms": summary(explained),
        "plain_answer_bytes": {"p50": percentile(plain_bytes, 50), "max": max(plain_bytes)},
        "explain_answer_bytes": {"p50": percentile(answer_bytes, 50), "max": max(answer_bytes)},
        "explain_object_bytes": {"p50": percentile(object_bytes, 50), "max": max(object_bytes)},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="rounds of plain + explain")
    parser.add_argument("--digits", type=int, default=100, help="distinct test digits drawn")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)

    load = os.getloadavg()
    print(f"mnistdraw explain: model {api.recognizer().id}, python {sys.version.split()[0]},")
    print(f"{os.cpu_count()} CPUs, load average before the run {load[0]:.2f} (other jobs count)")
    print(
        f"occlusion: {explain.PATCH}x{explain.PATCH} patches every {explain.STRIDE} px; "
        f"layers: {[layer.name for layer in explain.companion(api.recognizer()).layers]}"
    )
    results = {"model": api.recognizer().id, "cpus": os.cpu_count(), "load_before": load[0]}
    results.update(run(args.requests, args.digits))
    print(
        f"\n{args.requests} rounds, plain then explain, over {results['digits']} MNIST test "
        "digits drawn on the 280 px canvas (chromium's PNGs)"
    )
    print(f"{'answer':28s} {'p50':>8s} {'p90':>8s} {'p99':>8s} {'max':>8s}   (ms)")
    for name, key in [("plain (api.handle)", "plain_ms"), ("with explain", "explain_ms")]:
        s = results[key]
        print(f"{name:28s} {s['p50']:8.2f} {s['p90']:8.2f} {s['p99']:8.2f} {s['max']:8.2f}")
    print(f"\n{'size':28s} {'p50':>8s} {'max':>8s}   (bytes)")
    for name, key in [
        ("plain answer", "plain_answer_bytes"),
        ("explain object", "explain_object_bytes"),
        ("whole explain answer", "explain_answer_bytes"),
    ]:
        print(f"{name:28s} {results[key]['p50']:8d} {results[key]['max']:8d}")
    rows = [
        ("explain p50 / plain p50", results["explain_ms"]["p50"] / results["plain_ms"]["p50"]),
        ("explain object p50 (KB)", results["explain_object_bytes"]["p50"] / 1000),
    ]
    report_targets(results, rows, TARGETS, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
