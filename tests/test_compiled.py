"""The compiled scoring loops (numba) give exactly what numpy gives: the same passages, the same scores, bit for bit,
over two-byte and four-byte segments, removed rows, searches one after another and at once."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from rectbot.retrieval import kernels, search
from rectbot.retrieval.backend import Candidate, SearchIndex
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.index import IndexParams, PassageIndex
from rectbot.retrieval.query import Query
from rectbot.retrieval.search import Searcher
from rectbot.retrieval.segments import BLOCK_ROWS, Segment, SegmentBuilder
from rectbot.retrieval.tokenizer import PassageTokens, bigrams
from tests.index_helpers import make_queries, pseudo_chinese_corpus

VERSIONS = {"tokenizer": "test"}


@pytest.fixture
def compiled_scoring() -> Iterator[None]:
    """Scoring through the compiled loops for one test (numba is a dependency: failing to compile is a failure)."""
    assert kernels.enable()
    yield
    kernels.disable()


def numpy_and_compiled(run):  # noqa: ANN001, ANN201 - any callable, any result
    """What run() returns scored with numpy, then with the compiled loops."""
    kernels.disable()
    expected = run()
    assert kernels.enable()
    try:
        return expected, run()
    finally:
        kernels.disable()


@pytest.fixture(scope="module")
def library() -> tuple[SearchIndex, list[Query]]:
    """3,000 passages of pseudo-Chinese in 300 documents, 40 of them then removed, and 60 questions."""
    ids, docs, vocab = pseudo_chinese_corpus(3000, 2000, seed=3)
    passages = [(pid, pid % 300, PassageTokens(words, [g for w in words for g in bigrams(w)]))
                for pid, words in zip(ids, docs, strict=True)]
    contexts = [(doc, [vocab[(doc * 7) % 50], vocab[doc % 1000 + 50]]) for doc in range(300)]
    index = SearchIndex.build(passages[:2000], contexts, IndexParams(), fingerprint="a", versions=VERSIONS)
    index = index.updated(passages[2000:], [], list(range(0, 300, 8)), fingerprint="b")
    queries = []
    for n, words in enumerate(make_queries(vocab, 60, seed=4)):
        expansions = {vocab[(n * 13) % 400 + 20]: 0.5} if n % 3 == 0 else {}
        queries.append(Query(text="".join(words), topic=tuple(words), words=tuple(words),
                             grams=tuple(g for w in words for g in bigrams(w)), expansions=expansions))
    return index, queries


def test_searches_through_the_compiled_loops_find_the_same_passages_and_scores(
    library: tuple[SearchIndex, list[Query]],
) -> None:
    index, queries = library
    assert len(index.words.segments()) == 2 and len(index) < 3000  # two segments, removed rows

    def all_searches() -> list[list[Candidate]]:
        # One after another, so each search reuses the score arrays the one before left.
        return [index.search(q, k) for k in (1, 5, 50, 3000) for q in queries]

    expected, compiled = numpy_and_compiled(all_searches)
    assert sum(len(found) for found in expected) > 10_000
    assert compiled == expected  # ids, documents and every score equal, not merely close


def test_searches_in_several_threads_at_once_each_get_their_own_answer(
    library: tuple[SearchIndex, list[Query]], compiled_scoring: None
) -> None:
    index, queries = library
    alone = [index.search(q, 20) for q in queries]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda q: index.search(q, 20), queries * 4))
    assert together == alone * 4


def test_a_search_that_fails_half_way_leaves_nothing_for_the_next_one(
    library: tuple[SearchIndex, list[Query]], compiled_scoring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, queries = library
    expected = [index.search(q, 10) for q in queries[:5]]

    def broken(*args: object, **kwargs: object) -> None:
        raise MemoryError("no room for the bigram scores")

    # The word scores are filled, then the bigrams fail: the half-filled arrays must not serve another search.
    monkeypatch.setattr(index.grams, "weighted_scores", broken)
    with pytest.raises(MemoryError):
        index.search(queries[-1], 10)
    monkeypatch.undo()
    assert [index.search(q, 10) for q in queries[:5]] == expected


def segment_of(rows: int, seed: int) -> tuple[Segment, list[str]]:
    """A segment of pseudo-Chinese passages with one token 300 times in a row (its counts then need float32)."""
    ids, docs, vocab = pseudo_chinese_corpus(rows, 500, seed=seed)
    docs[rows // 2] = docs[rows // 2] + [vocab[3]] * 300
    return Segment.build(np.asarray(ids, dtype=np.int64) + seed * 10_000_000, docs), vocab


def test_the_compiled_loops_score_every_kind_of_segment_bit_for_bit() -> None:
    blocks, vocab = segment_of(BLOCK_ROWS + 3_000, seed=1)  # two blocks of two-byte rows
    assert blocks.blocks is not None and blocks.blocks.shape[1] == 1
    small, _ = segment_of(2_000, seed=2)
    assert small.tf.dtype == np.float32
    rows = small.rows_between(0, len(small.tokens))  # an older segment: four-byte rows, no blocks
    old = Segment(small.name, small.ids, small.lengths, small.tokens, small.indptr, rows, small.tf)
    index = PassageIndex.of_segments([blocks, old], IndexParams(), fingerprint="a", versions=VERSIONS)
    index = index.updated([], [], index.passage_ids[:: 97], fingerprint="b")  # removed rows in both
    weights = [{vocab[i]: 1.0 + (i % 3) for i in range(start, start + 6)} for start in range(0, 400, 20)]

    def scores() -> list[np.ndarray]:
        return [index.weighted_scores(w) for w in weights]

    expected, compiled = numpy_and_compiled(scores)
    assert all(np.count_nonzero(s) > 100 for s in expected)
    assert all(np.array_equal(a, b) for a, b in zip(expected, compiled, strict=True))


def test_without_numba_scoring_stays_on_numpy(
    library: tuple[SearchIndex, list[Query]], monkeypatch: pytest.MonkeyPatch
) -> None:
    index, queries = library
    kernels.disable()
    expected = [index.search(q, 10) for q in queries]
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba fails
    monkeypatch.delitem(sys.modules, "rectbot.retrieval.compiled", raising=False)
    assert kernels.enable() is False
    assert kernels.compiled() is None
    assert [index.search(q, 10) for q in queries] == expected


async def test_a_server_compiles_the_loops_for_a_big_index_only(
    corpus: Corpus, searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernels.disable()
    try:
        searcher.warm_up()  # 157 passages
        assert kernels.compiled() is None
        monkeypatch.setattr(search, "COMPILED_FROM", len(corpus.index))
        searcher.warm_up()
        assert kernels.compiled() is not None
        assert (await searcher.search("村党组织书记怎么选", k=3)).hits
    finally:
        kernels.disable()


async def test_a_server_whose_index_grows_past_the_mark_compiles_beside_its_questions(
    corpus: Corpus, searcher: Searcher, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kernels.disable()
    one_shot = Searcher.over(corpus)  # as `rectbot ask`: never warmed up
    try:
        searcher.warm_up()
        await one_shot.search("村党组织书记怎么选", k=3)
        assert kernels.compiled() is None
        monkeypatch.setattr(search, "COMPILED_FROM", len(corpus.index) + 1)
        report = tmp_path / "夜校.txt"
        report.write_text("某村党支部开办农民夜校，每月两次，讲政策、教技术，群众参与踊跃。\n" * 3, encoding="utf-8")
        await corpus.ingest([report])
        assert len(corpus.index) >= search.COMPILED_FROM
        await one_shot.search("农民夜校", k=3)
        assert kernels.compiled() is None  # a process answering one question never pays for it
        assert (await searcher.search("农民夜校", k=3)).hits  # answered at once, with numpy
        for _ in range(300):
            if kernels.compiled() is not None:
                break
            await asyncio.sleep(0.1)
        assert kernels.compiled() is not None
    finally:
        kernels.disable()


def test_weights_of_any_float_type_score_the_same_both_ways(library: tuple[SearchIndex, list[Query]]) -> None:
    index, queries = library
    # np.float64 is a float: numpy would have multiplied in float64 where the compiled loop uses float32.
    others = [queries[(n + 1) % len(queries)].words for n in range(len(queries))]
    typed = [Query(text=q.text, topic=q.topic, words=q.words, grams=q.grams,
                   expansions={word: np.float64(0.37) for word in other if word not in q.words})
             for q, other in zip(queries, others, strict=True)]
    assert sum(len(q.expansions) for q in typed) > 50
    expected, compiled = numpy_and_compiled(lambda: [index.search(q, 20) for q in typed])
    assert compiled == expected


def test_a_damaged_row_number_is_an_error_both_ways_not_a_write_past_the_segment() -> None:
    good = Segment.build(np.arange(10), [["村", "书记"]] * 10)
    rows = good.rows.copy()
    rows[int(good.indptr[good.vocabulary["村"] + 1]) - 1] = 12  # a 10-row segment
    damaged = Segment(good.name, good.ids, good.lengths, good.tokens, good.indptr, rows, good.tf, good.blocks)
    index = PassageIndex.of_segments([damaged], IndexParams(), fingerprint="a", versions=VERSIONS)
    kernels.disable()
    with pytest.raises(IndexError):
        index.weighted_scores({"村": 1.0})
    assert kernels.enable()
    try:
        with pytest.raises(IndexError):
            index.weighted_scores({"村": 1.0})
    finally:
        kernels.disable()


def test_after_warm_up_a_loaded_index_needs_nothing_compiled(
    library: tuple[SearchIndex, list[Query]], compiled_scoring: None, tmp_path: Path
) -> None:
    index, queries = library
    index.save(tmp_path / "index")
    loaded = SearchIndex.load(tmp_path / "index", IndexParams(), fingerprint="b", versions=VERSIONS)
    loops = kernels.compiled()
    compiled_before = {name: len(getattr(loops, name).signatures) for name in ("add_columns", "hopeful_rows")}
    assert [loaded.search(q, 10) for q in queries] == [index.search(q, 10) for q in queries]
    assert {name: len(getattr(loops, name).signatures) for name in compiled_before} == compiled_before


@pytest.mark.parametrize("seed", range(6))
def test_a_segment_built_with_the_compiled_loops_is_the_one_numpy_builds(seed: int) -> None:
    """Counting entries into column order gives the stable sort's order: the same segment, array for array."""
    rng = np.random.default_rng(seed)
    vocabulary = [f"词{i}" for i in range(int(rng.integers(1, 300)))]
    rows = [
        [vocabulary[int(i)] for i in rng.zipf(1.5, int(rng.integers(0, 40))) % len(vocabulary)]
        for _ in range(int(rng.integers(1, 500)))
    ]

    def build() -> Segment:
        builder = SegmentBuilder()
        for passage_id, tokens in enumerate(rows):
            builder.add(passage_id, tokens)
        return builder.build()

    numpy_built, compiled_built = numpy_and_compiled(build)
    assert compiled_built.tokens == numpy_built.tokens
    for name in ("ids", "lengths", "indptr", "rows", "tf"):
        assert np.array_equal(getattr(compiled_built, name), getattr(numpy_built, name)), name
