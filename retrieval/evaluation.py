"""Retrieval quality on a question file: Hit@1, Hit@3, MRR@5, paraphrase Hit@3, abstain and off-topic silence."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from retrieval.search import Searcher
from retrieval.text import normalize_for_phrase_match


@dataclass(frozen=True)
class Question:
    """One evaluation question and what a good excerpt contains."""

    id: str
    q: str
    any: tuple[str, ...]
    all: tuple[str, ...]
    kind: str  # lexical | paraphrase | traditional | abstain
    style: str | None = None
    abstain: str | None = None  # for abstain questions: offtopic | domain
    half: str | None = None  # tune | test
    doc: str | None = None

    def is_good(self, excerpt: str) -> bool:
        """Whether an excerpt holds one of the `any` phrases (when given) and every `all` phrase, as normalised text."""
        text = normalize_for_phrase_match(excerpt)
        any_ok = not self.any or any(normalize_for_phrase_match(p) in text for p in self.any)
        return any_ok and all(normalize_for_phrase_match(p) in text for p in self.all)


@dataclass(frozen=True)
class QuestionResult:
    """Where the first good excerpt ranked among those shown (None if not in the top 5), and what was shown."""

    question: Question
    first_good_rank: int | None
    hits: int  # confident excerpts
    related: int = 0  # excerpts shown as possibly related


def _share(rows: list[QuestionResult], passed: Callable[[QuestionResult], bool]) -> float:
    return sum(passed(r) for r in rows) / len(rows) if rows else 0.0


@dataclass(frozen=True)
class EvalReport:
    """The metrics over a question file."""

    results: tuple[QuestionResult, ...]

    @property
    def answerable(self) -> list[QuestionResult]:
        return [r for r in self.results if r.question.kind != "abstain"]

    @property
    def abstain(self) -> list[QuestionResult]:
        return [r for r in self.results if r.question.kind == "abstain"]

    def hit_at(self, k: int, kind: str | None = None) -> float:
        """Share of answerable questions (of one kind, if given) with a good excerpt in the top k shown."""
        rows = [r for r in self.answerable if kind is None or r.question.kind == kind]
        return _share(rows, lambda r: r.first_good_rank is not None and r.first_good_rank <= k)

    @property
    def mrr_at_5(self) -> float:
        """Mean reciprocal rank of the first good excerpt within the top five."""
        rows = self.answerable
        return sum(1 / r.first_good_rank for r in rows if r.first_good_rank) / len(rows) if rows else 0.0

    @property
    def abstain_rate(self) -> float:
        """Share of out-of-corpus questions given no confident excerpt."""
        return _share(self.abstain, lambda r: r.hits == 0) if self.abstain else 1.0

    def abstained(self, subkind: str) -> tuple[int, int]:
        """(questions without confident excerpts, questions) among abstain questions of one subkind."""
        rows = [r for r in self.abstain if r.question.abstain == subkind]
        return sum(r.hits == 0 for r in rows), len(rows)

    def silent(self, subkind: str = "offtopic") -> tuple[int, int]:
        """(questions given nothing at all, questions) among abstain questions of one subkind."""
        rows = [r for r in self.abstain if r.question.abstain == subkind]
        return sum(r.hits == 0 and r.related == 0 for r in rows), len(rows)

    @property
    def unanswered(self) -> list[QuestionResult]:
        """Answerable questions that were shown nothing at all."""
        return [r for r in self.answerable if r.hits == 0 and r.related == 0]


def load_questions(path: Path) -> list[Question]:
    """Read a question file in the format of tests/data/dev_questions.json (extra fields are optional)."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError("a question file holds a JSON list of questions")
    return [
        Question(
            str(e["id"]), str(e["q"]), tuple(e.get("any", ())), tuple(e.get("all", ())), e.get("kind", "lexical"),
            e.get("style"), e.get("abstain"), e.get("half"), e.get("doc"),
        )
        for e in entries
    ]


async def evaluate(searcher: Searcher, questions: Iterable[Question]) -> EvalReport:
    """Ask every question and score the top five excerpts shown (confident ones, else possibly related ones)."""
    results = []
    for question in questions:
        result = await searcher.search(question.q, k=5)
        shown = result.hits or result.related
        rank = next((i for i, hit in enumerate(shown, start=1) if question.is_good(hit.text)), None)
        results.append(QuestionResult(question, rank, len(result.hits), len(result.related)))
    return EvalReport(tuple(results))
