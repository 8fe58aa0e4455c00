"""Retrieval quality for passage target lengths and idf variants, on the seeds, side by side.

    python benchmarks/passage_shape.py [QUESTIONS.json ...]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.evaluation import evaluate, load_questions
from rectbot.retrieval.index import IndexParams
from rectbot.retrieval.passages import PassageParams
from rectbot.retrieval.search import Searcher
from rectbot.retrieval.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = [ROOT / "tests" / "data" / "dev_questions.json", ROOT / "tests" / "data" / "extra_questions.json"]


async def main(files: list[Path]) -> None:
    questions = {path.name: load_questions(path) for path in files if path.exists()}
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = Tokenizer(cache_dir=Path(tmp) / "jieba")
        print(f"{'idf':<10}{'target':>7}{'max':>6}{'passages':>9}{'median chars':>13}  " + "  ".join(
            f"{name[:14]:<14} H@1   H@3   MRR5  Abst" for name in questions))
        for idf in ("lucene", "robertson"):
            for target in (100, 150, 200, 300, 400):
                params = PassageParams(target_chars=target, max_chars=int(target * 1.6))
                corpus = await Corpus.open(
                    Path(tmp) / f"{idf}-{target}.sqlite3", seeds=ROOT / "seeds", tokenizer=tokenizer,
                    passage_params=params, index_params=IndexParams(idf=idf, k1=1.2, b=0.75),
                )
                lengths = [len(text) for _, text in await corpus.store.searchable_passages()]
                cells = []
                for qs in questions.values():
                    r = await evaluate(Searcher.over(corpus), qs)
                    cells.append(f"{'':<14} {r.hit_at(1):.2f}  {r.hit_at(3):.2f}  {r.mrr_at_5:.2f}  {r.abstain_rate:.2f}")
                print(f"{idf:<10}{target:>7}{params.max_chars:>6}{len(lengths):>9}{statistics.median(lengths):>13.0f}  "
                      + "  ".join(cells))
                await corpus.close()


if __name__ == "__main__":
    asyncio.run(main([Path(a) for a in sys.argv[1:]] or DEFAULT_FILES))
