"""The WeCom channel: its routes on the HTTP host, requests sealed and replies opened by wechatpy; in process
(httpx's ASGITransport), with one end-to-end test over a real socket."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from wechatpy.crypto import _get_signature
from starlette.types import Message
from wechatpy.enterprise.crypto import WeChatCrypto

from rectbot.bot.access import Access, RateLimiter
from rectbot.bot.chatlog import ChatLog
from rectbot.bot.core import Asker, Core
from rectbot.bot.render import WECOM_MAX_BYTES
from rectbot.bot.http import HttpHost
from rectbot.bot.wecom import UPLOADING, WeComChannel
from rectbot.bot.wecom_api import WeComApi
from rectbot.bot.wecom_crypto import WeComCrypto
from rectbot.retrieval.corpus import MAX_FILE_BYTES, Corpus
from testkit.fakes.wecom_api import AGENT_ID, CORP_ID, SECRET, FakeWeComApi

TOKEN = "123456"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
PATH = "/wecom/callback"
ADMIN = "ZhangSan"
USER = "LiSi"
QUESTION = "软弱涣散村党组织怎么整顿"
ADMIN_ASKER = Asker("wecom", ADMIN, is_admin=True)
MESSAGE_IDS = itertools.count(7_000_000_000)  # WeCom's MsgIds are unique


@dataclass
class WeCom:
    """The channel on the HTTP host, a client playing WeCom's servers, and the fake active-send API."""

    http: httpx.AsyncClient
    host: HttpHost
    core: Core
    channel: WeComChannel
    api: FakeWeComApi
    theirs: WeChatCrypto = WeChatCrypto(TOKEN, KEY, CORP_ID)

    def text(self, content: str, user: str = USER, msg_id: int | None = None, kind: str = "text") -> str:
        """The XML of a user's message as WeCom delivers it (before encryption)."""
        if msg_id is None:
            msg_id = next(MESSAGE_IDS)
        return (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>"
        )

    def file(self, media_id: str, file_name: str | None, user: str = ADMIN) -> str:
        """The XML of a file message (MsgType file, MediaId, FileName when given) as WeCom delivers it."""
        name = f"<FileName><![CDATA[{file_name}]]></FileName>" if file_name is not None else ""
        return (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[file]]></MsgType>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId>{name}<MsgId>{next(MESSAGE_IDS)}</MsgId>"
            f"<AgentID>{AGENT_ID}</AgentID></xml>"
        )

    async def upload(self, media_id: str, file_name: str | None, user: str = ADMIN) -> list[str]:
        """Post a file message; what the user reads: the passive reply, then the result if it was sent later."""
        response = await self.post(self.file(media_id, file_name, user))
        seen = [self.open(response)["Content"]] if response.text else []
        if seen in ([], [UPLOADING]):
            seen.append((await self.api.wait_for_sent(lambda m: m.touser == user)).content)
        return seen

    async def post(self, message: str, sealer: WeChatCrypto | None = None, **query: str) -> httpx.Response:
        """Encrypt and sign a message with wechatpy and post it as WeCom does."""
        nonce, timestamp = "1372623149", str(int(time.time()))
        sealed = (sealer or self.theirs).encrypt_message(message, nonce, timestamp)
        encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", sealed).group(1)
        signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", sealed).group(1)
        body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID><![CDATA[{AGENT_ID}]]></AgentID>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        params = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, **query}
        return await self.http.post(PATH, params=params, content=body.encode())

    def open(self, response: httpx.Response) -> dict[str, str]:
        """Check the reply's signature and decrypt it with wechatpy; the inner message's fields."""
        assert response.status_code == 200 and response.text, (response.status_code, response.text)
        envelope = ET.fromstring(response.text)
        plain = self.theirs.decrypt_message(
            response.text, envelope.findtext("MsgSignature"), envelope.findtext("TimeStamp"), envelope.findtext("Nonce")
        )
        return {child.tag: child.text or "" for child in ET.fromstring(plain)}

    async def ask(self, content: str, user: str = USER) -> str:
        """Post a text message; the text of the passive reply."""
        reply = self.open(await self.post(self.text(content, user)))
        assert reply["ToUserName"] == user and reply["FromUserName"] == CORP_ID and reply["MsgType"] == "text"
        return reply["Content"]


