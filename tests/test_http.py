"""Real HTTP on loopback against both modes: the classic `http.server --cgi` and the
persistent server, each started as a subprocess by the fixtures in conftest.py."""

import base64
import io
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from PIL import Image

from mnistdraw import MODELS_DIR, ROOT, data, drawings

X_TEST, Y_TEST = data.load("test")


def request(base, path, body=None, content_type="text/plain;charset=UTF-8", method=None):
    """(status, headers, body bytes). http.server always answers 200 to a CGI request and
    passes the script's `Status:` on as a header; that header is the status there."""
    req = urllib.request.Request(base + path, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            status, headers, content = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, headers, content = exc.code, exc.headers, exc.read()
    if headers.get("Status"):
        status = int(headers["Status"].split()[0])
    return status, headers, content


canvas_data_url = drawings.test_canvas


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4])
def test_a_drawn_digit_is_read(server, index):
    status, headers, content = request(server, "/cgi-bin/mnist.py", canvas_data_url(index))
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    answer = json.loads(content)
    assert answer["digit"] == Y_TEST[index]
    assert answer["confidence"] > 0.5
    assert len(answer["scores"]) == 10


def test_raw_png_upload(server):
    blob = base64.b64decode(canvas_data_url(1, height=0.3, brush=6).split(b",", 1)[1])
    status, _, content = request(server, "/cgi-bin/mnist.py", blob, "image/png")
    assert status == 200 and json.loads(content)["digit"] == Y_TEST[1]


def test_a_blank_canvas_gets_422_blank(server):
    out = io.BytesIO()
    Image.new("RGBA", (280, 280)).save(out, "PNG")
    body = b"data:image/png;base64," + base64.b64encode(out.getvalue())
    status, _, content = request(server, "/cgi-bin/mnist.py", body)
    assert status == 422
    assert json.loads(content)["error"]["code"] == "blank"


def test_get_of_the_endpoint_is_405_json(server):
    status, _, content = request(server, "/cgi-bin/mnist.py")
    assert status == 405
    assert json.loads(content)["error"]["code"] == "method_not_allowed"


def test_not_an_image_is_400_json(server):
    status, _, content = request(server, "/cgi-bin/mnist.py", b"data:image/png;base64,AAAA")
    assert status == 400 and json.loads(content)["error"]["code"] in {"not_an_image"}


def test_the_page_is_served(server):
    status, headers, content = request(server, "/index.html")
    assert status == 200 and b"cgi-bin/mnist.py" in content + b"".join(
        request(server, "/js/" + name)[2] for name in ("app.js",)
    )


def test_get_of_train_py_on_the_classic_server_trains_nothing(classic_server):
    before = {p: p.stat().st_mtime_ns for p in MODELS_DIR.iterdir()}
    status, _, content = request(classic_server, "/cgi-bin/train.py?--epochs=1")
    assert status == 403 and json.loads(content)["error"]["code"] == "forbidden"
    status, _, _ = request(classic_server, "/cgi-bin/train.py", b"x", method="POST")
    assert status == 403
    assert {p: p.stat().st_mtime_ns for p in MODELS_DIR.iterdir()} == before


def test_a_query_string_never_reaches_the_command_line_tool(classic_server):
    # http.server passes a query without '=' to the script as argv: it must not read files
    status, _, content = request(classic_server, "/cgi-bin/mnist.py?/etc/passwd")
    assert status == 405 and b"root:" not in content


def test_persistent_server_serves_only_the_page(persistent_server):
    for path in [
        "/.git/config",
        "/data/mnist/SHA256SUMS",
        "/mnistdraw/api.py",
        "/cgi-bin/train.py",
        "/models/mnist-cnn.json",
        "/README.md",
        "/Makefile",
    ]:
        status, headers, content = request(persistent_server, path)
        assert status == 404, path
        assert json.loads(content)["error"]["code"] == "not_found"
    assert request(persistent_server, "/")[0] == 200


def test_persistent_server_health_and_openapi(persistent_server):
    status, _, content = request(persistent_server, "/api/health")
    assert status == 200 and json.loads(content)["status"] == "ok"
    status, _, content = request(persistent_server, "/api/openapi.json")
    spec = json.loads(content)
    assert status == 200 and spec["openapi"].startswith("3.")
    assert "post" in spec["paths"]["/cgi-bin/mnist.py"]


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
    good.write_bytes(base64.b64decode(canvas_data_url(0).split(b",", 1)[1]))
    Image.new("RGBA", (64, 64)).save(blank)
    done = subprocess.run(
        [sys.executable, ROOT / "cgi-bin/mnist.py", good, blank],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["file"] == str(good) and lines[0]["digit"] == Y_TEST[0]
    assert lines[1]["error"]["code"] == "blank"
    assert done.returncode == 1  # one file could not be read as a digit


def test_mnist_py_runs_through_its_shebang_without_an_activated_environment(tmp_path):
    image = tmp_path / "digit.png"
    image.write_bytes(base64.b64decode(canvas_data_url(2).split(b",", 1)[1]))
    done = subprocess.run(
        [ROOT / "cgi-bin/mnist.py", image],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert json.loads(done.stdout)["digit"] == Y_TEST[2], done.stderr


def test_the_page_carries_security_headers(persistent_server):
    for path in ("/", "/js/app.js", "/cgi-bin/mnist.py", "/nowhere"):
        _, headers, _ = request(persistent_server, path)
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
