"""`rectbot serve` as a process: channels from config or environment, clean stop, no secret in the logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import socket
import time
import xml.etree.ElementTree as ET
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import httpx
from wechatpy.enterprise.crypto import WeChatCrypto

from rectbot.bot.cli import main
from rectbot.bot.config import load_config
from rectbot.bot.logs import RedactSecrets
from rectbot.bot.serve import serve
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.tokenizer import Tokenizer
from testkit.fakes.bot_api import TOKEN, FakeBotApi
from tests.conftest import ROOT

USER = 1001
CORP_ID = "wx49f0ab532d5d035a"
WECOM_TOKEN = "wecom-callback-token"
WECOM_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_serve_runs_every_configured_channel_in_one_process_and_never_logs_a_secret(
    seeded_dir: Path, fake: FakeBotApi, tmp_path: Path
) -> None:
    port = free_port()
    secrets = {
        "RECTBOT_TELEGRAM_TOKEN": TOKEN,
        "RECTBOT_WECOM_TOKEN": WECOM_TOKEN,
        "RECTBOT_WECOM_ENCODING_AES_KEY": WECOM_KEY,
        "RECTBOT_WECOM_SECRET": "the-app-secret-xyz",
    }
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RECTBOT_")},
        **secrets,
        "RECTBOT_TELEGRAM_BASE_URL": fake.base_url,
        "RECTBOT_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        "RECTBOT_WECOM_CORP_ID": CORP_ID,
        "RECTBOT_WECOM_AGENT_ID": "1000002",
        "RECTBOT_HTTP_PORT": str(port),
        "RECTBOT_STORAGE_DATABASE": str(seeded_dir / "rectbot.sqlite3"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rectbot.bot.cli", "serve", "--log-level", "DEBUG",
        cwd=tmp_path, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        fake.user_message("第一书记怎么发挥作用")
        reply = await fake.reply_to(USER, timeout=90)
        assert reply.visible_text.startswith("1. ") and "\n\n3. " in reply.visible_text
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            assert (await http.get("/healthz")).json()["status"] == "ok"
            assert (await http.get("/readyz")).json()["passages"] > 100
            theirs = WeChatCrypto(WECOM_TOKEN, WECOM_KEY, CORP_ID)
            message = (f"<xml><ToUserName>{CORP_ID}</ToUserName><FromUserName>LiSi</FromUserName><CreateTime>1"
                       "</CreateTime><MsgType>text</MsgType><Content>第一书记怎么发挥作用</Content><MsgId>42</MsgId></xml>")
            timestamp = str(int(time.time()))
            sealed = theirs.encrypt_message(message, "99", timestamp)
            encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", sealed).group(1)
            signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", sealed).group(1)
            response = await http.post("/wecom/callback", params={"msg_signature": signature, "timestamp": timestamp,
                                       "nonce": "99"}, content=f"<xml><Encrypt>{encrypted}</Encrypt></xml>")
            envelope = ET.fromstring(response.text)
            inner = theirs.decrypt_message(response.text, envelope.findtext("MsgSignature"),
                                           envelope.findtext("TimeStamp"), envelope.findtext("Nonce"))
            answer = ET.fromstring(inner).findtext("Content")
            assert "【3】" in answer and answer.count("\n—— ") == 3  # three cited excerpts
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "telegram: polling" in log and "wecom: callback at /wecom/callback" in log
    assert f"http: listening on http://127.0.0.1:{port}" in log
    assert "Calling Bot API endpoint" in log  # DEBUG really was on
    for secret in [*secrets.values(), TOKEN.split(":")[1]]:
        assert secret not in log


def test_serve_without_a_token_names_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    for name in list(os.environ):
        if name.startswith("RECTBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert main(["serve"]) == 2
    assert "RECTBOT_TELEGRAM_TOKEN" in capsys.readouterr().err
    assert main(["serve", "wecom"]) == 2
    assert "wecom.corp_id" in capsys.readouterr().err
    assert main(["serve", "telegram"]) == 2
    assert "telegram.token" in capsys.readouterr().err
    assert main(["serve", "fax"]) == 2
    assert "unknown channel 'fax'; known: telegram, wecom" in capsys.readouterr().err


def test_secrets_are_redacted_from_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets(["s3cret-token", ""]))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    try:
        logger.warning("GET https://api.telegram.org/bot%s/getMe", "s3cret-token")
        try:
            raise ConnectionError("cannot reach https://x/bots3cret-token/getUpdates")
        except ConnectionError:
            logger.exception("polling failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "s3cret-token" not in text and "bot[secret]/getMe" in text and "ConnectionError: cannot reach" in text


async def run_cli(environment: dict[str, str], cwd: Path, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rectbot.bot.cli", *args, cwd=cwd, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def test_a_running_bot_sees_ingest_and_remove_from_another_process_within_two_seconds(
    seeded_dir: Path, fake: FakeBotApi, tmp_path: Path
) -> None:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RECTBOT_")},
        "RECTBOT_TELEGRAM_TOKEN": TOKEN,
        "RECTBOT_TELEGRAM_BASE_URL": fake.base_url,
        "RECTBOT_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        "RECTBOT_STORAGE_DATABASE": str(seeded_dir / "rectbot.sqlite3"),
        "RECTBOT_HTTP_PORT": "0",  # any free port: the HTTP host runs with Telegram alone too
    }
    report = tmp_path / "reports" / "冰城县.txt"
    report.parent.mkdir()
    report.write_text("冰城县整顿软弱涣散党组织的做法\n\n冰城县推行“雪橇夜校”制度，组织党员冬季集中学习，"
                      "整顿软弱涣散村党组织，共办夜校四十二期。\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rectbot.bot.cli", "serve", "telegram",
        cwd=tmp_path, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        fake.user_message("雪橇夜校是什么")
        assert "四十二期" not in (await fake.reply_to(USER, timeout=90)).visible_text
        assert "added" in await run_cli(environment, tmp_path, "ingest", str(report.parent))
        await asyncio.sleep(2)
        fake.user_message("雪橇夜校是什么")
        assert "四十二期" in (await fake.reply_to(USER, timeout=10)).visible_text

        assert "removed" in await run_cli(environment, tmp_path, "remove", "冰城县.txt", "--yes")
        await asyncio.sleep(2)
        fake.user_message("雪橇夜校是什么")
        assert "四十二期" not in (await fake.reply_to(USER, timeout=10)).visible_text
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()


class RejectingBotApi:
    """A Bot API (or a wrong base_url) on 127.0.0.1 answering every request with one HTTP error, as Telegram does."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.paths.append(self.path)
                body = json.dumps({"ok": False, "error_code": outer.status, "description": HTTPStatus(outer.status).phrase})
                self.send_response(outer.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/bot"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RejectingBotApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status", [401, 404])
