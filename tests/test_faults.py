"""Faults: a missing or broken model, a worker that dies, and slow clients.

- `python -m mnistdraw serve` refuses to start, quickly and clearly, on a model it cannot use;
  the CGI script answers a JSON 500 then, never a guessed digit.
- A worker killed with SIGKILL is replaced by gunicorn's arbiter and the server keeps answering.
- Slow clients (slowloris) cost the server an asyncio task each, never a worker: a normal
  visitor is still answered at once. Whether such connections are ever closed is checked too.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from bench.canvases import canvas_data_url, canvas_png
from bench.servers import CLASSIC, free_port, log_of, persistent, request, start, stop
from mnistdraw import ROOT

SEVEN = canvas_data_url(0)  # MNIST test digit 0, a 7, as the page posts it


def post(base: str, timeout: float = 10.0):
    return request(base, body=SEVEN, timeout=timeout)


# ----------------------------------------------------------------- the model


def serve(model: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mnistdraw", "serve", "--port", str(free_port()), "--workers", "1"],
        cwd=ROOT,
        env={**os.environ, "MNISTDRAW_MODEL": model},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wrong_shape_model(path: Path) -> None:
    """A valid ONNX file that is not a digit model: input [N, 10], output [N, 10]."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "not-mnist",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
    )
    opset = [helper.make_opsetid("", 17)]  # and an IR version that onnxruntime reads
    onnx.save(helper.make_model(graph, ir_version=10, opset_imports=opset), path)


@pytest.fixture(params=["missing", "garbage", "empty", "truncated", "wrong shape"])
def bad_model(request, tmp_path) -> tuple[str, str]:
    """(path of a model that cannot be used, what stderr must say about it)"""
    path = tmp_path / "mnist-cnn.onnx"
    if request.param == "missing":
        return str(path), "cannot read the model"
    if request.param == "garbage":
        path.write_bytes(os.urandom(4096))
    elif request.param == "empty":
        path.write_bytes(b"")
    elif request.param == "truncated":
        wrong_shape_model(path)  # any real ONNX file, cut short
        path.write_bytes(path.read_bytes()[:40])
    else:
        wrong_shape_model(path)
        return str(path), "expected [N, 28, 28, 1] and [N, 10]"
    return str(path), "is not a valid ONNX model"


def test_server_refuses_to_start_on_a_bad_model(bad_model):
    path, message = bad_model
    started = time.monotonic()
    result = serve(path)
    seconds = time.monotonic() - started
    assert result.returncode != 0
    assert "mnistdraw: cannot start" in result.stderr and message in result.stderr, result.stderr
    assert path in result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert seconds < 15, f"took {seconds:.1f} s to give up"


@pytest.fixture
def classic_with_bad_model(bad_model):
    """A classic server whose CGI script finds a bad model (it loads it per request)."""
    path, _ = bad_model
    previous = os.environ.get("MNISTDRAW_MODEL")
    os.environ["MNISTDRAW_MODEL"] = path  # start() passes the environment on
    try:
        proc, base = start(*CLASSIC)
    finally:
        if previous is None:
            del os.environ["MNISTDRAW_MODEL"]
        else:
            os.environ["MNISTDRAW_MODEL"] = previous
    yield base, proc
    stop(proc)


def test_cgi_answers_500_on_a_bad_model(classic_with_bad_model):
    """The CGI script cannot refuse to start, so it answers each request with a JSON 500 and
    writes the reason to the server's log; it never guesses a digit."""
    base, proc = classic_with_bad_model
    reply = post(base)
    assert reply.http_status == 200  # http.server ignores the script's status...
    assert reply.status == 500  # ...which is in its Status header
    answer = reply.json()
    assert answer["error"]["code"] == "internal" and "digit" not in answer
    assert "Traceback" not in json.dumps(answer)
    stop(proc)
    log = log_of(proc)
    assert "ModelError" in log, log[-2000:]


