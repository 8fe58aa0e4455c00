"""Answer quality on the frozen held-out questions, over the seeds alone and over the seeds plus shared pages.

    python benchmarks/quality.py [--half tune|test|fresh|fresh2_tune|fresh2_test|fresh3|fresh4_tune|fresh4_test|
                                         fresh5_tune|fresh5_test|fresh6_tune|fresh6_test|fresh7_tune|fresh7_test|
                                         fresh8_tune|fresh8_test|fresh9_tune|fresh9_test|
                                         fresh10_tune|fresh10_test|tuning|held-out|all]
                                 [--pages DIR] [-v]
                                 [--semantic [VECTORS_DIR]] [--naive]

Questions live in tests/data/questions/ (written by helpers who never read the ranking code, split into a
tuning half and a test half before any tuning). Tune on `--half tune`; report `--half test`. `--half fresh` is a
third set (fresh.json: 89 answerable questions in staff's words over the seeds and 53 pages, 29 everyday ones),
written later by another such helper; it decided once between three verdict variants and is reported, not tuned
on. `--half fresh2_tune|fresh2_test`: a fourth set (fresh2.json: 150 answerable questions over the seeds
and 107 pages, 20 everyday, 20 in-domain unanswerable; another writer), frozen before the changes it measured and
split by id; report fresh2_test. `--half fresh3`: a fifth set (fresh3.json: 149 answerable questions over the
seeds and 100 pages, 33 everyday, 34 in-domain unanswerable; another writer who read nothing of the project), frozen
before the changes it measured and never tuned on: reported whole. `--half fresh4_tune|fresh4_test`: a sixth set
(fresh4.json: 100 answerable questions over the seeds and 25 pages, 15 everyday, 15 in-domain unanswerable; another
writer who read nothing of the project), written in session 15 after its first changes, split alternately; tune on
fresh4_tune, report fresh4_test. `--half fresh5_tune|fresh5_test`: a seventh set (fresh5.json: 70 answerable
questions over the seeds and 30 randomly drawn pages, 50 in-domain unanswerable, 40 everyday; another writer who
read nothing of the project), written in session 16 before its changes to measure abstention above all, split
alternately within each group; tune on fresh5_tune, report fresh5_test. `--half fresh6_tune|fresh6_test`: an
eighth set (fresh6.json: 170 answerable questions over the seeds and 32 randomly drawn pages, 24 in-domain
unanswerable, 24 everyday; two writers who read nothing of the project), written in session 18 before its changes,
split alternately within each writer's groups; tune on fresh6_tune, report fresh6_test. `--half fresh7_tune|fresh7_test`: a
ninth set (fresh7.json: 170 answerable questions over the seeds and 32 randomly drawn pages (6 of them fresh6's), 24 in-domain
unanswerable, 24 everyday; two writers who read nothing of the project), written in session 19 and frozen before it
was first run; it read far below the older sets, so it was split alternately within each writer's groups before any
of its questions was looked at: tune on fresh7_tune, report fresh7_test. `--half fresh8_tune|fresh8_test`: a tenth
set (fresh8.json, the same shape and brief as fresh7's over 32 other randomly drawn pages, 6 of them fresh7's),
written in session 24 by two writers who read nothing of the project, split alternately within each writer's
groups before it was first run. `--half fresh9_tune|fresh9_test`: an eleventh set (fresh9.json, the same brief over 32
other randomly drawn pages, none of them fresh8's), written in session 26 by two writers who read nothing of the
project, split alternately within each writer's questions, grouped by document, before it was first run.
`--half fresh10_tune|fresh10_test`: a twelfth set (fresh10.json, the same brief over 32 other randomly drawn pages,
none of them fresh9's; 10 of them fresh8's), written in session 27 by two writers who read nothing of the project, split the
same way before it was first run.
`--half tuning` pools the ten halves tuned or trained on (tune, fresh and the _tune halves), `--half held-out` the
ten never tuned on (test, fresh3 and the _test halves): the README's headline figures. `--half all` includes them all. The pages are
the development corpus kept beside the checkout, not in it (--pages defaults to ../shared/corpus/pages).
--semantic adds the semantic re-ranker (pip install 'rectbot[semantic]'); the passages' vectors are kept in
VECTORS_DIR (default: a temporary folder; embedding seeds + pages takes about two minutes on two cores).
--naive adds a row for the pipeline issue 8 compared rectbot with (benchmarks/naive.py: raw lines, jieba's search
mode, rank-bm25, no verdict) on the same questions.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.evaluation import EvalReport, Question, evaluate, load_questions
from rectbot.retrieval.search import SearchParams, Searcher, forget_seen_passages
from rectbot.retrieval.tokenizer import Tokenizer

from naive import NaiveSearcher

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "data" / "questions"
PAGES = ROOT.parent / "shared" / "corpus" / "pages"


# Every half the ranking, the thesaurus and the models were tuned or trained on, and every half that never was: the
# README's headline figures pool each group (`--half tuning`, `--half held-out`).
TUNING_HALVES = (
    "tune", "fresh", "fresh2_tune", "fresh4_tune", "fresh5_tune",
    "fresh6_tune", "fresh7_tune", "fresh8_tune", "fresh9_tune", "fresh10_tune",
)
HELD_OUT_HALVES = (
    "test", "fresh2_test", "fresh3", "fresh4_test", "fresh5_test",
    "fresh6_test", "fresh7_test", "fresh8_test", "fresh9_test", "fresh10_test",
)
GROUPS = {"tuning": TUNING_HALVES, "held-out": HELD_OUT_HALVES}


def questions(half: str, with_pages: bool) -> list[Question]:
    """The frozen questions of one half (or group of halves); questions about the pages only when the pages are
    ingested."""
    files = ["seeds", "abstain", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8", "fresh9", "fresh10"] + (["pages_a", "pages_b"] if with_pages else [])
    found = [q for name in files for q in load_questions(QUESTIONS / f"{name}.json")]
    # fresh.json to fresh7.json mix questions about the seeds and about the pages.
    found = [q for q in found if with_pages or q.doc is None or (ROOT / "seeds" / q.doc).exists()]
    return [q for q in found if half == "all" or q.half in GROUPS.get(half, (half,))]


def table_row(label: str, report: EvalReport) -> str:
    """One line of the README's quality table."""
    domain = report.abstained("domain")
    silent = report.silent("offtopic")
    return (
        f"| {label} | {len(report.answerable)} | {report.hit_at(1):.2f} | {report.hit_at(3):.2f} | "
        f"{report.mrr_at_5:.2f} | {report.hit_at(3, 'paraphrase'):.2f} | {domain[0]}/{domain[1]} | "
        f"{silent[0]}/{silent[1]} | {len(report.unanswered)} |"
    )


