"""Hostile requests against both real servers: broken and malicious images, lying headers,
hostile bodies, and paths that try to reach files outside the page.

Every answer must be a fast 4xx JSON error (or a 404 for a file): never a 5xx, a traceback,
a hang or a leaked file. Requests go through raw sockets, so that paths and headers reach the
server exactly as written and a hang shows up as a timeout, not as a stuck test.

`python -m http.server --cgi` answers HTTP 200 whatever the script says; the script's status
is in its `Status:` header (`Reply.status` reads it). It also serves the whole repository
folder (test_classic_serves_the_whole_folder documents what it gives away), which is why
README says never to expose it; the persistent server serves an allow list only.
"""

import base64
import contextlib
import http.client
import io
import socket
import struct
import threading
import time
import zlib
from functools import cache

import pytest
from PIL import Image, ImageDraw

from bench.servers import API, Reply
from mnistdraw import ROOT
from mnistdraw.api import MAX_BODY_BYTES
from tests.helpers import png, seed

TIMEOUT = 20.0  # seconds before a request counts as a hang
# An error must come back at once: a CGI request starts a Python process (and loads the model),
# so the classic server gets more time on a loaded CI machine.
FAST = {"classic": 5.0, "persistent": 2.0}
SCRIPTS = sorted(p for p in (ROOT / "cgi-bin").iterdir() if p.is_file())  # all reachable
OTHER_SCRIPTS = [p for p in SCRIPTS if p.name != "mnist.py"]


# ----------------------------------------------------------------- talking to the servers


def exchange(base: str, head: bytes, body: bytes = b"", timeout: float = TIMEOUT) -> Reply:
    """Send a raw request (the body from a thread, so that a server that answers before
    reading it all cannot deadlock us) and read the answer: up to its Content-Length, or
    until the server closes the connection."""
    host, port = base.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head)

        def feed():
            with contextlib.suppress(OSError):  # answered and closed before reading it all
                sock.sendall(body)

        threading.Thread(target=feed, daemon=True).start()
        data = b""
        try:
            while not complete(data) and (chunk := sock.recv(65536)):
                data += chunk
        except TimeoutError:
            pytest.fail(f"no complete answer within {timeout} s (got {data[:200]!r})")
        except ConnectionResetError:
            pass  # reset after the answer, when our unread body was still in flight
    seconds = time.monotonic() - started
    assert data, "the server closed the connection without answering"
    head_bytes, _, payload = data.partition(b"\r\n\r\n")
    status_line, _, header_lines = head_bytes.partition(b"\r\n")
    headers = http.client.parse_headers(io.BytesIO(header_lines + b"\r\n\r\n"))
    return Reply(int(status_line.split()[1]), headers, payload, seconds)


def complete(data: bytes) -> bool:
    """Whether data holds a whole answer that declares its length (HEAD answers aside)."""
    head, separator, payload = data.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(payload) >= int(value)
    return False


def ask(base, method, path, body=b"", content_type=None, extra=b"", timeout=TIMEOUT):
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n".encode()
    if body or method == "POST":
        head += f"Content-Length: {len(body)}\r\n".encode()
    return exchange(base, head + extra + b"\r\n", body, timeout)


def assert_json_error(reply: Reply, mode: str, status=None, code=None) -> dict:
    """A 4xx JSON error of the API, fast; returns its error object."""
    assert 400 <= reply.status < 500, (reply.status, reply.body[:300])
    if status is not None:
        assert reply.status == status, (reply.status, reply.body[:300])
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
    assert b"Traceback" not in reply.body
    error = reply.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    assert reply.seconds < FAST[mode], f"{reply.seconds:.2f} s for {error}"
    return error


@pytest.fixture
def mode(request):
    return request.node.callspec.params["server"]


# ----------------------------------------------------------------- hostile images and bodies


