"""WeCom (企业微信) channel: the callback routes of a self-built app; requests -> core calls, replies -> encrypted XML."""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import secrets
import time
import unicodedata
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from rectbot.bot.access import ChannelName
from rectbot.bot.core import FAILED, HELP_TEXT, TEXT_ONLY, Core, Download, FetchError, Notice, Pending, Reply, Silence
from rectbot.bot.render import render_wecom
from rectbot.bot.wecom_api import MediaTooLarge, WeComApi, WeComApiError
from rectbot.bot.wecom_crypto import CryptoError, WeComCrypto
from rectbot.retrieval.text import safe_text
from rectbot.retrieval.corpus import MAX_FILE_BYTES
from rectbot.retrieval.articles import SUPPORTED_SUFFIXES

logger = logging.getLogger(__name__)

CHANNEL = ChannelName.WECOM
PATH = "/wecom/callback"
REPLY_DEADLINE = 4.0  # seconds; WeCom gives up after 5 and retries
MAX_BODY_BYTES = 64 * 1024  # a text message envelope is a few KB
MAX_CLOCK_SKEW = 300  # seconds between a request's timestamp and now
UPLOADING = "收到文件，正在导入，完成后告诉你……"
NO_API = "无法下载文件：服务器没有配置企业微信应用的 secret 和 agent_id。请联系管理员，或在服务器上用 rectbot ingest 导入。"
MEDIA_EXPIRED = 40007  # invalid media_id: WeCom keeps temporary media for 3 days
MAX_FILE_NAME_CHARS = 120


def too_large_text(limit: int) -> str:
    """Why a file over the upload limit was not downloaded."""
    return f"文件超过 {limit / 2**20:g} MB，没有下载，也没有做任何改动。请拆分成几个较小的文件再发送。"


def download_failed_text(error: WeComApiError) -> str:
    """What the admin reads when media/get fails."""
    if error.code == MEDIA_EXPIRED:
        return "企业微信说这个文件无效或已过期（临时文件只保留 3 天），没有做任何改动。请重新发送文件。"
    code = f"（错误码 {error.code}）" if error.code is not None else ""
    return f"从企业微信下载文件失败{code}，没有做任何改动。请稍后重新发送。"


class Refused(Exception):
    """A request to answer with an HTTP error and one log line; nothing else happens."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Incoming:
    """A decrypted message or event."""

    user_id: str
    kind: str  # text | image | voice | file | event | ...
    content: str
    message_id: str  # MsgId, or user + CreateTime + event for events (which have none)
    event: str | None
    media_id: str = ""  # image, voice, video and file messages
    file_name: str = ""  # file messages, when WeCom says


def parse_xml(data: bytes | str) -> Element:
    """Parse XML refusing DTDs, entities and external references."""
    try:
        return fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as error:
        raise Refused(400, f"bad XML ({type(error).__name__})") from None


def field(root: Element, name: str) -> str:
    """The text of a child element, '' if absent."""
    found = root.find(name)
    return (found.text or "") if found is not None else ""


def safe_file_name(name: str | None) -> str | None:
    """A file name without folders or control characters, at most MAX_FILE_NAME_CHARS; None if nothing is left."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    if len(base) > MAX_FILE_NAME_CHARS:
        _stem, dot, suffix = base.rpartition(".")
        keep = f"{dot}{suffix}" if dot and len(suffix) <= 10 else ""
        base = base[: MAX_FILE_NAME_CHARS - len(keep)] + keep
    return base or None


def fallback_file_name(media_id: str, content_type: str) -> str:
    """A name for a file WeCom did not name: its media id and an extension from its type (.txt when unknown)."""
    suffix = mimetypes.guess_extension(content_type) if content_type else None
    if suffix not in SUPPORTED_SUFFIXES and (not content_type or content_type == "application/octet-stream"):
        suffix = ".txt"  # as a Telegram upload without a name; a binary file is then refused as unreadable
    stem = "".join(ch for ch in media_id[:16] if ch.isalnum() or ch in "-_") or "file"
    return f"wecom-{stem}{suffix or '.bin'}"


