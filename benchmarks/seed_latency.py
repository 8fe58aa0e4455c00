"""Question latency on the bundled seed corpus: Searcher.search end to end (tokenise, rank, fetch, cite).

    python benchmarks/seed_latency.py [--rounds 20]

Both engines run side by side, question by question, so machine noise hits them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.evaluation import load_questions
from rectbot.retrieval.index import IndexParams
from rectbot.retrieval.search import Searcher
from rectbot.retrieval.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "data" / "dev_questions.json"


async def main(rounds: int) -> None:
    questions = [q.q for q in load_questions(QUESTIONS)]
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = Tokenizer(cache_dir=Path(tmp) / "jieba")
        searchers, corpora = {}, []
        for engine in ("bm25s", "rank-bm25"):
            corpus = await Corpus.open(
                Path(tmp) / f"{engine}.sqlite3", seeds=ROOT / "seeds", tokenizer=tokenizer,
                index_params=IndexParams(engine=engine, k1=1.2, b=0.75, idf="lucene"),
            )
            searchers[engine] = Searcher.over(corpus)
            corpora.append(corpus)
        timings: dict[str, list[float]] = {engine: [] for engine in searchers}
        for _ in range(rounds):
            for question in questions:
                for engine, searcher in searchers.items():
                    started = time.perf_counter()
                    await searcher.search(question, k=3)
                    timings[engine].append((time.perf_counter() - started) * 1000)
        passages = len(corpora[0].index)
        print(f"seed corpus: {passages} passages; {len(questions)} questions x {rounds} rounds")
        medians = {engine: statistics.median(values) for engine, values in timings.items()}
        for engine, values in timings.items():
            p95 = statistics.quantiles(values, n=20)[-1]
            print(f"{engine:<10} median {medians[engine]:.2f} ms   p95 {p95:.2f} ms")
        print(f"ratio rank-bm25 / bm25s (medians): {medians['rank-bm25'] / medians['bm25s']:.2f}")
        for corpus in corpora:
            await corpus.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(main(parser.parse_args().rounds))
