"""Serves an ASGI app with uvicorn on 127.0.0.1 inside the running event loop, for fake servers in tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

logger = logging.getLogger(__name__)


class _QuietServer(uvicorn.Server):
    """uvicorn without signal capture, and with a shutdown that takes milliseconds, not 0.2 s."""

    def __init__(self, config: uvicorn.Config) -> None:
        """Adds the event that ends the main loop."""
        super().__init__(config)
        self.exit_event = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leaves the process's signal handlers alone, so Ctrl-C still reaches pytest."""
        yield

    async def main_loop(self) -> None:
        """Waits for exit_event instead of polling should_exit every 0.1 s."""
        await self.on_tick(0)
        await self.exit_event.wait()

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        """Closes the listener and idle connections, lets running requests finish, then cancels."""
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 1.0)
        while (self.server_state.connections or self.server_state.tasks) and loop.time() < deadline:
            await asyncio.sleep(0.002)
        for task in list(self.server_state.tasks):
            task.cancel()
        for server in self.servers:
            await server.wait_closed()


class LocalServer:
    """An async context manager serving an ASGI app on 127.0.0.1 with a free port, in the current loop."""

    def __init__(self, app: ASGIApp, *, name: str = "LocalServer", timeout: float = 5.0) -> None:
        """Prepares the server; it starts in __aenter__; name labels logs and errors."""
        self.app = app
        self.name = name
        self.timeout = timeout
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None

    async def __aenter__(self) -> LocalServer:
        """Starts uvicorn and waits until it listens."""
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve(), name=f"{self.name}.serve")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while not self._server.started:
            if self._task.done():
                exc = self._task.exception() if not self._task.cancelled() else None
                self._task = self._server = None
                raise RuntimeError(f"{self.name} server failed to start: {exc!r}") from exc
            if loop.time() > deadline:
                await self.stop()
                raise RuntimeError(f"{self.name} server did not start within {self.timeout} s")
            await asyncio.sleep(0.005)
        self._port = self._server.servers[0].sockets[0].getsockname()[1]
        logger.debug("%s listening on %s", self.name, self.base_url)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stops the server."""
        await self.stop()

    async def stop(self) -> None:
        """Stops the server (idempotent); a crash or a slow stop is logged, not raised."""
        if self._server is not None:
            self._server.should_exit = True
            self._server.exit_event.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self.timeout)
            except (TimeoutError, asyncio.CancelledError):
                logger.warning("%s server did not stop within %s s", self.name, self.timeout)
            except BaseException:  # noqa: BLE001 - a failed server must not mask the test's error
                logger.exception("%s server crashed", self.name)
        self._task = None
        self._server = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._port is None:
            raise RuntimeError(f"{self.name} is not started; use `async with`")
        return self._port

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:{port}, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"
