"""Telegram round trip on the seed corpus: a user's question queued at a fake Bot API server -> the bot's answer.

    python benchmarks/telegram_latency.py [--rounds 5]

The real Application long-polls the fake server (tests/fakes/bot_api.py) over HTTP on 127.0.0.1, so the time
covers polling, python-telegram-bot, the core (search, query log, saved answer), rendering and sendMessage.
Side by side, per question, the core alone (Core.ask) shows what the channel adds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.access import Access  # noqa: E402
from bot.config import TelegramConfig  # noqa: E402
from bot.core import Asker, Core  # noqa: E402
from bot.telegram import TelegramChannel, run_telegram  # noqa: E402
from retrieval.corpus import Corpus  # noqa: E402
from retrieval.evaluation import load_questions  # noqa: E402
from retrieval.search import Searcher  # noqa: E402
from tests.fakes.bot_api import TOKEN, FakeBotApi  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "dev_questions.json"
USER = 1001


async def main(rounds: int) -> None:
    questions = [q.q for q in load_questions(QUESTIONS)]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = await Corpus.open(Path(tmp) / "rectbot.sqlite3", seeds=ROOT / "seeds")
        core = Core(Searcher(corpus))
        async with FakeBotApi() as fake:
            config = TelegramConfig(token=TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url)
            stop = asyncio.Event()
            task = asyncio.create_task(run_telegram(TelegramChannel(core, Access()).build_application(config), stop))
            await fake.wait_for(lambda call: call.method == "deleteWebhook")
            round_trip, core_only = [], []
            asker = Asker(channel="bench", user_id="b")
            for _ in range(rounds):
                for question in questions:
                    started = time.perf_counter()
                    await core.ask(asker, question)
                    core_only.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    fake.user_message(question)
                    await fake.reply_to(USER)
                    round_trip.append(time.perf_counter() - started)
            stop.set()
            await task
        await corpus.close()
    print(f"{len(questions)} questions x {rounds} rounds")
    for name, times in [("Core.ask (search + log)", core_only), ("Telegram round trip", round_trip)]:
        ms = sorted(t * 1000 for t in times)
        print(f"{name:<26} median {statistics.median(ms):6.1f} ms   p90 {ms[int(len(ms) * 0.9)]:6.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