def test_a_rejected_token_is_a_clear_error_that_never_prints_the_token(seeded_dir: Path, tmp_path: Path, status: int) -> None:
    token = "987654:AAH-a-very-secret-part-0123456789"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RECTBOT_")},
        "PYTHONPATH": str(ROOT),
        "RECTBOT_TELEGRAM_TOKEN": token,
        "RECTBOT_STORAGE_DATABASE": str(seeded_dir / "rectbot.sqlite3"),
        "RECTBOT_HTTP_PORT": "0",
    }
    with RejectingBotApi(status) as api:
        environment["RECTBOT_TELEGRAM_BASE_URL"] = api.base_url
        result = subprocess.run(
            [sys.executable, "-m", "rectbot.bot.cli", "serve", "telegram", "--log-level", "DEBUG"],
            cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120,
        )
    assert api.paths and all(token in path for path in api.paths)  # the token really was sent, and refused
    printed = result.stdout + result.stderr
    assert result.returncode == 2, printed
    assert "rectbot: telegram:" in result.stderr and "rejected" in result.stderr and "telegram.token" in result.stderr
    assert token not in printed and token.split(":")[1] not in printed and "AAH-a-very" not in printed


async def test_serve_warms_up_before_it_is_ready(seeded_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    config = load_config(None, {
        "RECTBOT_WECOM_CORP_ID": CORP_ID, "RECTBOT_WECOM_TOKEN": WECOM_TOKEN,
        "RECTBOT_WECOM_ENCODING_AES_KEY": WECOM_KEY, "RECTBOT_HTTP_PORT": str(port),
    })

    async def open_corpus() -> Corpus:  # a tokenizer with nothing loaded yet, as in a new process
        return await Corpus.open(seeded_dir / "rectbot.sqlite3", tokenizer=Tokenizer(cache_dir=tmp_path / "cache"))

    stop = asyncio.Event()
    serving = asyncio.create_task(serve(config, ["wecom"], open_corpus, stop))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await until_ready(http, serving)

            def loaded_during_a_question(*args: object, **kwargs: object) -> None:
                raise AssertionError("loaded while answering, not before being ready")

            # What a first question would otherwise load: data files, the pinyin table, the query parser.
            for target in ("rectbot.retrieval.tokenizer.data_lines", "rectbot.retrieval.thesaurus.data_lines",
                           "rectbot.retrieval.tokenizer.remembered", "rectbot.retrieval.typos.repairable",
                           "rectbot.retrieval.search.QueryParser"):
                monkeypatch.setattr(target, loaded_during_a_question)
            theirs = WeChatCrypto(WECOM_TOKEN, WECOM_KEY, CORP_ID)
            message = (f"<xml><ToUserName>{CORP_ID}</ToUserName><FromUserName>LiSi</FromUserName><CreateTime>1"
                       "</CreateTime><MsgType>text</MsgType><Content>第一书计怎么开展工作</Content><MsgId>43</MsgId></xml>")
            timestamp = str(int(time.time()))
            sealed = ET.fromstring(theirs.encrypt_message(message, "7", timestamp))
            response = await http.post("/wecom/callback", params={
                "msg_signature": sealed.findtext("MsgSignature"), "timestamp": timestamp, "nonce": "7",
            }, content=f"<xml><Encrypt>{sealed.findtext('Encrypt')}</Encrypt></xml>")
            envelope = ET.fromstring(response.text)
            inner = theirs.decrypt_message(response.text, envelope.findtext("MsgSignature"),
                                           envelope.findtext("TimeStamp"), envelope.findtext("Nonce"))
            reply = ET.fromstring(inner).findtext("Content")
            # The typo was repaired, with nothing loaded to do it.
            assert "按“第一书记”查找（你输入的是“第一书计”）" in reply and "【1】" in reply
    finally:
        stop.set()
        await serving


async def until_ready(http: httpx.AsyncClient, serving: asyncio.Task[None]) -> dict:
    """Poll /readyz until it answers 200; its body."""
    while True:
        assert not serving.done(), serving.exception()
        try:
            response = await http.get("/readyz")
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.02)