def ready_host(channel: WeComChannel) -> HttpHost:
    """The HTTP host with the channel's routes mounted, ready."""
    host = HttpHost("127.0.0.1", 0)
    host.mount(channel.routes())
    host.ready()
    return host


@asynccontextmanager
async def running(corpus: Corpus, api: FakeWeComApi, deadline: float = 4.0, **lists: tuple[str, ...]) -> AsyncIterator[WeCom]:
    """The channel on the HTTP host in process; closes the channel and checks no call to the API was refused."""
    access = Access.from_ids(lists.get("admins", (ADMIN,)), lists.get("allowed_users", ()))
    core = Core(corpus, chatlog=await ChatLog.open(corpus.store.database), rate_limiter=RateLimiter(100), access={"wecom": access})
    channel = WeComChannel(
        core, WeComCrypto(TOKEN, KEY, CORP_ID), WeComApi(api.base_url, CORP_ID, SECRET, AGENT_ID),
        path=PATH, reply_deadline=deadline,
    )
    host = ready_host(channel)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host.app), base_url="http://rectbot.test") as http:
            yield WeCom(http, host, core, channel, api)
    finally:
        await channel.close()
    assert api.rejected == []


@pytest.fixture
async def api() -> AsyncIterator[FakeWeComApi]:
    async with FakeWeComApi() as fake:
        yield fake


@pytest.fixture
async def wecom(corpus: Corpus, api: FakeWeComApi) -> AsyncIterator[WeCom]:
    async with running(corpus, api) as running_wecom:
        yield running_wecom


async def questions_logged(core: Core) -> int:
    return (await core.stats(ADMIN_ASKER)).questions.today


async def test_url_verification_answers_the_decrypted_echostr(wecom: WeCom) -> None:
    timestamp, nonce = str(int(time.time())), "437374425"
    sealed = wecom.theirs.encrypt_message("5927782489442352469", nonce, timestamp)
    echostr = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", sealed).group(1)
    params = {"msg_signature": _get_signature(TOKEN, timestamp, nonce, echostr), "timestamp": timestamp,
              "nonce": nonce, "echostr": echostr}
    response = await wecom.http.get(PATH, params=params)
    assert (response.status_code, response.text) == (200, "5927782489442352469")
    params["nonce"] = "1"
    assert (await wecom.http.get(PATH, params=params)).status_code == 403


async def test_end_to_end_over_a_real_socket_the_url_is_verified_and_a_question_answered(
    corpus: Corpus, api: FakeWeComApi
) -> None:
    """The one WeCom test through uvicorn on 127.0.0.1: WeCom's published verification vector, then a question."""
    async with running(corpus, api) as wecom:
        port = await wecom.host.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                wecom.http = http
                wecom.channel.clock = lambda: 1411443780  # the vector's time
                response = await http.get(PATH, params={
                    "msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "timestamp": "1411443780",
                    "nonce": "437374425",
                    "echostr": "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==",
                })
                assert (response.status_code, response.text) == (200, "5927782489442352469")
                wecom.channel.clock = time.time
                answer = await wecom.ask(QUESTION)
        finally:
            await wecom.host.stop()
    assert "【3】" in answer and answer.count("\n—— ") == 3 and len(answer.encode("utf-8")) <= WECOM_MAX_BYTES


async def test_a_question_is_answered_with_sources_and_dates_within_2048_bytes(wecom: WeCom) -> None:
    text = await wecom.ask(QUESTION)
    assert len(text.encode("utf-8")) <= WECOM_MAX_BYTES
    assert "【1】" in text and "【3】" in text and "【4】" not in text and text.count("\n—— ") == 3
    answer_id = await wecom.core.chatlog.conversation("wecom", USER)
    first = (await wecom.core.chatlog.answer(answer_id)).shown[0]
    row = (await wecom.core.store.passages_by_id([first]))[first]
    assert row.source in text and row.date in text
    assert "更多" in text and "上下文 N" in text and "全文 N" in text


