"""The naive pipeline issue 8 measured rectbot against: the files' raw lines, jieba's search mode, rank-bm25, no verdict.

Every non-empty line of every file is a passage (menus, widgets and all, as saved), cut with
`jieba.lcut_for_search` after lower-casing, punctuation dropped, ranked by `rank_bm25.BM25Okapi` with its
defaults; the top lines are always shown, so it never abstains and is never silent. `benchmarks/quality.py
--naive` scores it on the same questions as rectbot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jieba
import numpy as np
import rank_bm25

_PUNCTUATION_ONLY = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Line:
    """One shown line (what evaluation reads of an excerpt)."""

    text: str


@dataclass(frozen=True)
class NaiveResult:
    """The top lines, all shown as answers."""

    hits: tuple[Line, ...]
    related: tuple[Line, ...] = ()


def naive_tokens(text: str) -> list[str]:
    """jieba's search-mode cut of lower-cased text, without whitespace and punctuation."""
    return [t for t in jieba.lcut_for_search(text.lower()) if t.strip() and not _PUNCTUATION_ONLY.fullmatch(t)]


class NaiveSearcher:
    """rank-bm25 over the raw lines of some text files."""

    def __init__(self, files: Iterable[Path]) -> None:
        jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise
        self.lines = [
            line.strip()
            for path in files
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.strip()
        ]
        self.bm25 = rank_bm25.BM25Okapi([naive_tokens(line) for line in self.lines])

    async def search(self, question: str, k: int = 3) -> NaiveResult:
        """The k best lines by BM25, best first (ties by line order)."""
        scores = self.bm25.get_scores(naive_tokens(question))
        best = np.argsort(-scores, kind="stable")[:k]
        return NaiveResult(tuple(Line(self.lines[i]) for i in best))
