"""Homophone repair: pinyin input's typos (书计 for 书记) mapped to the corpus word that sounds the same."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pypinyin import Style, lazy_pinyin

from retrieval.text import is_han


def sound(word: str) -> str:
    """The toneless pinyin of a word, syllables joined by spaces (书记 -> "shu ji")."""
    return " ".join(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))


class HomophoneRepair:
    """Finds, for a word no passage holds, the most frequent corpus word with the same pinyin."""

    def __init__(self, vocabulary: Iterable[str], frequency: Callable[[str], int], min_frequency: int = 2) -> None:
        self._vocabulary = vocabulary
        self._frequency = frequency
        self._min_frequency = min_frequency
        self._best: dict[str, tuple[int, str]] | None = None  # built on the first typo: most questions have none

    def _table(self) -> dict[str, tuple[int, str]]:
        if self._best is not None:
            return self._best
        best: dict[str, tuple[int, str]] = {}
        for word in self._vocabulary:
            if not 2 <= len(word) <= 6 or not is_han(word):
                continue
            df = self._frequency(word)
            if df < self._min_frequency:
                continue
            key = sound(word)
            if key not in best or (df, word) > best[key]:
                best[key] = (df, word)
        self._best = best
        return best

    def __call__(self, word: str) -> str | None:
        """The corpus word that sounds like `word`, or None."""
        best = self._table().get(sound(word))
        return best[1] if best and best[1] != word else None
