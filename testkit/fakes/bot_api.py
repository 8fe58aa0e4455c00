"""A fake Telegram Bot API server on 127.0.0.1 that the real python-telegram-bot Application can poll."""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from testkit.fakes.server import LocalServer

logger = logging.getLogger(__name__)

TOKEN = "123456:TEST-token-for-the-fake"
BOT_ID = 4242
BOT_USERNAME = "rectbot_test_bot"
BOT_FIRST_NAME = "Rectbot Test"

MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

_INT_KEYS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "reply_to_message_id",
        "from_chat_id",
        "message_thread_id",
        "cache_time",
    }
)
_JSON_KEYS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "commands",
        "scope",
        "media",
        "results",
    }
)
_BOOL_KEYS = frozenset(
    {
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "show_alert",
        "disable_web_page_preview",
        "allow_sending_without_reply",
    }
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_REPLY_METHODS = frozenset({"sendMessage", "editMessageText"})


class ApiError(Exception):
    """A Bot API error answered as {"ok": false, "error_code": ..., "description": ...}."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _bad_request(description: str) -> ApiError:
    """A 400 error with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {description}")


# --------------------------------------------------------------------------------------------
# Telegram's HTML parse mode, strictly


class HtmlParseError(ValueError):
    """Text that Telegram's HTML parser rejects."""


_TAG_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTRIBUTE = re.compile(r"""\s+([A-Za-z_][A-Za-z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_TAG_CLOSE = re.compile(r"\s*>")
_END_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
_CHAR_REFERENCE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z]+));")
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass
class _OpenTag:
    """A start tag waiting for its end tag."""

    name: str
    start: int
    attributes: dict[str, str]


def _byte_offset(text: str, index: int) -> int:
    """The UTF-8 byte offset of text[index], as Telegram reports positions."""
    return len(text[:index].encode("utf-8"))


def _parse_start_tag(text: str, index: int) -> tuple[_OpenTag, int]:
    """Parses the start tag at text[index] == "<"; returns the tag and the index after it."""
    offset = _byte_offset(text, index)
    name_match = _TAG_NAME.match(text, index + 1)
    if name_match is None:
        raise HtmlParseError(
            f'Unexpected "<" at byte offset {offset}: not a tag; escape it as &lt; (html.escape)'
        )
    name = name_match.group(0).lower()
    if name not in _TAG_ENTITY_TYPES:
        raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
    position = name_match.end()
    attributes: dict[str, str] = {}
    while True:
        close = _TAG_CLOSE.match(text, position)
        if close is not None:
            position = close.end()
            break
        attribute = _ATTRIBUTE.match(text, position)
        if attribute is None:
            raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
        value = next((g for g in attribute.groups()[1:] if g is not None), "")
        attributes[attribute.group(1).lower()] = html.unescape(value)
        position = attribute.end()
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    return _OpenTag(name, 0, attributes), position


def _entity_for(tag: _OpenTag, end: int) -> dict[str, Any] | None:
    """The entity (code-point offsets) that a closed tag produces, or None."""
    kind = _TAG_ENTITY_TYPES[tag.name]
    entity: dict[str, Any] = {"type": kind, "offset": tag.start, "length": end - tag.start}
    if tag.name == "a":
        if "href" not in tag.attributes:
            return None
        entity["url"] = tag.attributes["href"]
    elif tag.name == "blockquote" and "expandable" in tag.attributes:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "code" and tag.attributes.get("class", "").startswith("language-"):
        entity["language"] = tag.attributes["class"].removeprefix("language-")
    return entity if entity["length"] > 0 else None


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parses Telegram HTML strictly; returns the visible text and entities in code-point offsets."""
    out: list[str] = []
    length = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "&":
            reference = _CHAR_REFERENCE.match(text, index)
            decoded: str | None = None
            if reference is not None:
                decimal, hexadecimal, name = reference.groups()
                if name is not None:
                    decoded = _NAMED_REFERENCES.get(name)
                else:
                    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
                    if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                        decoded = chr(code)
            if reference is None or decoded is None:
                raise HtmlParseError(
                    f'Character "&" at byte offset {_byte_offset(text, index)} does not begin a '
                    "supported entity (&lt; &gt; &amp; &quot; &#NN; &#xHH;); escape it as &amp;"
                )
            out.append(decoded)
            length += len(decoded)
            index = reference.end()
        elif char == "<" and text.startswith("</", index):
            end_tag = _END_TAG.match(text, index)
            offset = _byte_offset(text, index)
            if end_tag is None:
                raise HtmlParseError(f"Unclosed end tag at byte offset {offset}")
            name = end_tag.group(1).lower()
            if not stack:
                raise HtmlParseError(f'Unexpected end tag "{name}" at byte offset {offset}')
            if stack[-1].name != name:
                raise HtmlParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1].name}>", '
                    f'found "</{name}>"'
                )
            entity = _entity_for(stack.pop(), length)
            if entity is not None:
                entities.append(entity)
            index = end_tag.end()
        elif char == "<":
            tag, index = _parse_start_tag(text, index)
            tag.start = length
            stack.append(tag)
        else:
            out.append(char)
            length += 1
            index += 1
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    order = {id(entity): index for index, entity in enumerate(entities)}  # inner tags close first
    entities.sort(key=lambda e: (e["offset"], -e["length"], -order[id(e)]))
    return "".join(out), entities


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _utf16_slice(text: str, offset: int, length: int) -> str:
    """The substring at a UTF-16 offset/length."""
    data = text.encode("utf-16-le")
    return data[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")


def _to_utf16_entities(text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Converts code-point offsets to UTF-16 offsets."""
    converted = []
    for entity in entities:
        start, end = entity["offset"], entity["offset"] + entity["length"]
        offset16 = utf16_length(text[:start])
        converted.append({**entity, "offset": offset16, "length": utf16_length(text[start:end])})
    return converted


def _is_html(params: dict[str, Any]) -> bool:
    """Whether the call asked for HTML parse mode."""
    return str(params.get("parse_mode") or "").lower() == "html"


# --------------------------------------------------------------------------------------------
# Recorded calls


@dataclass
class Call:
    """One Bot API call as the fake received and answered it."""

    method: str
    params: dict[str, Any]
    result: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the fake accepted the call."""
        return self.error is None

    @property
    def text(self) -> str | None:
        """params["text"] as sent."""
        value = self.params.get("text")
        return None if value is None else str(value)

    def _parsed(self) -> tuple[str, list[dict[str, Any]]] | None:
        """(visible text, code-point entities) or None when there is no text."""
        text = self.text
        if text is None:
            return None
        if _is_html(self.params):
            try:
                return parse_html(text)
            except HtmlParseError:
                return text, []
        entities = self.params.get("entities")
        if isinstance(entities, list):
            converted = []
            for entity in entities:
                prefix = _utf16_slice(text, 0, int(entity.get("offset", 0)))
                body = _utf16_slice(text, int(entity.get("offset", 0)), int(entity.get("length", 0)))
                converted.append({**entity, "offset": len(prefix), "length": len(body)})
            return text, converted
        return text, []

    @property
    def visible_text(self) -> str | None:
        """The text a user sees: tags removed and entities unescaped for HTML, else the text."""
        parsed = self._parsed()
        return None if parsed is None else parsed[0]

    @property
    def bold(self) -> list[str]:
        """The text segments shown in bold (<b>/<strong>, or bold entities)."""
        parsed = self._parsed()
        if parsed is None:
            return []
        text, entities = parsed
        return [
            text[e["offset"] : e["offset"] + e["length"]] for e in entities if e.get("type") == "bold"
        ]

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows of (text, callback_data)."""
        markup = self.params.get("reply_markup")
        if not isinstance(markup, dict):
            return []
        return [
            [(str(button.get("text", "")), button.get("callback_data")) for button in row]
            for row in markup.get("inline_keyboard", [])
        ]

    def describe(self) -> str:
        """A one-line summary for assertion messages."""
        parts = [self.method]
        if "chat_id" in self.params:
            parts.append(f"chat_id={self.params['chat_id']}")
        if self.error:
            parts.append(f"ERROR={self.error!r}")
        text = self.visible_text
        if text is not None:
            parts.append(f"text={text[:200]!r}{'…' if len(text) > 200 else ''}")
        if self.buttons:
            parts.append(f"buttons={self.buttons}")
        return " ".join(parts)


@dataclass
class _StoredFile:
    """A file that getFile and the file endpoint serve."""

    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str


# --------------------------------------------------------------------------------------------
# The server


def _decode_value(key: str, value: Any) -> Any:
    """Decodes one form value the way the Bot API interprets it."""
    if not isinstance(value, str):
        return value
    if key in _JSON_KEYS:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise _bad_request(f"can't parse {key} JSON object") from exc
    if key in _INT_KEYS and _NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    if key in _BOOL_KEYS and value in ("true", "false"):
        return value == "true"
    return value


def _check_buttons(markup: Any) -> None:
    """Rejects inline buttons whose callback_data is over 64 bytes, like Telegram."""
    if not isinstance(markup, dict):
        return
    for row in markup.get("inline_keyboard", []) or []:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")


def _entities_for_text(text: str) -> list[dict[str, Any]]:
    """Telegram's automatic bot_command and mention entities, in UTF-16 offsets."""
    entities: list[dict[str, Any]] = []
    covered_until = 0
    command = re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?", text)
    if command is not None:
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_length(command.group(0))})
        covered_until = command.end()
    for mention in re.finditer(r"(?<![A-Za-z0-9_@/])@[A-Za-z0-9_]{3,32}", text):
        if mention.start() < covered_until:
            continue
        entities.append(
            {
                "type": "mention",
                "offset": utf16_length(text[: mention.start()]),
                "length": utf16_length(mention.group(0)),
            }
        )
    return entities


