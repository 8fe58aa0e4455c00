"""The HTTP host in process (httpx's ASGITransport, no port): health checks, readiness, channel routes mounted on it."""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from wechatpy.enterprise.crypto import WeChatCrypto

from rectbot.bot.chatlog import ChatLog
from rectbot.bot.core import Core
from rectbot.bot.http import HttpHost
from rectbot.bot.wecom import WeComChannel
from rectbot.bot.wecom_crypto import WeComCrypto
from rectbot.retrieval.corpus import Corpus

TOKEN = "123456"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP_ID = "wx49f0ab532d5d035a"
PATH = "/wecom/callback"


def client(host: HttpHost) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=host.app), base_url="http://rectbot.test")


@pytest.fixture
async def http() -> AsyncIterator[tuple[HttpHost, httpx.AsyncClient]]:
    host = HttpHost("127.0.0.1", 0)
    async with client(host) as http_client:
        yield host, http_client


async def test_healthz_answers_whether_ready_or_not(http: tuple[HttpHost, httpx.AsyncClient]) -> None:
    host, client = http
    for step in (lambda: host.wait_for("opening the corpus"), host.ready, lambda: host.wait_for("stopping")):
        step()
        response = await client.get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_503_saying_why_until_ready_then_200(http: tuple[HttpHost, httpx.AsyncClient]) -> None:
    host, client = http
    host.wait_for("opening the corpus")
    response = await client.get("/readyz")
    assert (response.status_code, response.json()) == (503, {"status": "not ready", "waiting_for": "opening the corpus"})
    passages = [120]
    host.ready(lambda: {"passages": passages[0]})
    assert (await client.get("/readyz")).json() == {"status": "ready", "passages": 120}
    passages[0] = 130  # asked afresh each time: a reindex shows
    response = await client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready", "passages": 130})
    host.wait_for("stopping")  # a load balancer stops sending before the host stops listening
    assert (await client.get("/readyz")).status_code == 503


async def test_other_paths_are_503_while_starting_and_404_once_ready(http: tuple[HttpHost, httpx.AsyncClient]) -> None:
    host, client = http
    host.wait_for("warming up the search")
    response = await client.post(PATH)
    assert response.status_code == 503 and response.json()["waiting_for"] == "warming up the search"
    host.ready()
    assert (await client.post(PATH)).status_code == 404


async def test_routes_mounted_later_answer_and_cannot_take_the_hosts_paths(http: tuple[HttpHost, httpx.AsyncClient]) -> None:
    host, client = http
    host.ready()
    assert (await client.get("/page")).status_code == 404

    async def page(request: object) -> PlainTextResponse:
        return PlainTextResponse("a page")

    host.mount([Route("/page", page)])
    assert (await client.get("/page")).text == "a page"
    with pytest.raises(ValueError, match="/healthz"):
        host.mount([Route("/healthz", page)])
    assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_wecom_routes_on_the_host_verify_the_url_and_answer_a_question(corpus: Corpus, chatlog: ChatLog) -> None:
    host = HttpHost("127.0.0.1", 0)
    channel = WeComChannel(Core(corpus, chatlog=chatlog), WeComCrypto(TOKEN, KEY, CORP_ID), path=PATH)
    host.mount(channel.routes())
    host.ready()
    async with client(host) as http:
        channel.clock = lambda: 1411443780  # the published verification vector's time
        response = await http.get(PATH, params={
            "msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "timestamp": "1411443780",
            "nonce": "437374425",
            "echostr": "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==",
        })
        assert (response.status_code, response.text) == (200, "5927782489442352469")

        channel.clock = time.time
        theirs = WeChatCrypto(TOKEN, KEY, CORP_ID)
        message = (f"<xml><ToUserName>{CORP_ID}</ToUserName><FromUserName>LiSi</FromUserName><CreateTime>1"
                   "</CreateTime><MsgType>text</MsgType><Content>第一书记怎么发挥作用</Content><MsgId>42</MsgId></xml>")
        timestamp = str(int(time.time()))
        sealed = ET.fromstring(theirs.encrypt_message(message, "99", timestamp))
        response = await http.post(PATH, params={
            "msg_signature": sealed.findtext("MsgSignature"), "timestamp": timestamp, "nonce": "99",
        }, content=f"<xml><Encrypt>{sealed.findtext('Encrypt')}</Encrypt></xml>")
        envelope = ET.fromstring(response.text)
        inner = theirs.decrypt_message(response.text, envelope.findtext("MsgSignature"),
                                       envelope.findtext("TimeStamp"), envelope.findtext("Nonce"))
        answer = ET.fromstring(inner).findtext("Content")
        assert "【3】" in answer and answer.count("\n—— ") == 3  # three cited excerpts
        assert (await http.post(PATH, params={"timestamp": timestamp})).status_code == 400  # unsigned: refused
    await channel.close()


async def test_a_taken_port_is_a_clear_error_naming_the_settings() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        host = HttpHost("127.0.0.1", taken.getsockname()[1])
        with pytest.raises(OSError, match=r"cannot listen on 127\.0\.0\.1:\d+ \(http\.host, http\.port\)"):
            await host.start()
