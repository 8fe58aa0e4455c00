"""Retrieval quality on a question file: Hit@1, Hit@3, MRR@5 and the abstain rate."""

from __future__ import annotations

import json
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
    kind: str

    def is_good(self, excerpt: str) -> bool:
        """Whether an excerpt answers the question (phrases matched as shared/eval/README.md says)."""
        text = normalize_for_phrase_match(excerpt)
        any_ok = not self.any or any(normalize_for_phrase_match(p) in text for p in self.any)
        return any_ok and all(normalize_for_phrase_match(p) in text for p in self.all)


@dataclass(frozen=True)
class QuestionResult:
    """Where the first good excerpt ranked (None if not in the top 5) and how many excerpts came back."""

    question: Question
    first_good_rank: int | None
    hits: int


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

    def hit_at(self, k: int) -> float:
        """Share of answerable questions with a good excerpt in the top k."""
        rows = self.answerable
        return sum(r.first_good_rank is not None and r.first_good_rank <= k for r in rows) / len(rows) if rows else 0.0

    @property
    def mrr_at_5(self) -> float:
        """Mean reciprocal rank of the first good excerpt within the top five."""
        rows = self.answerable
        return sum(1 / r.first_good_rank for r in rows if r.first_good_rank) / len(rows) if rows else 0.0

    @property
    def abstain_rate(self) -> float:
        """Share of out-of-corpus questions given no excerpt."""
        rows = self.abstain
        return sum(r.hits == 0 for r in rows) / len(rows) if rows else 1.0

    @property
    def false_abstains(self) -> list[QuestionResult]:
        """Answerable questions that got no excerpt at all."""
        return [r for r in self.answerable if r.hits == 0]


def load_questions(path: Path) -> list[Question]:
    """Read a question file in the format of shared/eval/dev_questions.json."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    return [
        Question(e["id"], e["q"], tuple(e.get("any", ())), tuple(e.get("all", ())), e.get("kind", "lexical"))
        for e in entries
    ]


async def evaluate(searcher: Searcher, questions: list[Question]) -> EvalReport:
    """Ask every question and score the top five excerpts."""
    results = []
    for question in questions:
        hits = await searcher.search(question.q, k=5)
        rank = next((i for i, hit in enumerate(hits, start=1) if question.is_good(hit.text)), None)
        results.append(QuestionResult(question, rank, len(hits)))
    return EvalReport(tuple(results))
