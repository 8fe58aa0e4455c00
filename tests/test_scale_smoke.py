"""The scale benchmark's corpus and questions at a tiny size: all ingested, all answered (no timing here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rank_bm25

from benchmarks.scale import PASSAGES_PER_REPORT, make_questions, seed_material, write_corpus
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.index import IndexParams
from rectbot.retrieval.search import SearchParams, Searcher
from rectbot.retrieval.tokenizer import Tokenizer

PASSAGES = 2000


@pytest.fixture(scope="module")
def material():
    return seed_material()


async def test_the_generated_corpus_is_ingested_and_every_question_answered(
    tmp_path: Path, tokenizer: Tokenizer, material
) -> None:
    files = write_corpus(tmp_path / "corpus", PASSAGES, material, republished_every=4)
    assert write_corpus(tmp_path / "again", PASSAGES, material, republished_every=4) and all(
        a.read_bytes() == (tmp_path / "again" / a.name).read_bytes() for a in files
    )  # deterministic
    copies = len(files) // 4
    corpus = await Corpus.open(tmp_path / "data" / "rectbot.sqlite3", tokenizer=tokenizer)
    try:
        reports = await corpus.ingest([tmp_path / "corpus"])
        assert [r.status for r in reports] == ["added"] * len(files)
        assert len(await corpus.store.documents()) == len(files)
        assert sum(a.republished for r in reports for a in r.articles) == copies
        originals = len(files) - copies
        assert 0.9 * PASSAGES_PER_REPORT * originals <= len(corpus.index) <= 1.1 * PASSAGES_PER_REPORT * originals

        # The generated questions are runs of report words (为此 深入细致 做好), not questions staff would type:
        # the topic model, which judges how a question is asked, is turned off to check every one is found.
        searcher = Searcher.over(corpus, SearchParams(topic_veto=0.0, topic_related=0.0, topic_sure=0.0))
        for question in make_questions(material, 12):
            result = await searcher.search(question)
            assert result.shown, question
    finally:
        await corpus.close()


async def test_the_words_field_ranks_single_words_as_rank_bm25_does(
    tmp_path: Path, tokenizer: Tokenizer, material
) -> None:
    """The fused ranking (words + bigrams + context) differs from rank-bm25 by design; its words field does not.

    For one word, every BM25 variant's idf is one positive factor, so the best passage is the same: the highest
    term score, ties going to the lowest id (as in tests/test_index.py and test_index_equivalence.py).
    """
    write_corpus(tmp_path / "corpus", PASSAGES, material)
    corpus = await Corpus.open(tmp_path / "data" / "rectbot.sqlite3", tokenizer=tokenizer)
    try:
        await corpus.ingest([tmp_path / "corpus"])
        rows = await corpus.store.searchable_passages()
        words = corpus.index.words
        assert [row[0] for row in rows] == words.passage_ids.tolist()
        params = IndexParams()
        okapi = rank_bm25.BM25Okapi([tokenizer.tokens(text) for _, _, text in rows], k1=params.k1, b=params.b)
        searcher = Searcher.over(corpus)
        asked = dict.fromkeys(w for q in make_questions(material, 12) for w in searcher.parse(q).words)
        singles = [w for w in asked if words.document_frequency(w) > 0][:8]
        assert len(singles) == 8
        for word in singles:
            scores = okapi.get_scores([word])
            best = np.flatnonzero(np.isclose(scores, scores.max(), rtol=1e-6))
            [top] = words.search([word], 1)
            assert top.passage_id == min(words.passage_ids[best]), word
    finally:
        await corpus.close()
