"""The two servers, for the tests (through the fixtures in tests/conftest.py) and for the
benchmarks: start them as subprocesses on free loopback ports, and send them requests."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from mnistdraw import ROOT

API = "/cgi-bin/mnist.py"
PAGE_CONTENT_TYPE = "text/plain;charset=UTF-8"  # what the page's fetch sends with a data URL
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


# ----------------------------------------------------------------- requests


def script_status(http_status: int, headers: Mapping[str, str]) -> int:
    """The status the API answered with. `http.server --cgi` answers `200 Script output
    follows` to every CGI request and passes the script's own status on as a `Status:`
    header; the persistent server sends its status as the HTTP status and no such header."""
    cgi_status = headers.get("Status")
    return int(cgi_status.split()[0]) if cgi_status else http_status


@dataclass
class Reply:
    http_status: int
    headers: Mapping[str, str]  # names case-insensitive (an http.client.HTTPMessage)
    body: bytes
    seconds: float = 0.0  # from sending the request to the whole answer

    @property
    def status(self) -> int:
        """The API's status, in either server mode (see `script_status`)."""
        return script_status(self.http_status, self.headers)

    def json(self):
        return json.loads(self.body)


def request(
    base: str,
    path: str = API,
    body: bytes | None = None,
    content_type: str = PAGE_CONTENT_TYPE,
    method: str | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One request to either server mode (a POST when there is a body, else a GET); an error
    status is a reply like any other, never an exception."""
    req = urllib.request.Request(base + path, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", content_type)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, headers, content = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, headers, content = exc.code, exc.headers, exc.read()
    return Reply(status, headers, content, time.perf_counter() - started)
