"""Shared fixtures: the real servers, started as subprocesses on free loopback ports."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up in {timeout} s")


def start(cmd: list[str], probe_path: str):
    port = free_port()
    proc = subprocess.Popen(
        [arg.replace("{port}", str(port)) for arg in cmd],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + probe_path, proc)
    return proc, base


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def classic_server():
    """`python -m http.server --cgi` in the repository root, as README runs it."""
    if sys.version_info >= (3, 15):
        pytest.fail("http.server --cgi was removed in Python 3.15; run the suite on 3.10-3.14")
    proc, base = start(
        [sys.executable, "-m", "http.server", "--cgi", "--bind", "127.0.0.1", "{port}"],
        "/index.html",
    )
    yield base
    stop(proc)


@pytest.fixture(scope="session")
def persistent_server():
    """`python -m mnistdraw serve` with two workers."""
    proc, base = start(
        [sys.executable, "-m", "mnistdraw", "serve", "--port", "{port}", "--workers", "2"],
        "/api/health",
    )
    yield base
    stop(proc)


@pytest.fixture(params=["classic", "persistent"])
def server(request):
    """Each test that uses it runs against both modes."""
    return request.getfixturevalue(f"{request.param}_server")
