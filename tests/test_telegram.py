"""The Telegram bot end to end: the real Application polls a fake Bot API server on 127.0.0.1 over HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from rectbot.bot.access import Access, RateLimiter
from rectbot.bot.chatlog import ChatLog
from rectbot.bot.config import TelegramConfig
from rectbot.bot.core import Answer, Asker, Core, Notice
from rectbot.bot.telegram import Button, TelegramChannel, button_data, keyboard, parse_button
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.search import Hit
from testkit.docfactory import make_docx
from testkit.fakes.bot_api import BOT_USERNAME, TOKEN, Call, FakeBotApi

ADMIN = 9
USER = 1001
QUESTION = "软弱涣散村党组织怎么整顿"
ADMIN_ASKER = Asker(channel="telegram", user_id=str(ADMIN), is_admin=True)


@dataclass
class Bot:
    """A running bot and the fake server it polls."""

    fake: FakeBotApi
    core: Core


@asynccontextmanager
async def running_bot(corpus: Corpus, fake: FakeBotApi, rate_limit: int = 100, **access: tuple[int, ...]) -> AsyncIterator[Bot]:
    """Start the real Application against the fake server; stop it and check no call was rejected."""
    config = TelegramConfig(token=TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url, admins=(ADMIN,), **access)
    allowed = Access.from_ids(config.admins, config.allowed_users, config.allowed_chats)
    chatlog = await ChatLog.open(corpus.store.database)
    core = Core(corpus, chatlog=chatlog, top_k=3, max_question_chars=300, rate_limiter=RateLimiter(rate_limit),
                access={"telegram": allowed})
    channel = TelegramChannel(core, config)
    stop = asyncio.Event()
    task = asyncio.create_task(channel.run(stop))
    await fake.wait_for(lambda call: call.method == "deleteWebhook")  # polling has started
    try:
        yield Bot(fake, core)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert fake.rejected == [] and fake.unknown_methods == []


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(corpus: Corpus, fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with running_bot(corpus, fake) as running:
        yield running


def answered(query_id: str) -> Callable[[Call], bool]:
    return lambda call: call.method == "answerCallbackQuery" and call.params["callback_query_id"] == query_id


async def press(fake: FakeBotApi, message: dict, label: str, user_id: int = USER) -> Call:
    """Press the button with this label on a bot message; returns the callback's answer."""
    data = next(data for row in Call("", {"reply_markup": message["reply_markup"]}).buttons
                for text, data in row if text == label)
    update = fake.press_button(message, data, user_id=user_id)
    return await fake.wait_for(answered(update["callback_query"]["id"]))


async def test_a_question_is_answered_with_cited_excerpts_and_buttons(bot: Bot) -> None:
    bot.fake.user_message(QUESTION)
    reply = await bot.fake.reply_to(USER)
    text = reply.visible_text
    assert text.startswith("1. ") and "\n\n2. " in text and "\n\n3. " in text and "4. " not in text
    assert text.count("\n—— ") == 3
    question_id = int(reply.buttons[0][0][1].split(":")[1])
    first_hit = (await bot.core.chatlog.answer(question_id)).shown[0]
    row = (await bot.core.store.passages_by_id([first_hit]))[first_hit]
    assert row.source in text and row.date in text  # the real source and date of the top excerpt
    assert {"软弱涣散", "整顿"} <= set(reply.bold)
    labels = [label for row in reply.buttons for label, _ in row]
    assert labels == ["上下文 1", "上下文 2", "上下文 3", "更多 ▸", "👍", "👎"]


async def test_more_and_context_buttons(bot: Bot) -> None:
    bot.fake.user_message(QUESTION)
    answer = await bot.fake.reply_to(USER)
    assert (await press(bot.fake, answer.result, "更多 ▸")).ok
    more = await bot.fake.reply_to(USER)
    assert more.visible_text.startswith("4. ") and "5. " in more.visible_text
    assert [label for label, _ in more.buttons[0]] == ["上下文 4", "上下文 5", "上下文 6"]

    assert (await press(bot.fake, answer.result, "上下文 2")).ok
    context = await bot.fake.reply_to(USER)
    excerpt = answer.visible_text.split("\n\n2. ")[1].split("\n")[0]
    assert "【2】" in context.visible_text and excerpt.rstrip("…") in context.visible_text
    assert "文档 " in context.visible_text and context.buttons == []


