"""A fake of WeCom's server API (gettoken, message/send) on 127.0.0.1, for a self-built app's sending."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import LocalServer

logger = logging.getLogger(__name__)

CORP_ID = "wx49f0ab532d5d035a"
SECRET = "test-app-secret-0123456789"
AGENT_ID = 1000002

MAX_CONTENT_BYTES = 2048  # text and markdown content, UTF-8
SENDABLE_MSGTYPES = frozenset({"text", "markdown"})

GETTOKEN_PATH = "/cgi-bin/gettoken"
SEND_PATH = "/cgi-bin/message/send"


class WeComError(Exception):
    """An API error, answered with HTTP 200 as {"errcode": ..., "errmsg": ...}."""

    def __init__(self, errcode: int, errmsg: str, body: Any = None) -> None:
        """Keeps WeCom's code and message, and the request body (parsed JSON or text) for self.rejected."""
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.body = body


@dataclass
class SentMessage:
    """One message/send call the fake accepted."""

    touser: str
    agentid: int
    msgtype: str
    content: str
    access_token: str
    body: dict[str, Any]

    def describe(self) -> str:
        """A one-line summary for assertion messages."""
        more = "…" if len(self.content) > 200 else ""
        return f"to={self.touser!r} msgtype={self.msgtype} content={self.content[:200]!r}{more}"


@dataclass
class _Token:
    """An issued access_token and when it stops being valid (time.monotonic())."""

    value: str
    expires_at: float
    expired: bool = False

    def is_expired(self) -> bool:
        """Whether the token was expired by expire_tokens or by its expires_in."""
        return self.expired or time.monotonic() >= self.expires_at


