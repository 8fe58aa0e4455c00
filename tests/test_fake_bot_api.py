"""The fake Bot API server answers the real python-telegram-bot Bot and Application."""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound, InvalidToken
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from testkit.fakes.bot_api import BOT_USERNAME, TOKEN, FakeBotApi

logger = logging.getLogger(__name__)

CHAT = 1001


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    """A running fake server."""
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    """A real telegram.Bot talking to the fake."""
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as real_bot:
        yield real_bot


async def test_get_me_and_wrong_token(fake: FakeBotApi, bot: Bot) -> None:
    """getMe answers the bot's identity; a wrong token is refused like Telegram does."""
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (4242, BOT_USERNAME, True)
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=fake.base_url):
            pass
    with pytest.raises(EndPointNotFound):  # Telegram's 404 for an unknown method
        await bot.do_api_request("frobnicate")
    assert fake.unknown_methods == ["frobnicate"]


async def test_send_message_is_recorded_with_html_and_buttons(fake: FakeBotApi, bot: Bot) -> None:
    """Params arrive decoded; visible_text, bold and buttons reflect what the user would see."""
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("更多", callback_data="more:1"), InlineKeyboardButton("链接", url="https://x.cn")]]
    )
    sent = await bot.send_message(
        CHAT, "<b>答案</b>:整顿 &lt;软弱涣散&gt; &amp; 😀<i>来源</i>", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    call = await fake.reply_to(CHAT)
    assert call.method == "sendMessage" and call.error is None
    assert call.params["chat_id"] == CHAT and isinstance(call.params["reply_markup"], dict)
    assert call.visible_text == "答案:整顿 <软弱涣散> & 😀来源"
    assert call.bold == ["答案"]
    assert call.buttons == [[("更多", "more:1"), ("链接", None)]]
    assert sent.text == call.visible_text and sent.message_id == call.result["message_id"]
    italic = next(e for e in sent.entities if e.type == "italic")
    assert sent.parse_entity(italic) == "来源"  # UTF-16 offsets, like Telegram

    edited = await bot.edit_message_text("<b>新</b>", chat_id=CHAT, message_id=sent.message_id, parse_mode="HTML")
    assert (await fake.reply_to(CHAT)).bold == ["新"] and edited.reply_markup is None
    with pytest.raises(BadRequest, match="not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=9999)


@pytest.mark.parametrize(
    ("text", "parse_mode", "error"),
    [
        ("字" * 4097, None, "message is too long"),
        ("<b>" + "字" * 4096 + "</b>", ParseMode.HTML, None),
        ("<x>hi</x>", ParseMode.HTML, "can't parse entities"),
        ("a & b", ParseMode.HTML, "can't parse entities"),
        ("1 < 2", ParseMode.HTML, "can't parse entities"),
        ("<b>x<i>y</b></i>", ParseMode.HTML, "can't parse entities"),
        ("<b>open", ParseMode.HTML, "can't parse entities"),
        ("<br>", ParseMode.HTML, "can't parse entities"),
        ("a & b", None, None),
        ("<b></b>", ParseMode.HTML, "message text is empty"),
    ],
)
async def test_validation_like_telegram(
    fake: FakeBotApi, bot: Bot, text: str, parse_mode: str | None, error: str | None
) -> None:
    """Too long, badly formed HTML and empty text are refused with BadRequest and recorded."""
    if error is None:
        await bot.send_message(CHAT, text, parse_mode=parse_mode)
        assert not fake.rejected
        return
    with pytest.raises(BadRequest) as raised:
        await bot.send_message(CHAT, text, parse_mode=parse_mode)
    assert error in raised.value.message.lower()
    assert len(fake.rejected) == 1 and fake.rejected[0].error.startswith(f"Bad Request: {error}")


async def test_callback_data_limit_and_unknown_query(fake: FakeBotApi, bot: Bot) -> None:
    """callback_data over 64 bytes and unknown callback query ids are refused."""
    button = InlineKeyboardButton("x", callback_data="数" * 22)  # 66 bytes
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(CHAT, "hi", reply_markup=InlineKeyboardMarkup([[button]]))
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("nope")
    assert len(fake.rejected) == 2


async def test_get_updates_offset_and_long_poll(fake: FakeBotApi, bot: Bot) -> None:
    """Offsets confirm updates for good; long polls time out empty or return a new update promptly."""
    first = fake.user_message("一")
    fake.user_message("二")
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates] == ["一", "二"]
    assert [u.message.text for u in await bot.get_updates(offset=first["update_id"] + 1)] == ["二"]
    assert fake.pending_updates() == 1
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    assert fake.pending_updates() == 0

    started = time.monotonic()
    assert await bot.get_updates(timeout=0.3) == ()
    assert 0.25 <= time.monotonic() - started < 1.0

    async def later() -> None:
        await asyncio.sleep(0.1)
        fake.user_message("三")

    task = asyncio.create_task(later())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    await task
    assert [u.message.text for u in updates] == ["三"] and time.monotonic() - started < 1.0


async def test_user_message_entities_and_file_download(fake: FakeBotApi, bot: Bot) -> None:
    """Commands and mentions get entities; add_file documents download through base_file_url."""
    fake.user_message(f"/ask@{BOT_USERNAME} 你好 @someone", chat_type="supergroup", chat_id=-100123)
    document = fake.add_file("报告正文".encode(), "报告.docx", "application/msword")
    fake.user_message("看看这个", document=document)
    command, upload = await bot.get_updates(timeout=0)
    assert command.message.chat.type == "supergroup"
    assert command.message.parse_entities() == {
        command.message.entities[0]: f"/ask@{BOT_USERNAME}",
        command.message.entities[1]: "@someone",
    }
    assert upload.message.caption == "看看这个" and upload.message.document.file_name == "报告.docx"
    file = await bot.get_file(upload.message.document.file_id)
    assert file.file_path.endswith("documents/file_1.docx")
    assert await file.download_as_bytearray() == bytearray("报告正文".encode())


async def test_wait_for_timeout_lists_calls_and_no_reply(fake: FakeBotApi, bot: Bot) -> None:
    """wait_for fails with the calls seen; no_reply_to ignores replies already consumed."""
    await bot.send_message(CHAT, "一次")
    await fake.reply_to(CHAT)
    with pytest.raises(AssertionError, match="一次"):
        await fake.reply_to(CHAT, timeout=0.05)
    await fake.no_reply_to(CHAT, wait=0.05)
    await bot.send_message(CHAT, "两次")
    with pytest.raises(AssertionError, match="两次"):
        await fake.no_reply_to(CHAT, wait=0.05)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echoes text in bold with a button."""
    assert update.effective_message is not None and update.effective_message.text is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("再说一次", callback_data="again")]])
    await update.effective_message.reply_text(
        f"<b>{html.escape(update.effective_message.text)}</b>", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )


async def again(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers the button and edits the message."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text("已重复")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets."""
    assert update.effective_message is not None
    await update.effective_message.reply_text("欢迎")


async def test_real_application_polls_the_fake(fake: FakeBotApi) -> None:
    """A real Application polls, answers messages, commands and buttons, and confirms updates on stop."""
    app: Application = (
        ApplicationBuilder().token(TOKEN).base_url(fake.base_url).base_file_url(fake.base_file_url).build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(again, pattern="^again$"))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            fake.user_message("你好 <世界>")
            reply = await fake.reply_to(CHAT, timeout=5)
            assert reply.visible_text == "你好 <世界>" and reply.bold == ["你好 <世界>"]
            assert reply.buttons == [[("再说一次", "again")]]

            fake.press_button(reply.result, "again")
            edited = await fake.reply_to(CHAT, timeout=5)
            assert edited.method == "editMessageText" and edited.visible_text == "已重复"
            answer = await fake.wait_for(lambda c: c.method == "answerCallbackQuery", timeout=5)
            assert answer.ok

            fake.user_message(f"/start@{BOT_USERNAME}", chat_type="group", chat_id=-42)
            assert (await fake.reply_to(-42, timeout=5)).text == "欢迎"
            await fake.no_reply_to(CHAT, wait=0.1)
        finally:
            await app.updater.stop()
            await app.stop()
    assert fake.pending_updates() == 0
    assert not fake.rejected and not fake.unknown_methods
    assert [c.method for c in fake.calls][:2] == ["getMe", "deleteWebhook"]
