"""Homophone repair: pinyin input's typos (书计 for 书记) mapped to the corpus word that sounds the same."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from rectbot.retrieval.text import is_han


@lru_cache(maxsize=16384)
def sound(word: str) -> str:
    """The toneless pinyin of a word, syllables joined by spaces (书记 -> "shu ji"); remembered, as questions
    repeat words and pypinyin takes tens of microseconds a word."""
    from pypinyin import Style, lazy_pinyin  # 0.4 s to import: only questions with a typo, and warm-up, need it

    return " ".join(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))


def repairable(word: str) -> bool:
    """Whether a typo may be repaired into the word: two to six Han characters."""
    return 2 <= len(word) <= 6 and is_han(word)


class HomophoneRepair:
    """Finds, for a word no passage holds, the most frequent corpus word with the same pinyin."""

    def __init__(
        self,
        vocabulary: Iterable[str] | Callable[[], Mapping[str, str]],
        frequency: Callable[[str], int],
        min_frequency: int = 2,
    ) -> None:
        # The words a typo may be repaired into; or, read on the first typo, each of them -> its sound()
        # worked out beforehand (Tokenizer.repair_sounds keeps them on disk: pypinyin is slow to start).
        self._vocabulary = vocabulary
        self._frequency = frequency
        self._min_frequency = min_frequency
        self._best: dict[str, tuple[int, str]] | None = None  # built on the first typo: most questions have none

    def _table(self) -> dict[str, tuple[int, str]]:
        if self._best is not None:
            return self._best
        vocabulary = self._vocabulary
        sounds: Mapping[str, str | None] = vocabulary() if callable(vocabulary) else dict.fromkeys(vocabulary)
        best: dict[str, tuple[int, str]] = {}
        for word, known_sound in sounds.items():
            if not repairable(word):
                continue
            df = self._frequency(word)
            if df < self._min_frequency:
                continue
            key = sound(word) if known_sound is None else known_sound
            if key not in best or (df, word) > best[key]:
                best[key] = (df, word)
        self._best = best
        return best

    def warm_up(self) -> None:
        """Build the table of sounds now rather than on the first typo."""
        self._table()

    def __call__(self, word: str) -> str | None:
        """The corpus word that sounds like `word`, or None."""
        best = self._table().get(sound(word))
        return best[1] if best and best[1] != word else None