@cache
def png_bomb() -> bytes:
    """48 KB that decode to 20000 x 20000 pixels (400 million): every scanline is zeros."""
    return png(20000, 20000, bytes(20000 * (1 + 20000 // 8)), depth=1)


def png_garbage_idat() -> bytes:
    blob = seed("page-canvas.png")
    start = blob.index(b"IDAT")
    length = struct.unpack(">I", blob[start - 4 : start])[0]
    garbage = bytes((i * 7 + 3) % 256 for i in range(length))
    crc = struct.pack(">I", zlib.crc32(b"IDAT" + garbage))  # a valid chunk of invalid zlib
    return blob[: start + 4] + garbage + crc + blob[start + 8 + length :]


def png_bad_crc() -> bytes:
    blob = bytearray(seed("page-canvas.png"))
    blob[blob.index(b"IDAT") + 10] ^= 0xFF
    return bytes(blob)


def jpeg_declaring(width: int, height: int) -> bytes:
    blob = bytearray(seed("baseline.jpg"))
    sof = blob.index(b"\xff\xc0")
    blob[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(blob)


def gif_declaring(width: int, height: int) -> bytes:
    size = struct.pack("<HH", width, height)
    return b"GIF89a" + size + b"\x00\x00\x00," + bytes(4) + size + b"\x00\x02\x02\x44\x01\x00;"


def multipart() -> bytes:
    return (
        b'--x\r\nContent-Disposition: form-data; name="image"; filename="d.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + seed("page-canvas.png") + b"\r\n--x--\r\n"
    )


# (content type, body or a function that makes it, status, error code)
CASES = {
    "truncated PNG": ("image/png", lambda: seed("page-canvas.png")[:900], 400, "corrupt_image"),
    "PNG signature only": ("image/png", lambda: seed("page-canvas.png")[:8], 400, "not_an_image"),
    "PNG with a bad CRC": ("image/png", png_bad_crc, 400, "corrupt_image"),
    "PNG with garbage pixel data": ("image/png", png_garbage_idat, 400, "corrupt_image"),
    "truncated JPEG": ("image/jpeg", lambda: seed("baseline.jpg")[:500], 400, "corrupt_image"),
    "JPEG start marker only": ("image/jpeg", lambda: b"\xff\xd8", 400, "not_an_image"),
    "JPEG headers without scan": (
        "image/jpeg",
        lambda: (b := seed("baseline.jpg"))[: b.index(b"\xff\xda")],
        400,
        "corrupt_image",
    ),
    "truncated canvas data URL": (
        "text/plain",
        lambda: (b"data:image/png;base64," + base64.b64encode(png_bad_crc()))[:800],
        400,
        "corrupt_image",
    ),
    "PNG bomb 20000x20000": ("image/png", png_bomb, 413, "image_too_large"),
    "PNG bomb as a data URL": (
        "text/plain",
        lambda: b"data:image/png;base64," + base64.b64encode(png_bomb()),
        413,
        "image_too_large",
    ),
    "PNG 1x100000": ("image/png", lambda: png(1, 100_000, bytes(2 * 100_000)), 422, "blank"),
    "PNG 100000x1": ("image/png", lambda: png(100_000, 1, bytes(100_001)), 422, "blank"),
    "JPEG declaring 65000x65000": ("image/jpeg", lambda: jpeg_declaring(65000, 65000), 413, None),
    "GIF declaring 65535x65535": ("image/gif", lambda: gif_declaring(65535, 65535), 413, None),
    "not an image": ("image/png", lambda: b"hello, world", 400, "not_an_image"),
    "invalid base64": ("text/plain", lambda: b"data:image/png;base64,!!!!", 400, "bad_request"),
    "base64 of text": ("text/plain", lambda: b"data:image/png;base64,aGVsbG8=", 400, None),
    "data URL without base64": ("text/plain", lambda: b"data:image/png,abc", 400, "bad_request"),
    "non-UTF-8 text": ("text/plain", lambda: b"\xff\xfe\xfd\x80" * 64, 400, "not_an_image"),
    "non-UTF-8 JSON": ("application/json", lambda: b'{"image": "\xff\xfe"}', 400, "bad_request"),
    "JSON nested 100000 deep": ("application/json", lambda: b"[" * 100_000, 400, "bad_request"),
    "JSON object nested 100000 deep": (
        "text/plain",
        lambda: b'{"image": ' + b"[" * 100_000,
        400,
        "bad_request",
    ),
    "JSON image not a string": ("application/json", lambda: b'{"image": 7}', 400, "bad_request"),
    "JSON with a NUL": ("application/json", lambda: b'{"image": "\x00"}', 400, "bad_request"),
    "empty body": ("text/plain", lambda: b"", 400, "empty_body"),
    "blank body": ("text/plain", lambda: b" \r\n\t ", 400, "empty_body"),
    "text/html": ("text/html", lambda: b"<script>alert(1)</script>", 415, None),
    "application/xml": (
        "application/xml",
        lambda: b"<!DOCTYPE x [<!ENTITY a 'a'>]><x/>",
        415,
        None,
    ),
    "form upload": ("multipart/form-data; boundary=x", multipart, 415, None),
    "form fields": ("application/x-www-form-urlencoded", lambda: b"image=abc", 415, None),
    "image/svg+xml": ("image/svg+xml", lambda: b"<svg/>", 415, None),
    "a content type of 2000 bytes": ("x/" + "y" * 2000, lambda: b"data:", 415, None),
}


@pytest.mark.parametrize("case", CASES)
def test_hostile_body(server, mode, case):
    content_type, make, status, code = CASES[case]
    reply = ask(server, "POST", API, make(), content_type)
    assert_json_error(reply, mode, status, code)


def test_gigabyte_content_length_with_a_small_body(server, mode):
    """The declared length is refused before a byte is read: no waiting for a gigabyte."""
    head = (
        b"POST /cgi-bin/mnist.py HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 1073741824\r\nConnection: close\r\n\r\n"
    )
    reply = exchange(server, head, b"data:image/png;base64,AAAA", timeout=10)
    assert_json_error(reply, mode, 413, "payload_too_large")


def test_body_larger_than_the_limit(server, mode):
    body = b"data:image/png;base64," + b"A" * (MAX_BODY_BYTES - 21)  # one byte too many
    assert len(body) == MAX_BODY_BYTES + 1
    reply = ask(server, "POST", API, body, "text/plain")
    assert_json_error(reply, mode, 413, "payload_too_large")


def test_chunked_body_larger_than_the_limit(persistent_server):
    """Without a Content-Length the persistent server counts while it reads, and stops."""
    piece = b"A" * 65536
    chunks = b"".join(b"10000\r\n" + piece + b"\r\n" for _ in range(MAX_BODY_BYTES // 65536 + 1))
    head = (
        b"POST /cgi-bin/mnist.py HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    prefix = b"16\r\ndata:image/png;base64,\r\n"  # 0x16 = 22 bytes
    reply = exchange(persistent_server, head, prefix + chunks + b"0\r\n\r\n")
    assert_json_error(reply, "persistent", 413, "payload_too_large")


@pytest.mark.parametrize("mode_name", ["P", "1", "I;16"])
def test_large_image_of_any_mode(server, mode, mode_name):
    """An upload above 512 px in palette, bilevel or 16-bit mode (Pillow cannot reduce those
    modes directly) is read like any other: the fuzzer's first find."""
    image = Image.new("L", (600, 600), 255)
    ImageDraw.Draw(image).line((300, 100, 300, 500), fill=0, width=40)
    out = io.BytesIO()
    image.convert(mode_name).save(out, "PNG")
    reply = ask(server, "POST", API, out.getvalue(), "image/png")
    assert reply.status == 200, reply.body[:300]
    assert reply.json()["digit"] in range(10)


def test_wrong_methods(server, mode):
    methods = ["GET", "HEAD"] if mode == "classic" else ["GET", "HEAD", "PUT", "DELETE", "PATCH"]
    for method in methods:
        reply = ask(server, method, API)
        assert reply.status == 405, (method, reply.status)
        if method != "HEAD":
            assert_json_error(reply, mode, 405, "method_not_allowed")


def test_header_flood_is_refused(server, mode):
    """A megabyte of request headers must be refused, not buffered."""
    flood = b"".join(b"X-Flood-%d: %s\r\n" % (i, b"x" * 1000) for i in range(1000))
    reply = ask(server, "GET", "/index.html", extra=flood, timeout=10)
    assert 400 <= reply.http_status < 500, reply.http_status
    assert reply.seconds < FAST[mode]


# ----------------------------------------------------------------- paths and files

SECRETS = [  # those of them that exist (a source tarball has no .git)
    ".git/config",
    ".git/HEAD",
    "data/mnist/SHA256SUMS",
    "mnistdraw/api.py",
    "mnistdraw/server.py",
    "requirements.txt",
    "Makefile",
    "tests/conftest.py",
    "pyproject.toml",
    "README.md",
    "models/mnist-cnn.onnx",
    "models/mnist-cnn.json",
]
SECRETS = [name for name in SECRETS if (ROOT / name).is_file()]

TRAVERSALS = [
    "/{}",
    "/css/../{}",
    "/js/../{}",
    "/css/%2e%2e/{}",
    "/css/%2E%2E/{}",
    "/css/..%2f{}",
    "/css/%2e%2e%2f{}",
    "/css/%252e%252e/{}",
    "/css/%252e%252e%252f{}",
    "/css/..%5c{}",
    "/css/%c0%ae%c0%ae/{}",
    "/css/....//{}",
    "/css/./../{}",
    "/css//../{}",
    "/index.html/../{}",
    "/cgi-bin/../{}",
    "/api/../{}",
]
ESCAPES = [  # out of the repository folder altogether
    "/../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/css/../../../../../../etc/passwd",
    "/css/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/js/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/css//etc/passwd",
    "//etc/passwd",
    "/css/%2fetc%2fpasswd",
    "/etc/passwd",
]


def leaks(body: bytes, relative: str) -> bool:
    """Whether an answer carries a recognisable piece of the file."""
    content = (ROOT / relative).read_bytes()
    lines = [line for line in content.splitlines() if len(line.strip()) > 8]
    return any(line in body for line in lines[:5])


def passwd_leaks(body: bytes) -> bool:
    return b"root:" in body and b":0:0:" in body


def test_persistent_server_serves_no_repository_file(persistent_server):
    for template in TRAVERSALS:
        for secret in SECRETS:
            path = template.format(secret)
            reply = ask(persistent_server, "GET", path)
            assert reply.status == 404 and not leaks(reply.body, secret), (path, reply.status)
            assert_json_error(reply, "persistent", 404, "not_found")


def test_no_server_escapes_the_repository_folder(server, mode):
    for path in ESCAPES:
        try:
            reply = ask(server, "GET", path, timeout=10)
        except AssertionError as exc:
            # http.server (classic) drops the connection without an answer when a path has more
            # `..` than folders: a stdlib IndexError, not a leak
            assert mode == "classic" and "without answering" in str(exc), (path, exc)
            continue
        assert reply.http_status != 200 or mode == "classic", (path, reply.http_status)
        assert not passwd_leaks(reply.body), path
        if mode == "persistent":
            assert_json_error(reply, mode, 404)
    assert ask(server, "GET", "/index.html").http_status == 200  # still up


def test_classic_serves_the_whole_folder(classic_server):
    """Documentation, not a wish: the classic server hands out every file of the folder it
    runs in, source, git metadata and data included (and a folder listing where there is
    no index.html). That is why README says never to expose it to a network."""
    for secret in SECRETS:
        reply = ask(classic_server, "GET", f"/{secret}")
        assert reply.http_status == 200, secret
        assert reply.body == (ROOT / secret).read_bytes(), secret
    listing = ask(classic_server, "GET", "/mnistdraw/")
    assert listing.http_status == 200 and b"api.py" in listing.body


CGI_PATH_VARIANTS = [
    "/cgi-bin/{}",
    "/cgi-bin/{}/",
    "/cgi-bin//{}",
    "//cgi-bin/{}",
    "/./cgi-bin/{}",
    "/cgi-bin/./{}",
    "/css/../cgi-bin/{}",
    "/cgi-bin/%2e/{}",
    "/cgi-bin%2f{}",
    "/%63gi-bin/{}",
    "/cgi-bin/{}?--help",
    "/cgi-bin/{}?x=1",
    "/cgi-bin/{}%00",
    "/cgi-bin/{}.",
    "/cgi-bin/{};x",
]


@pytest.mark.parametrize("script", [p.name for p in SCRIPTS])
def test_cgi_sources_never_leak(server, script):
    source = f"cgi-bin/{script}"
    for template in CGI_PATH_VARIANTS:
        path = template.format(script)
        for method in ("GET", "HEAD") if template == CGI_PATH_VARIANTS[0] else ("GET",):
            reply = ask(server, method, path)
            assert not leaks(reply.body, source), (method, path)
            assert reply.status < 500, (method, path, reply.status)
            if method == "GET" and reply.status != 307:  # Starlette: /x/ -> /x
                assert 400 <= reply.status < 500, (path, reply.status)


@pytest.fixture
def models_snapshot():
    def snapshot():
        folder = ROOT / "models"
        return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} if folder.is_dir() else {}

    before = snapshot()
    yield
    assert snapshot() == before, "a request changed models/"


@pytest.mark.parametrize("script", [p.name for p in OTHER_SCRIPTS])
def test_other_cgi_scripts_do_nothing(server, mode, script, models_snapshot):
    """Every script in cgi-bin/ is reachable on the classic server: the ones that are not the
    endpoint refuse at once (train.py with 403) and do nothing, whatever the method, body or
    query string; the persistent server does not know them (404)."""
    for method, path, body in [
        ("GET", f"/cgi-bin/{script}", b""),
        ("GET", f"/cgi-bin/{script}?--epochs", b""),
        ("GET", f"/cgi-bin/{script}?--help", b""),
        ("POST", f"/cgi-bin/{script}", b"--epochs=1"),
        ("POST", f"/cgi-bin/{script}?--out-dir", seed("page-canvas.png")),
    ]:
        reply = ask(server, method, path, body, "text/plain")
        if mode == "persistent":
            assert_json_error(reply, mode, 404, "not_found")
            continue
        assert reply.seconds < 1.0, (path, reply.seconds)
        error = assert_json_error(reply, mode)
        if script == "train.py":
            assert reply.status == 403 and error["code"] == "forbidden", (path, reply.status)
