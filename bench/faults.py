"""A worker of the persistent server killed under load: what do visitors see?

    python -m bench.faults [--kills 3] [--every 4] [--connections 16] [--json FILE]

Starts `python -m mnistdraw serve --workers 2` (or takes --url), puts it under load with the
asyncio generator of bench.load (it records when each failure happens), and every
`--every` seconds sends SIGKILL to one worker, found among the children of gunicorn's arbiter
with psutil. For each kill it reports how long until a new worker pid appears, how many
requests failed around the kill (socket errors and non-2xx), and the latency of the run.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import psutil

from .canvases import page_bodies
from .load import find_arbiter, persistent_server, recognised, run_python

WINDOW = (-0.1, 2.0)  # seconds around a kill in which a failure counts as caused by it


def killer(arbiter: psutil.Process, kills: int, every: float, started: float, log: list):
    """Kill one worker every `every` s and time its replacement."""
    for n in range(kills):
        time.sleep(every)
        before = {c.pid for c in arbiter.children()}
        victim = min(before)
        at = time.monotonic() - started
        os.kill(victim, signal.SIGKILL)
        new, deadline = set(), time.monotonic() + 30
        while time.monotonic() < deadline:
            now = {c.pid for c in arbiter.children()}
            new = now - before
            if new and victim not in now:
                break
            time.sleep(0.01)
        log.append(
            {
                "kill": n + 1,
                "at_s": at,
                "victim": victim,
                "new_pids": sorted(new),
                "replaced_after_s": round(time.monotonic() - started - at, 3) if new else None,
            }
        )


def near_kill(t: float, kill: dict) -> bool:
    return kill["at_s"] + WINDOW[0] <= t < kill["at_s"] + WINDOW[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="use this server (its arbiter must be found)")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--every", type=float, default=4.0, help="seconds between kills")
    parser.add_argument("--connections", "-c", type=int, default=16)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    duration = args.every * (args.kills + 1)

    def run(base, arbiter):
        bodies = recognised(base, page_bodies(20))
        events, kills = [], []
        started = time.monotonic()
        thread = threading.Thread(
            target=killer, args=(arbiter, args.kills, args.every, started, kills)
        )
        thread.start()
        result = run_python(base, bodies, args.connections, duration, events=events)
        thread.join()
        return result, events, kills

    if args.url:
        arbiter = find_arbiter(args.url)
        if arbiter is None:
            raise SystemExit(f"cannot find the gunicorn arbiter of {args.url}")
        result, events, kills = run(args.url.rstrip("/"), arbiter)
    else:
        with persistent_server(2) as (base, arbiter):
            result, events, kills = run(base, arbiter)

    print(
        f"mnistdraw faults: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
        f"{args.connections} connections for {duration:.0f} s, SIGKILL to one of 2 workers "
        f"every {args.every:.0f} s"
    )
    print(
        f"\n{'kill':>4s} {'at s':>7s} {'victim':>8s} {'new pid':>8s} {'replaced after s':>17s} "
        f"{'failed requests':>16s}  kinds"
    )
    for k in kills:
        near = [kind for t, kind in events if near_kill(t, k)]
        k["failed_requests"] = len(near)
        k["failure_kinds"] = {kind: near.count(kind) for kind in sorted(set(near))}
        new = ",".join(map(str, k["new_pids"])) or "none"
        replaced = f"{k['replaced_after_s']:.3f}" if k["replaced_after_s"] is not None else "never"
        print(
            f"{k['kill']:4d} {k['at_s']:7.2f} {k['victim']:8d} {new:>8s} {replaced:>17s} "
            f"{k['failed_requests']:16d}  {k['failure_kinds'] or ''}"
        )
    unexplained = [(t, kind) for t, kind in events if not any(near_kill(t, k) for k in kills)]
    print(
        f"\nwhole run: {result['requests']} requests, {result['requests_per_s']:.0f} req/s, "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, max "
        f"{result['max_ms']:.0f} ms; {result['non_2xx']} non-2xx, "
        f"{result['socket_errors']} socket errors; failures away from a kill: {len(unexplained)}"
    )
    every_replaced = all(k["new_pids"] for k in kills)
    print(f"every killed worker replaced: {'yes' if every_replaced else 'NO'}")
    if args.json:
        result = {**result, "kills": kills, "failures_away_from_kills": unexplained}
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if every_replaced else 1


if __name__ == "__main__":
    sys.exit(main())