async def test_more_and_context_follow_the_user_even_after_a_restart(corpus: Corpus, api: FakeWeComApi) -> None:
    async with running(corpus, api) as wecom:
        first = await wecom.ask(QUESTION)
        assert "【4】" in await wecom.ask("更多")
    async with running(corpus, api) as wecom:  # paging state lives in SQLite
        more = await wecom.ask("更多")
        assert "【7】" in more
        context = await wecom.ask("上下文 2")
        excerpt = first.split("【2】")[1].split("\n")[0].rstrip("…")
        assert "【2】" in context and excerpt[:20] in context
        assert (await wecom.ask("全文 2")) == context
        assert "没有第 99 段" in await wecom.ask("上下文 99")
        assert "还没有提问" in await wecom.ask("更多", user="WangWu")


async def test_a_retried_message_is_answered_once_and_logged_once(wecom: WeCom) -> None:
    message = wecom.text(QUESTION, msg_id=777)
    assert "【1】" in wecom.open(await wecom.post(message))["Content"]
    for _ in range(2):  # WeCom's two retries
        retry = await wecom.post(message)
        assert (retry.status_code, retry.text) == (200, "")
    assert await questions_logged(wecom.core) == 1


async def test_an_answer_past_the_deadline_is_sent_later_and_retries_stay_silent(corpus: Corpus, api: FakeWeComApi) -> None:
    async with running(corpus, api, deadline=0.0) as wecom:
        message = wecom.text(QUESTION, msg_id=888)
        response = await wecom.post(message)
        assert (response.status_code, response.text) == (200, "")
        sent = await api.wait_for_sent()
        assert sent.touser == USER and sent.agentid == AGENT_ID
        shown = (await wecom.core.chatlog.answer(await wecom.core.chatlog.conversation("wecom", USER))).shown
        first = (await wecom.core.store.passages_by_id(shown[:1]))[shown[0]]
        assert "【3】" in sent.content and first.source in sent.content and first.date in sent.content
        assert (await wecom.post(message)).text == ""
        await api.nothing_sent(wait=0.3)
        assert await questions_logged(wecom.core) == 1


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><Encrypt>&lol3;</Encrypt></xml>'
)


async def test_bad_requests_are_refused_logged_once_and_change_nothing(wecom: WeCom, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="rectbot.bot.wecom")
    good = wecom.text(QUESTION)
    now = str(int(time.time()))
    signed = {"msg_signature": "0" * 40, "timestamp": now, "nonce": "1"}
    cases = [
        (await wecom.post(good, msg_signature="0" * 40), 403),  # bad signature
        (await wecom.http.post(PATH, content=b"<xml/>"), 400),  # no signature at all
        (await wecom.post(good, sealer=WeChatCrypto(TOKEN, KEY, "ww_another_corp")), 403),  # another CorpID
        (await wecom.post(good, timestamp=str(int(time.time()) - 3600)), 400),  # an hour old (replayed)
        (await wecom.http.post(PATH, params=signed, content=b"<xml><Encrypt>abc"), 400),  # not well-formed
        (await wecom.http.post(PATH, params=signed, content=BILLION_LAUGHS.encode()), 400),  # entity expansion
        (await wecom.http.post(PATH, params=signed, content=b"<xml>" + b" " * 70_000 + b"</xml>"), 413),  # too big
    ]
    assert [response.status_code for response, _ in cases] == [status for _, status in cases]
    refusals = [r for r in caplog.records if r.name == "rectbot.bot.wecom" and "refused" in r.getMessage()]
    assert len(refusals) == len(cases)
    assert await questions_logged(wecom.core) == 0
    assert KEY not in caplog.text and TOKEN not in caplog.text.replace("msg_signature", "")


async def test_admin_commands_are_refused_to_others(wecom: WeCom) -> None:
    assert "只有管理员" in await wecom.ask("统计")
    assert "只有管理员" in await wecom.ask("重建索引")
    await wecom.api.nothing_sent(wait=0.3)


async def test_stats_count_questions_from_every_channel(wecom: WeCom) -> None:
    await wecom.core.ask(Asker("telegram", "1001"), "北京到上海的高铁票多少钱")  # asked on Telegram
    await wecom.ask(QUESTION)
    stats = await wecom.ask("统计", user=ADMIN)
    assert "今天提问 2 次" in stats and "北京到上海的高铁票多少钱" in stats


