"""WeCom's server API: an access token cached until it expires, message/send, and media/get for uploads."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote

import httpx

logger = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40014, 42001})  # invalid / expired access_token: fetch a new one and retry once
EXPIRY_MARGIN = 300  # seconds before WeCom's expiry that a token is renewed
MEDIA_PATH = "/cgi-bin/media/get"
ERROR_BODY_TYPES = frozenset({"application/json", "text/plain"})  # how media/get answers an error (no attachment)

T = TypeVar("T")


class WeComApiError(RuntimeError):
    """WeCom answered with an error code (or not at all)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class MediaTooLarge(WeComApiError):
    """The media is larger than the caller accepts; at most that much was read."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        size = f"{declared} bytes" if declared is not None else "more than the limit"
        super().__init__(f"{MEDIA_PATH}: {size} (limit {limit})")
        self.limit = limit
        self.declared = declared


@dataclass(frozen=True)
class Media:
    """A downloaded temporary media file."""

    data: bytes
    file_name: str | None  # from Content-Disposition, when WeCom names the file
    content_type: str  # the media type without parameters, '' when absent


class WeComApi:
    """Sends text messages from the app to users and downloads the files they send."""

    def __init__(
        self,
        base_url: str,
        corp_id: str,
        secret: str,
        agent_id: int,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._secret = secret
        self._client = client or httpx.AsyncClient(timeout=10)
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def access_token(self) -> str:
        """The cached access token, fetched again shortly before it expires."""
        async with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                data = await self._call("GET", "/cgi-bin/gettoken", params={"corpid": self.corp_id, "corpsecret": self._secret})
                self._token = data["access_token"]
                self._expires_at = self._clock() + max(60, int(data.get("expires_in", 7200)) - EXPIRY_MARGIN)
            return self._token

    async def send_text(self, user_id: str, content: str) -> None:
        """Send a text message to one user; a stale token is renewed once."""
        body = {"touser": user_id, "msgtype": "text", "agentid": self.agent_id, "text": {"content": content}, "safe": 0}

        async def send(token: str) -> None:
            await self._call("POST", "/cgi-bin/message/send", params={"access_token": token}, body=body)

        await self._with_token(send)

    async def download_media(self, media_id: str, max_bytes: int) -> Media:
        """A temporary media file (media/get); refused from its Content-Length, or once more than max_bytes arrived."""
        return await self._with_token(lambda token: self._download(token, media_id, max_bytes))

    async def _with_token(self, call: Callable[[str], Awaitable[T]]) -> T:
        """call(token), fetching a new token and trying once more when WeCom says the token is invalid or expired."""
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                return await call(token)
            except WeComApiError as error:
                if attempt == 2 or error.code not in TOKEN_ERRORS:
                    raise
                logger.info("wecom: access token refused (%s); fetching a new one", error)
                async with self._lock:
                    if self._token == token:
                        self._token = None
        raise AssertionError("unreachable")

    async def _download(self, token: str, media_id: str, max_bytes: int) -> Media:
        params = {"access_token": token, "media_id": media_id}
        try:
            # WeCom has no HEAD for media: stream the GET and decide from the headers before reading the body.
            async with self._client.stream(
                "GET", self.base_url + MEDIA_PATH, params=params, headers={"Accept-Encoding": "identity"}
            ) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaTooLarge(max_bytes, int(declared))
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise MediaTooLarge(max_bytes)
                status = response.status_code
                disposition = _header(response, b"content-disposition")
                content_type = _header(response, b"content-type").split(";")[0].strip().lower()
        except httpx.HTTPError as error:
            raise WeComApiError(f"{MEDIA_PATH}: {type(error).__name__}") from None  # the URL holds the token
        if not disposition and content_type in ERROR_BODY_TYPES:
            _raise_for_errcode(bytes(body))
        if status != 200:
            raise WeComApiError(f"{MEDIA_PATH}: HTTP {status}")
        return Media(bytes(body), disposition_file_name(disposition), content_type)

    async def _call(self, method: str, path: str, params: dict[str, str], body: dict[str, object] | None = None) -> dict:
        try:
            response = await self._client.request(method, self.base_url + path, params=params, json=body)
            data = response.json()
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (httpx.HTTPError, ValueError) as error:
            # The message of an httpx error can hold the URL, and the URL the secret or token: name the type only.
            raise WeComApiError(f"{path}: {type(error).__name__}") from None
        code = data.get("errcode", 0)
        if code != 0:
            raise WeComApiError(f"{path}: errcode {code} {data.get('errmsg', '')}", code)
        return data


def _raise_for_errcode(body: bytes) -> None:
    """WeCom answers a failed media/get with a JSON object holding errcode; raise it."""
    try:
        data = json.loads(body)
    except ValueError:
        return  # a plain-text file served without a name
    if isinstance(data, dict) and "errcode" in data:
        code = data.get("errcode")
        raise WeComApiError(f"{MEDIA_PATH}: errcode {code} {data.get('errmsg', '')}", code if isinstance(code, int) else None)


def _header(response: httpx.Response, name: bytes) -> str:
    """A header's value; raw UTF-8 (which some servers put in file names) is decoded as UTF-8, else Latin-1."""
    for key, value in response.headers.raw:
        if key.lower() == name:
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return value.decode("latin-1")
    return ""


_DISPOSITION_PARAM = re.compile(r';\s*([!#$%&\'*+.^`|~\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def disposition_file_name(header: str) -> str | None:
    """The file name in a Content-Disposition header: RFC 5987 filename*=charset''%XX.. first, else filename=."""
    params: dict[str, str] = {}
    for name, value in _DISPOSITION_PARAM.findall(header):
        value = value.strip()
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params.setdefault(name.lower(), value)
    if extended := params.get("filename*"):
        charset, _, rest = extended.partition("'")
        _language, _, encoded = rest.partition("'")
        try:
            return unquote(encoded, encoding=charset or "utf-8", errors="strict") or None
        except (LookupError, UnicodeDecodeError):
            pass  # fall back to the plain filename
    return params.get("filename") or None
