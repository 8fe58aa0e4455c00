"""Retrieval quality on a question file: Hit@1, Hit@3, MRR@5, paraphrase Hit@3, abstain and off-topic silence."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rectbot.retrieval.text import normalize_for_phrase_match


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


KINDS = ("lexical", "paraphrase", "traditional", "abstain")
FORMAT = (
    'a JSON list of objects {"id": "q1", "q": "the question", "any": ["phrase", ...], "all": ["phrase", ...], '
    f'"kind": {" | ".join(KINDS)}}} ("any", "all" and "kind" optional)'
)


class QuestionFileError(ValueError):
    """A question file that is not in the format evaluation reads; the message says where and what it expects."""


def load_questions(path: Path) -> list[Question]:
    """Read a question file in the format of tests/data/dev_questions.json (see FORMAT; extra fields optional)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise QuestionFileError(f"not JSON ({error}); expected {FORMAT}") from None
    if not isinstance(entries, list):
        raise QuestionFileError(f"expected {FORMAT}, found a JSON {type(entries).__name__}")
    return [_question(number, entry) for number, entry in enumerate(entries, start=1)]


def _question(number: int, entry: object) -> Question:
    """One entry of a question file, checked."""
    where = f"question {number}"
    if not isinstance(entry, dict):
        raise QuestionFileError(f"{where} is a JSON {type(entry).__name__}, not an object; expected {FORMAT}")
    for key in ("id", "q"):
        if not isinstance(entry.get(key), (str, int)) or entry.get(key) == "":
            raise QuestionFileError(f'{where} has no "{key}" (a string); expected {FORMAT}')
    for key in ("any", "all"):
        phrases = entry.get(key, [])
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise QuestionFileError(f'{where} ({entry["id"]}): "{key}" must be a list of strings')
    kind = entry.get("kind", "lexical")
    if kind not in KINDS:
        raise QuestionFileError(f'{where} ({entry["id"]}): "kind" must be one of {", ".join(KINDS)}, not {kind!r}')
    return Question(
        str(entry["id"]), str(entry["q"]), tuple(entry.get("any", ())), tuple(entry.get("all", ())), kind,
        entry.get("style"), entry.get("abstain"), entry.get("half"), entry.get("doc"),
    )


class Excerpt(Protocol):
    """What evaluation reads of a shown excerpt."""

    @property
    def text(self) -> str: ...


class Shown(Protocol):
    """What evaluation reads of an answer: confident excerpts, else possibly related ones."""

    @property
    def hits(self) -> Sequence[Excerpt]: ...

    @property
    def related(self) -> Sequence[Excerpt]: ...


class Answerer(Protocol):
    """Anything asked like Searcher.search (rectbot's searcher, or a baseline to compare with)."""

    async def search(self, question: str, k: int = 3) -> Shown: ...


async def evaluate(searcher: Answerer, questions: Iterable[Question]) -> EvalReport:
    """Ask every question and score the top five excerpts shown (confident ones, else possibly related ones)."""
    results = []
    for question in questions:
        result = await searcher.search(question.q, k=5)
        shown = [*result.hits, *result.related]
        rank = next((i for i, hit in enumerate(shown, start=1) if question.is_good(hit.text)), None)
        results.append(QuestionResult(question, rank, len(result.hits), len(result.related)))
    return EvalReport(tuple(results))
