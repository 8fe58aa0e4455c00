"""The long abuse run: fuzzed messages, malformed uploads, a crowd during reindexes, and kill -9 mid-ingest.

    python benchmarks/abuse.py [--questions 10000] [--files 1000] [--crowd 1000] [--kills 10]

Prints what was tried and what went wrong: crashes (an exception or a reply invalid for a channel), hangs (a
message or file taking over --hang seconds), peak RSS, and anything lost (a stored document gone, the database
failing its integrity check, or the index disagreeing with the database). tests/test_abuse.py runs a small part.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rectbot.bot.chatlog import ChatLog  # noqa: E402
from rectbot.bot.core import Asker, Core, Pending  # noqa: E402
from rectbot.retrieval.corpus import Corpus  # noqa: E402
from rectbot.retrieval.tokenizer import Tokenizer  # noqa: E402
from testkit.abuse import assert_valid_for_every_channel, fuzzed_questions, mutated_files  # noqa: E402


@dataclass
class Tally:
    """What one part of the run tried and what went wrong."""

    name: str
    tried: int = 0
    crashes: list[str] = field(default_factory=list)
    hangs: int = 0
    lost: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""


def peak_rss_mb() -> float:
    """Peak resident memory of this process and of its finished children, whichever is larger, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def losses(database: Path, corpus: Corpus | None, before: set[str], paths_now: set[str]) -> list[str]:
    """What was lost: documents gone (unless an admin removed them), a failed check, an index that disagrees."""
    db = sqlite3.connect(database)
    try:
        # The fuzzed admin may send 删除 N then 确认删除 N: a removal asked for and logged is not a loss.
        removed = {row[0] for row in db.execute("SELECT path FROM removals")}
        found = [f"lost {path}" for path in sorted(before - paths_now - removed)]
        if (check := db.execute("PRAGMA integrity_check").fetchone()[0]) != "ok":
            found.append(f"integrity: {check}")
        searchable = db.execute(
            "SELECT count(*) FROM passages p JOIN documents d ON d.id = p.document_id WHERE d.duplicate_of IS NULL"
        ).fetchone()[0]
    finally:
        db.close()
    if corpus is not None and len(corpus.index) != searchable:
        found.append(f"index holds {len(corpus.index)} passages, the database {searchable}")
    return found


async def fuzz_messages(corpus: Corpus, count: int, hang: float) -> Tally:
    """Fuzzed messages from a user and an admin through the core, each reply rendered for every channel."""
    tally = Tally("fuzzed messages (user and admin)")
    core = Core(corpus, chatlog=await ChatLog.open(corpus.store.database))
    started = time.perf_counter()
    for question in fuzzed_questions(count, seed=42):
        for asker in (Asker("telegram", "7"), Asker("wecom", "9", is_admin=True)):
            tally.tried += 1
            began = time.perf_counter()
            try:
                reply = await asyncio.wait_for(core.handle(asker, question), hang)
                if isinstance(reply, Pending):
                    reply = await asyncio.wait_for(reply.job, hang * 10)
                assert_valid_for_every_channel(reply)
            except asyncio.TimeoutError:
                tally.hangs += 1
            except Exception as error:  # the point is to count them
                tally.crashes.append(f"{type(error).__name__}: {question!r}"[:200])
            if time.perf_counter() - began > hang:
                tally.hangs += 1
    tally.seconds = time.perf_counter() - started
    return tally


async def malformed_uploads(corpus: Corpus, folder: Path, count: int, hang: float) -> Tally:
    """Mutated files of every format ingested in batches of 100; after each batch nothing may be lost."""
    tally = Tally("malformed uploads")
    files = mutated_files(count, seed=7)
    names = sorted(files)
    started = time.perf_counter()
    statuses: dict[str, int] = {}
    for first in range(0, len(names), 100):
        batch = folder / f"batch-{first:05}"
        batch.mkdir()
        for name in names[first : first + 100]:
            (batch / name).write_bytes(files[name])
        before = {doc.path for doc in await corpus.store.documents()}
        began = time.perf_counter()
        try:
            reports = await corpus.ingest([batch])
        except Exception as error:
            tally.crashes.append(f"{type(error).__name__}: {error}"[:200])
            continue
        tally.tried += len(reports)
        tally.hangs += sum(1 for _ in reports) if time.perf_counter() - began > hang * len(reports) else 0
        for report in reports:
            statuses[report.status] = statuses.get(report.status, 0) + 1
            if report.status == "rejected" and not report.reason:
                tally.crashes.append(f"rejected without a reason: {report.path}")
        tally.lost += losses(corpus.store.path, corpus, before, {doc.path for doc in await corpus.store.documents()})
    tally.seconds = time.perf_counter() - started
    tally.note = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
    return tally


