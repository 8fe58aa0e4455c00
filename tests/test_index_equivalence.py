"""The index engines rank as rank-bm25 does: same scores and top 10, idf formulas, the epsilon that differs."""

from __future__ import annotations


import numpy as np
import pytest
import rank_bm25

from rectbot.retrieval.index import ENGINES, IDF_METHODS, IndexParams, PassageIndex
from tests.index_helpers import all_scores, dense_scores


def test_corpus_has_words_in_over_half_the_passages(
    built_indexes: dict[tuple[str, str], PassageIndex], synthetic: tuple[list[int], list[list[str]], list[str]]
) -> None:
    index = built_indexes["bm25s", "lucene"]
    common = [word for word in synthetic[2][:20] if index.document_frequency(word) > len(index) / 2]
    assert len(common) >= 3


@pytest.mark.parametrize("idf", IDF_METHODS)
def test_bm25s_and_rank_bm25_give_the_same_scores_and_top_10(
    idf: str, built_indexes: dict[tuple[str, str], PassageIndex], synthetic_queries: list[list[str]]
) -> None:
    fast, reference = built_indexes["bm25s", idf], built_indexes["rank-bm25", idf]
    for query in synthetic_queries:
        fast_scores, reference_scores = all_scores(fast, query), all_scores(reference, query)
        assert fast_scores.keys() == reference_scores.keys(), query
        ids = sorted(fast_scores)
        assert np.allclose([fast_scores[i] for i in ids], [reference_scores[i] for i in ids], rtol=1e-4, atol=0)
        top_fast = [hit.passage_id for hit in fast.search(query, 10)]
        top_reference = [hit.passage_id for hit in reference.search(query, 10)]
        assert top_fast == top_reference, (query, fast.search(query, 10), reference.search(query, 10))


@pytest.mark.parametrize("engine", ENGINES)
def test_robertson_matches_rank_bm25_okapi_with_epsilon_0(
    engine: str,
    built_indexes: dict[tuple[str, str], PassageIndex],
    synthetic: tuple[list[int], list[list[str]], list[str]],
    synthetic_queries: list[list[str]],
) -> None:
    ids, docs, _ = synthetic
    okapi = rank_bm25.BM25Okapi(docs, k1=IndexParams().k1, b=0.75, epsilon=0)
    index = built_indexes[engine, "robertson"]
    for query in synthetic_queries:
        expected = okapi.get_scores(query)
        assert np.allclose(dense_scores(index, query, ids), expected, rtol=1e-4, atol=1e-6), query
        expected_top = sorted((i for i in range(len(ids)) if expected[i] > 0), key=lambda i: (-expected[i], ids[i]))
        assert [hit.passage_id for hit in index.search(query, 10)] == [ids[i] for i in expected_top[:10]]


def test_rank_bm25_default_epsilon_does_not_match(
    built_indexes: dict[tuple[str, str], PassageIndex],
    synthetic: tuple[list[int], list[list[str]], list[str]],
    synthetic_queries: list[list[str]],
) -> None:
    """BM25Okapi's default epsilon=0.25 gives words in over half the passages 0.25 x the mean idf, not ~0."""
    ids, docs, vocab = synthetic
    default = rank_bm25.BM25Okapi(docs)
    index = built_indexes["bm25s", "robertson"]
    common = vocab[0]
    assert index.document_frequency(common) > len(index) / 2
    assert index.idf(common) == 0.0
    assert built_indexes["bm25s", "lucene"].idf(common) < np.log(2)
    assert default.idf[common] == pytest.approx(0.25 * default.average_idf)
    assert default.idf[common] > 1.0

    with_common = [query for query in synthetic_queries if common in query]
    assert with_common
    reranked = 0
    for query in with_common:
        expected = default.get_scores(query)
        assert not np.allclose(dense_scores(index, query, ids), expected, rtol=1e-4, atol=1e-6)
        expected_top = sorted(range(len(ids)), key=lambda i: (-expected[i], ids[i]))[:10]
        reranked += [hit.passage_id for hit in index.search(query, 10)] != [ids[i] for i in expected_top]
    assert reranked > 0, "the epsilon floor should change some top-10 rankings"


@pytest.mark.parametrize("engine", ENGINES)
def test_document_frequency_and_idf_follow_the_formulas(
    engine: str, built_indexes: dict[tuple[str, str], PassageIndex], synthetic: tuple[list[int], list[list[str]], list[str]]
) -> None:
    _, docs, vocab = synthetic
    n = len(docs)
    for word in vocab[:5] + vocab[100:105] + vocab[-5:]:
        df = sum(word in doc for doc in docs)
        assert built_indexes[engine, "lucene"].document_frequency(word) == df
        if df == 0:
            continue
        assert built_indexes[engine, "lucene"].idf(word) == pytest.approx(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        assert built_indexes[engine, "robertson"].idf(word) == pytest.approx(max(0.0, np.log((n - df + 0.5) / (df + 0.5))))
        assert built_indexes[engine, "atire"].idf(word) == pytest.approx(np.log(n / df))
    assert built_indexes[engine, "lucene"].document_frequency("不在词表") == 0
    assert built_indexes[engine, "lucene"].idf("不在词表") == 0.0
