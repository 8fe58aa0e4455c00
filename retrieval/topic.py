"""Is a question about party-building work at all? A small logistic regression over its characters and words.

The verdict's word statistics cannot tell a question that *uses* the reports' everyday words
(你是谁, 冰箱哪个牌子省电, 书记叫我下午去开会，我穿啥衣服好看) from one *about* the work; a
model trained on labelled questions can. Its features are the question's characters, character
bigrams, latin words, jieba words, and how many party-building words it holds. Trained by
`benchmarks/topic.py` from `tests/data/topic/`; the weights ship in `retrieval/data/topic_model.json`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from rectbot.retrieval.text import HAN_RUN, normalize

TOPIC_MODEL = Path(__file__).parent / "data" / "topic_model.json"
MODEL_FORMAT = 1
_LATIN_WORD = re.compile(r"[a-z]+")


class WordSource(Protocol):
    """What features need from the tokenizer."""

    def cut(self, normalized: str) -> list[str]:
        """jieba's precise cut of normalised text."""

    def is_domain_word(self, word: str) -> bool:
        """Whether a word is, holds, or is part of a party-building word."""


def topic_features(question: str, words: WordSource) -> set[str]:
    """The features a question is judged by: c:字 b:字字 l:latin w:word d:<party-building words, 0-3>."""
    text = normalize(question)
    features: set[str] = set()
    for run in HAN_RUN.findall(text):
        features.update(f"c:{ch}" for ch in run)
        features.update(f"b:{run[i : i + 2]}" for i in range(len(run) - 1))
    features.update(f"l:{word}" for word in _LATIN_WORD.findall(text))
    cut = [word for word in words.cut(text) if word.strip()]
    features.update(f"w:{word}" for word in cut)
    features.add(f"d:{min(sum(map(words.is_domain_word, cut)), 3)}")
    return features


@dataclass(frozen=True)
class TopicModel:
    """Weights of a logistic regression: P(about party-building work | features)."""

    weights: dict[str, float]
    bias: float

    def probability(self, question: str, words: WordSource) -> float:
        """How likely the question is about party-building work (0 to 1)."""
        score = self.bias + sum(self.weights.get(feature, 0.0) for feature in topic_features(question, words))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, score))))

    @classmethod
    def read(cls, path: Path) -> TopicModel:
        """Load weights written by save()."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path}: topic model format {data.get('format')!r}, expected {MODEL_FORMAT}")
        weights = {k: float(v) for k, v in data["weights"].items()}
        bias = float(data["bias"])
        if not all(map(math.isfinite, [bias, *weights.values()])):
            raise ValueError(f"{path}: topic model weights must be finite numbers")
        return cls(weights=weights, bias=bias)

    def save(self, path: Path) -> None:
        """Write the weights as JSON, features sorted, six decimals (small enough to review in a diff)."""
        weights = {k: round(v, 6) for k, v in sorted(self.weights.items()) if round(v, 6) != 0}
        data = {"format": MODEL_FORMAT, "bias": round(self.bias, 6), "weights": weights}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")

    @classmethod
    def fit(
        cls,
        questions: Sequence[str],
        labels: Sequence[int],
        words: WordSource,
        l2: float = 0.03,
        iterations: int = 600,
    ) -> TopicModel:
        """Train on questions labelled 1 (about the work) or 0 (not): full-batch Adam on the L2-penalised log loss."""
        import numpy as np  # only training needs it

        if len(questions) != len(labels) or not questions:
            raise ValueError("need as many labels as questions, and at least one")
        rows = [topic_features(question, words) for question in questions]
        vocabulary = {feature: i for i, feature in enumerate(sorted(set().union(*rows)))}
        # Each question holds a few dozen of the thousands of features: keep the matrix as (row, feature) pairs
        # and multiply with bincount, not as a dense array of rows x features.
        row_of = np.repeat(np.arange(len(rows)), [len(features) for features in rows])
        # Sorted: a set's order changes between processes, and with it the last bits of bincount's sums.
        feature_of = np.fromiter((vocabulary[f] for features in rows for f in sorted(features)), dtype=np.int64)
        y = np.asarray(labels, dtype=float)
        n, size = len(y), len(vocabulary)
        theta = np.zeros(size + 1)  # weights, then the bias
        first, second = np.zeros_like(theta), np.zeros_like(theta)
        step, beta1, beta2 = 0.025, 0.9, 0.999
        for t in range(1, iterations + 1):
            margin = np.bincount(row_of, weights=theta[feature_of], minlength=n) + theta[-1]
            error = 1.0 / (1.0 + np.exp(-margin)) - y
            spread = np.bincount(feature_of, weights=error[row_of], minlength=size)
            gradient = np.append(spread + l2 * theta[:-1], np.sum(error)) / n
            first = beta1 * first + (1 - beta1) * gradient
            second = beta2 * second + (1 - beta2) * gradient**2
            theta -= step * (first / (1 - beta1**t)) / (np.sqrt(second / (1 - beta2**t)) + 1e-8)
        features = sorted(vocabulary, key=vocabulary.__getitem__)
        return cls(weights=dict(zip(features, theta[:-1].tolist(), strict=True)), bias=float(theta[-1]))


@cache
def bundled_topic_model() -> TopicModel:
    """The model shipped with rectbot."""
    return TopicModel.read(TOPIC_MODEL)
