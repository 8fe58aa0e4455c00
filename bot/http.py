"""The one HTTP server of `rectbot serve`: /healthz, /readyz, and the routes channels and pages mount on it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `rectbot serve` owns SIGINT and SIGTERM for every channel."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpHost:
    """One Starlette app served by uvicorn inside the running event loop.

    /healthz answers 200 as long as the process does. /readyz answers 503 with what is awaited until ready() is
    called, then 200; so does any other path until then, so a channel's caller (WeCom) retries later.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.waiting_for: str | None = "starting"
        self._details: Callable[[], Mapping[str, object]] = dict
        self.app = Starlette(
            routes=[
                Route(HEALTH_PATH, self.health, methods=["GET"]),
                Route(READY_PATH, self.readiness, methods=["GET"]),
            ],
            exception_handlers={404: self.not_found},
        )
        config = uvicorn.Config(self.app, lifespan="off", access_log=False, log_config=None, timeout_graceful_shutdown=5)
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    def mount(self, routes: Sequence[BaseRoute]) -> None:
        """Add routes; they answer from the next request on (the host's own paths cannot be taken)."""
        for route in routes:
            if getattr(route, "path", None) in (HEALTH_PATH, READY_PATH):
                raise ValueError(f"{route.path} is the HTTP host's own path")  # type: ignore[attr-defined]
        self.app.router.routes.extend(routes)

    def wait_for(self, what: str) -> None:
        """Not ready: /readyz says it is waiting for `what`."""
        self.waiting_for = what

    def ready(self, details: Callable[[], Mapping[str, object]] = dict) -> None:
        """Ready: /readyz answers 200 with `details()` (e.g. the number of passages searched)."""
        self._details = details
        self.waiting_for = None

    async def health(self, request: Request) -> Response:
        """Liveness: the process answers."""
        return JSONResponse({"status": "ok"})

    async def readiness(self, request: Request) -> Response:
        """Readiness: 200 once questions can be answered, else 503 naming what is awaited."""
        if self.waiting_for is not None:
            return JSONResponse({"status": "not ready", "waiting_for": self.waiting_for}, status_code=503)
        return JSONResponse({"status": "ready", **self._details()})

    async def not_found(self, request: Request, error: Exception) -> Response:
        """404, or 503 while starting: the path may belong to a channel not mounted yet."""
        if self.waiting_for is not None:
            return JSONResponse({"status": "not ready", "waiting_for": self.waiting_for}, status_code=503)
        assert isinstance(error, HTTPException)
        return PlainTextResponse(error.detail, status_code=error.status_code)

    async def start(self) -> int:
        """Start listening; returns the port (useful when 0 asked for any free one)."""
        # Bind here rather than in uvicorn, which exits the whole process when the port is taken.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted connections inherit it
        try:
            sock.bind((self.host, self.port))
        except OSError as error:
            sock.close()
            raise OSError(f"cannot listen on {self.host}:{self.port} (http.host, http.port): {error.strerror}") from None
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # uvicorn failed to start: say why
                raise OSError(f"the HTTP server on {self.host}:{self.port} stopped while starting")
            await asyncio.sleep(0.01)
        return sock.getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, finish the requests in flight; safe to call twice."""
        self._server.should_exit = True
        if self._task is not None:
            await self._task
