"""Latency of one recognition, in process and through the classic CGI server.

    python -m bench.latency [--requests 2000] [--cgi-requests 20] [--no-cgi] [--json FILE]

In process: real MNIST test digits drawn on a transparent 280 px canvas and encoded as the page
sends them, by chromium's canvas.toDataURL (bench/canvases.py), go through
`mnistdraw.api.handle`, the function that both servers call; the time per request is measured
from the data URL to the answer, after a warm-up, and split into its stages (decode +
preprocessing, the model, the whole answer).

CGI: `python -m http.server --cgi` on a free loopback port, and sequential POSTs of a canvas
data URL to /cgi-bin/mnist.py, each a new Python process that loads the model.

Figures only, never a pass/fail test: they depend on the machine and on what else runs on it.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from mnistdraw import api, preprocess

from . import servers
from .canvases import page_bodies
from .stats import percentile, report_targets

TARGETS = {"in-process p50 (ms)": 2.0, "CGI median (s)": 0.5}


def summary(seconds: list[float], scale: float = 1000.0) -> dict:
    return {
        "n": len(seconds),
        "p50": percentile(seconds, 50) * scale,
        "p90": percentile(seconds, 90) * scale,
        "p99": percentile(seconds, 99) * scale,
        "max": max(seconds) * scale,
        "mean": statistics.fmean(seconds) * scale,
    }


def in_process(requests: int, digits: int = 200) -> dict:
    urls = page_bodies(digits)
    headers = {"Content-Type": servers.PAGE_CONTENT_TYPE}
    model = api.recognizer()
    refused = {}
    for i, url in enumerate(urls):  # warm-up (model session, allocator, caches)
        answer = api.handle("POST", headers, url)
        if answer.status != 200:  # measure recognitions only; say which digits were refused
            refused[i] = f"{answer.status} {answer.payload['error']['code']}"
    urls = [url for i, url in enumerate(urls) if i not in refused]
    total, prep, infer = [], [], []
    for i in range(requests):
        url = urls[i % len(urls)]
        started = time.perf_counter()
        answer = api.handle("POST", headers, url)
        total.append(time.perf_counter() - started)
        assert answer.status == 200, answer.payload
    for i in range(min(requests, 1000)):  # the stages, measured apart
        blob = api.image_bytes("text/plain", urls[i % len(urls)])
        started = time.perf_counter()
        pixels = preprocess.preprocess(blob)
        prep.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.predict(pixels[None])
        infer.append(time.perf_counter() - started)
    return {
        "answer_ms": summary(total),
        "decode_preprocess_ms": summary(prep),
        "model_ms": summary(infer),
        "data_url_bytes": percentile([len(u) for u in urls], 50),
        "digits": len(urls),
        "refused_test_digits": refused,
    }


def cgi(requests: int) -> dict:
    with servers.running(*servers.CLASSIC) as (_, base):
        body = page_bodies(1)[0]
        seconds = []
        for _ in range(requests + 1):  # the first one warms the page cache: not counted
            reply = servers.request(base, body=body, timeout=60)
            seconds.append(reply.seconds)
            assert reply.status == 200 and reply.json()["digit"] == 7, (reply.status, reply.body)
        return {"request_s": summary(seconds[1:], scale=1.0), "first_s": seconds[0]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="in-process requests")
    parser.add_argument("--cgi-requests", type=int, default=20, help="sequential CGI requests")
    parser.add_argument("--no-cgi", action="store_true", help="skip the CGI measurement")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)

    load = os.getloadavg()
    print(f"mnistdraw latency: model {api.recognizer().id}, python {sys.version.split()[0]},")
    print(f"{os.cpu_count()} CPUs, load average before the run {load[0]:.2f} (other jobs count)")
    results = {"model": api.recognizer().id, "cpus": os.cpu_count(), "load_before": load[0]}

    results["in_process"] = in_process(args.requests)
    measured = results["in_process"]
    print(
        f"\nIn process: {args.requests} requests to api.handle, data URLs of "
        f"{measured['digits']} MNIST test digits drawn on the 280 px canvas "
        f"(~{measured['data_url_bytes'] / 1024:.1f} KiB each)"
    )
    if measured["refused_test_digits"]:
        print(f"  not measured, refused by the API: {measured['refused_test_digits']}")
    print(f"{'stage':28s} {'p50':>8s} {'p90':>8s} {'p99':>8s} {'max':>8s}   (ms)")
    for name, key in [
        ("decode + preprocessing", "decode_preprocess_ms"),
        ("model (onnxruntime)", "model_ms"),
        ("whole answer (api.handle)", "answer_ms"),
    ]:
        s = results["in_process"][key]
        print(f"{name:28s} {s['p50']:8.3f} {s['p90']:8.3f} {s['p99']:8.3f} {s['max']:8.3f}")

    rows = [("in-process p50 (ms)", results["in_process"]["answer_ms"]["p50"])]
    if not args.no_cgi:
        results["cgi"] = cgi(args.cgi_requests)
        s = results["cgi"]["request_s"]
        print(f"\nClassic CGI: {args.cgi_requests} sequential POSTs (one process each)")
        print(f"{'':28s} {'median':>8s} {'p90':>8s} {'max':>8s}   (s)")
        print(f"{'request':28s} {s['p50']:8.3f} {s['p90']:8.3f} {s['max']:8.3f}")
        print(f"{'first request (cold)':28s} {results['cgi']['first_s']:8.3f}")
        rows.append(("CGI median (s)", s["p50"]))

    report_targets(results, rows, TARGETS, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