async def test_reindex_answers_at_once_and_sends_the_result_with_a_cached_token(wecom: WeCom) -> None:
    assert "正在重建索引" in await wecom.ask("重建索引", user=ADMIN)
    sent = await wecom.api.wait_for_sent()
    assert sent.touser == ADMIN and "索引已重建" in sent.content
    assert "正在重建索引" in await wecom.ask("重建索引", user=ADMIN)
    assert "索引已重建" in (await wecom.api.wait_for_sent()).content
    assert wecom.api.token_requests == 1  # the second send reused the cached token
    wecom.api.expire_tokens()
    await wecom.ask("重建索引", user=ADMIN)
    assert "索引已重建" in (await wecom.api.wait_for_sent()).content
    assert wecom.api.token_requests == 2  # an expired token is renewed once
    assert [refusal["errcode"] for refusal in wecom.api.rejected] == [42001]
    wecom.api.rejected.clear()


@pytest.mark.parametrize("kind", ["image", "voice", "video", "location"])
@pytest.mark.parametrize("user", [USER, ADMIN])
async def test_non_text_messages_get_an_explanation(wecom: WeCom, kind: str, user: str) -> None:
    message = wecom.text("", user=user, kind=kind).replace("<Content>", f"<MediaId>{wecom.api.add_media(b'x')}</MediaId><Content>")
    reply = wecom.open(await wecom.post(message))
    assert "文字问题" in reply["Content"]
    assert wecom.api.media_requests == []


async def test_help_and_the_allow_list(corpus: Corpus, api: FakeWeComApi) -> None:
    async with running(corpus, api, allowed_users=(USER,)) as wecom:
        assert "例如" in await wecom.ask("帮助")
        assert "授权" in await wecom.ask(QUESTION, user="Stranger")
        assert await questions_logged(wecom.core) == 0


async def test_concurrent_users_each_get_their_own_answer(wecom: WeCom) -> None:
    asked = {f"user{n}": QUESTION if n % 2 else "第一书记怎么发挥作用" for n in range(8)}
    replies = await asyncio.gather(*(wecom.ask(question, user) for user, question in asked.items()))
    alone = {question: await wecom.ask(question, user=f"alone-{question}") for question in set(asked.values())}
    assert alone[QUESTION] != alone["第一书记怎么发挥作用"]
    assert list(replies) == [alone[question] for question in asked.values()]  # as though each had asked alone
    for user, question in asked.items():  # and 更多 would follow each user's own question
        saved = await wecom.core.chatlog.answer(await wecom.core.chatlog.conversation("wecom", user))
        assert saved.question == question


async def test_a_non_ascii_signature_is_refused_not_a_crash(wecom: WeCom) -> None:
    now = str(int(time.time()))
    query = {"msg_signature": "é" * 40, "timestamp": now, "nonce": "1"}
    assert (await wecom.http.get(PATH, params={**query, "echostr": "abc"})).status_code == 403
    assert (await wecom.post(wecom.text(QUESTION), msg_signature="签名")).status_code == 403


async def test_refusals_are_rate_limited_too(corpus: Corpus, api: FakeWeComApi) -> None:
    async with running(corpus, api, allowed_users=(USER,)) as wecom:
        wecom.core.rate_limiter = RateLimiter(2)
        replies = [await wecom.post(wecom.text(QUESTION, user="Stranger")) for _ in range(5)]
        texts = [wecom.open(r)["Content"] if r.text else "" for r in replies]
        assert [("授权" in t, "太频繁" in t, t == "") for t in texts] == [
            (True, False, False), (True, False, False), (False, True, False), (False, False, True), (False, False, True)]


REPORT = (
    "雪岭县整顿软弱涣散村党组织工作报告\n\n"
    "雪岭县推行“炕头议事会”制度，第一书记每周到农户炕头听取群众意见，带领村党组织逐条整改。\n\n"
    "半年来，全县十二个软弱涣散村党组织通过炕头议事会解决问题四十余件，全部完成整顿。\n"
).encode("utf-8")


async def documents(wecom: WeCom) -> int:
    return len(await wecom.core.store.documents())


async def test_an_admin_file_is_downloaded_ingested_and_searchable(corpus: Corpus, api: FakeWeComApi) -> None:
    async with running(corpus, api, deadline=0.0) as wecom:  # slow work: acknowledged now, result sent later
        media_id = api.add_media(REPORT, "雪岭县报告.txt", content_type="text/plain")
        seen = await wecom.upload(media_id, "雪岭县报告.txt")
        assert seen[0] == UPLOADING and "已导入 雪岭县报告.txt" in seen[1] and "现在就可以检索" in seen[1]
        assert [request.query["media_id"] for request in api.media_requests] == [media_id]
        assert api.token_requests == 1  # the download and the send share the cached token

    async with running(corpus, api) as wecom:
        answer = await wecom.ask("炕头议事会是什么")
        assert "炕头议事会" in answer.split("【2】")[0] and "雪岭县" in answer