async def run(half: str, pages: Path, verbose: bool, vectors: Path | None = None, naive: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = Tokenizer(cache_dir=Path(tmp) / "jieba")
        print("| corpus, half | answerable | Hit@1 | Hit@3 | MRR@5 | paraphrase Hit@3 | in-domain abstain "
              "| off-topic silent | shown nothing |")
        print("|---|---|---|---|---|---|---|---|---|")
        for with_pages in (False, True):
            corpus = await Corpus.open(Path(tmp) / f"db{int(with_pages)}" / "rectbot.sqlite3", seeds=ROOT / "seeds",
                                       tokenizer=tokenizer)
            if with_pages:
                await corpus.ingest([pages])
            semantic = None
            if vectors is not None:
                from rectbot.retrieval.semantic import SemanticReranker

                semantic = SemanticReranker.beside(vectors / "rectbot.sqlite3")
                await semantic.catch_up(corpus.store)
            searcher = Searcher.over(corpus, semantic=semantic)
            asked = questions(half, with_pages)
            report = await evaluate(searcher, asked)
            timings: dict[bool, list[float]] = {True: [], False: []}
            for question in asked:  # timed apart from scoring: Searcher.search alone, as a chat question
                for cold in (True, False):
                    if cold:  # as if none of its candidate passages, nor the question, had been seen before
                        forget_seen_passages()
                        if semantic is not None:
                            semantic.forget_questions()
                    started = time.perf_counter()
                    await searcher.search(question.q, k=3)
                    timings[cold].append((time.perf_counter() - started) * 1000)
            label = f"{'seeds + pages' if with_pages else 'seeds'}, {half}"
            print(table_row(label, report) + f"  ({len(corpus.index)} passages; question median / p90: "
                  f"{statistics.median(timings[False]):.1f} / {statistics.quantiles(timings[False], n=10)[-1]:.1f} ms,"
                  f" passages not seen before {statistics.median(timings[True]):.1f} / "
                  f"{statistics.quantiles(timings[True], n=10)[-1]:.1f} ms)")
            if verbose:
                for r in report.results:
                    good = (r.first_good_rank or 9) <= 3 if r.question.kind != "abstain" else r.hits == 0
                    if not good:
                        print(f"    -- {r.question.id} [{r.question.kind}/{r.question.style}] rank={r.first_good_rank} "
                              f"hits={r.hits} related={r.related} {r.question.q[:60]}")
            await corpus.close()
            if naive:
                files = sorted((ROOT / "seeds").glob("*.txt")) + (sorted(pages.glob("*.txt")) if with_pages else [])
                baseline = await evaluate(NaiveSearcher(files), asked)
                print(table_row(f"{'seeds + pages' if with_pages else 'seeds'}, {half}, naive pipeline", baseline))


async def rerank_cost(pages: Path, rounds: int = 3) -> None:
    """Question time with and without the coverage re-ranking, interleaved question by question (seeds + pages)."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = await Corpus.open(Path(tmp) / "db" / "rectbot.sqlite3", seeds=ROOT / "seeds",
                                   tokenizer=Tokenizer(cache_dir=Path(tmp) / "jieba"))
        await corpus.ingest([pages])
        asked = [q.q for q in questions("all", True)]
        searchers = {
            "without re-ranking (coverage_weight and characters_weight 0)": Searcher.over(
                corpus, SearchParams(coverage_weight=0, characters_weight=0)
            ),
            "with re-ranking (default)": Searcher.over(corpus),
        }
        for searcher in searchers.values():  # warm: both see every passage once
            for question in asked:
                await searcher.search(question)
        timings: dict[str, list[float]] = {name: [] for name in searchers}
        for _ in range(rounds):
            for question in asked:
                for name, searcher in searchers.items():
                    started = time.perf_counter()
                    await searcher.search(question)
                    timings[name].append((time.perf_counter() - started) * 1000)
        for name, values in timings.items():
            print(f"{name}: median {statistics.median(values):.2f} ms, "
                  f"p90 {statistics.quantiles(values, n=10)[-1]:.2f} ms ({len(values)} questions)")
        await corpus.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--half",
        choices=("tune", "test", "fresh", "fresh2_tune", "fresh2_test", "fresh3", "fresh4_tune", "fresh4_test",
                 "fresh5_tune", "fresh5_test", "fresh6_tune", "fresh6_test", "fresh7_tune", "fresh7_test",
                 "fresh8_tune", "fresh8_test", "fresh9_tune", "fresh9_test", "fresh10_tune", "fresh10_test",
                 *GROUPS, "all"),
        default="tune",
    )
    parser.add_argument("--pages", type=Path, default=PAGES)
    parser.add_argument("-v", "--verbose", action="store_true", help="list the questions missed")
    parser.add_argument("--naive", action="store_true",
                        help="also score the naive pipeline (raw lines, jieba search mode, rank-bm25): benchmarks/naive.py")
    parser.add_argument("--rerank-cost", action="store_true",
                        help="instead: question time with and without the re-ranking, side by side")
    parser.add_argument("--semantic", nargs="?", type=Path, const=Path(""), default=None, metavar="VECTORS_DIR",
                        help="add the semantic re-ranker; vectors kept in VECTORS_DIR (default: a temporary one)")
    args = parser.parse_args()
    if args.rerank_cost:
        asyncio.run(rerank_cost(args.pages))
        return
    if args.semantic == Path(""):
        with tempfile.TemporaryDirectory() as vectors:
            asyncio.run(run(args.half, args.pages, args.verbose, Path(vectors), args.naive))
    else:
        asyncio.run(run(args.half, args.pages, args.verbose, args.semantic, args.naive))


if __name__ == "__main__":
    main()
