#!/bin/sh
""":"
# A CGI server runs this file through its shebang with the PATH it inherited, not with the
# interpreter it runs on itself; so prefer the project's virtual environment when it has one.
here=$(dirname "$0")
if [ -x "$here/../.venv/bin/python" ]; then exec "$here/../.venv/bin/python" "$0" "$@"; fi
exec python3 "$0" "$@"
":"""

# The CGI adapter of mnistdraw.api (POST /cgi-bin/mnist.py), and a command line tool:
#     python cgi-bin/mnist.py IMAGE...    prints the JSON answer for each file
import json
import os
import sys
from http import HTTPStatus
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mnistdraw import api  # noqa: E402


def read_body(stream, length: int) -> bytes:
    chunks = []
    while length > 0:
        chunk = stream.read(min(length, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        length -= len(chunk)
    return b"".join(chunks)


def cgi(environ) -> None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > api.MAX_BODY_BYTES:  # refuse before reading a byte of it
        answer = api.too_large()
    else:
        body = read_body(sys.stdin.buffer, max(length, 0))
        answer = api.handle(
            environ.get("REQUEST_METHOD", ""),
            {"Content-Type": environ.get("CONTENT_TYPE", "")},
            body,
            environ.get("QUERY_STRING", ""),
        )
    head = [f"Status: {answer.status} {HTTPStatus(answer.status).phrase}"]
    head += [f"{name}: {value}" for name, value in answer.headers()]
    body = answer.body()
    head.append(f"Content-Length: {len(body)}")
    sys.stdout.buffer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    sys.stdout.buffer.flush()


def cli(paths) -> int:
    if not paths or paths[0] in ("-h", "--help"):
        print("usage: python cgi-bin/mnist.py IMAGE...", file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        try:
            blob = Path(path).read_bytes()
        except OSError as exc:
            answer = api.error("unreadable_file", path=path, reason=exc.strerror)
        else:
            answer = api.handle("POST", {"Content-Type": "application/octet-stream"}, blob)
        failed += answer.status != 200
        print(json.dumps({"file": path, **answer.payload}))
    return 1 if failed else 0


# A CGI request never reaches the command line tool, whatever its query string puts in argv.
if os.environ.get("GATEWAY_INTERFACE") or os.environ.get("REQUEST_METHOD"):
    cgi(os.environ)
else:
    sys.exit(cli(sys.argv[1:]))
