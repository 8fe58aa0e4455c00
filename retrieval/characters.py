"""How well each of a question's candidate passages holds its characters: BM25 over single characters."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from rectbot.retrieval.index import idf_lucene
from rectbot.retrieval.text import HAN

_HAN = re.compile(f"[{HAN}]")


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
    count = len(texts) if among is None else min(among, len(texts))
    frequencies = [{c: text.count(c) for c in characters} for text in texts]
    idf = {c: idf_lucene(sum(1 for held in frequencies[:count] if held[c]), count) for c in characters}
    average = sum(len(text) for text in texts[:count]) / count or 1.0
    scores = []
    for text, held in zip(texts, frequencies, strict=True):
        norm = k1 * (1 - b + b * len(text) / average)
        scores.append(sum(
            asked * idf[c] * held[c] * (k1 + 1) / (held[c] + norm) for c, asked in characters.items() if held[c]
        ))
    best = max(scores[:count])
    return [min(1.0, score / best) if best > 0 else 0.0 for score in scores]
