"""Confidence calibrated on labelled questions: how likely the top passages are to answer a question.

The verdict's hand-set thresholds (coverage, phrases, literal) each look at one feature; a logistic regression over
all of them, trained by `benchmarks/calibrate.py` on the tuning halves of `tests/data/questions/` (answered by an
excerpt on the page, or not: a wrong page, or a question no report answers), weighs them together. Its threshold
maximises, on those questions, the confident answers that answer minus twice those that do not. The weights ship in
`retrieval/data/confidence_model.json`; every feature is a share or a probability, none grows with the corpus.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CONFIDENCE_MODEL = Path(__file__).parent / "data" / "confidence_model.json"
MODEL_FORMAT = 2
# What the model reads, in order (search.py's Evidence holds each).
FEATURES = ("coverage", "known", "domain", "topical", "phrases", "literal", "coverage_known", "words", "unknown")


@dataclass(frozen=True)
class ConfidenceModel:
    """A logistic regression over standardised features, and the probability from which an answer is confident."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def __post_init__(self) -> None:
        sizes = {len(self.mean), len(self.scale), len(self.weights)}
        if sizes != {len(FEATURES)}:
            raise ValueError(f"a confidence model needs {len(FEATURES)} features, got {sorted(sizes)}")
        numbers = (*self.mean, *self.scale, *self.weights, self.bias, self.threshold)
        if not all(math.isfinite(x) for x in numbers) or min(self.scale) <= 0:
            raise ValueError("a confidence model's numbers must be finite and its scales positive")

    def probability(self, features: Sequence[float]) -> float:
        """The probability that the top passages answer the question; 0 when a feature is not a number."""
        z = self.bias + sum(
            w * (x - m) / s for w, x, m, s in zip(self.weights, features, self.mean, self.scale, strict=True)
        )
        if math.isnan(z):
            return 0.0
        return 1 / (1 + math.exp(-z)) if z > -700 else 0.0

    def confident(self, features: Sequence[float]) -> bool:
        """Whether the answer is likely enough to be given as one."""
        return self.probability(features) >= self.threshold

    def save(self, path: Path) -> None:
        """Write the model as JSON."""
        # Rounded: sums of floats in the topic model vary in their last bits from run to run.
        value = {"format": MODEL_FORMAT, "features": list(FEATURES), "mean": _rounded(self.mean),
                 "scale": _rounded(self.scale), "weights": _rounded(self.weights), "bias": round(self.bias, 9),
                 "threshold": round(self.threshold, 9)}
        path.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> ConfidenceModel:
        """Read a model written by save(); a damaged or foreign file raises ValueError naming it."""
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
            if value["format"] != MODEL_FORMAT or tuple(value["features"]) != FEATURES:
                raise ValueError("another format or other features")
            return cls(tuple(value["mean"]), tuple(value["scale"]), tuple(value["weights"]), float(value["bias"]),
                       float(value["threshold"]))
        except (OSError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path.name}: not a confidence model ({error})") from error


def _rounded(values: Sequence[float]) -> list[float]:
    return [round(float(x), 9) for x in values]


@cache
def bundled_confidence_model() -> ConfidenceModel:
    """The model shipped with rectbot."""
    return ConfidenceModel.read(CONFIDENCE_MODEL)