def test_cli_fails_on_a_bad_model(bad_model, tmp_path):
    path, message = bad_model
    image = tmp_path / "digit.png"
    image.write_bytes(canvas_png(0))
    result = subprocess.run(
        [sys.executable, "cgi-bin/mnist.py", str(image)],
        cwd=ROOT,
        env={**os.environ, "MNISTDRAW_MODEL": path},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    answer = json.loads(result.stdout)
    assert answer["error"]["code"] == "internal" and "digit" not in answer
    assert message in result.stderr, result.stderr


# ----------------------------------------------------------------- a worker dies


@pytest.fixture(scope="module")
def own_server():
    """A persistent server of our own (two workers): this module kills its workers."""
    proc, base = start(*persistent(2))
    yield base, psutil.Process(proc.pid)
    stop(proc)


def workers(arbiter: psutil.Process) -> set[int]:
    return {child.pid for child in arbiter.children() if child.is_running()}


def wait_for_workers(arbiter: psutil.Process, count: int, timeout: float = 30.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = workers(arbiter)
        if len(pids) == count:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"{len(workers(arbiter))} workers after {timeout} s, expected {count}")


def test_killed_worker_is_replaced(own_server):
    base, arbiter = own_server
    before = wait_for_workers(arbiter, 2)
    outcomes = []
    stop_load = threading.Event()

    def load():
        while not stop_load.is_set():
            try:
                outcomes.append(post(base, timeout=5).status)
            except OSError as exc:
                outcomes.append(repr(exc))

    client = threading.Thread(target=load)
    client.start()
    time.sleep(0.5)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            after = workers(arbiter)
            if len(after) == 2 and victim not in after:
                break
            time.sleep(0.1)
        time.sleep(1.0)  # and it answers under load afterwards
    finally:
        stop_load.set()
        client.join()
    assert victim not in after and len(after) == 2, (before, after)
    assert len(after - before) == 1, "exactly one new worker pid"
    failures = [o for o in outcomes if o != 200]
    assert len(failures) <= 2, f"{len(failures)} of {len(outcomes)} requests failed: {failures}"
    assert outcomes.count(200) >= 10, outcomes
    for _ in range(6):  # both workers answer (fresh connections spread over them)
        reply = post(base)
        assert reply.status == 200 and reply.json()["digit"] == 7


def test_server_survives_killing_every_worker(own_server):
    base, arbiter = own_server
    before = wait_for_workers(arbiter, 2)
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    after = before
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (after & before or len(after) != 2):
        time.sleep(0.1)
        after = workers(arbiter)
    assert not after & before and len(after) == 2, (before, after)
    reply = post(base, timeout=30)
    assert reply.status == 200 and reply.json()["digit"] == 7


# ----------------------------------------------------------------- slow clients

SLOW_CLIENTS = 20
DRIP_SECONDS = 0.5  # one byte of header every half second
CLOSE_WITHIN = 15.0  # seconds in which a server should drop a connection that sends nothing


class Dribbler:
    """Sockets that each send an endless request header, one byte at a time."""

    HEADER = b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 100_000

    def __init__(self, base: str, count: int):
        host, port = base.removeprefix("http://").split(":")
        self.sockets = [
            socket.create_connection((host, int(port)), timeout=5) for _ in range(count)
        ]
        self.sent = 0
        self.closed_by_server: set[int] = set()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.wait(DRIP_SECONDS):
            for i, sock in enumerate(self.sockets):
                if i in self.closed_by_server:
                    continue
                try:
                    sock.sendall(self.HEADER[self.sent : self.sent + 1])
                except OSError:
                    self.closed_by_server.add(i)
            self.sent += 1

    def close(self):
        self.stopping.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def test_slowloris_does_not_block_normal_clients(persistent_server):
    dribbler = Dribbler(persistent_server, SLOW_CLIENTS)
    try:
        time.sleep(3 * DRIP_SECONDS)
        assert dribbler.sent >= 2 and not dribbler.closed_by_server
        for _ in range(10):
            reply = post(persistent_server, timeout=5)
            assert reply.status == 200 and reply.json()["digit"] == 7
            assert reply.seconds < 1.0, f"a normal request took {reply.seconds:.2f} s"
            time.sleep(0.2)
    finally:
        dribbler.close()


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the server has closed this connection (EOF or reset)."""
    sock.setblocking(False)
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def test_slow_connections_are_closed(persistent_server):
    host, port = persistent_server.removeprefix("http://").split(":")

    def connect(first_bytes: bytes) -> socket.socket:
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(first_bytes)
        return sock

    slow = {
        "idle (sends nothing)": connect(b""),
        "header never finished": connect(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n"),
        "body never finished": connect(
            b"POST /cgi-bin/mnist.py HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain"
            b"\r\nContent-Length: 1000\r\n\r\ndata:image/png;base64,"
        ),
    }
    dribbler = Dribbler(persistent_server, 1)
    try:
        deadline = time.monotonic() + CLOSE_WITHIN
        while time.monotonic() < deadline:
            open_ones = [name for name, s in slow.items() if not closed_by_peer(s)]
            if not dribbler.closed_by_server:
                open_ones.append("header dribbled a byte at a time")
            if not open_ones:
                break
            time.sleep(0.5)
        assert not open_ones, f"still open after {CLOSE_WITHIN:.0f} s: {open_ones}"
    finally:
        dribbler.close()
        for sock in slow.values():
            sock.close()


# ----------------------------------------------------------------- a short load


def test_short_load_has_no_errors(persistent_server, tmp_path):
    """16 keep-alive connections for 10 s on the persistent server and 8 concurrent clients
    on the classic one, through bench.load's own load generator: not one request may fail.
    (Its speed figures are printed, never asserted: see bench/.)"""
    out = tmp_path / "load.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.load", "--url", persistent_server, "--engine", "python"]
        + ["--connections", "16", "--duration", "10", "--warmup", "1", "--digits", "50"]
        + ["--cgi-clients", "8", "--cgi-requests", "2", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(out.read_text())
    persistent, cgi = figures["persistent"], figures["cgi"]
    assert persistent["requests"] > 100 and persistent["statuses"] == {
        "200": persistent["requests"]
    }
    assert persistent["non_2xx"] == 0 and persistent["socket_errors"] == 0
    assert cgi["requests"] == 16 and cgi["errors"] == 0, cgi