def cdata(text: str) -> str:
    """text as CDATA, safe even if it contains ']]>'."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def reply_xml(user_id: str, corp_id: str, timestamp: int, text: str) -> str:
    """The inner XML of a passive text reply from the app (corp_id) to a user, before encryption."""
    return (
        f"<xml><ToUserName>{cdata(user_id)}</ToUserName><FromUserName>{cdata(corp_id)}</FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(text)}</Content></xml>"
    )


class WeComChannel:
    """The callback endpoint: verifies, decrypts, de-duplicates, answers within the deadline or later."""

    def __init__(
        self,
        core: Core,
        crypto: WeComCrypto,
        api: WeComApi | None = None,
        *,
        path: str = PATH,
        reply_deadline: float = REPLY_DEADLINE,
        max_upload_bytes: int = MAX_FILE_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.core = core
        self.crypto = crypto
        self.api = api
        self.path = path
        self.reply_deadline = reply_deadline
        self.max_upload_bytes = max_upload_bytes
        self.clock = clock
        self._later: set[asyncio.Task[None]] = set()

    def routes(self) -> list[BaseRoute]:
        """The callback, for the HTTP host: GET verifies the URL, POST delivers messages."""
        return [
            Route(self.path, self.verify_url, methods=["GET"]),
            Route(self.path, self.receive, methods=["POST"]),
        ]

    async def run(self, stop: asyncio.Event) -> None:
        """The callback answers on the HTTP host; nothing else runs until `stop` is set."""
        logger.info("wecom: callback at %s", self.path)
        await stop.wait()

    async def close(self) -> None:
        """Once the HTTP host has stopped: deliver results still pending, then close the API client."""
        await self.drain()
        if self.api is not None:
            await self.api.close()

    async def verify_url(self, request: Request) -> Response:
        """URL verification: check the signature and answer the decrypted echostr."""
        try:
            query = self._signed_query(request, "echostr")
            self.crypto.check_signature(query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"])
            echo = self.crypto.decrypt(query["echostr"])
        except (Refused, CryptoError) as error:
            return self._refuse(request, error)
        return PlainTextResponse(echo)

    async def receive(self, request: Request) -> Response:
        """A message callback: answer with an encrypted passive reply, or an empty 200 when answering later."""
        arrived = time.monotonic()  # WeCom's clock starts when it sends, not when the database is free
        try:
            query = self._signed_query(request)
            envelope = parse_xml(await self._body(request))
            encrypted = field(envelope, "Encrypt")
            self.crypto.check_signature(query["msg_signature"], query["timestamp"], query["nonce"], encrypted)
            incoming = self._incoming(parse_xml(self.crypto.decrypt(encrypted)))
        except (Refused, CryptoError) as error:
            return self._refuse(request, error)
        except ClientDisconnect:
            client = request.client.host if request.client else "?"
            logger.info("wecom: %s disconnected before sending the whole request; nothing was done", client)
            return Response(status_code=400)  # nobody reads it
        if not await self.core.chatlog.first_sighting(CHANNEL, incoming.message_id):
            logger.info("wecom: message %s delivered again; already handled", incoming.message_id)
            return Response(status_code=200)
        text = await self._answer(incoming, self.reply_deadline - (time.monotonic() - arrived))
        if not text:
            return Response(status_code=200)
        return Response(self._passive_reply(incoming.user_id, text), media_type="application/xml")

    async def _answer(self, incoming: Incoming, deadline: float) -> str:
        """The passive reply's text ('' for none); slow work is sent later with the active API."""
        asker = self.core.asker(CHANNEL, incoming.user_id, "app")
        if incoming.kind == "event":
            return HELP_TEXT if incoming.event == "subscribe" else ""
        if (refusal := self.core.admit(asker)) is not None:
            return render_wecom(refusal)
        job: Coroutine[object, object, Reply]
        if incoming.kind == "text":
            job = self.core.handle(asker, safe_text(incoming.content))
        elif incoming.kind == "file":
            job = self.core.ingest(asker, self._fetcher(incoming), safe_file_name(incoming.file_name) or "")
        else:
            return TEXT_ONLY
        work = asyncio.create_task(job)
        done, _ = await asyncio.wait({work}, timeout=max(0.0, deadline))
        if not done:
            logger.warning("wecom: answer for %s not ready within the deadline; it will be sent", asker.user_id)
            self._send_later(asker.user_id, work)
            return UPLOADING if incoming.kind == "file" else ""
        try:
            reply = work.result()
        except Exception:
            logger.exception("wecom: handling a message failed")
            return FAILED
        if isinstance(reply, Pending):
            self._send_later(asker.user_id, reply.job)
        return render_wecom(reply)

    def _fetcher(self, incoming: Incoming) -> Callable[[], Coroutine[object, object, Download]]:
        """Downloads a file message's media; core calls it only for admins."""

        async def fetch() -> Download:
            if self.api is None:
                raise FetchError(NO_API)
            if not incoming.media_id:
                raise FetchError("这条文件消息里没有文件（MediaId 为空），没有做任何改动。请重新发送。")
            try:
                media = await self.api.download_media(incoming.media_id, self.max_upload_bytes)
            except MediaTooLarge as error:
                logger.info("wecom: file from %s not downloaded: %s", incoming.user_id, error)
                raise FetchError(too_large_text(error.limit)) from None
            except WeComApiError as error:
                logger.warning("wecom: downloading a file from %s failed: %s", incoming.user_id, error)
                raise FetchError(download_failed_text(error)) from None
            name = (
                safe_file_name(incoming.file_name)
                or safe_file_name(media.file_name)
                or fallback_file_name(incoming.media_id, media.content_type)
            )
            logger.info("wecom: downloaded %s (%d bytes) from %s", name, len(media.data), incoming.user_id)
            return Download(media.data, name)

        return fetch

    def _send_later(self, user_id: str, work: asyncio.Task[Reply]) -> None:
        """When `work` is done, send its reply with the active API."""

        async def deliver() -> None:
            try:
                reply = await work
            except Exception:
                logger.exception("wecom: handling a message failed")
                reply = Notice("failed", FAILED)
            if isinstance(reply, Silence):
                return
            if self.api is None:
                logger.warning("wecom: cannot send a result to %s: wecom.secret or agent_id is not set", user_id)
                return
            try:
                await self.api.send_text(user_id, render_wecom(reply))
            except WeComApiError as error:
                logger.error("wecom: active send to %s failed: %s", user_id, error)

        task = asyncio.create_task(deliver())
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def drain(self) -> None:
        """Wait for results still being sent (at shutdown, and in tests)."""
        while self._later:
            await asyncio.gather(*list(self._later), return_exceptions=True)

    def _signed_query(self, request: Request, *extra: str) -> dict[str, str]:
        """The signature parameters, with a timestamp close to now."""
        names = ("msg_signature", "timestamp", "nonce", *extra)
        query = {name: request.query_params.get(name, "") for name in names}
        missing = [name for name, value in query.items() if not value]
        if missing:
            raise Refused(400, f"missing {', '.join(missing)}")
        try:
            skew = abs(self.clock() - int(query["timestamp"]))
        except ValueError:
            raise Refused(400, "timestamp is not a number") from None
        if skew > MAX_CLOCK_SKEW:
            raise Refused(400, f"timestamp {skew:.0f} s from now")
        return query

    async def _body(self, request: Request) -> bytes:
        """The request body, refusing more than MAX_BODY_BYTES without reading it all."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise Refused(413, f"body of {declared} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise Refused(413, "body too large")
        return bytes(body)

    def _incoming(self, message: Element) -> Incoming:
        user_id, kind = field(message, "FromUserName"), field(message, "MsgType")
        if not user_id or not kind:
            raise Refused(400, "message without FromUserName or MsgType")
        event = field(message, "Event") or None
        message_id = field(message, "MsgId") or f"{user_id}:{field(message, 'CreateTime')}:{event}"
        return Incoming(
            user_id, kind, field(message, "Content"), message_id, event,
            media_id=field(message, "MediaId").strip(), file_name=field(message, "FileName"),
        )

    def _passive_reply(self, user_id: str, text: str) -> str:
        """The encrypted XML envelope of a text reply from the app to the user."""
        timestamp = str(int(self.clock()))
        nonce = str(secrets.randbelow(10**10))
        encrypted = self.crypto.encrypt(reply_xml(user_id, self.crypto.corp_id, int(timestamp), text))
        return (
            f"<xml><Encrypt>{cdata(encrypted)}</Encrypt>"
            f"<MsgSignature>{cdata(self.crypto.sign(timestamp, nonce, encrypted))}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
        )

    def _refuse(self, request: Request, error: Exception) -> Response:
        status = error.status if isinstance(error, Refused) else 403
        client = request.client.host if request.client else "?"
        logger.warning("wecom: refused %s %s from %s: %s", request.method, request.url.path, client, error)
        return PlainTextResponse("refused", status_code=status)
