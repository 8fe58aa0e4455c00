"""Tokenising for the index: jieba against rjieba, and reindex time with and without the token cache.

    python benchmarks/tokenizer.py [--pages DIR] [--synthetic 100000] [--jieba-synthetic]

Prints markdown tables:
- agreement of the two segmenters on every passage of the seeds and the pages;
- tokens per second of each (jieba's search-mode cut alone, and the whole passage pipeline);
- reindex time at the pages size (Corpus.reindex: read the store, tokenise, build, save) and at a synthetic size
  (passages recombined from seed sentences, deterministically; tokenise, build and save, the store read left
  out), with no token cache (every passage segmented, as before the cache), a cold cache (every passage
  segmented and stored), a warm one (nothing changed) and a warm one after one new document of 20 passages;
- segmenting the synthetic passages in two worker processes against one.
Timings are the best of --repeat runs (default 3); the machine's other load shows in them. The pages are the
development corpus kept beside the checkout, not in it (--pages defaults to ../shared/corpus/pages).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import os
import platform
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rectbot.retrieval.corpus as corpus_module
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.index import IndexParams
from rectbot.retrieval.text import HAN_RUN, normalize
from rectbot.retrieval.token_cache import Progress, Segment, TokenCache, TokenLists
from rectbot.retrieval.tokenizer import PassageTokens, Tokenizer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
PAGES = ROOT.parent / "shared" / "corpus" / "pages"
SEED = 20240601
PASSAGES_PER_DOCUMENT = 20


class NoCache(TokenCache):
    """Segments every text, every time: the reindex before the token cache."""

    def tokens(
        self, kind: str, items: Sequence[tuple[int, str]], segment: Segment, progress: Progress | None = None
    ) -> list[TokenLists]:
        """Every text cut afresh."""
        return list(segment([text for _, text in items]))


def best_of(repeat: int, run: Callable[[], object], before: Callable[[], object] = lambda: None) -> float:
    """The shortest of `repeat` timed runs, each after an untimed `before`."""
    times = []
    for _ in range(repeat):
        before()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def agreement(ours: Tokenizer, reference: Tokenizer, texts: Sequence[str]) -> dict[str, float]:
    """Shares of texts cut identically, of tokens in common (aligned in order), and of texts whose words with
    Han characters are identical."""
    same_lists = same_han = common = longest = 0
    for text in texts:
        a, b = reference.tokens(text), ours.tokens(text)
        same_lists += a == b
        same_han += [t for t in a if HAN_RUN.search(t)] == [t for t in b if HAN_RUN.search(t)]
        blocks = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks()
        common += sum(block.size for block in blocks)
        longest += max(len(a), len(b))
    return {
        "texts": len(texts),
        "identical lists": same_lists / len(texts),
        "identical tokens": common / max(longest, 1),
        "identical Han words": same_han / len(texts),
    }


def synthetic(count: int) -> tuple[list[tuple[int, int, str]], list[tuple[int, str]]]:
    """`count` passages of two to five seed sentences, PASSAGES_PER_DOCUMENT to a document, deterministically."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt")))
    sentences = [s.strip() for s in re.split(r"(?<=[。！？；])|\n", text) if len(s.strip()) > 6]
    rng = random.Random(SEED)
    passages = [
        (i + 1, i // PASSAGES_PER_DOCUMENT + 1, "".join(rng.choice(sentences) for _ in range(rng.randint(2, 5))))
        for i in range(count)
    ]
    documents = [
        (doc_id, f"{rng.choice(sentences)[:30]}\n\n\n{''.join(rng.choice(sentences) for _ in range(3))[:150]}")
        for doc_id in range(1, passages[-1][1] + 1)
    ]
    return passages, documents


_worker: Tokenizer | None = None


def _start_worker(segmenter: str) -> None:
    global _worker
    _worker = Tokenizer(segmenter=segmenter)


def _segment_in_worker(texts: list[str]) -> list[PassageTokens]:
    assert _worker is not None
    return [_worker.passage_tokens(text) for text in texts]


def segment_in_processes(texts: list[str], workers: int, segmenter: str, batch: int = 2000) -> list[PassageTokens]:
    """Passage tokens cut by `workers` processes, each with its own tokenizer (its start-up included)."""
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(segmenter,)) as pool:
        chunks = pool.map(_segment_in_worker, [texts[i : i + batch] for i in range(0, len(texts), batch)])
        return [tokens for chunk in chunks for tokens in chunk]


