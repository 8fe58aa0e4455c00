"""Retrieval quality on the development questions and on our own extra questions."""

from __future__ import annotations

from pathlib import Path

from rectbot.retrieval.evaluation import Question, evaluate, load_questions
from rectbot.retrieval.search import Searcher
from tests.conftest import DEV_QUESTIONS

EXTRA_QUESTIONS = Path(__file__).parent / "data" / "extra_questions.json"


async def test_development_questions(searcher: Searcher) -> None:
    report = await evaluate(searcher, load_questions(DEV_QUESTIONS))
    missed = [r.question.q for r in report.answerable if not r.first_good_rank or r.first_good_rank > 3]
    assert report.hit_at(3) >= 0.95, missed
    assert report.abstain_rate == 1.0, [r.question.q for r in report.abstain if r.hits]


async def test_extra_questions(searcher: Searcher) -> None:
    report = await evaluate(searcher, load_questions(EXTRA_QUESTIONS))
    missed = [r.question.q for r in report.answerable if not r.first_good_rank or r.first_good_rank > 3]
    assert report.hit_at(3) >= 0.85, missed  # measured 0.94 (15 of 16); see README
    assert report.abstain_rate == 1.0, [r.question.q for r in report.abstain if r.hits]


def test_phrase_matching_follows_the_eval_rules() -> None:
    question = Question("x", "q", any=("村‘两委’",), all=("網(wǎng)",), kind="lexical")
    assert question.is_good("“村兩委”班子建好了，共產黨員網報道")
    assert not question.is_good("村两委班子")
