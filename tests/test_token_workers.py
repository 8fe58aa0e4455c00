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


_SCRIPT = """
import asyncio
from pathlib import Path

from rectbot.retrieval import token_workers
from rectbot.retrieval.corpus import Corpus

token_workers.PARALLEL_FROM, token_workers._WORTH_A_POOL = 0, 2  # the seeds are cut in two worker processes
token_workers.default_workers = lambda limit=8: 2


async def build() -> None:
    corpus = await Corpus.open(Path({database!r}), seeds=Path({seeds!r}))
    print("passages:", len(corpus.index))
    await corpus.close()
"""


@pytest.mark.parametrize("guarded", [False, True])
def test_a_script_without_a_main_guard_fails_at_once_and_says_why(tmp_path: Path, guarded: bool) -> None:
    import subprocess
    import sys
    import time

    database = tmp_path / "data" / "rectbot.sqlite3"
    script = tmp_path / "build.py"
    body = _SCRIPT.format(database=str(database), seeds=str(SEEDS))
    script.write_text(body + ('if __name__ == "__main__":\n    asyncio.run(build())\n' if guarded else "asyncio.run(build())\n"))
    started = time.monotonic()
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    if guarded:
        assert run.returncode == 0 and "passages: " in run.stdout, run.stderr[-2000:]
    else:
        # Each worker imported the script again; it stops there instead of building the index a second time.
        assert run.returncode != 0 and run.stdout.count("passages:") == 0
        assert 'if __name__ == "__main__":' in run.stderr and "WorkersStopped" in run.stderr, run.stderr[-2000:]
        assert time.monotonic() - started < 120
