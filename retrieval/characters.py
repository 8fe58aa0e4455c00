"""How well each of a question's candidate passages holds its characters: BM25 over single characters."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

_HAN = re.compile(r"[\u3400-\u9fff]")


def question_characters(words: Iterable[str]) -> Counter[str]:
    """The Han characters of a question's topic words, each with how often they hold it."""
    return Counter(character for word in words for character in _HAN.findall(word))


def character_scores(
    characters: Counter[str], texts: Sequence[str], among: int | None = None, k1: float = 1.2, b: float = 0.75
) -> list[float]:
    """Each text's BM25 over the question's characters as a share of the best (at most 1).

    The idf, the average length and the best are those of the first `among` texts (all by default): the candidates
    the index found, not the whole corpus, so a character every candidate holds (党 of 党支部 among passages on
    party branches) counts for little, and one that tells them apart for much. Taking them over a fixed first few
    keeps a passage's score the same on every page of results.
    """
    if not characters or not texts or among == 0:
        return [0.0] * len(texts)
    sample = texts[:among] if among is not None else texts
    count = len(sample)
    held = {c: sum(1 for text in sample if c in text) for c in characters}
    idf = {c: math.log(1 + (count - held[c] + 0.5) / (held[c] + 0.5)) for c in characters}
    average = sum(len(text) for text in sample) / count or 1.0
    scores = []
    for text in texts:
        norm = k1 * (1 - b + b * len(text) / average)
        score = 0.0
        for character, asked in characters.items():
            frequency = text.count(character)
            if frequency:
                score += asked * idf[character] * frequency * (k1 + 1) / (frequency + norm)
        scores.append(score)
    best = max(scores[: len(sample)])
    return [min(1.0, score / best) if best > 0 else 0.0 for score in scores]
