"""The index searched: unknown tokens, empty queries, positive scores only, ties, k, repeated tokens, arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from rectbot.retrieval.index import ENGINES, IndexParams, PassageIndex, ScoredPassage
from tests.index_helpers import DOCS, VERSIONS, FINGERPRINT, build




@pytest.mark.parametrize("engine", ENGINES)
def test_unknown_tokens_are_ignored(engine: str) -> None:
    index = build(DOCS, engine)
    assert index.search(["整顿", "不存在", "也没有"], 10) == index.search(["整顿"], 10)
    assert [hit.passage_id for hit in index.search(["整顿"], 10)] == [2, 0]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("query", [[], ["不存在"], ["", "不存在"]])
def test_empty_or_unknown_query_returns_nothing(engine: str, query: list[str]) -> None:
    assert build(DOCS, engine).search(query, 10) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_only_positive_scores_are_returned(engine: str) -> None:
    index = build(DOCS, engine, idf="robertson")
    # In four of five passages, so its robertson idf is floored at 0: it matches but scores nothing.
    assert index.idf("党支部") == 0.0
    assert index.search(["党支部"], 10) == []
    hits = index.search(["党支部", "村"], 10)
    assert [hit.passage_id for hit in hits] == [4, 2]
    assert all(hit.score > 0 for hit in hits)


@pytest.mark.parametrize("engine", ENGINES)
def test_ties_are_broken_by_ascending_passage_id(engine: str) -> None:
    docs = [["整顿", "党支部"]] * 6 + [["整顿", "整顿", "党支部"], ["村"]]
    ids = [50, 7, 33, 8, 21, 2, 99, 1]
    index = build(docs, engine, ids=ids)
    hits = index.search(["整顿"], 10)
    assert [hit.passage_id for hit in hits] == [99, 2, 7, 8, 21, 33, 50]
    assert len({hit.score for hit in hits[1:]}) == 1
    # k cutting through the tied group keeps the lowest ids, whatever the build order.
    assert [hit.passage_id for hit in index.search(["整顿"], 3)] == [99, 2, 7]
    assert index.search(["整顿"], 3) == index.search(["整顿"], 3)


@pytest.mark.parametrize("engine", ENGINES)
def test_k_larger_than_the_corpus_returns_every_match(engine: str) -> None:
    index = build(DOCS, engine)
    hits = index.search(["党支部", "村"], 1000)
    assert sorted(hit.passage_id for hit in hits) == [0, 1, 2, 3, 4]
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert index.search(["党支部"], 0) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_a_repeated_query_token_counts_each_time(engine: str) -> None:
    index = build(DOCS, engine)
    once, twice = index.search(["书记"], 10), index.search(["书记", "书记"], 10)
    assert [hit.passage_id for hit in once] == [hit.passage_id for hit in twice] == [1]
    assert twice[0].score == pytest.approx(2 * once[0].score)


def test_hits_unpack_as_id_and_score() -> None:
    [hit] = build(DOCS).search(["书记"], 10)
    passage_id, score = hit
    assert isinstance(hit, ScoredPassage)
    assert (passage_id, score) == (hit.passage_id, hit.score)
    assert passage_id == 1 and score > 0
    assert type(passage_id) is int and type(score) is float


def test_bad_arguments_are_refused() -> None:
    index = build(DOCS)
    with pytest.raises(ValueError, match="k must be"):
        index.search(["村"], -1)
    with pytest.raises(TypeError, match="list of str"):
        index.search("村", 10)
    with pytest.raises(ValueError, match="2 passage ids for 3"):
        PassageIndex.build([1, 2], [["a"]] * 3, IndexParams(), fingerprint="f", versions={})
    with pytest.raises(ValueError, match="unique"):
        PassageIndex.build([1, 1], [["a"], ["b"]], IndexParams(), fingerprint="f", versions={})
    with pytest.raises(ValueError, match="empty string"):
        PassageIndex.build([1], [["a", ""]], IndexParams(), fingerprint="f", versions={})
    with pytest.raises(TypeError, match="not a str"):
        PassageIndex.build([1], ["党支部整顿"], IndexParams(), fingerprint="f", versions={})
    with pytest.raises(ValueError, match="keys the index sets"):
        PassageIndex.build([1], [["a"]], IndexParams(), fingerprint="f", versions={"engine": "mine"})
    with pytest.raises(ValueError, match="engine must be"):
        IndexParams(engine="whoosh")
    with pytest.raises(ValueError, match="idf must be"):
        IndexParams(idf="bm25l")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("docs", [[], [[], []]], ids=["no passages", "no tokens"])
def test_an_index_without_tokens_finds_nothing_and_persists(engine: str, docs: list[list[str]], tmp_path: Path) -> None:
    index = build(docs, engine)
    assert len(index) == len(docs)
    assert index.search(["村"], 10) == []
    assert index.document_frequency("村") == 0 and index.idf("村") == 0.0
    index.save(tmp_path / "idx")
    loaded = PassageIndex.load(tmp_path / "idx", index.params, fingerprint=FINGERPRINT, versions=VERSIONS)
    assert len(loaded) == len(docs)
    assert loaded.search(["村"], 10) == []