async def test_feedback_is_stored_with_the_question(bot: Bot) -> None:
    bot.fake.user_message(QUESTION)
    answer = await bot.fake.reply_to(USER)
    reaction = await press(bot.fake, answer.result, "👍")
    assert reaction.params.get("text") == "谢谢反馈！"
    question_id = int(answer.buttons[1][-1][1].split(":")[1])
    assert (await bot.core.chatlog.answer(question_id)).question == QUESTION
    assert await bot.core.chatlog.votes(question_id) == {str(USER): 1}
    await bot.fake.no_reply_to(USER, wait=0.3)  # a vote answers the button, it sends no message


async def test_buttons_work_after_a_restart_and_unknown_ones_say_expired(corpus: Corpus, fake: FakeBotApi) -> None:
    async with running_bot(corpus, fake):
        fake.user_message(QUESTION)
        answer = await fake.reply_to(USER)
    async with running_bot(corpus, fake):  # a new process: a new core, nothing in memory
        assert (await press(fake, answer.result, "更多 ▸")).ok
        assert (await fake.reply_to(USER)).visible_text.startswith("4. ")
        token = answer.buttons[1][0][1].split(":")[2]
        expired = fake.press_button(answer.result, f"more:999999:{token}")
        alert = await fake.wait_for(answered(expired["callback_query"]["id"]))
        assert "过期" in alert.params["text"] and alert.params["show_alert"] is True
        junk = fake.press_button(answer.result, "something-else")
        assert "过期" in (await fake.wait_for(answered(junk["callback_query"]["id"]))).params["text"]


async def test_nothing_found_says_so_and_suggests_rephrasing(bot: Bot) -> None:
    bot.fake.user_message("北京到上海的高铁票多少钱")
    reply = await bot.fake.reply_to(USER)
    assert "没有找到" in reply.visible_text and "关键词" in reply.visible_text
    assert reply.buttons == [] and "——" not in reply.visible_text


async def test_groups_answer_only_ask_mentions_and_replies(bot: Bot) -> None:
    group = -100123
    bot.fake.user_message(QUESTION, chat_type="group", chat_id=group)
    await bot.fake.no_reply_to(group, wait=0.5)

    bot.fake.user_message(f"@{BOT_USERNAME} {QUESTION}", chat_type="group", chat_id=group)
    answer = await bot.fake.reply_to(group)
    assert answer.visible_text.startswith("1. ") and "reply_parameters" in answer.params  # quotes the question

    bot.fake.user_message("第一书记怎么发挥作用", chat_type="supergroup", chat_id=group, reply_to=answer.result)
    assert (await bot.fake.reply_to(group)).visible_text.startswith("1. ")

    bot.fake.user_message("/ask 第一书记怎么发挥作用", chat_type="group", chat_id=group)
    assert (await bot.fake.reply_to(group)).visible_text.startswith("1. ")
    bot.fake.user_message("/weather@other_bot", chat_type="group", chat_id=group)
    await bot.fake.no_reply_to(group, wait=0.3)


async def test_an_admin_upload_is_searchable_at_once(bot: Bot) -> None:
    data = make_docx("冰城县整顿软弱涣散党组织的做法", ["冰城县推行“雪橇夜校”制度，组织党员冬季集中学习，整顿软弱涣散村党组织。"])
    bot.fake.user_message(document=bot.fake.add_file(data, "冰城县.docx"), user_id=ADMIN)
    reply = await bot.fake.reply_to(ADMIN)
    assert "已导入 冰城县.docx" in reply.visible_text and "冰城县整顿软弱涣散党组织的做法" in reply.visible_text
    assert "1 段" in reply.visible_text and "日期不详" in reply.visible_text

    bot.fake.user_message("雪橇夜校是什么")
    answer = await bot.fake.reply_to(USER)
    assert "雪橇夜校" in answer.visible_text.split("\n")[0]


