"""Load on the persistent server (and the classic CGI server), from a separate process.

    python -m bench.load                    # 16 connections for 20 s, then CGI with 8 clients
    python -m bench.load --soak             # 32 connections for 60 s: is worker memory flat?
    python -m bench.load --url http://127.0.0.1:8000 --no-cgi
    python -m bench.load --engine python    # the asyncio load generator instead of wrk

Without --url it starts `python -m mnistdraw serve --workers 2` on a free loopback port. The
requests are what the page sends: POST /cgi-bin/mnist.py with the data URL of a 280 px canvas
(real MNIST test digits drawn as a person would, encoded by chromium as the page's canvas
encodes them: bench/canvases.py), the first 1,000 test digits in turn. Not 50: one of the
first 50 (2 %) takes the slow path that cuts a stroke into candidates, against 0.3 % of 1,000.
The load comes from Debian's `wrk` (`apt-get install -y wrk`) with a Lua script, or, when wrk
is missing or with --engine python, from an asyncio generator in this file (keep-alive
connections, like wrk).
CPU% and RSS of the server's worker processes are sampled every second with psutil.

Targets at 16 connections: >= 800 requests/s, p99 <= 25 ms, no error. The load generator
runs on the same machine as the server and takes CPU from it: on a small machine the figures
say as much about the machine as about the server. Figures only; the exit status is 1 when a
request failed (a non-2xx answer or a socket error), else 0.
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from . import servers
from .canvases import page_bodies
from .servers import API, PAGE_CONTENT_TYPE
from .stats import percentile

TARGETS = {"requests_per_s": 800.0, "p99_ms": 25.0}  # at TARGET_CONNECTIONS
TARGET_CONNECTIONS = 16
MiB = 1024 * 1024


# ----------------------------------------------------------------- what to send


def recognised(base: str, urls: list[bytes]) -> list[bytes]:
    """The bodies that the server answers with 200 (a few drawn 1s may be refused)."""
    return [url for url in urls if servers.request(base, body=url).status == 200]


# ----------------------------------------------------------------- the servers


@contextlib.contextmanager
def persistent_server(workers: int):
    """`python -m mnistdraw serve`: yields (base URL, the arbiter's psutil.Process)."""
    with servers.running(*servers.persistent(workers)) as (proc, base):
        yield base, psutil.Process(proc.pid)


@contextlib.contextmanager
def classic_server():
    with servers.running(*servers.CLASSIC) as (_, base):
        yield base


def find_arbiter(base: str) -> psutil.Process | None:
    """The process that listens on the URL's port and whose children also do: gunicorn's
    arbiter (for --url). None when it cannot be told (another user's process, say)."""
    port = urlsplit(base).port
    try:
        pids = {
            c.pid
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid
        }
    except psutil.AccessDenied:
        return None
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if {child.pid for child in process.children()} & pids:
                return process
    return None


# ----------------------------------------------------------------- worker CPU and memory


class Sampler:
    """Every `interval` s: CPU% (over the interval) and RSS of each worker of an arbiter; in
    the first sample also its client connections, which show how the load generator's
    connections were shared out between the workers (each keeps the ones it accepted). They
    are counted once: reading them costs the server's CPU."""

    def __init__(self, arbiter: psutil.Process | None, port: int, interval: float = 1.0):
        self.arbiter, self.port, self.interval = arbiter, port, interval
        # {"t": s, "workers": {pid: {"cpu": %, "rss": bytes[, "connections": n]}}}
        self.samples: list[dict] = []
        self._known: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.monotonic()

    def workers(self) -> list[psutil.Process]:
        if self.arbiter is None:
            return []
        try:
            children = self.arbiter.children()
        except psutil.Error:
            return []
        for child in children:
            if child.pid not in self._known:
                child.cpu_percent(None)  # the first call starts the measurement
                self._known[child.pid] = child
        return [self._known[c.pid] for c in children]

    def sample(self, connections: bool = False) -> dict:
        workers = {}
        for process in self.workers():
            with contextlib.suppress(psutil.Error):
                workers[process.pid] = {
                    "cpu": process.cpu_percent(None),
                    "rss": process.memory_info().rss,
                }
                if connections:
                    workers[process.pid]["connections"] = sum(
                        c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.port
                        for c in process.net_connections(kind="tcp")
                    )
        return {"t": round(time.monotonic() - self.started, 2), "workers": workers}

    def start(self):
        self.workers()
        self.started = time.monotonic()
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self.samples.append(self.sample(connections=not self.samples))

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.samples


def describe_sample(sample: dict | None) -> str:
    if not sample or not sample["workers"]:
        return "n/a"
    return ", ".join(
        f"pid {pid}: {w['cpu']:5.1f}% {w['rss'] / MiB:6.1f} MiB"
        + (f", {w['connections']} connections" if "connections" in w else "")
        for pid, w in sorted(sample["workers"].items())
    )


# ----------------------------------------------------------------- load generators


def percentiles(latencies_s: list[float]) -> dict:
    keys = {"p50_ms": 50, "p90_ms": 90, "p99_ms": 99, "max_ms": 100}
    if not latencies_s:
        return dict.fromkeys(keys)
    return {key: percentile(latencies_s, q) * 1000 for key, q in keys.items()}


LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "%(content_type)s"
local bodies = {%(bodies)s}
local n = 0
request = function()
  n = n %% #bodies + 1
  return wrk.format(nil, "%(path)s", nil, bodies[n])
end
done = function(summary, latency, requests)
  io.write(string.format(
    "WRK_RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"connect\\": %%d, " ..
    "\\"read\\": %%d, \\"write\\": %%d, \\"status\\": %%d, \\"timeout\\": %%d, " ..
    "\\"p50_us\\": %%d, \\"p90_us\\": %%d, \\"p99_us\\": %%d, \\"max_us\\": %%d}\\n",
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def wrk_version() -> str | None:
    if not shutil.which("wrk"):
        return None
    result = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    match = re.search(r"wrk (\S+)", result.stdout + result.stderr)
    return match.group(1) if match else "unknown"


def run_wrk(base: str, bodies: list[bytes], connections: int, duration: float) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "post.lua"
        lua_bodies = ", ".join(f"[[{b.decode('ascii')}]]" for b in bodies)  # base64: no ]]
        script.write_text(
            LUA % {"bodies": lua_bodies, "path": API, "content_type": PAGE_CONTENT_TYPE}
        )
        threads = max(1, min(2, connections))
        result = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s"]
            + ["--timeout", "5s", "-s", str(script), base + API],
            capture_output=True,
            text=True,
        )
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRK_RESULT ")), None)
    if result.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    r = json.loads(line.removeprefix("WRK_RESULT "))
    seconds = r["duration_us"] / 1e6
    socket_errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return {
        "engine": f"wrk {wrk_version()} ({threads} threads)",
        "requests": r["requests"],
        "seconds": seconds,
        "requests_per_s": r["requests"] / seconds,
        "p50_ms": r["p50_us"] / 1000,
        "p90_ms": r["p90_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000,
        "non_2xx": r["status"],
        "socket_errors": socket_errors,
        "error_kinds": {k: r[k] for k in ("connect", "read", "write", "timeout") if r[k]},
    }


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, lines[0].startswith("HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
    await reader.readexactly(length)
    return status, close


async def _python_load(base, bodies, connections, duration, timeout, events):
    url = urlsplit(base)
    host, port = url.hostname, url.port or 80
    requests = [
        (
            f"POST {API} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Content-Type: {PAGE_CONTENT_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in bodies
    ]
    latencies, statuses, errors = [], Counter(), Counter()
    started = time.monotonic()
    deadline = started + duration

    async def connection(k: int):
        reader = writer = None
        i = k
        while time.monotonic() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(host, port), timeout
                    )
                request = requests[i % len(requests)]
                i += 1
                sent = time.perf_counter()
                writer.write(request)
                status, close = await asyncio.wait_for(_read_answer(reader), timeout)
                latencies.append(time.perf_counter() - sent)
                statuses[status] += 1
                if not 200 <= status < 300:
                    events.append((time.monotonic() - started, f"HTTP {status}"))
                if close:
                    writer.close()
                    writer = None
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as e:
                kind = type(e).__name__
                errors[kind] += 1
                events.append((time.monotonic() - started, kind))
                if writer is not None:
                    writer.close()
                    writer = None
                await asyncio.sleep(0.01)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection(k) for k in range(connections)))
    return latencies, statuses, errors, time.monotonic() - started


def run_python(base, bodies, connections, duration, events=None, timeout=5.0) -> dict:
    """The asyncio load generator (uvloop when installed): `connections` keep-alive
    connections, each sending its next request as soon as the last one is answered."""
    events = [] if events is None else events
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    latencies, statuses, errors, seconds = asyncio.run(
        _python_load(base, bodies, connections, duration, timeout, events)
    )
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    return {
        "engine": "python asyncio" + (" + uvloop" if "uvloop" in sys.modules else ""),
        "requests": sum(statuses.values()),
        "seconds": seconds,
        "requests_per_s": ok / seconds,
        **percentiles(latencies),
        "non_2xx": sum(statuses.values()) - ok,
        "socket_errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def run_load(engine, base, bodies, connections, duration) -> dict:
    if engine == "wrk":
        return run_wrk(base, bodies, connections, duration)
    return run_python(base, bodies, connections, duration)


# ----------------------------------------------------------------- the CGI server


def run_cgi(base: str, body: bytes, clients: int, per_client: int) -> dict:
    """`clients` threads, each sending `per_client` sequential POSTs (a process each)."""
    latencies, failures = [], Counter()
    lock = threading.Lock()

    def client():
        for _ in range(per_client):
            started = time.perf_counter()
            try:
                reply = servers.request(base, body=body, timeout=60)
                ok = reply.status == 200 and "digit" in reply.json()
                problem = None if ok else f"Status {reply.status}"
            except (OSError, ValueError) as exc:
                problem = type(exc).__name__
            with lock:
                latencies.append(time.perf_counter() - started)
                if problem:
                    failures[problem] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "seconds": seconds,
        "requests_per_s": len(latencies) / seconds,
        "p50_s": percentile(latencies, 50),
        "p99_s": percentile(latencies, 99),
        "max_s": max(latencies),
        "errors": sum(failures.values()),
        "error_kinds": dict(failures),
    }


# ----------------------------------------------------------------- report


def print_load(title: str, r: dict) -> None:
    print(f"\n{title}")
    print(
        f"{'requests':>9s} {'req/s':>8s} {'p50 ms':>8s} {'p90 ms':>8s} {'p99 ms':>8s} "
        f"{'max ms':>8s} {'non-2xx':>8s} {'socket errors':>14s}"
    )
    print(
        f"{r['requests']:9d} {r['requests_per_s']:8.0f} {r['p50_ms']:8.2f} {r['p90_ms']:8.2f} "
        f"{r['p99_ms']:8.2f} {r['max_ms']:8.2f} {r['non_2xx']:8d} {r['socket_errors']:14d}"
    )
    if r["error_kinds"]:
        print(f"  errors: {r['error_kinds']}")


def print_targets(r: dict, connections: int) -> dict:
    """Throughput and p99 are targets at TARGET_CONNECTIONS only; no errors, at any load."""
    checks = {"no errors": r["non_2xx"] + r["socket_errors"] == 0}
    if connections == TARGET_CONNECTIONS:
        checks = {
            f"requests/s >= {TARGETS['requests_per_s']:.0f}": r["requests_per_s"]
            >= TARGETS["requests_per_s"],
            f"p99 <= {TARGETS['p99_ms']:.0f} ms": r["p99_ms"] <= TARGETS["p99_ms"],
            **checks,
        }
    print("targets: " + "; ".join(f"{k}: {'ok' if v else 'MISSED'}" for k, v in checks.items()))
    return checks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="load this server instead of starting one")
    parser.add_argument("--workers", type=int, default=2, help="workers of the server started")
    parser.add_argument("--connections", "-c", type=int, default=16)
    parser.add_argument("--duration", "-d", type=float, default=20.0, help="seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds, not counted")
    parser.add_argument("--engine", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--digits", type=int, default=1000, help="distinct drawings to rotate")
    parser.add_argument("--soak", action="store_true", help="32 connections for 60 s")
    parser.add_argument("--no-cgi", action="store_true", help="skip the classic CGI server")
    parser.add_argument("--cgi-clients", type=int, default=8)
    parser.add_argument("--cgi-requests", type=int, default=5, help="per CGI client")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.soak:
        args.connections, args.duration = 32, 60.0
    engine = args.engine
    if engine == "auto":
        engine = "wrk" if shutil.which("wrk") else "python"
    elif engine == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk, or use --engine python")

    load_before = os.getloadavg()[0]
    print(
        f"mnistdraw load: {os.cpu_count()} CPUs, load average {load_before:.2f} before the run; "
        "the load generator runs on the same machine"
    )
    results = {"cpus": os.cpu_count(), "load_before": load_before, "mode": vars(args).copy()}
    results["mode"]["json"] = str(args.json) if args.json else None
    results["mode"]["engine"] = engine
    urls = page_bodies(args.digits)

    with contextlib.ExitStack() as stack:
        if args.url:
            base, arbiter = args.url.rstrip("/"), find_arbiter(args.url)
        else:
            base, arbiter = stack.enter_context(persistent_server(args.workers))
        bodies = recognised(base, urls)
        if args.warmup > 0:
            run_load(engine, base, bodies, args.connections, args.warmup)
        sampler = Sampler(arbiter, urlsplit(base).port)
        idle = sampler.sample()
        sampler.start()
        r = run_load(engine, base, bodies, args.connections, args.duration)
        samples = sampler.stop()
        results["persistent"] = r
        results["persistent"]["worker_samples"] = samples
        where = args.url or f"{base} ({args.workers} workers, started here)"
        print_load(
            f"Persistent server {where}: {r['engine']}, {args.connections} connections, "
            f"{r['seconds']:.0f} s, POST of {len(bodies)} canvas data URLs in turn",
            r,
        )
        print("workers (CPU% over 1 s, RSS; client connections at the start):")
        print(f"  idle before:  {describe_sample(idle)}")
        print(f"  load start:   {describe_sample(samples[0] if samples else None)}")
        if args.soak and samples:
            print(f"  load middle:  {describe_sample(samples[len(samples) // 2])}")
        print(f"  load end:     {describe_sample(samples[-1] if samples else None)}")
        if args.soak:
            results["persistent"]["rss_flat"] = report_rss(samples)
        results["persistent"]["targets"] = print_targets(r, args.connections)

    failed = r["non_2xx"] + r["socket_errors"]
    if not args.no_cgi:
        with classic_server() as base:
            c = run_cgi(base, bodies[0], args.cgi_clients, args.cgi_requests)
        results["cgi"] = c
        print(
            f"\nClassic CGI server: {c['clients']} concurrent clients, {c['requests']} POSTs "
            "(a Python process each)"
        )
        print(
            f"{'requests':>9s} {'req/s':>8s} {'p50 s':>8s} {'p99 s':>8s} {'max s':>8s} "
            f"{'errors':>8s}"
        )
        print(
            f"{c['requests']:9d} {c['requests_per_s']:8.1f} {c['p50_s']:8.3f} {c['p99_s']:8.3f} "
            f"{c['max_s']:8.3f} {c['errors']:8d}"
        )
        if c["error_kinds"]:
            print(f"  errors: {c['error_kinds']}")
        print(f"target: no errors: {'ok' if c['errors'] == 0 else 'MISSED'}")
        failed += c["errors"]

    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if failed else 0


def report_rss(samples: list[dict], tolerance_mib: float = 5.0) -> bool:
    """Memory is flat when no worker that lived through the run grew by more than
    `tolerance_mib` from the middle of the run to its end (the first half may still warm up)."""
    if len(samples) < 3:
        return False
    middle, end = samples[len(samples) // 2]["workers"], samples[-1]["workers"]
    first = samples[0]["workers"]
    flat = True
    for pid in sorted(set(first) & set(end)):
        growth = (end[pid]["rss"] - middle.get(pid, end[pid])["rss"]) / MiB
        total = (end[pid]["rss"] - first[pid]["rss"]) / MiB
        flat &= growth <= tolerance_mib
        print(f"  pid {pid}: RSS {total:+.1f} MiB over the run, {growth:+.1f} MiB in its 2nd half")
    if set(first) != set(end):
        print(f"  worker pids changed during the run: {sorted(first)} -> {sorted(end)}")
        flat = False
    print(
        f"memory flat (<= {tolerance_mib:.0f} MiB growth in the 2nd half): {'ok' if flat else 'NO'}"
    )
    return flat


if __name__ == "__main__":
    sys.exit(main())
