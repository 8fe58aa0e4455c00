"""What the index tests share: a pseudo-Chinese corpus and queries, builders, loaders, crash injection."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from rectbot.retrieval.index import IndexParams, PassageIndex, SegmentMerge
from rectbot.retrieval.segments import Segment

VERSIONS = {"tokenizer": "jieba 0.42.1", "dictionary": "sha256:0123"}
FINGERPRINT = "corpus-v1"
CORPUS_SIZE = 3000
# A tiny corpus of real domain words, for behaviour a reader can check by eye.
DOCS = [
    ["党支部", "整顿", "软弱", "涣散"],
    ["党支部", "书记", "选配"],
    ["村", "党支部", "整顿", "整顿"],
    ["党支部", "组织", "生活"],
    ["村", "集体", "经济"],
]


def pseudo_chinese_corpus(passages: int, vocabulary: int, seed: int) -> tuple[list[int], list[list[str]], list[str]]:
    """Return shuffled passage ids, passages of Zipf-distributed pseudo-Chinese words, and the vocabulary."""
    rng = np.random.default_rng(seed)
    words: dict[str, None] = {}
    while len(words) < vocabulary:
        length = int(rng.integers(1, 4))
        words.setdefault("".join(chr(c) for c in rng.integers(0x4E00, 0x9FA5, size=length)), None)
    vocab = list(words)
    weights = 1.0 / (np.arange(1, vocabulary + 1) + 2.7)
    lengths = rng.integers(15, 90, size=passages)
    drawn = rng.choice(vocabulary, size=int(lengths.sum()), p=weights / weights.sum()).tolist()
    bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    docs = [[vocab[w] for w in drawn[bounds[i] : bounds[i + 1]]] for i in range(passages)]
    # Exact duplicates under other ids make real ties, which must be cut the same way by both engines.
    for i in range(0, passages, 97):
        docs[(i * 31 + 5) % passages] = list(docs[i])
    ids = (rng.permutation(passages) * 3 + 1000).tolist()
    return ids, docs, vocab


def make_queries(vocab: list[str], count: int, seed: int) -> list[list[str]]:
    """Return queries mixing common, mid-frequency and rare words, some with unknown and repeated words."""
    rng = np.random.default_rng(seed)
    queries = []
    for n in range(count):
        query = [vocab[i] for i in rng.integers(0, 8, size=rng.integers(0, 3))]
        ranks = np.exp(rng.uniform(np.log(8), np.log(len(vocab)), size=rng.integers(1, 6))).astype(int)
        query += [vocab[i] for i in ranks]
        if n % 5 == 0:
            query.append("不在词表")
        if n % 7 == 0:
            query.append(query[0])
        queries.append(query)
    return queries


def all_scores(index: PassageIndex, query: list[str]) -> dict[int, float]:
    """Every passage with a positive score, as id -> score."""
    return {hit.passage_id: hit.score for hit in index.search(query, k=len(index))}


def dense_scores(index: PassageIndex, query: list[str], ids: list[int]) -> np.ndarray:
    """One score per passage, in the order of ids, zero where search returned nothing."""
    scores = all_scores(index, query)
    return np.array([scores.get(pid, 0.0) for pid in ids])


def build(
    docs: list[list[str]], engine: str = "bm25s", idf: str = "lucene", ids: list[int] | None = None
) -> PassageIndex:
    """Build a small index with the test versions and fingerprint."""
    ids = list(range(len(docs))) if ids is None else ids
    params = IndexParams(engine=engine, idf=idf)
    return PassageIndex.build(ids, docs, params, fingerprint=FINGERPRINT, versions=VERSIONS)


def load(directory: Path, params: IndexParams, **changes: object) -> PassageIndex:
    """Load with the test fingerprint and versions unless changed."""
    arguments: dict[str, object] = {"fingerprint": FINGERPRINT, "versions": VERSIONS, **changes}
    return PassageIndex.load(directory, params, **arguments)  # type: ignore[arg-type]


def segment_folder(directory: Path) -> Path:
    [folder] = [path for path in directory.iterdir() if path.is_dir()]
    return folder


def assert_previous_index_intact(directory: Path, previous: PassageIndex) -> None:
    """The index at directory is the one saved before; the next save removes what the crash left."""
    loaded = load(directory, previous.params, fingerprint=previous.fingerprint)
    assert len(loaded) == len(previous)
    for query in (["整顿"], ["党支部", "村"], ["书记", "选配"], ["新", "文章"]):
        assert loaded.search(query, 10) == previous.search(query, 10)
    previous.save(directory)
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        ["params.json", *(name for name, _ in previous.segments()), *(p.name for p in directory.glob("*.dead-*"))]
    )


def crash_on_call(original: Callable[..., object], call: int) -> Callable[..., object]:
    """Wrap original so that its `call`-th call raises, as a full disk or a kill would stop it."""
    calls = 0

    def wrapper(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == call:
            raise OSError(28, "No space left on device")
        return original(*args, **kwargs)

    return wrapper


def assert_same_ranking(grown: PassageIndex, live: dict[int, list[str]], queries: list[list[str]]) -> None:
    """grown scores every passage as rank-bm25 built from scratch over the live passages does."""
    ids = sorted(live)
    params = IndexParams(engine="rank-bm25", idf=grown.params.idf)
    reference = PassageIndex.build(ids, [live[i] for i in ids], params, fingerprint="scratch", versions=VERSIONS)
    assert len(grown) == len(live)
    for query in queries:
        ours, theirs = all_scores(grown, query), all_scores(reference, query)
        assert ours.keys() == theirs.keys(), query
        ids = sorted(ours)
        assert np.allclose([ours[i] for i in ids], [theirs[i] for i in ids], rtol=1e-6, atol=0), query
        # The same top 10 up to the order among scores equal but for rounding (atire gives many exact ties).
        ours_top = [theirs[hit.passage_id] for hit in grown.search(query, 10)]
        theirs_top = [theirs[hit.passage_id] for hit in reference.search(query, 10)]
        assert np.allclose(ours_top, theirs_top, rtol=1e-6, atol=1e-12), query
    for word in {word for query in queries for word in query}:
        assert grown.document_frequency(word) == sum(word in doc for doc in live.values())
    assert set(grown.vocabulary()) == {word for doc in live.values() for word in doc}


def apply_merges(index: PassageIndex, pending: list[tuple[SegmentMerge, Segment]]) -> PassageIndex:
    """index with merges (planned on it or on an older index, and run) applied."""
    merged = index.with_merged(pending)
    assert merged is not None
    assert merged.fingerprint == index.fingerprint and len(merged) == len(index)
    return merged


def columns(segment: Segment, dead: np.ndarray | None = None) -> dict[str, list[tuple[int, float]]]:
    """Each token's (passage id, tf) pairs over the segment's live rows."""
    result: dict[str, list[tuple[int, float]]] = {}
    for token in segment.tokens:
        rows, tf = segment.column(token)
        pairs = [(int(segment.ids[row]), float(count)) for row, count in zip(rows.tolist(), tf.tolist(), strict=True)
                 if dead is None or not dead[row]]
        if pairs:
            result[token] = pairs
    return result