async def test_questions_are_answered_while_an_upload_is_indexed(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = bot.core.corpus
    building, release = threading.Event(), threading.Event()
    build = corpus._updated_index

    def slow_build(*args: object) -> object:  # indexing a big upload takes a while
        building.set()
        release.wait(10)
        return build(*args)

    monkeypatch.setattr(corpus, "_updated_index", slow_build)
    data = make_docx("冰城县的做法", ["冰城县推行“雪橇夜校”制度，整顿软弱涣散村党组织。"])
    bot.fake.user_message(document=bot.fake.add_file(data, "冰城县.docx"), user_id=ADMIN)
    assert await asyncio.to_thread(building.wait, 10)
    bot.fake.user_message(QUESTION)
    assert (await bot.fake.reply_to(USER)).visible_text.startswith("1. ")  # answered mid-indexing
    release.set()
    assert "已导入" in (await bot.fake.reply_to(ADMIN)).visible_text


async def test_a_non_admin_upload_is_refused_and_nothing_changes(bot: Bot) -> None:
    documents = len(await bot.core.store.documents())
    bot.fake.user_message(document=bot.fake.add_file(b"some text", "notes.txt"))
    reply = await bot.fake.reply_to(USER)
    assert "只有管理员" in reply.visible_text
    assert not [call for call in bot.fake.calls if call.method == "getFile"]
    assert len(await bot.core.store.documents()) == documents


async def test_a_rejected_upload_says_why(bot: Bot) -> None:
    bot.fake.user_message(document=bot.fake.add_file(b"\x00\x01\x02binary\xff" * 50, "photo.txt"), user_id=ADMIN)
    reply = await bot.fake.reply_to(ADMIN)
    assert "没有导入 photo.txt" in reply.visible_text and "没有做任何改动" in reply.visible_text


async def test_an_over_long_question_is_refused_with_the_limit(bot: Bot) -> None:
    bot.fake.user_message("整顿" * 200)
    reply = await bot.fake.reply_to(USER)
    assert "太长" in reply.visible_text and "300" in reply.visible_text


async def test_a_burst_from_one_user_hits_the_rate_limit(corpus: Corpus, fake: FakeBotApi) -> None:
    async with running_bot(corpus, fake, rate_limit=3) as bot:
        for _ in range(6):
            fake.user_message(QUESTION)
        replies = [await fake.reply_to(USER) for _ in range(4)]
        await fake.no_reply_to(USER, wait=0.5)
        slow = [reply for reply in replies if "太频繁" in reply.visible_text]
        assert len(slow) == 1 and sum(r.visible_text.startswith("1. ") for r in replies) == 3
        fake.user_message(QUESTION, user_id=2002)  # other users are not held up
        assert (await fake.reply_to(2002)).visible_text.startswith("1. ")
        assert (await bot.core.stats(ADMIN_ASKER)).questions.today == 4


async def test_commands(bot: Bot) -> None:
    bot.fake.user_message("/start")
    assert "例如" in (await bot.fake.reply_to(USER)).visible_text
    bot.fake.user_message("/doc 1")
    doc = (await bot.fake.reply_to(USER)).visible_text
    assert doc.startswith("文档 1：") and "来源：" in doc and "段落：" in doc
    bot.fake.user_message("/doc abc")
    assert "用法" in (await bot.fake.reply_to(USER)).visible_text
    bot.fake.user_message("/frobnicate")
    assert "没有这个命令" in (await bot.fake.reply_to(USER)).visible_text
    bot.fake.user_message("/stats")
    assert "只有管理员" in (await bot.fake.reply_to(USER)).visible_text
    bot.fake.user_message("/stats", user_id=ADMIN)
    stats = (await bot.fake.reply_to(ADMIN)).visible_text
    assert "文档 5 篇" in stats and "今天提问" in stats
    bot.fake.user_message("/reindex", user_id=ADMIN)
    started = await bot.fake.reply_to(ADMIN)
    assert "正在重建索引" in started.visible_text
    done = await bot.fake.reply_to(ADMIN)
    assert done.method == "editMessageText" and "索引已重建" in done.visible_text


async def test_allow_lists_refuse_others_without_logging_them(corpus: Corpus, fake: FakeBotApi) -> None:
    async with running_bot(corpus, fake, allowed_users=(USER,)) as bot:
        fake.user_message(QUESTION, user_id=3003)
        assert "授权" in (await fake.reply_to(3003)).visible_text
        fake.user_message(QUESTION)
        assert (await fake.reply_to(USER)).visible_text.startswith("1. ")
        assert (await bot.core.stats(ADMIN_ASKER)).questions.today == 1


async def test_everyone_in_an_allowed_chat_may_ask_there_but_not_in_private(corpus: Corpus, fake: FakeBotApi) -> None:
    group = -100555
    async with running_bot(corpus, fake, allowed_chats=(group,)):
        fake.user_message(f"@{BOT_USERNAME} {QUESTION}", user_id=3003, chat_type="group", chat_id=group)
        assert (await fake.reply_to(group)).visible_text.startswith("1. ")
        fake.user_message(QUESTION, user_id=3003)
        assert "授权" in (await fake.reply_to(3003)).visible_text


async def test_more_as_a_command(bot: Bot) -> None:
    bot.fake.user_message(QUESTION)
    await bot.fake.reply_to(USER)
    bot.fake.user_message("/more")
    assert (await bot.fake.reply_to(USER)).visible_text.startswith("4. ")


async def test_a_stranger_flooding_a_group_is_rate_limited(corpus: Corpus, fake: FakeBotApi) -> None:
    async with running_bot(corpus, fake, rate_limit=2, allowed_users=(USER,)):
        group = -100777
        for _ in range(5):
            fake.user_message(f"@{BOT_USERNAME} 你好", user_id=3003, chat_type="group", chat_id=group)
        replies = [(await fake.reply_to(group)).visible_text for _ in range(3)]
        await fake.no_reply_to(group, wait=0.5)
        assert sum("授权" in text for text in replies) == 2 and sum("太频繁" in text for text in replies) == 1


async def test_the_bot_keeps_trying_while_telegram_cannot_be_reached(caplog: pytest.LogCaptureFixture) -> None:
    closed = f"http://127.0.0.1:{_closed_port()}/bot"
    channel = TelegramChannel(None, TelegramConfig(token=TOKEN, base_url=closed, base_file_url=closed),  # type: ignore[arg-type]
                              first_retry=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(channel.run(stop))
    await asyncio.sleep(1.0)
    assert not task.done()  # still trying; it did not raise and take other channels down
    stop.set()
    await asyncio.wait_for(task, 5)
    assert sum("cannot reach the Bot API" in r.getMessage() for r in caplog.records) >= 2


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_failing_update_is_reported_and_the_bot_goes_on(bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    ask = bot.core.ask

    async def broken(asker: object, question: str) -> object:
        if question == "爆炸":
            raise RuntimeError("boom")
        return await ask(asker, question)

    monkeypatch.setattr(bot.core, "ask", broken)
    bot.fake.user_message("爆炸")
    assert "出错了" in (await bot.fake.reply_to(USER)).visible_text
    assert any(record.exc_info and "boom" in str(record.exc_info[1]) for record in caplog.records)
    bot.fake.user_message(QUESTION)
    assert (await bot.fake.reply_to(USER)).visible_text.startswith("1. ")


async def test_photos_get_a_text_only_hint(bot: Bot) -> None:
    update = bot.fake.user_message(None)
    update["message"]["sticker"] = {"file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 1,
                                    "height": 1, "is_animated": False, "is_video": False}
    assert "文字" in (await bot.fake.reply_to(USER)).visible_text


async def test_an_admin_deletes_a_document_with_a_confirmation_button(bot: Bot) -> None:
    data = make_docx("冰城县整顿软弱涣散党组织的做法", ["冰城县推行“雪橇夜校”制度，组织党员冬季集中学习，整顿软弱涣散村党组织。"])
    bot.fake.user_message(document=bot.fake.add_file(data, "冰城县.docx"), user_id=ADMIN)
    await bot.fake.reply_to(ADMIN)
    [document_id] = [doc.id for doc in await bot.core.store.documents() if doc.file_name == "冰城县.docx"]

    bot.fake.user_message(f"/delete {document_id}", user_id=ADMIN)
    confirm = await bot.fake.reply_to(ADMIN)
    assert "冰城县整顿软弱涣散党组织的做法" in confirm.visible_text and "确认删除" in confirm.visible_text
    stranger = await press(bot.fake, confirm.result, f"确认删除 {document_id}", user_id=USER)
    assert "只有管理员" in stranger.params["text"]
    assert await bot.core.store.document(document_id) is not None  # another user's press removes nothing

    assert (await press(bot.fake, confirm.result, f"确认删除 {document_id}", user_id=ADMIN)).ok
    assert "已删除" in (await bot.fake.reply_to(ADMIN)).visible_text
    bot.fake.user_message("雪橇夜校是什么")
    assert "雪橇夜校" not in (await bot.fake.reply_to(USER)).visible_text
    bot.fake.user_message("/delete", user_id=ADMIN)
    assert "用法" in (await bot.fake.reply_to(ADMIN)).visible_text


OTHER = 2002
GAP = "北京到上海的高铁票多少钱"


def data_of(message: Call, label: str) -> str:
    """The callback data of the button with this label."""
    return next(data for row in message.buttons for text, data in row if text == label)


async def press_data(fake: FakeBotApi, message: dict, data: str, user_id: int = USER) -> Call:
    """Send callback data (as a modified client could) from a bot message; returns the callback's answer."""
    update = fake.press_button(message, data, user_id=user_id)
    return await fake.wait_for(answered(update["callback_query"]["id"]))


async def test_another_users_presses_on_an_answer_change_nothing(bot: Bot) -> None:
    bot.fake.user_message(QUESTION)
    answer = await bot.fake.reply_to(USER)
    question_id = int(data_of(answer, "👍").split(":")[1])
    for label in ("更多 ▸", "上下文 1", "👍", "👎"):  # the real data of A's buttons, pressed by B
        alert = await press(bot.fake, answer.result, label, user_id=OTHER)
        assert alert.params["text"] == "这是别人的提问，请自己提问后再用这些按钮。" and alert.params["show_alert"] is True
    await bot.fake.no_reply_to(USER, wait=0.3)
    await bot.fake.no_reply_to(OTHER, wait=0.1)
    assert await bot.core.chatlog.votes(question_id) == {}
    assert (await press(bot.fake, answer.result, "更多 ▸")).ok
    assert (await bot.fake.reply_to(USER)).visible_text.startswith("4. ")  # A's paging was not moved


async def test_in_a_group_every_member_may_use_an_answers_buttons_but_not_from_another_chat(bot: Bot) -> None:
    group, other_group = -100123, -100456
    bot.fake.user_message(f"@{BOT_USERNAME} {QUESTION}", chat_type="group", chat_id=group)
    answer = await bot.fake.reply_to(group)
    assert (await press(bot.fake, answer.result, "更多 ▸", user_id=OTHER)).ok
    assert (await bot.fake.reply_to(group)).visible_text.startswith("4. ")
    assert (await press(bot.fake, answer.result, "👍", user_id=OTHER)).params["text"] == "谢谢反馈！"

    elsewhere = {**answer.result, "chat": {"id": other_group, "type": "group", "title": "另一个群"}}
    alert = await press_data(bot.fake, elsewhere, data_of(answer, "上下文 1"), user_id=OTHER)
    assert "别人的提问" in alert.params["text"]
    await bot.fake.no_reply_to(other_group, wait=0.3)


async def test_forged_malformed_and_old_button_data_is_refused_as_expired(bot: Bot) -> None:
    bot.fake.user_message(QUESTION)
    answer = await bot.fake.reply_to(USER)
    more = data_of(answer, "更多 ▸")
    _, question_id, token = more.split(":")
    wrong = "A" * 12 if token != "A" * 12 else "B" * 12
    for data in [
        f"more:{question_id}:{wrong}",  # a guessed token
        f"more:{int(question_id) - 1}:{token}",  # the token of another answer
        f"{more}\n",
        f"vote:{question_id}:{token}:0",
        f"vote:{question_id}:{token}:2",
        f"more:{question_id}",  # buttons made before answers had tokens
        f"ctx:{question_id}:1",
        f"vote:{question_id}:-1",
    ]:
        alert = await press_data(bot.fake, answer.result, data)
        assert alert.params["text"] == "这个回答已过期，请重新提问。" and alert.params["show_alert"] is True, data
    await bot.fake.no_reply_to(USER, wait=0.3)
    assert await bot.core.chatlog.votes(int(question_id)) == {}
    assert (await press(bot.fake, answer.result, "更多 ▸")).ok
    assert (await bot.fake.reply_to(USER)).visible_text.startswith("4. ")


async def test_stats_in_a_group_show_counts_but_not_other_peoples_unanswered_questions(bot: Bot) -> None:
    bot.fake.user_message(GAP)
    assert "没有找到" in (await bot.fake.reply_to(USER)).visible_text
    group = -100123
    for text in ("/stats", f"@{BOT_USERNAME} 统计"):
        bot.fake.user_message(text, user_id=ADMIN, chat_type="group", chat_id=group)
        stats = (await bot.fake.reply_to(group)).visible_text
        assert "今天提问 1 次" in stats and "私聊" in stats and GAP not in stats
    bot.fake.user_message("/stats", user_id=ADMIN)
    assert GAP in (await bot.fake.reply_to(ADMIN)).visible_text


TOKEN_12 = "Ab3_-Ab3_-Ab"


def test_callback_data_stays_within_64_bytes_and_round_trips_strictly() -> None:
    biggest = 10**18 - 1
    for button in [Button("more", biggest, TOKEN_12), Button("ctx", biggest, TOKEN_12, 9999),
                   Button("vote", biggest, TOKEN_12, -1), Button("vote", biggest, TOKEN_12, 1), Button("del", biggest)]:
        data = button_data(button)
        assert len(data.encode("utf-8")) <= 64
        assert parse_button(data) == button
    for junk in [None, "", "more", "more:1", "more:1:2", "ctx:1", "ctx:1:1", "vote:1:1", "drop:1:1", "ctx:x:1",
                 f"more:1:{TOKEN_12}\n", f"more:1:{TOKEN_12}x", f"vote:1:{TOKEN_12}:0", f"vote:1:{TOKEN_12}:+1",
                 f"ctx:1:{TOKEN_12}", f"more:١:{TOKEN_12}", "del:1\n"]:
        assert parse_button(junk) is None, junk


def _hit(passage_id: int) -> Hit:
    return Hit(passage_id=passage_id, doc_id=1, text="整顿", title="标题", source="来源", date="2020-01-02",
               author=None, region=None, section=None, position=0, score=1.0, matched_terms=(), highlights=())


def test_answer_buttons_carry_the_answers_token() -> None:
    answer = Answer(7, "q", (_hit(1), _hit(2)), 4, True, token=TOKEN_12)
    rows = keyboard(answer).inline_keyboard
    assert [b.text for b in rows[0]] == ["上下文 4", "上下文 5"]
    assert [b.text for b in rows[1]] == ["更多 ▸", "👍", "👎"]
    assert parse_button(rows[0][1].callback_data) == Button("ctx", 7, TOKEN_12, 5)
    assert keyboard(Notice("help", "x")) is None
    assert keyboard(Answer(7, "q", (_hit(1),), 4, True)) is None  # saved before tokens: 更多 by text only
