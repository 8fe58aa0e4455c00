"""One new file searchable, one file gone, against a full rebuild; and whether questions slow down meanwhile.

Over scale.py's deterministic seed-like corpus of N passages (its generator, not a copy), for each size:

  rebuild   Corpus.reindex(): what every upload cost before the index could grow (token cache warm)
  add       Corpus.ingest([one new report]) until Searcher.search finds it (segmented, indexed, saved)
  remove    Corpus.remove([one report of the corpus]) until none of its passages is indexed
  p50       Searcher.search over the same questions, end to end, on the rebuilt index, after the add (two
            segments) and after the remove (two segments, removed rows); and SearchIndex.search alone

Usage: python benchmarks/grow.py [--sizes 10000,100000] [--questions 200] [--workdir DIR]
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale import NEW_QUESTION, NEW_REPORT, machine_info, make_questions, open_corpus, seed_material, write_corpus  # noqa: E402


async def question_p50(corpus, questions: list[str]) -> tuple[float, float]:  # noqa: ANN001
    """Median ms of a question end to end (Searcher.search) and of the index search alone."""
    from rectbot.retrieval.search import Searcher

    searcher = Searcher.over(corpus)
    await searcher.search(questions[0])  # builds the query parser; not timed
    whole, index_only = [], []
    backend = corpus.index
    for question in questions:
        started = time.perf_counter()
        await searcher.search(question)
        whole.append(time.perf_counter() - started)
        query = searcher.parse(question)
        started = time.perf_counter()
        backend.search(query, k=50)
        index_only.append(time.perf_counter() - started)
    return 1000 * statistics.median(whole), 1000 * statistics.median(index_only)


async def measure(size: int, questions: list[str], work: Path, material) -> dict[str, float]:  # noqa: ANN001
    """Build a corpus of `size` passages, then time a rebuild, an add and a remove, and questions between."""
    from rectbot.retrieval.search import Searcher

    folder = work / f"corpus-{size}"
    paths = write_corpus(folder, size, material)
    database = work / f"db-{size}" / "rectbot.sqlite3"
    corpus = await open_corpus(database)
    try:
        started = time.perf_counter()
        await corpus.ingest([folder])
        ingest_seconds = time.perf_counter() - started
        started = time.perf_counter()
        report = await corpus.reindex()
        rebuild = time.perf_counter() - started
        p50_rebuilt = await question_p50(corpus, questions)

        new_file = work / f"new-{size}.txt"
        new_file.write_text(NEW_REPORT.format(county="某某县"), encoding="utf-8")
        searcher = Searcher.over(corpus)
        assert not any(NEW_QUESTION in hit.text for hit in (await searcher.search(NEW_QUESTION)).shown)
        started = time.perf_counter()
        [added] = await corpus.ingest([new_file])
        found = any(NEW_QUESTION in hit.text for hit in (await searcher.search(NEW_QUESTION)).shown)
        add = time.perf_counter() - started
        assert added.status == "added" and found, (added, found)
        p50_added = await question_p50(corpus, questions)

        victim = paths[len(paths) // 2].name
        documents = [d.id for d in await corpus.store.documents() if d.path == victim]
        assert len(corpus.index.passages_of(documents)) > 0
        started = time.perf_counter()
        [removal] = await corpus.remove([victim], removed_by="benchmark")
        remove = time.perf_counter() - started
        assert removal.path == victim and len(corpus.index.passages_of(documents)) == 0
        p50_removed = await question_p50(corpus, questions)
        return {
            "passages": report.passages, "ingest": ingest_seconds, "rebuild": rebuild, "add": add, "remove": remove,
            "segments": len(corpus.index.words.segments()),
            "p50_rebuilt": p50_rebuilt[0], "p50_added": p50_added[0], "p50_removed": p50_removed[0],
            "index_rebuilt": p50_rebuilt[1], "index_added": p50_added[1], "index_removed": p50_removed[1],
        }
    finally:
        await corpus.close()


def table(rows: list[dict[str, float]]) -> str:
    """The results as a markdown table."""
    lines = [
        "| passages | full rebuild | one new file → searchable | remove one file → gone | question p50: rebuilt "
        "/ after add / after remove | index search p50: rebuilt / after add / after remove |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['passages']:,} | {row['rebuild']:.1f} s | {row['add']:.2f} s ({row['rebuild'] / row['add']:.0f}x) "
            f"| {row['remove']:.2f} s ({row['rebuild'] / row['remove']:.0f}x) "
            f"| {row['p50_rebuilt']:.1f} / {row['p50_added']:.1f} / {row['p50_removed']:.1f} ms "
            f"| {row['index_rebuilt']:.2f} / {row['index_added']:.2f} / {row['index_removed']:.2f} ms |"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    material = seed_material()
    questions = make_questions(material, args.questions)
    rows = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as work:
        for size in (int(s) for s in args.sizes.split(",")):
            row = await measure(size, questions, Path(work), material)
            print(f"{size}: {row}", file=sys.stderr, flush=True)
            rows.append(row)
    print(table(rows))
    print()
    ingests = ", ".join(f"{row['ingest']:.0f} s" for row in rows)
    print(f"{machine_info()}; {args.questions} questions; ingesting the corpora ({ingests}) not counted.")


def main() -> None:
    """Parse arguments and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--workdir", default=None, help="where the corpora and databases go (a temporary folder)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