async def test_telegram_alone_has_the_health_checks_on_a_real_socket_not_ready_while_the_corpus_opens(
    seeded_dir: Path, fake: FakeBotApi
) -> None:
    port = free_port()
    config = load_config(None, {
        "RECTBOT_TELEGRAM_TOKEN": TOKEN, "RECTBOT_TELEGRAM_BASE_URL": fake.base_url,
        "RECTBOT_TELEGRAM_BASE_FILE_URL": fake.base_file_url, "RECTBOT_HTTP_PORT": str(port),
    })
    opening, may_open = asyncio.Event(), asyncio.Event()

    async def open_corpus() -> Corpus:
        opening.set()
        await may_open.wait()
        return await Corpus.open(seeded_dir / "rectbot.sqlite3")

    stop = asyncio.Event()
    serving = asyncio.create_task(serve(config, ["telegram"], open_corpus, stop))
    try:
        await asyncio.wait_for(opening.wait(), 30)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            health = await http.get("/healthz")
            assert (health.status_code, health.json()) == (200, {"status": "ok"})
            ready = await http.get("/readyz")
            assert (ready.status_code, ready.json()) == (503, {"status": "not ready", "waiting_for": "opening the corpus"})
            assert (await http.get("/wecom/callback")).status_code == 503  # a caller is told to come back

            may_open.set()
            assert (await until_ready(http, serving))["passages"] > 100
            fake.user_message("第一书记怎么发挥作用")
            assert (await fake.reply_to(USER, timeout=30)).visible_text.startswith("1. ")
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/wecom/callback")).status_code == 404  # WeCom is not running
    finally:
        stop.set()
        await asyncio.wait_for(serving, 30)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


async def test_a_stop_while_the_corpus_opens_ends_serve_at_once(fake: FakeBotApi) -> None:
    config = load_config(None, {"RECTBOT_TELEGRAM_TOKEN": TOKEN, "RECTBOT_TELEGRAM_BASE_URL": fake.base_url,
                                "RECTBOT_HTTP_PORT": "0"})
    opening, cancelled = asyncio.Event(), asyncio.Event()

    async def open_corpus() -> Corpus:
        opening.set()
        try:
            await asyncio.Event().wait()  # a seed ingest that takes minutes
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    stop = asyncio.Event()
    serving = asyncio.create_task(serve(config, ["telegram"], open_corpus, stop))
    await asyncio.wait_for(opening.wait(), 30)
    stop.set()
    await asyncio.wait_for(serving, 10)
    assert cancelled.is_set() and fake.calls == []  # the bot never started
