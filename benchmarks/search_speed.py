"""Time building and searching the passage index with bm25s and rank-bm25, side by side in one run.

Usage: python benchmarks/search_speed.py [--sizes 1000,10000,100000] [--queries 50] [--engines bm25s,rank-bm25]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rectbot.retrieval.index import ENGINES, IDF_METHODS, IndexParams, PassageIndex, ScoredPassage

VOCABULARY_SIZE = 50_000
MEAN_PASSAGE_TOKENS = 120
SEED = 20240501
TOP = 10


def make_vocabulary(rng: np.random.Generator, size: int) -> np.ndarray:
    """Return `size` distinct pseudo-Chinese words of one to four characters, most common first."""
    words: dict[str, None] = {}
    while len(words) < size:
        length = int(rng.choice([1, 2, 2, 2, 3, 4]))
        words.setdefault("".join(chr(c) for c in rng.integers(0x4E00, 0x9FA5, size=length)), None)
    return np.array(list(words), dtype=object)


def zipf_probabilities(size: int, exponent: float = 1.0, shift: float = 2.7) -> np.ndarray:
    """Zipf-Mandelbrot word probabilities: a few words in most passages, a long tail in few."""
    weights = 1.0 / (np.arange(1, size + 1) + shift) ** exponent
    return np.asarray(weights / weights.sum())


def make_passages(count: int, seed: int = SEED) -> tuple[np.ndarray, list[list[str]]]:
    """Return the vocabulary and `count` passages of about MEAN_PASSAGE_TOKENS tokens each."""
    rng = np.random.default_rng(seed)
    vocabulary = make_vocabulary(rng, VOCABULARY_SIZE)
    lengths = np.clip(rng.normal(MEAN_PASSAGE_TOKENS, 40, size=count).astype(int), 10, 400)
    words = rng.choice(VOCABULARY_SIZE, size=int(lengths.sum()), p=zipf_probabilities(VOCABULARY_SIZE))
    flat = vocabulary[words].tolist()
    bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    return vocabulary, [flat[bounds[i] : bounds[i + 1]] for i in range(count)]


def make_queries(vocabulary: np.ndarray, count: int, seed: int = SEED + 1) -> list[list[str]]:
    """Return questions of 2-8 tokens: a common word or two, mid-frequency words, sometimes an unknown word."""
    rng = np.random.default_rng(seed)
    queries = []
    for _ in range(count):
        common = vocabulary[rng.integers(0, 30, size=rng.integers(0, 3))].tolist()
        ranks = np.exp(rng.uniform(np.log(30), np.log(len(vocabulary)), size=rng.integers(2, 7))).astype(int)
        query = common + vocabulary[ranks].tolist()
        if rng.random() < 0.2:
            query.append("未登录词")
        rng.shuffle(query)
        queries.append(query)
    return queries


def same_ranking(a: list[ScoredPassage], b: list[ScoredPassage], rtol: float = 1e-4) -> bool:
    """True when both lists rank the same passages, allowing swaps only between scores equal within rtol."""
    if len(a) != len(b):
        return False
    return all(
        x.passage_id == y.passage_id or np.isclose(x.score, y.score, rtol=rtol, atol=0)
        for x, y in zip(a, b, strict=True)
    )


def machine_info() -> str:
    """One line about the interpreter, libraries and cores."""
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("rank-bm25", "numpy"))
    cores = os.cpu_count()
    return f"Python {platform.python_version()} on {platform.machine()} {platform.system()}, {cores} cores; {versions}"


@dataclass
class SizeResult:
    """Timings and agreement for one corpus size."""

    size: int
    tokens: int
    build_seconds: dict[str, float]
    query_seconds: dict[str, list[float]]
    identical: int = 0  # queries whose top-10 ids are the same on both engines
    near_ties: int = 0  # queries whose top-10 differ only by swapping scores equal within 1e-4
    queries: int = 0

    def median_ms(self, engine: str) -> float:
        """Median time of one query, in milliseconds."""
        return 1000 * statistics.median(self.query_seconds[engine])

    def paired_ratio(self, slow: str, fast: str) -> float:
        """Median over queries of slow / fast, each pair timed back to back."""
        return statistics.median(s / f for s, f in zip(self.query_seconds[slow], self.query_seconds[fast], strict=True))


def bench_size(size: int, engines: list[str], query_count: int, idf: str) -> SizeResult:
    """Build each engine's index for `size` passages and time every query on each, interleaved."""
    vocabulary, passages = make_passages(size)
    queries = make_queries(vocabulary, query_count)
    passage_ids = list(range(size))
    result = SizeResult(
        size, sum(len(p) for p in passages), {}, {engine: [] for engine in engines}, queries=len(queries)
    )
    indexes: dict[str, PassageIndex] = {}
    for engine in engines:
        started = time.perf_counter()
        params = IndexParams(engine=engine, idf=idf)
        indexes[engine] = PassageIndex.build(passage_ids, passages, params, fingerprint="bench", versions={})
        result.build_seconds[engine] = time.perf_counter() - started
    del passages

    for engine in engines:  # warm-up, not timed
        indexes[engine].search(queries[0], TOP)
    for number, query in enumerate(queries):
        # Alternate which engine goes first, so drift and caches hit both alike.
        hits: dict[str, list[ScoredPassage]] = {}
        for engine in engines if number % 2 == 0 else engines[::-1]:
            started = time.perf_counter()
            hits[engine] = indexes[engine].search(query, TOP)
            result.query_seconds[engine].append(time.perf_counter() - started)
        if len(engines) == 2:
            first, second = (hits[engine] for engine in engines)
            if [hit.passage_id for hit in first] == [hit.passage_id for hit in second]:
                result.identical += 1
            elif same_ranking(first, second):
                result.near_ties += 1
    return result


