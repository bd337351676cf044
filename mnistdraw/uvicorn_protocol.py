"""What the persistent server changes in uvicorn: the worker class that gunicorn runs
(`Worker`), and the HTTP protocol it uses (`BoundedHttpProtocol`, which writes through
`CoalescedWrites`).

Written against uvicorn 0.54.0 and uvicorn-worker 0.4.0 (pinned in requirements.txt). The
protocol reaches into uvicorn's `HttpToolsProtocol`
(uvicorn/protocols/http/httptools_impl.py): its parser callbacks (`on_message_begin`,
`on_url`, `on_header`, `on_message_complete`), its `transport`, `loop` and `cycle` attributes,
every answer being written through `self.transport` (read as each request begins), and an
exception in a parser callback being answered 400 ("Invalid HTTP request received."). Check
them again when upgrading uvicorn.

Why each piece exists:
- `BoundedHttpProtocol`: uvicorn bounds neither how long a request may take to arrive nor the
  size of its headers, so a slowloris client (headers or a body sent a byte every few
  seconds) or endless headers would hold a connection and memory for ever. It cuts such
  clients off (408 or 400). The size of a body is bounded by the route (`server.recognise`).
- `CoalescedWrites`: uvicorn writes an answer's head and body in two sends, and the client
  wakes up for each, taking a core from a worker each time. Sending them as one write took
  p99 latency at 16 connections on 2 cores from ~30 ms to ~21 ms (docs/benchmarks.md, "Latency under
  load").
- `Worker`: uvicorn-worker's gunicorn worker, configured with the protocol above and without
  what costs time on every request (access log, server header)."""

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

REQUEST_TIMEOUT = 10.0  # seconds for a whole request (headers and body) to arrive
MAX_HEADER_BYTES = 64 * 1024  # request line and headers together


class CoalescedWrites:
    """A transport that sends what is written in one step of the event loop as one write."""

    def __init__(self, transport, loop):
        self.transport, self.loop = transport, loop
        self.pending = []

    def write(self, data):
        if not self.pending:
            self.loop.call_soon(self.flush)
        self.pending.append(data)

    def flush(self):
        if self.pending:
            data = b"".join(self.pending)
            self.pending.clear()
            if not self.transport.is_closing():  # a client that left gets nothing
                self.transport.write(data)

    def close(self):
        self.flush()
        self.transport.close()

    def __getattr__(self, name):  # everything else is the transport's own
        return getattr(self.transport, name)


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the two bounds it lacks: a request must arrive whole
    within REQUEST_TIMEOUT of its first byte (or of the connection, if it sends nothing), and
    its headers may not exceed MAX_HEADER_BYTES. Slow or endless clients are cut off.
    Each answer leaves in one write (CoalescedWrites)."""

    def connection_made(self, transport):
        super().connection_made(transport)
        self.transport = CoalescedWrites(transport, self.loop)
        self.deadline = None
        self.header_bytes = 0
        self.arm_deadline()

    def arm_deadline(self):
        self.cancel_deadline()
        self.deadline = self.loop.call_later(REQUEST_TIMEOUT, self.request_timed_out)

    def cancel_deadline(self):
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def request_timed_out(self):
        self.deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
        self.transport.close()

    def count_header_bytes(self, n: int):
        self.header_bytes += n
        if self.header_bytes > MAX_HEADER_BYTES:
            raise ValueError("request headers too large")  # the parser answers 400 and closes

    def on_message_begin(self):
        super().on_message_begin()
        self.header_bytes = 0
        self.arm_deadline()

    def on_url(self, url):
        self.count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name, value):
        self.count_header_bytes(len(name) + len(value))
        super().on_header(name, value)

    def on_message_complete(self):
        self.cancel_deadline()
        super().on_message_complete()

    def connection_lost(self, exc):
        self.cancel_deadline()
        super().connection_lost(exc)


class Worker(UvicornWorker):
    CONFIG_KWARGS = {
        "loop": "uvloop",
        "http": BoundedHttpProtocol,
        "lifespan": "on",
        "server_header": False,
        "access_log": False,  # gunicorn's accesslog is off: skip building a record per request
        "timeout_keep_alive": 5,
    }
