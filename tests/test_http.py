"""Real HTTP on loopback against both modes: the classic `http.server --cgi` and the
persistent server, each started as a subprocess by the fixtures in conftest.py. Hostile
requests are tests/test_hostile.py's, faults tests/test_faults.py's."""

import json
import socket
import subprocess

import pytest
from PIL import Image

from bench.canvases import canvas_data_url, canvas_png, mnist_test_set
from bench.servers import API, request
from mnistdraw import ROOT, drawings
from tests.helpers import command_line

X_TEST, Y_TEST = mnist_test_set()
# every file of the page: what both servers must hand out as it is
PAGE_FILES = ["index.html"] + sorted(
    p.relative_to(ROOT).as_posix()
    for folder in ("css", "js")
    for p in (ROOT / folder).rglob("*")
    if p.is_file()
)


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4])
def test_a_drawn_digit_is_read(server, index):
    reply = request(server, API, canvas_data_url(index))
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    answer = reply.json()
    assert answer["digit"] == Y_TEST[index]
    assert answer["confidence"] > 0.5
    assert len(answer["scores"]) == 10


def test_raw_png_upload(server):
    reply = request(server, API, canvas_png(1, height=0.3, brush=6), "image/png")
    assert reply.status == 200 and reply.json()["digit"] == Y_TEST[1]


def test_a_blank_canvas_gets_422_blank(server):
    reply = request(server, API, drawings.data_url(Image.new("RGBA", (280, 280))))
    assert reply.status == 422
    assert reply.json()["error"]["code"] == "blank"


def test_the_page_is_served_as_it_is(server):
    for path, name in [("/", "index.html"), *(("/" + name, name) for name in PAGE_FILES)]:
        reply = request(server, path)
        assert reply.status == 200, path
        assert reply.body == (ROOT / name).read_bytes(), path


def test_a_query_string_never_reaches_the_command_line_tool(classic_server):
    # http.server passes a query without '=' to the script as argv: it must not read files
    reply = request(classic_server, API + "?/etc/passwd")
    assert reply.status == 405 and b"root:" not in reply.body


def test_persistent_server_health_and_openapi(persistent_server):
    reply = request(persistent_server, "/api/health")
    assert reply.status == 200 and reply.json()["status"] == "ok"
    reply = request(persistent_server, "/api/openapi.json")
    spec = reply.json()
    assert reply.status == 200 and spec["openapi"].startswith("3.")
    assert "post" in spec["paths"][API]


def test_pipelined_requests_get_whole_answers_in_order(persistent_server):
    """The server sends each answer's head and body in one write (server.CoalescedWrites):
    three requests in one packet still get three whole answers, in order."""
    host, port = persistent_server.removeprefix("http://").split(":")
    digit = canvas_data_url(0)
    requests = (
        f"POST /cgi-bin/mnist.py HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(digit)}\r\n\r\n".encode()
        + digit
        + b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
        + b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(requests)
        stream = sock.makefile("rb")
        answers = []
        for method in ("POST", "GET", "HEAD"):
            status = int(stream.readline().split()[1])
            headers = {}
            while (line := stream.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            length = 0 if method == "HEAD" else int(headers["content-length"])
            answers.append((status, stream.read(length)))
        assert stream.read() == b""  # nothing more: the server closed as asked
    (s1, digit_answer), (s2, health), (s3, page) = answers
    assert (s1, s2, s3) == (200, 200, 200)
    assert json.loads(digit_answer)["digit"] == Y_TEST[0]
    assert json.loads(health)["status"] == "ok"
    assert page == b""


def test_mnist_py_is_a_command_line_tool(tmp_path):
    good, blank = tmp_path / "seven.png", tmp_path / "blank.png"
    good.write_bytes(canvas_png(0))
    Image.new("RGBA", (64, 64)).save(blank)
    status, lines, _ = command_line(good, blank, timeout=60)
    assert lines[0]["file"] == str(good) and lines[0]["digit"] == Y_TEST[0]
    assert lines[1]["error"]["code"] == "blank"
    assert status == 1  # one file could not be read as a digit


def test_mnist_py_runs_through_its_shebang_without_an_activated_environment(tmp_path):
    image = tmp_path / "digit.png"
    image.write_bytes(canvas_png(2))
    done = subprocess.run(
        [ROOT / "cgi-bin/mnist.py", image],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert json.loads(done.stdout)["digit"] == Y_TEST[2], done.stderr


def test_the_page_carries_security_headers(persistent_server):
    for path in ["/", *("/" + f for f in PAGE_FILES), API, "/nowhere"]:
        headers = request(persistent_server, path).headers
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