def main() -> int:
    """Parse arguments, run every size, print the table; return 1 if the engines disagreed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated passage counts")
    parser.add_argument("--queries", type=int, default=50, help="queries per size")
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated, from {ENGINES}")
    parser.add_argument("--idf", default="lucene", choices=IDF_METHODS, help="idf method")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    engines = [engine.strip() for engine in args.engines.split(",")]
    if not engines or any(engine not in ENGINES for engine in engines) or len(set(engines)) != len(engines):
        parser.error(f"--engines must name one or two of {ENGINES}")

    defaults = IndexParams()
    print(machine_info())
    print(
        f"passages of ~{MEAN_PASSAGE_TOKENS} tokens, Zipf vocabulary of {VOCABULARY_SIZE:,} words, seed {SEED}; "
        f"{args.queries} queries per size, top {TOP}; idf {args.idf}, k1 {defaults.k1}, b {defaults.b}"
    )
    header = f"{'passages':>9} {'tokens':>11}"
    for engine in engines:
        header += f" {engine + ' build s':>17} {engine + ' query ms':>18}"
    if len(engines) == 2:
        header += f" {'build ratio':>11} {'query ratio':>11} {'same top-10':>11}"
    print(header)
    disagreements = 0
    for size in sizes:
        row = bench_size(size, engines, args.queries, args.idf)
        line = f"{row.size:>9,} {row.tokens:>11,}"
        for engine in engines:
            line += f" {row.build_seconds[engine]:>17.2f} {row.median_ms(engine):>18.2f}"
        if len(engines) == 2:
            fast, slow = engines
            line += f" {row.build_seconds[slow] / row.build_seconds[fast]:>10.1f}x"
            line += f" {row.paired_ratio(slow, fast):>10.1f}x {row.identical:>7}/{row.queries}"
            if row.near_ties:
                line += f" (+{row.near_ties} near-tie swaps)"
            disagreements += row.queries - row.identical - row.near_ties
        print(line, flush=True)
    if len(engines) == 2:
        print(
            f"query ms: median per query; ratios: {engines[1]} / {engines[0]}, the query ratio being the median of "
            "per-query ratios timed back to back; builds are timed once each"
        )
        print(f"top-10 check: {'FAILED' if disagreements else 'ok'}, {disagreements} queries ranked differently")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
