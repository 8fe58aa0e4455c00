"""WeCom's server API for active sending: an access token cached until it expires, and message/send."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx

logger = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40014, 42001})  # invalid / expired access_token: fetch a new one and retry once
EXPIRY_MARGIN = 300  # seconds before WeCom's expiry that a token is renewed


class WeComApiError(RuntimeError):
    """WeCom answered with an error code (or not at all)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class WeComApi:
    """Sends text messages from the app to users."""

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
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                await self._call("POST", "/cgi-bin/message/send", params={"access_token": token}, json=body)
                return
            except WeComApiError as error:
                if attempt == 2 or error.code not in TOKEN_ERRORS:
                    raise
                logger.info("wecom: access token refused (%s); fetching a new one", error)
                async with self._lock:
                    if self._token == token:
                        self._token = None

    async def _call(self, method: str, path: str, **kwargs: object) -> dict:
        try:
            response = await self._client.request(method, self.base_url + path, **kwargs)
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
