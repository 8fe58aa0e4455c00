"""Telegram channel (python-telegram-bot): updates -> core calls, replies -> HTML messages with buttons."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import NetworkError, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from rectbot.bot.access import ChannelName
from rectbot.bot.config import TelegramConfig
from rectbot.bot.core import (
    EXPIRED,
    FAILED,
    HELP_TEXT,
    TEXT_ONLY,
    Answer,
    AnswerRef,
    Asker,
    ConfirmRemoval,
    Core,
    FetchError,
    Notice,
    Pending,
    Reply,
    Silence,
)
from rectbot.bot.render import clip, render_telegram

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

logger = logging.getLogger(__name__)

CHANNEL = ChannelName.TELEGRAM
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # the cloud Bot API serves files up to 20 MB
MAX_ALERT_CHARS = 200  # Telegram's limit for a callback answer shown as an alert
COMMANDS = [
    BotCommand("help", "用法和示例问题"),
    BotCommand("ask", "提问（群里用）：/ask 问题"),
    BotCommand("more", "上一个问题的更多段落"),
    BotCommand("doc", "查看文档信息：/doc 编号"),
    BotCommand("stats", "统计（管理员）"),
    BotCommand("reindex", "重建索引（管理员）"),
    BotCommand("delete", "删除文档（管理员）：/delete 编号"),
]
UNKNOWN_COMMAND = "没有这个命令。直接输入问题即可；/help 看用法。"
ASK_USAGE = "用法：/ask 问题，例如 /ask 软弱涣散村党组织怎么整顿"
DOC_USAGE = "用法：/doc 编号，例如 /doc 1（编号见“上下文”里的“文档 N”）"
DELETE_USAGE = "用法：/delete 编号，例如 /delete 12（编号见 /doc 或 rectbot docs）"

# callback_data (at most 64 bytes, here at most 41): more:<answer id>:<token> | ctx:<answer id>:<token>:<n>
# | vote:<answer id>:<token>:<1|-1> | del:<document id> (an admin confirming the removal they asked for).
# The token is the answer's secret, so that no one can name an answer they were not shown. Buttons made before
# tokens (more:<id>, ctx:<id>:<n>, vote:<id>:<v>) match nothing and are answered as expired.
_ID, _TOKEN = r"([0-9]{1,18})", r"([A-Za-z0-9_-]{12})"
CALLBACKS = {
    "more": re.compile(rf"more:{_ID}:{_TOKEN}"),
    "ctx": re.compile(rf"ctx:{_ID}:{_TOKEN}:([0-9]{{1,4}})"),
    "vote": re.compile(rf"vote:{_ID}:{_TOKEN}:(1|-1)"),
    "del": re.compile(rf"del:{_ID}"),
}


@dataclass(frozen=True)
class Button:
    """What a pressed button asks for."""

    action: str  # more | ctx | vote | del
    answer_id: int  # the document's id for del
    token: str = ""  # the answer's secret; empty for del
    number: int = 0  # the excerpt for ctx, the vote (+1/-1) for vote

    @property
    def ref(self) -> AnswerRef:
        """The answer this button names."""
        return AnswerRef(self.answer_id, self.token)


def button_data(button: Button) -> str:
    """callback_data for a button."""
    if button.action == "del":
        return f"del:{button.answer_id}"
    if button.action == "more":
        return f"more:{button.answer_id}:{button.token}"
    return f"{button.action}:{button.answer_id}:{button.token}:{button.number}"


def parse_button(data: str | None) -> Button | None:
    """The button behind callback_data, or None for data this bot never made (or made before tokens)."""
    data = data or ""
    action = data.partition(":")[0]
    pattern = CALLBACKS.get(action)
    match = pattern.fullmatch(data) if pattern is not None else None  # fullmatch: no trailing newline either
    if match is None:
        return None
    if action == "del":
        return Button("del", int(match.group(1)))
    number = int(match.group(3)) if action != "more" else 0
    return Button(action, int(match.group(1)), match.group(2), number)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """上下文 N per excerpt; 更多 when there are more; 👍/👎 on an answer; 确认删除 on a removal to confirm."""
    if isinstance(reply, ConfirmRemoval):
        data = button_data(Button("del", reply.document.id))
        return InlineKeyboardMarkup([[InlineKeyboardButton(f"确认删除 {reply.document.id}", callback_data=data)]])
    if not isinstance(reply, Answer) or not reply.token:  # an answer saved before tokens: 更多 by text only
        return None

    def button(label: str, action: str, number: int = 0) -> InlineKeyboardButton:
        data = button_data(Button(action, reply.answer_id, reply.token, number))
        return InlineKeyboardButton(label, callback_data=data)

    context_row = [button(f"上下文 {n}", "ctx", n) for n in range(reply.first, reply.first + len(reply.hits))]
    last_row = [button("👍", "vote", 1), button("👎", "vote", -1)]
    if reply.has_more:
        last_row.insert(0, button("更多 ▸", "more"))
    return InlineKeyboardMarkup([context_row, last_row])


def addressed_text(message: Message, bot_username: str, bot_id: int) -> str | None:
    """In a group, the question if the message is for the bot (a mention or a reply to it), else None."""
    text = message.text or ""
    mention = f"@{bot_username}".lower()
    mentions = [
        entity for entity in message.entities if entity.type == MessageEntity.MENTION
        and message.parse_entity(entity).lower() == mention
    ]
    if mentions:
        return re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).strip()
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return text
    return None


class TelegramChannel:
    """The handlers of the Telegram bot; each translates an update, calls the core, and sends the reply."""

    def __init__(self, core: Core, settings: TelegramConfig, first_retry: float = 5.0) -> None:
        self.core = core
        self.first_retry = first_retry
        self.application = self.build_application(settings)

    def routes(self) -> list[BaseRoute]:
        """None: the bot long-polls Telegram and needs no public address."""
        return []

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set (see run_telegram)."""
        await run_telegram(self.application, stop, self.first_retry)

    async def close(self) -> None:
        """Nothing is left once polling has stopped."""

    def build_application(self, config: TelegramConfig) -> Application:
        """A polling Application wired to this channel's handlers."""
        builder = Application.builder().token(config.token).concurrent_updates(True)
        if config.base_url:
            builder = builder.base_url(config.base_url)
        if config.base_file_url:
            builder = builder.base_file_url(config.base_file_url)
        if config.proxy:
            builder = builder.proxy(config.proxy).get_updates_proxy(config.proxy)
        application = builder.build()
        private = filters.ChatType.PRIVATE
        application.add_handler(CommandHandler(["start", "help"], self.on_help))
        application.add_handler(CommandHandler("ask", self.on_ask))
        application.add_handler(CommandHandler("more", self.on_more))
        application.add_handler(CommandHandler("doc", self.on_doc))
        application.add_handler(CommandHandler("stats", self.on_stats))
        application.add_handler(CommandHandler("reindex", self.on_reindex))
        application.add_handler(CommandHandler("delete", self.on_delete))
        application.add_handler(MessageHandler(filters.COMMAND, self.on_unknown_command))
        application.add_handler(MessageHandler(filters.TEXT, self.on_text))
        application.add_handler(MessageHandler(private & filters.Document.ALL, self.on_document))
        application.add_handler(
            MessageHandler(private & ~filters.StatusUpdate.ALL & ~filters.TEXT & ~filters.Document.ALL, self.on_other)
        )
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_error_handler(self.on_error)
        return application

    def asker(self, update: Update) -> Asker | None:
        """Who is asking (the chat only in groups), or None for an update from no one."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return None
        return self.core.asker(CHANNEL, user.id, chat.type, None if chat.type == ChatType.PRIVATE else chat.id)

    async def admitted(self, update: Update) -> Asker | None:
        """The asker if the core admits them (rate limit, allow-list); otherwise send its refusal."""
        asker = self.asker(update)
        if asker is None:
            return None
        if (refusal := self.core.admit(asker)) is not None:
            await self.send(update, refusal)
            return None
        return asker

    async def send(self, update: Update, reply: Reply) -> Message | None:
        """Send a reply to the chat of the update (quoting the question in groups)."""
        if isinstance(reply, Silence):
            return None
        text, markup = render_telegram(reply), keyboard(reply)
        if update.callback_query is None and update.effective_message is not None:
            return await update.effective_message.reply_html(text, reply_markup=markup, disable_web_page_preview=True)
        chat = update.effective_chat
        assert chat is not None  # buttons are only ever under this bot's messages in a chat (it has no inline mode)
        return await chat.send_message(
            text, parse_mode=ParseMode.HTML, reply_markup=markup, disable_web_page_preview=True
        )

    async def finish(self, update: Update, reply: Reply) -> None:
        """Send a reply; slow work is announced first, then its result replaces the announcement."""
        sent = await self.send(update, reply)
        if isinstance(reply, Pending):
            result = await reply.job
            if sent is not None:
                await sent.edit_text(render_telegram(result), parse_mode=ParseMode.HTML, reply_markup=keyboard(result))

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start and /help: what the bot does, with example questions."""
        if await self.admitted(update):
            await self.send(update, Notice("help", HELP_TEXT))

    async def on_ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/ask 问题: a question, the way to ask in a group."""
        if asker := await self.admitted(update):
            question = " ".join(context.args or [])
            reply = await self.core.ask(asker, question) if question.strip() else Notice("usage", ASK_USAGE)
            await self.send(update, reply)

    async def on_more(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/more: the next excerpts for the user's last question."""
        if asker := await self.admitted(update):
            await self.send(update, await self.core.more(asker))

    async def on_doc(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/doc ID: a document's title, source, date, sections and passage count."""
        if await self.admitted(update):
            args = context.args or []
            if len(args) != 1 or not args[0].isdigit() or len(args[0]) > 9:
                await self.send(update, Notice("usage", DOC_USAGE))
                return
            await self.send(update, await self.core.document(int(args[0])))

    async def on_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/stats (admins): documents, passages, questions, the share answered; the gap list in private chats only."""
        if asker := await self.admitted(update):
            await self.send(update, await self.core.stats(asker))

    async def on_reindex(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/reindex (admins): rebuild the index and say how long it took."""
        if asker := await self.admitted(update):
            await self.finish(update, self.core.reindex(asker))

    async def on_delete(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/delete ID (admins): show what would be removed, with a button to confirm."""
        if asker := await self.admitted(update):
            args = context.args or []
            if len(args) != 1 or not args[0].isdigit() or len(args[0]) > 9:
                await self.send(update, Notice("usage", DELETE_USAGE))
                return
            await self.send(update, await self.core.ask_to_remove(asker, int(args[0])))

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command this bot does not have: one line of help (in groups only when addressed to this bot)."""
        message, chat = update.effective_message, update.effective_chat
        assert message is not None and chat is not None  # a MessageHandler passes only messages, each in a chat
        text = message.text or ""
        command = text.split()[0] if text.split() else ""
        if chat.type != ChatType.PRIVATE and not command.lower().endswith(
            f"@{context.bot.username}".lower()
        ):
            return
        if await self.admitted(update):
            await self.send(update, Notice("unknown_command", UNKNOWN_COMMAND))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any text is a question (or 更多 / 上下文 N); in groups only when addressed to the bot."""
        message, chat = update.effective_message, update.effective_chat
        assert message is not None and chat is not None  # a MessageHandler passes only messages, each in a chat
        text = message.text or ""
        if chat.type != ChatType.PRIVATE:
            addressed = addressed_text(message, context.bot.username, context.bot.id)
            if addressed is None:
                return
            text = addressed
        if asker := await self.admitted(update):
            await self.finish(update, await self.core.handle(asker, text))

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A file sent in a private chat: admins add it to the corpus; others are refused, nothing downloaded."""
        asker = await self.admitted(update)
        if asker is None:
            return
        message = update.effective_message
        assert message is not None and message.document is not None  # the handler's filter is Document.ALL
        document = message.document
        file_name = document.file_name or f"{document.file_unique_id}.txt"

        async def download() -> bytes:
            if document.file_size and document.file_size > MAX_DOWNLOAD_BYTES:
                raise FetchError("文件超过 20 MB，Telegram 机器人无法下载。请在服务器上用 rectbot ingest 导入。")
            file = await context.bot.get_file(document.file_id)
            return bytes(await file.download_as_bytearray())

        await self.send(update, await self.core.ingest(asker, download, file_name))

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Photos, voice, stickers...: say that only text questions are answered."""
        if await self.admitted(update):
            await self.send(update, Notice("text_only", TEXT_ONLY))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """更多, 上下文 N and 👍/👎 under an answer, for its owner only; every press is answered, old ones too."""
        query = update.callback_query
        assert query is not None  # a CallbackQueryHandler passes only button presses
        button = parse_button(query.data)
        if button is None:
            await query.answer(EXPIRED, show_alert=True)
            return
        asker = self.asker(update)
        if asker is None:
            await query.answer()
            return
        if (refusal := self.core.admit(asker)) is not None:
            if isinstance(refusal, Notice):
                await query.answer(refusal.text, show_alert=refusal.kind == "not_allowed")
            else:
                await query.answer()
            return
        if button.action == "vote":
            notice = await self.core.feedback(asker, button.ref, button.number)
            await query.answer(notice.text, show_alert=notice.kind != "thanks")
            return
        if button.action == "del":
            reply = await self.core.remove(asker, button.answer_id)
        elif button.action == "more":
            reply = await self.core.more(asker, button.ref)
        else:
            reply = await self.core.context(asker, button.number, button.ref)
        if isinstance(reply, Notice):
            await query.answer(clip(reply.text, MAX_ALERT_CHARS), show_alert=True)
            return
        await query.answer()
        await self.send(update, reply)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure with its traceback and tell the user something useful."""
        logger.error("handling an update failed", exc_info=context.error)
        if not isinstance(update, Update):
            return
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(FAILED, show_alert=True)
            elif update.effective_chat is not None:
                await update.effective_chat.send_message(FAILED)
        except TelegramError:
            logger.warning("could not tell the user about the failure", exc_info=True)


async def run_telegram(application: Application, stop: asyncio.Event, first_retry: float = 5.0) -> None:
    """Poll until `stop` is set; while Telegram cannot be reached, retry with backoff (other channels go on)."""
    delay = first_retry
    while not stop.is_set():
        try:
            await _poll(application, stop)
            return
        except NetworkError as error:  # a blocked network or a proxy down; InvalidToken is a config error and stops
            logger.error("telegram: cannot reach the Bot API (%s); retrying in %.0f s (check telegram.proxy)", error, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 300)


async def _poll(application: Application, stop: asyncio.Event) -> None:
    """The manual lifecycle, so other channels can share the event loop."""
    updater = application.updater
    assert updater is not None  # the builder makes one unless told not to
    async with application:
        try:
            await application.bot.set_my_commands(COMMANDS)
        except TelegramError:
            logger.warning("could not set the command menu", exc_info=True)
        await application.start()
        await updater.start_polling(allowed_updates=Update.ALL_TYPES)
        logger.info("telegram: polling as @%s", application.bot.username)
        await stop.wait()
        await updater.stop()
        await application.stop()
