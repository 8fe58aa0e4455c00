"""Chat round trips on the seed corpus, side by side per question: the core alone, Telegram, WeCom.

    python benchmarks/channel_latency.py [--rounds 5]

Core.ask is search plus the query log and saved answer. Telegram: a question queued at a fake Bot API server
(testkit/fakes/bot_api.py) -> the real Application long-polls it over HTTP on 127.0.0.1 -> sendMessage. WeCom: a
question sealed by wechatpy and posted to the real callback server on 127.0.0.1 -> the encrypted passive reply,
opened by wechatpy.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rectbot.bot.chatlog import ChatLog  # noqa: E402
from rectbot.bot.config import TelegramConfig  # noqa: E402
from rectbot.bot.core import Asker, Core  # noqa: E402
from rectbot.bot.http import HttpHost  # noqa: E402
from rectbot.bot.telegram import TelegramChannel  # noqa: E402
from rectbot.retrieval.corpus import Corpus  # noqa: E402
from rectbot.retrieval.evaluation import load_questions  # noqa: E402
from rectbot.bot.wecom import WeComChannel  # noqa: E402
from rectbot.bot.wecom_crypto import WeComCrypto  # noqa: E402
from testkit.fakes.bot_api import TOKEN, FakeBotApi  # noqa: E402

import httpx  # noqa: E402
from wechatpy.enterprise.crypto import WeChatCrypto  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "dev_questions.json"
USER = 1001
WECOM = ("wecom-token", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a")


async def wecom_ask(http: httpx.AsyncClient, theirs: WeChatCrypto, question: str, msg_id: int) -> str:
    """Seal a question as WeCom does, post it, open the passive reply."""
    message = (f"<xml><ToUserName>{WECOM[2]}</ToUserName><FromUserName>bench</FromUserName><CreateTime>1</CreateTime>"
               f"<MsgType>text</MsgType><Content><![CDATA[{question}]]></Content><MsgId>{msg_id}</MsgId></xml>")
    timestamp = str(int(time.time()))
    sealed = ET.fromstring(theirs.encrypt_message(message, "1", timestamp))
    params = {"msg_signature": sealed.findtext("MsgSignature"), "timestamp": timestamp, "nonce": "1"}
    body = f"<xml><Encrypt>{sealed.findtext('Encrypt')}</Encrypt></xml>"
    response = await http.post("/wecom/callback", params=params, content=body)
    reply = ET.fromstring(response.text)
    return theirs.decrypt_message(response.text, reply.findtext("MsgSignature"), reply.findtext("TimeStamp"),
                                  reply.findtext("Nonce"))


async def main(rounds: int) -> None:
    questions = [q.q for q in load_questions(QUESTIONS)]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = await Corpus.open(Path(tmp) / "rectbot.sqlite3", seeds=ROOT / "seeds")
        core = Core(corpus, chatlog=await ChatLog.open(corpus.store.database))
        async with FakeBotApi() as fake:
            config = TelegramConfig(token=TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url)
            stop = asyncio.Event()
            task = asyncio.create_task(TelegramChannel(core, config).run(stop))
            await fake.wait_for(lambda call: call.method == "deleteWebhook")
            server = HttpHost("127.0.0.1", 0)
            server.mount(WeComChannel(core, WeComCrypto(*WECOM)).routes())
            server.ready()
            port = await server.start()
            theirs = WeChatCrypto(*WECOM)
            telegram, wecom, core_only = [], [], []
            asker = Asker(channel="bench", user_id="b")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                for round_number in range(rounds):
                    for number, question in enumerate(questions):
                        started = time.perf_counter()
                        await core.ask(asker, question)
                        core_only.append(time.perf_counter() - started)
                        started = time.perf_counter()
                        fake.user_message(question)
                        await fake.reply_to(USER)
                        telegram.append(time.perf_counter() - started)
                        started = time.perf_counter()
                        await wecom_ask(http, theirs, question, round_number * 1000 + number)
                        wecom.append(time.perf_counter() - started)
            await server.stop()
            stop.set()
            await task
        await corpus.close()
    print(f"{len(questions)} questions x {rounds} rounds")
    for name, times in [("Core.ask (search + log)", core_only), ("Telegram round trip", telegram),
                        ("WeCom round trip", wecom)]:
        ms = sorted(t * 1000 for t in times)
        print(f"{name:<26} median {statistics.median(ms):6.1f} ms   p90 {ms[int(len(ms) * 0.9)]:6.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