@pytest.mark.parametrize(
    ("message_name", "served_name", "disposition", "content_length", "expected"),
    [
        ("雪岭县报告.txt", "MEDIA_ID.txt", "quoted", True, "已导入 雪岭县报告.txt"),  # the message names it
        (None, "雪岭县 报告.txt", "rfc5987", False, "已导入 雪岭县 报告.txt"),  # only the download does
        (None, "雪岭县报告.txt", "quoted", True, "已导入 雪岭县报告.txt"),  # raw UTF-8 in filename="..."
        (None, None, None, True, "已导入 wecom-"),  # nobody does
        ("../../etc/雪岭县报告.txt", None, None, True, "已导入 雪岭县报告.txt"),  # folders are dropped
    ],
)
async def test_the_file_name_comes_from_the_message_then_the_download(
    wecom: WeCom, message_name: str | None, served_name: str | None, disposition: str | None,
    content_length: bool, expected: str,
) -> None:
    media_id = wecom.api.add_media(
        REPORT, served_name, content_type="text/plain", disposition=disposition, content_length=content_length
    )
    assert expected in (await wecom.upload(media_id, message_name))[-1]
    assert "炕头议事会" in await wecom.ask("炕头议事会是什么")


async def test_a_non_admin_file_is_refused_and_never_downloaded(wecom: WeCom) -> None:
    before = await documents(wecom)
    media_id = wecom.api.add_media(REPORT, "雪岭县报告.txt")
    assert (await wecom.upload(media_id, "雪岭县报告.txt", user=USER)) == ["抱歉，只有管理员可以添加文档。没有做任何改动。"]
    assert wecom.api.media_requests == []
    assert await documents(wecom) == before
    await wecom.api.nothing_sent(wait=0.3)


