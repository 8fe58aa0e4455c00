"""Passages cut in worker processes are cut exactly as in the parent, and an index built that way is the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from rectbot.retrieval import token_workers
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.search import Searcher
from rectbot.retrieval.token_workers import PassageSegmenter, TokenWorkers
from rectbot.retrieval.tokenizer import Tokenizer
from tests.conftest import SEEDS

QUESTIONS = ["第一书记怎么选派", "村两委班子不团结", "整頓軟弱渙散黨組織", "村集体经济收入", "沙坡头区 转化率"]


async def test_workers_cut_every_seed_passage_as_the_parent_does(corpus: Corpus, tokenizer: Tokenizer) -> None:
    texts = [text for _, _, text in await corpus.store.searchable_passages()]
    with TokenWorkers(tokenizer, workers=2) as workers:
        cut = workers.passage_tokens(texts)
    assert len(cut) == len(texts) > 100
    assert cut == [tuple(tokenizer.passage_tokens(text)) for text in texts]


def test_a_small_job_is_cut_in_process(tokenizer: Tokenizer) -> None:
    with PassageSegmenter(tokenizer, expected=10) as segment:
        assert segment(["整顿软弱涣散村党组织", "选派第一书记"]) == [
            tuple(tokenizer.passage_tokens("整顿软弱涣散村党组织")), tuple(tokenizer.passage_tokens("选派第一书记"))
        ]
        assert segment._pool is None


async def test_an_index_built_with_workers_answers_as_one_built_in_process(
    tmp_path: Path, tokenizer: Tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = await Corpus.open(tmp_path / "serial" / "rectbot.sqlite3", seeds=SEEDS, tokenizer=tokenizer)
    monkeypatch.setattr(token_workers, "PARALLEL_FROM", 0)
    monkeypatch.setattr(token_workers, "_WORTH_A_POOL", 2)
    started = []
    original = TokenWorkers.__init__
    monkeypatch.setattr(TokenWorkers, "__init__", lambda self, *a, **k: (started.append(1), original(self, *a, **k))[1])
    parallel = await Corpus.open(tmp_path / "parallel" / "rectbot.sqlite3", seeds=SEEDS, tokenizer=tokenizer)
    try:
        assert started, "the parallel build did not start workers"
        assert len(parallel.index) == len(serial.index) > 100
        for question in QUESTIONS:
            ours = await Searcher.over(parallel).search(question, k=10)
            theirs = await Searcher.over(serial).search(question, k=10)
            assert [(h.text, round(h.score, 9)) for h in ours.shown] == [(h.text, round(h.score, 9)) for h in theirs.shown]
            assert ours.shown, question
    finally:
        await serial.close()
        await parallel.close()