def fmt(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.2f} s"


async def pages_corpus(folder: Path, tokenizer: Tokenizer, pages: Path) -> Corpus:
    corpus = await Corpus.open(folder / "rectbot.sqlite3", seeds=SEEDS, tokenizer=tokenizer)
    await corpus.ingest([pages])
    return corpus


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="tokenizer-bench-") as folder:
        await measure(args, Path(folder))


async def measure(args: argparse.Namespace, tmp: Path) -> None:
    tokenizers = {
        name: Tokenizer(cache_dir=tmp / "jieba-cache", segmenter=name) for name in ("jieba", "rjieba")
    }
    corpus = await pages_corpus(tmp / "pages", tokenizers["rjieba"], args.pages)
    passages = await corpus.store.searchable_passages()
    texts = [text for _, _, text in passages]
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"jieba {metadata.version('jieba')}, rjieba {metadata.version('rjieba')}, HMM {tokenizers['rjieba'].hmm}; "
          f"seeds + pages: {len(texts)} passages, {sum(map(len, texts))} characters\n")

    print("| agreement, rjieba vs jieba (words field) | passages | identical token lists | identical tokens "
          "| identical words with Han characters |")
    print("|---|---|---|---|---|")
    for label, subset in (("seeds", await seed_passages(corpus)), ("seeds + pages", texts)):
        shares = agreement(tokenizers["rjieba"], tokenizers["jieba"], subset)
        print(f"| {label} | {shares['texts']} | {shares['identical lists']:.2%} | {shares['identical tokens']:.2%} "
              f"| {shares['identical Han words']:.2%} |")
    print("\nBigrams do not depend on the segmenter: identical by construction.\n")

    normalized = [normalize(text) for text in texts]
    print("| segmenter | search-mode cut, tokens/s | whole passage pipeline, passages/s | tokens/s |")
    print("|---|---|---|---|")
    for name, tokenizer in tokenizers.items():
        cut = tokenizer._segmenter.cut_for_search  # the segmenter alone, as the issue measured it
        raw_tokens = sum(len(cut(text, tokenizer.hmm)) for text in normalized)
        seconds = best_of(args.repeat, lambda: [cut(text, tokenizer.hmm) for text in normalized])
        whole = best_of(args.repeat, lambda: [tokenizer.passage_tokens(text) for text in texts])
        kept = sum(len(t.words) + len(t.grams) for t in (tokenizer.passage_tokens(text) for text in texts))
        print(f"| {name} | {raw_tokens / seconds:,.0f} | {len(texts) / whole:,.0f} | {kept / whole:,.0f} |")

    print(f"\n| reindex | passages | segmenter | no token cache | cold cache | warm cache "
          f"| warm + one new document ({PASSAGES_PER_DOCUMENT} passages) |")
    print("|---|---|---|---|---|---|---|")
    for name, tokenizer in tokenizers.items():
        corpus.tokenizer = tokenizer
        times = await reindex_times(corpus, args.repeat)
        print(f"| pages (Corpus.reindex) | {len(texts)} | {name} | {fmt(times[0])} | {fmt(times[1])} | "
              f"{fmt(times[2])} | – |")
    await corpus.close()

    synthetic_passages, synthetic_documents = synthetic(args.synthetic)
    for name, tokenizer in tokenizers.items():
        if name == "jieba" and not args.jieba_synthetic:
            continue
        corpus = Corpus(corpus.store, tokenizer, tmp / f"synthetic-{name}.index", IndexParams())
        times = build_times(corpus, synthetic_passages, synthetic_documents, repeat=1)
        print(f"| synthetic (build + save) | {len(synthetic_passages)} | {name} | " + " | ".join(map(fmt, times)) + " |")

    sample = [text for _, _, text in synthetic_passages[: args.parallel]]
    serial = best_of(1, lambda: [tokenizers["rjieba"].passage_tokens(text) for text in sample])
    parallel = best_of(1, lambda: segment_in_processes(sample, 2, "rjieba"))
    print(f"\n| segmenting {len(sample)} synthetic passages, rjieba | seconds | speed-up |")
    print("|---|---|---|")
    print(f"| one process | {serial:.2f} | 1.00× |")
    print(f"| two worker processes (start-up and pickling included) | {parallel:.2f} | {serial / parallel:.2f}× |")