@pytest.mark.parametrize("content_length", [True, False], ids=["declared", "chunked"])
async def test_a_file_over_the_limit_is_refused_and_nothing_is_ingested(wecom: WeCom, content_length: bool) -> None:
    before = await documents(wecom)
    huge = REPORT * (MAX_FILE_BYTES * 3 // 2 // len(REPORT))
    media_id = wecom.api.add_media(huge, "雪岭县全年汇编.txt", content_length=content_length)
    seen = await wecom.upload(media_id, "雪岭县全年汇编.txt")
    assert "文件超过 50 MB，没有下载" in seen[-1] and "没有做任何改动" in seen[-1]
    # Declared too big: refused from the headers. Chunked: reading stopped soon after the limit.
    assert wecom.api.media_served[media_id] < (MAX_FILE_BYTES // 5 if content_length else MAX_FILE_BYTES * 5 // 4)
    assert await documents(wecom) == before
    assert "雪岭县" not in await wecom.ask("炕头议事会是什么")


async def test_a_media_get_error_is_explained(wecom: WeCom) -> None:
    before = await documents(wecom)
    seen = await wecom.upload("an-expired-media-id", "雪岭县报告.txt")
    assert "无效或已过期" in seen[-1] and "请重新发送文件" in seen[-1]
    assert [refusal["errcode"] for refusal in wecom.api.rejected] == [40007]
    wecom.api.rejected.clear()
    assert await documents(wecom) == before


async def test_an_expired_token_is_renewed_for_a_download(wecom: WeCom) -> None:
    assert "已导入" in (await wecom.upload(wecom.api.add_media(b"first " + REPORT, "a.txt"), "a.txt"))[-1]
    wecom.api.expire_tokens()
    assert "已导入" in (await wecom.upload(wecom.api.add_media(REPORT, "b.txt"), "b.txt"))[-1]
    assert [refusal["errcode"] for refusal in wecom.api.rejected] == [42001]
    wecom.api.rejected.clear()


async def test_uploads_log_no_secret_or_token(wecom: WeCom, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rectbot.bot")
    await wecom.upload(wecom.api.add_media(REPORT, "雪岭县报告.txt"), "雪岭县报告.txt")
    await wecom.upload("an-expired-media-id", "x.txt")
    wecom.api.rejected.clear()
    tokens = {request.query["access_token"] for request in wecom.api.media_requests}
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("rectbot.bot"))
    assert "downloaded 雪岭县报告.txt" in logged and "40007" in logged
    assert SECRET not in logged and not any(token in logged for token in tokens)


async def test_an_admin_deletes_an_upload_after_confirming(corpus: Corpus, api: FakeWeComApi) -> None:
    async with running(corpus, api) as wecom:
        media_id = api.add_media(REPORT, "雪岭县报告.txt", content_type="text/plain")
        await wecom.upload(media_id, "雪岭县报告.txt")
        [document_id] = [doc.id for doc in await wecom.core.store.documents() if doc.file_name == "雪岭县报告.txt"]
        assert "只有管理员" in await wecom.ask(f"删除 {document_id}")
        confirm = await wecom.ask(f"删除 {document_id}", user=ADMIN)
        assert "雪岭县报告.txt" in confirm and f"确认删除 {document_id}" in confirm
        assert "炕头议事会" in await wecom.ask("炕头议事会是什么")  # nothing removed yet
        assert "已删除" in await wecom.ask(f"确认删除 {document_id}", user=ADMIN)
        assert "炕头议事会" not in await wecom.ask("炕头议事会是什么")
        [removal] = await wecom.core.store.removals()
        assert removal.removed_by == f"wecom:{ADMIN}"


HOSTILE_REPORT = (
    "冰湖村整顿软弱涣散党组织的做法\n\n"
    "冰湖村推行\x01“渔火夜谈”\x1b[0m制度，第一书记\x7f每周\ufffe到渔民家中听取意见，\x85带领村党组织逐条整改。\x0c\n\n"
    + "冰湖村党支部在整顿中建立了党员联系渔户制度，每名党员联系五户以上渔民，帮助解决实际困难。\n" * 12
).encode("utf-8")


async def test_replies_over_a_document_holding_control_characters_still_parse(corpus: Corpus, api: FakeWeComApi, tmp_path) -> None:
    hostile = tmp_path / "冰湖村.txt"
    hostile.write_bytes(HOSTILE_REPORT)
    assert [report.status for report in await corpus.ingest([hostile])] == ["added"]
    async with running(corpus, api) as wecom:
        answer = await wecom.ask("渔火夜谈是什么")  # opening the reply parses its inner XML
        assert "冰湖村推行“渔火夜谈”[0m制度，第一书记每周到渔民家中听取意见，\n带领村党组织逐条整改。" in answer
        context = await wecom.ask("上下文 1")
        assert "渔火夜谈" in context


async def test_a_client_that_hangs_up_mid_body_is_one_log_line(wecom: WeCom, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    query = f"msg_signature={'0' * 40}&timestamp={int(time.time())}&nonce=1"
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": PATH, "raw_path": PATH.encode(), "root_path": "", "query_string": query.encode(),
        "headers": [(b"host", b"rectbot.test"), (b"content-length", b"4000")],
        "client": ("127.0.0.1", 50000), "server": ("rectbot.test", 80),
    }
    # What uvicorn hands the app when the connection closes after part of the body.
    arriving = iter([{"type": "http.request", "body": b"<xml>", "more_body": True}, {"type": "http.disconnect"}])

    async def receive() -> Message:
        return next(arriving)

    async def send(message: Message) -> None:
        pass

    await wecom.host.app(scope, receive, send)  # an exception here is what uvicorn would log as an error
    assert [r.levelno for r in caplog.records if "disconnected" in r.getMessage()] == [logging.INFO]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text
    assert (await wecom.http.get("/healthz")).status_code == 200  # still serving


async def test_a_question_with_characters_xml_allows_but_no_reply_should_hold_is_answered_and_logged_clean(
    wecom: WeCom,
) -> None:
    answer = await wecom.ask("软弱涣散\x7f村党组织\ufdd0怎么\x9b整顿")  # DEL, a non-character, a C1 control
    assert "【1】" in answer and answer == await wecom.ask(QUESTION, user="WangWu")
    answer_id = await wecom.core.chatlog.conversation("wecom", USER)
    assert (await wecom.core.chatlog.answer(answer_id)).question == QUESTION