class FakeBotApi:
    """An in-process Telegram Bot API server for end-to-end tests with the real PTB Application."""

    def __init__(self, token: str = TOKEN) -> None:
        """Prepares the fake; the server starts in __aenter__."""
        self.token = token
        self.calls: list[Call] = []
        self.polls: list[Call] = []
        self.unknown_methods: list[str] = []
        self.commands: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(10_001)
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._open_queries: set[str] = set()
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._consumed: set[int] = set()
        self._update_event = asyncio.Event()
        self._call_event = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._server: LocalServer | None = None
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "getFile": self._get_file,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": lambda params: self.commands,
                "deleteMyCommands": self._delete_my_commands,
                "close": lambda params: True,
                "logOut": lambda params: True,
            }.items()
        }

    # ---- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> FakeBotApi:
        """Starts uvicorn on 127.0.0.1 with a free port and waits until it listens."""
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._handle_api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._handle_file, methods=["GET"]),
            ]
        )
        self._server = await LocalServer(app, name="FakeBotApi").__aenter__()
        logger.debug("FakeBotApi listening on %s", self.base_url)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Wakes pending long polls and stops the server."""
        self._closing = True
        self._notify_updates()
        self._notify_calls()
        if self._server is not None:
            await self._server.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("FakeBotApi is not started; use `async with FakeBotApi() as fake`")
        return self._server.port

    @property
    def base_url(self) -> str:
        """The value for ApplicationBuilder.base_url / Bot(base_url=...)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """The value for ApplicationBuilder.base_file_url / Bot(base_file_url=...)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def rejected(self) -> list[Call]:
        """Calls the fake answered with an error."""
        return [call for call in self.calls if call.error is not None]

    # ---- driving the bot ---------------------------------------------------------------------

    def _user(self, user_id: int, first_name: str) -> dict[str, Any]:
        """A Telegram User dict for a human."""
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "username": f"user{user_id}",
            "language_code": "zh-hans",
        }

    def _bot_user(self) -> dict[str, Any]:
        """The bot's own User dict."""
        return {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME}

    def _chat(self, chat_id: int | str) -> dict[str, Any]:
        """The Chat dict for an id, known from user_message or guessed from its sign."""
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if isinstance(chat_id, int) and chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "用户"}
        return {"id": chat_id, "type": "group", "title": "测试群"}

    def _queue(self, update: dict[str, Any]) -> dict[str, Any]:
        """Adds an update for getUpdates and wakes long polls."""
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._notify_updates()
        return update

    def _notify_updates(self) -> None:
        """Wakes every coroutine waiting for updates."""
        event, self._update_event = self._update_event, asyncio.Event()
        event.set()

    def _notify_calls(self) -> None:
        """Wakes every coroutine waiting for calls."""
        event, self._call_event = self._call_event, asyncio.Event()
        event.set()

    def user_message(
        self,
        text: str | None = None,
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to: dict[str, Any] | None = None,
        document: dict[str, Any] | None = None,
        first_name: str = "测试用户",
    ) -> dict[str, Any]:
        """Queues an update with a message from a user; returns the update dict."""
        if chat_id is None:
            chat_id = user_id if chat_type == "private" else -(1_000_000_000 + user_id)
        if chat_type == "private":
            chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": first_name}
        else:
            chat = {"id": chat_id, "type": chat_type, "title": "测试群"}
        self._chats[chat_id] = chat
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": dict(chat),
            "from": self._user(user_id, first_name),
        }
        text_key, entities_key = ("caption", "caption_entities") if document else ("text", "entities")
        if text is not None:
            message[text_key] = text
            entities = _entities_for_text(text)
            if entities:
                message[entities_key] = entities
        if document is not None:
            message["document"] = dict(document)
        if reply_to is not None:
            message["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
        self._messages[(chat_id, message["message_id"])] = message
        return self._queue({"message": message})

    def press_button(self, message: dict[str, Any], callback_data: str, *, user_id: int = 1001) -> dict[str, Any]:
        """Queues a callback_query update for a button on one of the bot's messages."""
        query_id = f"cbq{next(self._query_ids)}x{user_id}"
        self._open_queries.add(query_id)
        chat = message.get("chat", {})
        first_name = chat.get("first_name", "测试用户") if chat.get("id") == user_id else "测试用户"
        return self._queue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id, first_name),
                    "message": message,
                    "chat_instance": f"ci{chat.get('id', 0)}",
                    "data": callback_data,
                }
            }
        )

    def add_file(self, content: bytes, file_name: str, mime_type: str = "application/octet-stream") -> dict[str, Any]:
        """Registers a downloadable file; returns a Telegram Document dict."""
        number = next(self._file_numbers)
        suffix = PurePosixPath(file_name).suffix
        stored = _StoredFile(
            file_id=f"BQACAgFake{number:04d}",
            file_unique_id=f"AgADFake{number:04d}",
            content=bytes(content),
            file_path=f"documents/file_{number}{suffix}",
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(stored.content),
        }

    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        return len(self._updates)

    # ---- assertions --------------------------------------------------------------------------

    def _describe_calls(self) -> str:
        """All calls so far, one a line."""
        if not self.calls:
            return "  (no calls)"
        return "\n".join(
            f"  [{i}]{' (consumed)' if i in self._consumed else ''} {call.describe()}"
            for i, call in enumerate(self.calls)
        )

    async def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 10.0) -> Call:
        """The first matching call not returned by an earlier wait_for; waits for new calls."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index, call in enumerate(self.calls):
                if index not in self._consumed and predicate(call):
                    self._consumed.add(index)
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                raise AssertionError(
                    f"no matching Bot API call within {timeout} s; calls seen:\n{self._describe_calls()}"
                )
            event = self._call_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    @staticmethod
    def _is_reply(call: Call, chat_id: int) -> bool:
        """Whether a call is a sendMessage/editMessageText to chat_id."""
        return call.method in _REPLY_METHODS and str(call.params.get("chat_id")) == str(chat_id)

    async def reply_to(self, chat_id: int, timeout: float = 10.0) -> Call:
        """The next accepted sendMessage or editMessageText for chat_id."""
        return await self.wait_for(lambda call: call.ok and self._is_reply(call, chat_id), timeout)

    async def no_reply_to(self, chat_id: int, wait: float = 1.0) -> None:
        """Asserts no sendMessage/editMessageText (accepted or not) to chat_id arrives within wait s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            for index, call in enumerate(self.calls):
                if index not in self._consumed and self._is_reply(call, chat_id):
                    raise AssertionError(
                        f"unexpected reply to chat {chat_id}: {call.describe()}\n"
                        f"calls seen:\n{self._describe_calls()}"
                    )
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                return
            event = self._call_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    # ---- HTTP --------------------------------------------------------------------------------

    async def _read_params(self, request: Request) -> dict[str, Any]:
        """Query string plus a form-encoded or JSON body, decoded like the Bot API does."""
        raw: dict[str, Any] = {key: value for key, value in request.query_params.items()}
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await request.body()
        if content_type == "multipart/form-data":
            raise _bad_request(
                "multipart/form-data (file uploads) is not supported by FakeBotApi; "
                "send files by file_id or extend the fake"
            )
        if body:
            if content_type == "application/json":
                try:
                    loaded = json.loads(body)
                except ValueError as exc:
                    raise _bad_request("can't parse JSON body") from exc
                if not isinstance(loaded, dict):
                    raise _bad_request("JSON body must be an object")
                raw.update(loaded)
            else:
                form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
                raw.update({key: values[-1] for key, values in form.items()})
        return {key: _decode_value(key, value) for key, value in raw.items()}

    async def _handle_api(self, request: Request) -> Response:
        """Routes /bot{token}/{method}."""
        if request.path_params["token"] != self.token:
            logger.warning("FakeBotApi: request with a wrong token for %s", request.path_params["method"])
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        sent_name = request.path_params["method"]
        method, handler = self._methods.get(sent_name.lower(), (sent_name, None))
        if method.lower() == "getupdates":
            method = "getUpdates"
        call = Call(method=method, params={})
        try:
            call.params = await self._read_params(request)
            if method == "getUpdates":
                call.result = await self._get_updates(call.params, request)
            elif handler is None:
                self.unknown_methods.append(sent_name)
                raise ApiError(404, "Not Found: method not found")
            else:
                call.result = handler(call.params)
        except ApiError as exc:
            call.error = exc.description
            self._record(call)
            return JSONResponse(
                {"ok": False, "error_code": exc.code, "description": exc.description}, status_code=exc.code
            )
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must surface in the test
            logger.exception("FakeBotApi: %s crashed", method)
            call.error = f"Internal Server Error: {exc!r}"
            self._record(call)
            return JSONResponse({"ok": False, "error_code": 500, "description": call.error}, status_code=500)
        self._record(call)
        return JSONResponse({"ok": True, "result": call.result})

    def _record(self, call: Call) -> None:
        """Stores a call (getUpdates separately in polls) and wakes waiters."""
        if call.method == "getUpdates":
            self.polls.append(call)
            return
        logger.debug("FakeBotApi: %s", call.describe())
        self.calls.append(call)
        self._notify_calls()

    async def _handle_file(self, request: Request) -> Response:
        """Serves GET /file/bot{token}/{file_path}."""
        stored = self._files_by_path.get(request.path_params["file_path"])
        if request.path_params["token"] != self.token or stored is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
        return Response(stored.content, media_type="application/octet-stream")

    # ---- getUpdates --------------------------------------------------------------------------

    async def _get_updates(self, params: dict[str, Any], request: Request) -> list[dict[str, Any]]:
        """Confirms updates below offset, then returns pending ones, long-polling up to timeout s."""
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates") or None
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify_updates()  # an older long poll now ends with 409, as on Telegram

        def deliverable() -> list[dict[str, Any]]:
            updates = [u for u in self._updates if u["update_id"] >= offset]
            if allowed:
                updates = [u for u in updates if any(kind in u for kind in allowed)]
            return updates[:limit]

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        disconnected: asyncio.Task[Any] | None = None
        try:
            while True:
                if generation != self._poll_generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                updates = deliverable()
                remaining = deadline - loop.time()
                if updates or remaining <= 0 or self._closing:
                    return updates
                if disconnected is None:
                    disconnected = asyncio.ensure_future(request.receive())
                woken = asyncio.ensure_future(self._update_event.wait())
                done, _ = await asyncio.wait(
                    {woken, disconnected}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                woken.cancel()
                if disconnected in done:
                    logger.debug("FakeBotApi: a long poll's client went away")
                    return []
        finally:
            if disconnected is not None:
                disconnected.cancel()

    # ---- methods -----------------------------------------------------------------------------

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        """getMe."""
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        """deleteWebhook, dropping pending updates when asked."""
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """getWebhookInfo: never a webhook."""
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    def _render(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """Validates text, parse_mode and buttons; returns the text and UTF-16 entities to store."""
        text = params.get("text")
        if text is None:
            raise _bad_request("message text is empty")
        text = str(text)
        parse_mode = params.get("parse_mode")
        entities: list[dict[str, Any]] = []
        if parse_mode not in (None, ""):
            if str(parse_mode).lower() not in ("html", "markdown", "markdownv2"):
                raise _bad_request(f"unsupported parse_mode {parse_mode!r}")
            if _is_html(params):
                try:
                    text, entities = parse_html(text)
                except HtmlParseError as exc:
                    raise _bad_request(f"can't parse entities: {exc}") from exc
                entities = _to_utf16_entities(text, entities)
            else:
                logger.warning("FakeBotApi does not parse %s; the text is stored as sent", parse_mode)
        elif isinstance(params.get("entities"), list):
            entities = params["entities"]
        if not text.strip():
            raise _bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        _check_buttons(params.get("reply_markup"))
        return text, entities

    def _chat_id(self, params: dict[str, Any]) -> int | str:
        """The chat_id parameter, required."""
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _bad_request("chat_id is empty")
        return chat_id

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendMessage: validates like Telegram and returns the Message."""
        chat_id = self._chat_id(params)
        text, entities = self._render(params)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": self._bot_user(),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        reply_parameters = params.get("reply_parameters")
        reply_id = params.get("reply_to_message_id")
        if isinstance(reply_parameters, dict):
            reply_id = reply_parameters.get("message_id")
        if reply_id is not None:
            replied = self._messages.get((chat_id, int(reply_id)))
            if replied is not None:
                message["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _editable(self, params: dict[str, Any]) -> tuple[int | str, dict[str, Any]]:
        """The bot message that chat_id + message_id name."""
        if "inline_message_id" in params:
            raise _bad_request("inline messages are not supported by FakeBotApi")
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        stored = self._messages.get((chat_id, message_id)) if isinstance(message_id, int) else None
        if stored is None:
            raise _bad_request("message to edit not found")
        if stored.get("from", {}).get("id") != BOT_ID:
            raise _bad_request("message can't be edited")
        return chat_id, stored

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageText: replaces text (and the inline keyboard, removed when omitted)."""
        chat_id, stored = self._editable(params)
        text, entities = self._render(params)
        markup = params.get("reply_markup")
        new_markup = (
            {"inline_keyboard": markup["inline_keyboard"]}
            if isinstance(markup, dict) and markup.get("inline_keyboard")
            else None
        )
        if (
            stored.get("text") == text
            and stored.get("entities", []) == entities
            and stored.get("reply_markup") == new_markup
        ):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        edited = {k: v for k, v in stored.items() if k not in ("entities", "reply_markup")}
        edited.update(text=text, edit_date=int(time.time()))
        if entities:
            edited["entities"] = entities
        if new_markup is not None:
            edited["reply_markup"] = new_markup
        self._messages[(chat_id, stored["message_id"])] = edited
        return edited

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageReplyMarkup: replaces or removes the inline keyboard."""
        chat_id, stored = self._editable(params)
        markup = params.get("reply_markup")
        _check_buttons(markup)
        new_markup = (
            {"inline_keyboard": markup["inline_keyboard"]}
            if isinstance(markup, dict) and markup.get("inline_keyboard")
            else None
        )
        if stored.get("reply_markup") == new_markup:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        edited = {k: v for k, v in stored.items() if k != "reply_markup"}
        edited["edit_date"] = int(time.time())
        if new_markup is not None:
            edited["reply_markup"] = new_markup
        self._messages[(chat_id, stored["message_id"])] = edited
        return edited

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        """answerCallbackQuery: each query from press_button can be answered once."""
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_queries:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        self._open_queries.discard(query_id)
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        """sendChatAction."""
        self._chat_id(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        """getFile for a file registered with add_file."""
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        """setMyCommands: stores the command list in self.commands."""
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("commands must be a JSON array")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands = commands
        return True

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        """deleteMyCommands."""
        self.commands = []
        return True