class FakeWeComApi:
    """An in-process WeCom API server: gettoken and message/send, validating like WeCom does."""

    def __init__(self, corp_id: str = CORP_ID, secret: str = SECRET, expires_in: int = 7200) -> None:
        """Prepares the fake; the server starts in __aenter__; tokens expire after expires_in seconds."""
        self.corp_id = corp_id
        self.secret = secret
        self.expires_in = expires_in
        self.token_requests = 0
        self.sent: list[SentMessage] = []
        self.rejected: list[dict[str, Any]] = []
        self._tokens: dict[str, _Token] = {}
        self._msgids = itertools.count(1)
        self._consumed: set[int] = set()
        self._sent_event = asyncio.Event()
        self._closing = False
        self._server: LocalServer | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> FakeWeComApi:
        """Starts the server on 127.0.0.1 with a free port."""
        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=methods)])
        self._server = await LocalServer(app, name="FakeWeComApi").__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Wakes waiters and stops the server."""
        self._closing = True
        self._notify_sent()
        if self._server is not None:
            await self._server.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("FakeWeComApi is not started; use `async with FakeWeComApi() as fake`")
        return self._server.port

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:{port}; the client appends /cgi-bin/...."""
        return f"http://127.0.0.1:{self.port}"

    # ---- controlling the fake ----------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Makes every token issued so far invalid, as if it had expired (errcode 42001)."""
        for token in self._tokens.values():
            token.expired = True
        logger.debug("FakeWeComApi: expired %d token(s)", len(self._tokens))

    # ---- assertions --------------------------------------------------------------------------

    def _describe(self) -> str:
        """Everything sent and rejected so far, one a line."""
        lines = [
            f"  [{i}]{' (consumed)' if i in self._consumed else ''} {message.describe()}"
            for i, message in enumerate(self.sent)
        ] or ["  (nothing sent)"]
        lines += [f"  rejected: {e['errcode']} {e['errmsg']} {e['method']} {e['path']}" for e in self.rejected]
        return "\n".join(lines)

    def _notify_sent(self) -> None:
        """Wakes every coroutine waiting for messages."""
        event, self._sent_event = self._sent_event, asyncio.Event()
        event.set()

    async def wait_for_sent(
        self, predicate: Callable[[SentMessage], bool] = lambda m: True, timeout: float = 10.0
    ) -> SentMessage:
        """The first matching sent message not returned before (it is consumed); waits up to timeout s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index, message in enumerate(self.sent):
                if index not in self._consumed and predicate(message):
                    self._consumed.add(index)
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                raise AssertionError(
                    f"no matching WeCom message within {timeout} s; seen:\n{self._describe()}"
                )
            event = self._sent_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def nothing_sent(self, wait: float = 0.5) -> None:
        """Asserts that no message not yet returned by wait_for_sent is or gets recorded within wait s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            unexpected = [m for i, m in enumerate(self.sent) if i not in self._consumed]
            if unexpected:
                raise AssertionError(
                    f"unexpected WeCom message: {unexpected[0].describe()}\nseen:\n{self._describe()}"
                )
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                return
            event = self._sent_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    # ---- HTTP --------------------------------------------------------------------------------

    async def _handle(self, request: Request) -> JSONResponse:
        """Routes every request; errors are HTTP 200 with errcode/errmsg, unknown paths 404."""
        path = request.url.path
        query = dict(request.query_params)
        raw = await request.body()
        try:
            if request.method == "GET" and path == GETTOKEN_PATH:
                return JSONResponse(self._gettoken(query))
            if request.method == "POST" and path == SEND_PATH:
                return JSONResponse(self._send(query, raw))
            raise WeComError(-1, "not found", _text(raw))
        except WeComError as exc:
            self._reject(request, query, exc.body, exc.errcode, exc.errmsg)
            status = 404 if exc.errcode == -1 else 200
            return JSONResponse({"errcode": exc.errcode, "errmsg": exc.errmsg}, status_code=status)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must surface in the test
            logger.exception("FakeWeComApi: %s %s crashed", request.method, path)
            self._reject(request, query, _text(raw), -1, f"fake crashed: {exc!r}")
            return JSONResponse({"errcode": -1, "errmsg": f"fake crashed: {exc!r}"}, status_code=500)

    def _reject(self, request: Request, query: dict[str, str], body: Any, errcode: int, errmsg: str) -> None:
        """Records a rejected call in self.rejected."""
        logger.debug("FakeWeComApi: %s %s rejected: %d %s", request.method, request.url.path, errcode, errmsg)
        self.rejected.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": query,
                "body": body,
                "errcode": errcode,
                "errmsg": errmsg,
            }
        )

    def _gettoken(self, query: dict[str, str]) -> dict[str, Any]:
        """GET /cgi-bin/gettoken?corpid=..&corpsecret=..: a new random token valid for expires_in s."""
        self.token_requests += 1
        corp_id = query.get("corpid", "")
        secret = query.get("corpsecret", "")
        if not corp_id:
            raise WeComError(41002, "corpid missing")
        if not secret:
            raise WeComError(41004, "corpsecret missing")
        if corp_id != self.corp_id:
            raise WeComError(40013, "invalid corpid")
        if secret != self.secret:
            raise WeComError(40001, "invalid credential")
        value = secrets.token_urlsafe(48)
        self._tokens[value] = _Token(value, time.monotonic() + self.expires_in)
        logger.debug("FakeWeComApi: issued token #%d", len(self._tokens))
        return {"errcode": 0, "errmsg": "ok", "access_token": value, "expires_in": self.expires_in}

    def _send(self, query: dict[str, str], raw: bytes) -> dict[str, Any]:
        """POST /cgi-bin/message/send?access_token=..: validates like WeCom and records the message."""
        access_token = query.get("access_token", "")
        token = self._tokens.get(access_token)
        if not access_token:
            raise WeComError(41001, "access_token missing", _text(raw))
        if token is None:
            raise WeComError(40014, "invalid access_token", _text(raw))
        if token.is_expired():
            raise WeComError(42001, "access_token expired", _text(raw))
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise WeComError(47001, "data format error", _text(raw)) from exc
        if not isinstance(body, dict):
            raise WeComError(47001, "data format error", body)
        agentid = body.get("agentid")
        if not isinstance(agentid, int) or isinstance(agentid, bool) or agentid != AGENT_ID:
            raise WeComError(40056, "invalid agentid", body)
        msgtype = body.get("msgtype")
        if msgtype not in SENDABLE_MSGTYPES:
            raise WeComError(40008, "invalid message type", body)
        payload = body.get(msgtype)
        content = payload.get("content") if isinstance(payload, dict) else None
        if content is None or content == "":
            raise WeComError(44004, "empty content", body)
        if not isinstance(content, str):
            raise WeComError(47001, "data format error", body)
        if len(content.encode("utf-8")) > MAX_CONTENT_BYTES:
            raise WeComError(45002, "content size out of limit", body)
        message = SentMessage(
            touser=str(body.get("touser", "")),
            agentid=agentid,
            msgtype=msgtype,
            content=content,
            access_token=access_token,
            body=body,
        )
        self.sent.append(message)
        logger.debug("FakeWeComApi: sent %s", message.describe())
        self._notify_sent()
        msgid = f"fakemsgid{next(self._msgids):06d}{secrets.token_hex(8)}"
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid}


def _text(raw: bytes) -> Any:
    """A request body for self.rejected: its JSON when it parses, else its text, None when empty."""
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text or None
