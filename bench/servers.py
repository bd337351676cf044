"""Start the two servers as subprocesses on free loopback ports: for the tests (through the
fixtures in tests/conftest.py) and for the benchmarks."""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASSIC = (
    [sys.executable, "-m", "http.server", "--cgi", "--bind", "127.0.0.1", "{port}"],
    "/index.html",
)


def persistent(workers: int = 2):
    return (
        [sys.executable, "-m", "mnistdraw", "serve", "--port", "{port}", "--workers", str(workers)],
        "/api/health",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}: {log_of(proc)}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


def start(cmd: list[str], probe_path: str) -> tuple[subprocess.Popen, str]:
    """Start `cmd` ("{port}" in it replaced by a free port) in the repository root and wait
    until `probe_path` answers. The environment is passed on (MNISTDRAW_MODEL, say)."""
    port = free_port()
    # its log goes to a file: a pipe nobody reads would fill up and stall the server
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [arg.replace("{port}", str(port)) for arg in cmd],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    proc.stderr = log
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + probe_path, proc)
    except BaseException:
        stop(proc)
        raise
    return proc, base


def log_of(proc: subprocess.Popen) -> str:
    """What a process started by `start` wrote to stderr so far."""
    proc.stderr.seek(0)
    return proc.stderr.read()


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def running(cmd: list[str], probe_path: str):
    """A server for the length of a `with` block: yields (process, base URL)."""
    proc, base = start(cmd, probe_path)
    try:
        yield proc, base
    finally:
        stop(proc)
