"""A fake of WeCom's server API (gettoken, message/send, media/get) on 127.0.0.1, for a self-built app."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from testkit.fakes.server import LocalServer

logger = logging.getLogger(__name__)

CORP_ID = "wx49f0ab532d5d035a"
SECRET = "test-app-secret-0123456789"
AGENT_ID = 1000002

MAX_CONTENT_BYTES = 2048  # text and markdown content, UTF-8
SENDABLE_MSGTYPES = frozenset({"text", "markdown"})

GETTOKEN_PATH = "/cgi-bin/gettoken"
SEND_PATH = "/cgi-bin/message/send"
MEDIA_PATH = "/cgi-bin/media/get"
MEDIA_CHUNK = 64 * 1024  # bytes per body chunk: a big file arrives in pieces, as over a real network

# How media/get names a file: `quoted` is filename="..." with the name's raw UTF-8 bytes in the header (WeCom's
# documented form is attachment; filename="MEDIA_ID.jpg"), `rfc5987` adds filename*=UTF-8''%XX.. after an ASCII
# filename, None sends no Content-Disposition.
Disposition = Literal["quoted", "rfc5987"] | None


@dataclass(frozen=True)
class SeenRequest:
    """One request the fake received, answered or not."""

    method: str
    path: str
    query: dict[str, str]


@dataclass(frozen=True)
class FakeMedia:
    """A temporary media file media/get serves."""

    data: bytes
    file_name: str | None
    content_type: str
    disposition: Disposition
    content_length: bool  # False: chunked, with no Content-Length, so the size is unknown until the end


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
        self.requests: list[SeenRequest] = []
        self.media: dict[str, FakeMedia] = {}
        self.media_served: dict[str, int] = {}  # media_id -> bytes the client took (its last request)
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

    def add_media(
        self,
        data: bytes,
        file_name: str | None = None,
        *,
        content_type: str = "application/octet-stream",
        disposition: Disposition = "quoted",
        content_length: bool = True,
    ) -> str:
        """Stores a file as if a user had sent it to the app; returns its media_id for a callback's <MediaId>."""
        media_id = "1" + secrets.token_urlsafe(45)  # WeCom's media ids are long and opaque
        self.media[media_id] = FakeMedia(data, file_name, content_type, disposition, content_length)
        return media_id

    @property
    def media_requests(self) -> list[SeenRequest]:
        """The media/get requests received so far."""
        return [seen for seen in self.requests if seen.path == MEDIA_PATH]

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

    async def _handle(self, request: Request) -> Response:
        """Routes every request; errors are HTTP 200 with errcode/errmsg, unknown paths 404."""
        path = request.url.path
        query = dict(request.query_params)
        self.requests.append(SeenRequest(request.method, path, query))
        raw = await request.body()
        try:
            if request.method == "GET" and path == GETTOKEN_PATH:
                return JSONResponse(self._gettoken(query))
            if request.method == "POST" and path == SEND_PATH:
                return JSONResponse(self._send(query, raw))
            if request.method == "GET" and path == MEDIA_PATH:
                return self._media(query)
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

    def _check_token(self, query: dict[str, str], raw: bytes = b"") -> str:
        """The query's access_token, if it is valid; WeCom's error code otherwise."""
        access_token = query.get("access_token", "")
        token = self._tokens.get(access_token)
        if not access_token:
            raise WeComError(41001, "access_token missing", _text(raw))
        if token is None:
            raise WeComError(40014, "invalid access_token", _text(raw))
        if token.is_expired():
            raise WeComError(42001, "access_token expired", _text(raw))
        return access_token

    def _media(self, query: dict[str, str]) -> Response:
        """GET /cgi-bin/media/get?access_token=..&media_id=..: the file's bytes, streamed, with WeCom's headers."""
        self._check_token(query)
        media_id = query.get("media_id", "")
        if not media_id:
            raise WeComError(41006, "media_id missing")
        media = self.media.get(media_id)
        if media is None:
            raise WeComError(40007, "invalid media_id")

        self.media_served[media_id] = 0

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(media.data), MEDIA_CHUNK):
                chunk = media.data[start : start + MEDIA_CHUNK]
                yield chunk  # returns once the server has written it: a client that hangs up stops the loop
                self.media_served[media_id] += len(chunk)
                await asyncio.sleep(0)

        response = StreamingResponse(chunks(), media_type=media.content_type)
        if media.content_length:
            response.raw_headers.append((b"content-length", str(len(media.data)).encode()))
        if media.disposition is not None and media.file_name is not None:
            response.raw_headers.append((b"content-disposition", _disposition(media.file_name, media.disposition)))
        logger.debug("FakeWeComApi: serving media of %d bytes", len(media.data))
        return response

    def _send(self, query: dict[str, str], raw: bytes) -> dict[str, Any]:
        """POST /cgi-bin/message/send?access_token=..: validates like WeCom and records the message."""
        access_token = self._check_token(query, raw)
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


def _disposition(file_name: str, style: Disposition) -> bytes:
    """A Content-Disposition header value naming file_name in the given style."""
    if style == "rfc5987":
        ascii_name = file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
        return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}".encode()
    escaped = file_name.replace("\\", "\\\\").replace('"', '\\"')
    return f'attachment; filename="{escaped}"'.encode("utf-8")
