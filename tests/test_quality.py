"""Answer quality on our frozen held-out questions (tests/data/questions): floors under what is measured.

The questions were written by helpers who never read the ranking code and were split into a tuning half and a
test half before any tuning; these tests run the test half. benchmarks/quality.py prints the full table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.evaluation import EvalReport, Question, evaluate, load_questions
from rectbot.retrieval.search import Searcher
from rectbot.retrieval.tokenizer import Tokenizer
from benchmarks.naive import NaiveSearcher
from tests.conftest import ROOT, SEEDS, benchmark_script

QUESTIONS = ROOT / "tests" / "data" / "questions"
PAGES = ROOT.parent / "shared" / "corpus" / "pages"


def held_out(*names: str) -> list[Question]:
    """The test half of the named question files."""
    return [q for name in names for q in load_questions(QUESTIONS / f"{name}.json") if q.half == "test"]


def test_the_question_set_is_frozen_and_split() -> None:
    questions = [q for name in ("seeds", "pages_a", "pages_b", "abstain") for q in load_questions(QUESTIONS / f"{name}.json")]
    assert len(questions) >= 300 and len({q.id for q in questions}) == len(questions)
    answerable = [q for q in questions if q.kind != "abstain"]
    assert sum(q.kind == "paraphrase" for q in answerable) >= len(answerable) / 2
    assert sum(q.abstain == "offtopic" for q in questions) >= 20 and sum(q.abstain == "domain" for q in questions) >= 20
    assert {q.half for q in questions} == {"tune", "test"}


def test_every_half_is_counted_once_in_the_headline_figures() -> None:
    # A new question set whose halves were left out of both groups would silently drop out of the README's figures.
    quality = benchmark_script("quality")
    every = [q for path in QUESTIONS.glob("*.json") for q in load_questions(path)]
    tuning, held_out_halves = set(quality.TUNING_HALVES), set(quality.HELD_OUT_HALVES)
    assert not tuning & held_out_halves
    assert tuning | held_out_halves == {q.half for q in every}
    # Counted from the files themselves, so a question file the benchmark does not read fails here too.
    for group, halves in (("held-out", held_out_halves), ("tuning", tuning)):
        pooled = quality.questions(group, with_pages=True)
        assert sorted(q.id for q in pooled) == sorted(q.id for q in every if q.half in halves)


async def test_held_out_questions_over_the_seeds(searcher: Searcher) -> None:
    report = await evaluate(searcher, held_out("seeds", "abstain"))
    assert report.hit_at(3) >= 0.88, _missed(report)  # measured 0.94
    assert report.hit_at(3, "paraphrase") >= 0.86  # measured 0.95
    assert report.silent("offtopic")[0] >= report.silent("offtopic")[1] - 1  # measured 15 of 15
    assert report.abstained("domain")[0] >= report.abstained("domain")[1] - 1  # measured 15 of 15


@pytest.fixture
async def with_pages(seeded_dir: Path, tokenizer: Tokenizer) -> AsyncIterator[Corpus]:
    if not PAGES.is_dir():
        pytest.skip(f"the shared pages are not at {PAGES}")
    corpus = await Corpus.open(seeded_dir / "rectbot.sqlite3", seeds=SEEDS, tokenizer=tokenizer)
    await corpus.ingest([PAGES])
    yield corpus
    await corpus.close()


async def test_held_out_questions_over_the_seeds_and_real_pages(with_pages: Corpus) -> None:
    report = await evaluate(Searcher.over(with_pages), held_out("seeds", "pages_a", "pages_b", "abstain"))
    assert report.hit_at(3) >= 0.85, _missed(report)  # measured 0.88
    assert report.hit_at(3, "paraphrase") >= 0.82  # measured 0.85
    assert report.silent("offtopic")[0] >= report.silent("offtopic")[1] - 1  # measured 15 of 15
    assert report.abstained("domain")[0] >= report.abstained("domain")[1] - 1  # measured 15 of 15
    fresh = await evaluate(Searcher.over(with_pages), load_questions(QUESTIONS / "fresh.json"))
    assert fresh.hit_at(3) >= 0.76, _missed(fresh)  # measured 0.81: spoken questions by a third writer
    # Measured 28 of 29: 家里WiFi信号覆盖不到卧室 is shown possibly related excerpts (覆盖 is a report word) since the
    # topic model learnt everyday words in a work sense; of 442 older held-out everyday questions, 30 are shown (31 before).
    assert fresh.silent("offtopic")[0] >= 28  # 29 of 29 since the short questions of session 13


async def test_a_fifth_writers_questions_never_tuned_on(with_pages: Corpus) -> None:
    # fresh3.json was frozen before the changes it measured and is never tuned on: it is the closest thing here to
    # the questions rectbot will really get. Everyday questions are silent but for one, no in-domain question without
    # an answer is answered confidently, and over real pages about three questions in four find a good excerpt.
    report = await evaluate(Searcher.over(with_pages), load_questions(QUESTIONS / "fresh3.json"))
    assert report.hit_at(3) >= 0.72, _missed(report)  # measured 0.76
    assert report.silent("offtopic")[0] >= report.silent("offtopic")[1] - 1  # measured 32 of 33 (30 before)
    assert report.abstained("domain")[0] >= report.abstained("domain")[1] - 1  # measured 34 of 34


async def test_real_pages_are_answered_better_than_by_the_naive_pipeline(with_pages: Corpus) -> None:
    # Issue 8's yardstick: the files' raw lines, jieba's search mode and rank-bm25, no verdict (benchmarks/naive.py).
    asked = held_out("seeds", "pages_a", "pages_b") + [
        q for q in load_questions(QUESTIONS / "fresh2.json") if q.half == "fresh2_test" and q.kind != "abstain"
    ]
    ours = await evaluate(Searcher.over(with_pages), asked)
    naive = await evaluate(NaiveSearcher([*sorted(SEEDS.glob("*.txt")), *sorted(PAGES.glob("*.txt"))]), asked)
    # Measured 0.85 against 0.63 (paraphrases 0.82 against 0.58) on these 224 answerable questions (0.86 before
    # session 13's topic model).
    assert ours.hit_at(3) >= naive.hit_at(3) + 0.15, _missed(ours)
    assert ours.hit_at(3, "paraphrase") >= naive.hit_at(3, "paraphrase") + 0.15


def _missed(report: EvalReport) -> list[str]:
    return [r.question.id for r in report.answerable if not r.first_good_rank or r.first_good_rank > 3]
