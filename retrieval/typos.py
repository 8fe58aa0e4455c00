"""Homophone repair: pinyin input's typos (书计 for 书记) mapped to the corpus word that sounds the same."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from functools import cache, lru_cache

from rectbot.retrieval.text import is_han


@lru_cache(maxsize=16384)
def sound(word: str) -> str:
    """The toneless pinyin of a word, syllables joined by spaces (书记 -> "shu ji"); remembered, as questions
    repeat words and pypinyin takes tens of microseconds a word."""
    from pypinyin import Style, lazy_pinyin  # 0.4 s to import: only questions with a typo, and warm-up, need it

    return " ".join(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))


@cache
def _homophones() -> dict[str, frozenset[str]]:
    """Toneless syllable -> the characters with a reading of that sound (any of their readings), from pypinyin's
    table of 42,000 characters (built once, in about 0.1 s)."""
    from pypinyin.pinyin_dict import pinyin_dict

    by_sound: dict[str, set[str]] = {}
    for codepoint, readings in pinyin_dict.items():
        for reading in readings.split(","):
            # lǜ -> lv, as Style.NORMAL writes it; the tone marks are combining characters once decomposed.
            plain = "".join(c for c in unicodedata.normalize("NFD", reading.replace("ü", "v")) if c.isascii())
            by_sound.setdefault(plain, set()).add(chr(codepoint))
    return {key: frozenset(chars) for key, chars in by_sound.items()}


# A word holding a function word's character is more often jieba gluing words together (证在 of 党员证在哪办, 谁管 of
# 护照谁管, 要治 of 到底要治成啥样) than a typo: such a word is repaired only into a party-building word.
_GLUE_CHARACTERS = frozenset(
    "在里跟和与同把被给让从到向对为于以而或及比按由"  # prepositions and conjunctions
    "的了着过地得吗呢吧啊呀嘛么"  # particles
    "我你他她它们这那谁啥咋怎哪什个"  # pronouns and question words
    "要会能该就都也还又很太更最不没别才再是"  # modal verbs and adverbs
)


# How many times likelier than the typed text an everyday word must be to replace it (站旗 2 -> 战旗 16).
LIKELIER = 4


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
        dictionary: Callable[[str], bool] | None = None,
        likelihood: Callable[[str], int] | None = None,
        min_everyday_frequency: int = 2,
    ) -> None:
        # The words a typo may be repaired into; or, read on the first typo, each of them -> its sound()
        # worked out beforehand (Tokenizer.repair_sounds keeps them on disk: pypinyin is slow to start).
        self._vocabulary = vocabulary
        self._frequency = frequency
        self._min_frequency = min_frequency
        self._best: dict[str, tuple[int, str]] | None = None  # built on the first typo: most questions have none
        # Any other dictionary word the corpus holds in this many passages, one character apart (站旗 -> 战旗):
        # found from the typed word, so no table of the whole vocabulary is built, whatever the corpus's size.
        # Such a word must be far likelier, to jieba's dictionary, than what was typed read as its own words: 事多
        # (things are many) is 事 + 多, common words both, and no typo of 十多.
        self._dictionary = dictionary
        self._likelihood = likelihood
        self._min_everyday_frequency = min_everyday_frequency

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
        """Build the tables of sounds now rather than on the first typo."""
        self._table()
        if self._dictionary is not None:
            _homophones()

    def __call__(self, word: str) -> str | None:
        """The party-building word that sounds like `word`; else the most frequent dictionary word of the corpus that
        sounds like it and differs in one character; else None."""
        key = sound(word)
        best = self._table().get(key)
        if best and best[1] != word:
            return best[1]
        if self._dictionary is None or _GLUE_CHARACTERS.intersection(word):
            return None
        candidate = self._one_character_apart(word, key)
        if candidate is None or self._likelihood is None:
            return candidate
        return candidate if self._likelihood(candidate) >= LIKELIER * self._likelihood(word) else None

    def _one_character_apart(self, word: str, key: str) -> str | None:
        """The most frequent dictionary word the corpus holds, one character changed for one that sounds the same."""
        assert self._dictionary is not None
        syllables = key.split(" ")
        if len(syllables) != len(word):
            return None
        homophones = _homophones()
        found: list[tuple[int, str]] = []
        for i, syllable in enumerate(syllables):
            for char in homophones.get(syllable, ()):
                if char == word[i]:
                    continue
                candidate = word[:i] + char + word[i + 1 :]
                if not self._dictionary(candidate) or sound(candidate) != key:
                    continue
                df = self._frequency(candidate)
                if df >= self._min_everyday_frequency:
                    found.append((df, candidate))
        return max(found)[1] if found else None