async def crowd(corpus: Corpus, folder: Path, count: int, hang: float) -> Tally:
    """50 users asking at once while ingests and reindexes run; every one must get a valid reply."""
    tally = Tally("50 concurrent users during ingests and reindexes")
    core = Core(corpus, chatlog=await ChatLog.open(corpus.store.database))
    questions = fuzzed_questions(count, seed=3)
    latencies: list[float] = []

    async def user(number: int) -> None:
        for question in questions[number::50]:
            began = time.perf_counter()
            tally.tried += 1
            try:
                reply = await core.handle(Asker("wecom", f"user-{number}"), f"{question} 第一书记怎么开展工作")
                assert_valid_for_every_channel(reply)
            except Exception as error:
                tally.crashes.append(f"{type(error).__name__}: {question!r}"[:200])
            latencies.append(time.perf_counter() - began)

    async def admin() -> None:
        for round_ in range(5):
            report = folder / f"crowd-{round_}.txt"
            report.write_text(f"第{round_}号报告\n\n某某县推行“板凳会议{round_}”制度，每月召开群众议事会。\n", encoding="utf-8")
            await corpus.ingest([report])
            await corpus.reindex()

    started = time.perf_counter()
    await asyncio.gather(admin(), *(user(n) for n in range(50)))
    tally.seconds = time.perf_counter() - started
    latencies.sort()
    tally.hangs = sum(1 for latency in latencies if latency > hang)
    tally.note = f"reply p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms"
    return tally


async def kill_trials(database: Path, folder: Path, trials: int, tokenizer: Tokenizer) -> Tally:
    """`rectbot ingest` killed with SIGKILL at a random moment; the database and index must reopen whole."""
    tally = Tally("kill -9 during rectbot ingest")
    chooser = random.Random(11)
    environment = {**os.environ, "RECTBOT_STORAGE_DATABASE": str(database), "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    for trial in range(trials):
        batch = folder / f"kill-{trial:03}"
        batch.mkdir()
        for number in range(20):
            (batch / f"{number:02}.txt").write_text(
                f"第{trial}批第{number}号报告\n\n某某县推行“夜校{trial}-{number}”制度，组织党员集中学习政策。\n" * 20,
                encoding="utf-8",
            )
        corpus = await Corpus.open(database, tokenizer=tokenizer)
        before = {doc.path for doc in await corpus.store.documents()}
        await corpus.close()
        process = subprocess.Popen(
            [sys.executable, "-m", "rectbot.bot.cli", "ingest", str(batch)], env=environment,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(chooser.uniform(0.5, 6.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        tally.tried += 1
        try:
            corpus = await Corpus.open(database, tokenizer=tokenizer)
        except Exception as error:
            tally.crashes.append(f"cannot reopen: {type(error).__name__}: {error}"[:200])
            continue
        try:
            tally.lost += losses(database, corpus, before, {doc.path for doc in await corpus.store.documents()})
        finally:
            await corpus.close()
    tally.seconds = time.perf_counter() - started
    return tally


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=1_000)
    parser.add_argument("--crowd", type=int, default=1_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--hang", type=float, default=5.0, help="seconds after which a message or file counts as hung")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tokenizer = Tokenizer(cache_dir=folder / "jieba")
        database = folder / "data" / "rectbot.sqlite3"
        corpus = await Corpus.open(database, seeds=ROOT / "seeds", tokenizer=tokenizer)
        tallies = []
        try:
            seeds = {doc.path for doc in await corpus.store.documents()}
            tallies.append(await fuzz_messages(corpus, args.questions, args.hang))
            tallies.append(await malformed_uploads(corpus, folder, args.files, args.hang))
            tallies.append(await crowd(corpus, folder, args.crowd, args.hang))
            tallies[-1].lost += losses(database, corpus, seeds, {doc.path for doc in await corpus.store.documents()})
        finally:
            await corpus.close()
        tallies.append(await kill_trials(database, folder, args.kills, tokenizer))
    print("| part | inputs | crashes | hangs | anything lost | seconds | notes |")
    print("|---|---:|---:|---:|---|---:|---|")
    for tally in tallies:
        lost = "; ".join(tally.lost) or "nothing"
        print(f"| {tally.name} | {tally.tried} | {len(tally.crashes)} | {tally.hangs} | {lost} | {tally.seconds:.0f} | {tally.note} |")
    print(f"\npeak RSS {peak_rss_mb():.0f} MB (this process or any child it waited for)")
    for tally in tallies:
        for crash in tally.crashes[:5]:
            print(f"crash in {tally.name}: {crash}")


if __name__ == "__main__":
    asyncio.run(main())