async def seed_passages(corpus: Corpus) -> list[str]:
    seeds = {path.name for path in SEEDS.glob("*.txt")}
    documents = await corpus.store.documents()
    ids = {doc.id for doc in documents if doc.file_name in seeds}
    return [text for _, doc_id, text in await corpus.store.searchable_passages() if doc_id in ids]


async def reindex_times(corpus: Corpus, repeat: int) -> tuple[float, float, float]:
    """Corpus.reindex with no cache, with a cold cache and with a warm one (best of `repeat` each)."""

    async def timed(before: Callable[[], object]) -> float:
        times = []
        for _ in range(repeat):
            before()
            started = time.perf_counter()
            await corpus.reindex()
            times.append(time.perf_counter() - started)
        return min(times)

    def drop_cache() -> None:
        for path in corpus.token_cache.parent.glob(corpus.token_cache.name + "*"):
            path.unlink()

    corpus_module.TokenCache = NoCache  # type: ignore[misc]
    try:
        none = await timed(lambda: None)
    finally:
        corpus_module.TokenCache = TokenCache  # type: ignore[misc]
    cold = await timed(drop_cache)
    warm = await timed(lambda: None)
    return none, cold, warm


def build_times(
    corpus: Corpus, passages: list[tuple[int, int, str]], documents: list[tuple[int, str]], repeat: int
) -> tuple[float, float, float, float]:
    """_build_index + save over synthetic passages: no cache, cold, warm, warm plus one new document."""

    def reindex(passages: list[tuple[int, int, str]], documents: list[tuple[int, str]]) -> None:
        corpus._build_index(passages, documents, "synthetic", None).save(corpus.index_dir)

    def drop_cache() -> None:
        for path in corpus.token_cache.parent.glob(corpus.token_cache.name + "*"):
            path.unlink()

    corpus_module.TokenCache = NoCache  # type: ignore[misc]
    try:
        none = best_of(repeat, lambda: reindex(passages, documents))
    finally:
        corpus_module.TokenCache = TokenCache  # type: ignore[misc]
    cold = best_of(repeat, lambda: reindex(passages, documents), drop_cache)
    warm = best_of(repeat, lambda: reindex(passages, documents))
    new_document = documents[-1][0] + 1
    added = [(passages[-1][0] + 1 + i, new_document, text + "（新）") for i, (_, _, text) in
             enumerate(passages[:PASSAGES_PER_DOCUMENT])]
    one_more = best_of(1, lambda: reindex(passages + added, [*documents, (new_document, "新的报告")]))
    return none, cold, warm, one_more


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=Path, default=PAGES)
    parser.add_argument("--synthetic", type=int, default=100_000, help="passages in the synthetic corpus")
    parser.add_argument("--jieba-synthetic", action="store_true", help="also time jieba at the synthetic size")
    parser.add_argument("--parallel", type=int, default=20_000, help="passages segmented for the process test")
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
