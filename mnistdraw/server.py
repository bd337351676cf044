"""The persistent server: gunicorn's arbiter supervises uvicorn workers that run a Starlette app.

Each worker loads the model once and answers POST /cgi-bin/mnist.py exactly as the CGI script
does (both call mnistdraw.api.handle). Only the page's public files are served: an allow list,
not the repository folder. Slow clients cost an asyncio task, not a worker. What the workers
change in uvicorn (bounded requests, one write per answer) is in uvicorn_protocol.py."""

import html
import os
import re
import sys
from contextlib import asynccontextmanager

from gunicorn.app.base import BaseApplication
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import ROOT, api
from .openapi import OPENAPI
from .recognizer import ModelError, Recognizer

PUBLIC_DIRS = ("css", "js", "samples")  # with index.html, all that a visitor may fetch


def page_policy() -> str:
    """The Content-Security-Policy of index.html's <meta> tag. It is defined there, once,
    because the classic CGI server sends no headers of its own: the page must carry it."""
    page = (ROOT / "index.html").read_text(encoding="utf-8")
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', page, re.I)
    if meta is None:
        raise RuntimeError('index.html has no <meta http-equiv="Content-Security-Policy">')
    return html.unescape(meta.group(1))


SECURITY_HEADERS = {
    # The page's own policy, plus what a <meta> tag cannot say: browsers ignore frame-ancestors
    # there, so only this header forbids framing.
    "content-security-policy": page_policy() + "; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


async def recognise(request: Request) -> Response:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > api.MAX_BODY_BYTES:
        answer = api.too_large()  # refused before reading a byte of it
    else:
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > api.MAX_BODY_BYTES:
                    break
        except ClientDisconnect:  # gone, or cut off by uvicorn_protocol: nobody to answer
            return Response(status_code=400)
        # The work is ~1 ms of CPU: doing it on the event loop beats a thread hop.
        answer = api.handle(request.method, request.headers, bytes(body), request.url.query)
    return respond(answer)


def respond(answer: api.Answer, headers: dict | None = None) -> Response:
    return Response(answer.body(), answer.status, {**dict(answer.headers()), **(headers or {})})


async def index(request: Request) -> Response:
    return FileResponse(ROOT / "index.html", headers={"cache-control": "no-cache"})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "model": api.recognizer().id})


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


async def http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own refusals, answered like the API's errors."""
    if exc.status_code == 405:  # a method that one of the page's URLs does not take
        answer = api.error("method_not_allowed", allow=exc.headers["Allow"])
    else:  # 404; or 401, StaticFiles' answer for a file that it may not read: not served
        answer = api.error("not_found")
    return respond(answer, exc.headers)


class SecurityHeaders:
    """Pure ASGI middleware: the same hardening headers on every answer."""

    def __init__(self, app):
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope, receive, send):
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [h for h in self.headers if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


@asynccontextmanager
async def lifespan(app):
    api.recognizer()  # load the model when the worker boots, not on its first request
    yield


def create_app() -> Starlette:
    routes = [
        Route("/", index),
        Route("/index.html", index),
        Route(
            "/cgi-bin/mnist.py",
            recognise,
            methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
        ),
        Route("/api/health", health),
        Route("/api/openapi.json", openapi),
    ]
    routes += [
        Mount(f"/{d}", StaticFiles(directory=ROOT / d, check_dir=False)) for d in PUBLIC_DIRS
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
    return SecurityHeaders(app)


class Server(BaseApplication):
    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app()


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int | None = None) -> int:
    try:  # refuse to start on a missing or broken model, before any worker forks
        model = Recognizer()
    except ModelError as exc:
        print(f"mnistdraw: cannot start: {exc}", file=sys.stderr)
        return 1
    workers = workers or os.cpu_count() or 1
    print(
        f"mnistdraw: serving {model.id} on http://{host}:{port}/ with {workers} workers",
        file=sys.stderr,
    )
    del model
    Server(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "mnistdraw.uvicorn_protocol.Worker",
            "timeout": 30,  # a worker that stops answering its arbiter this long is replaced
            "graceful_timeout": 10,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "mnistdraw",
        }
    ).run()
    return 0
