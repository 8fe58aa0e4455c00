"""Verdicts calibrated on labelled questions: whether to show excerpts at all, and whether they answer.

Two logistic regressions over the verdict's features, trained by `benchmarks/calibrate.py`. The *confidence* model
says whether the excerpts the rules show for a typed question answer it (trained on the tuning halves' questions
the rules show excerpts for: answered by an excerpt on the page, or not). The *shown* model says whether a typed
question it does not make an answer is about the work, to be shown possibly related excerpts when its top passages
hold enough of it (search.py's floor), or everyday talk to be met with silence (trained on the questions of the
tuning halves the topic model never saw and on the even lines of the topic model's held-out files, whose topic
probabilities are honest). Their thresholds are fixed in `benchmarks/calibrate.py`: 0.7, and 2/3 (the break-even
of an everyday question shown costing two questions about the work left without excerpts). The weights ship in
`retrieval/data/`; every feature is a share, a probability or its log-odds, none grows with the corpus.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CONFIDENCE_MODEL = Path(__file__).parent / "data" / "confidence_model.json"
SHOWN_MODEL = Path(__file__).parent / "data" / "shown_model.json"
MODEL_FORMAT = 2
# What each model reads (search.py's Evidence.features() names each).
CONFIDENCE_FEATURES = (
    "coverage", "known", "domain", "topical", "phrases", "literal", "coverage_known", "words", "unknown",
)
SHOWN_FEATURES = ("topic_logit", "coverage", "known", "domain", "phrases")


@dataclass(frozen=True)
class CalibratedModel:
    """A logistic regression over standardised named features, and the probability from which it says yes."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def __post_init__(self) -> None:
        sizes = {len(self.mean), len(self.scale), len(self.weights)}
        if sizes != {len(self.features)}:
            raise ValueError(f"a model of {len(self.features)} features needs as many numbers, got {sorted(sizes)}")
        numbers = (*self.mean, *self.scale, *self.weights, self.bias, self.threshold)
        if not all(math.isfinite(x) for x in numbers) or min(self.scale) <= 0:
            raise ValueError("a calibrated model's numbers must be finite and its scales positive")

    def probability(self, values: Mapping[str, float]) -> float:
        """The probability of a yes, from the features it reads; 0 when one of them is not a number."""
        z = self.bias + sum(
            w * (values[name] - m) / s
            for name, w, m, s in zip(self.features, self.weights, self.mean, self.scale, strict=True)
        )
        if math.isnan(z):
            return 0.0
        return 1 / (1 + math.exp(-z)) if z > -700 else 0.0

    def says_yes(self, values: Mapping[str, float]) -> bool:
        """Whether the probability reaches the threshold."""
        return self.probability(values) >= self.threshold

    def save(self, path: Path) -> None:
        """Write the model as JSON."""
        # Rounded: sums of floats in the topic model vary in their last bits from run to run.
        value = {"format": MODEL_FORMAT, "features": list(self.features), "mean": _rounded(self.mean),
                 "scale": _rounded(self.scale), "weights": _rounded(self.weights), "bias": round(self.bias, 9),
                 "threshold": round(self.threshold, 9)}
        path.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path, features: Sequence[str]) -> CalibratedModel:
        """Read a model of these features written by save(); a damaged or foreign one raises ValueError naming it."""
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
            if value["format"] != MODEL_FORMAT or tuple(value["features"]) != tuple(features):
                raise ValueError("another format or other features")
            return cls(tuple(features), tuple(value["mean"]), tuple(value["scale"]), tuple(value["weights"]),
                       float(value["bias"]), float(value["threshold"]))
        except (OSError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path.name}: not a calibrated model ({error})") from error


def _rounded(values: Sequence[float]) -> list[float]:
    return [round(float(x), 9) for x in values]


@cache
def bundled_confidence_model() -> CalibratedModel:
    """Whether the excerpts shown answer the question: the model shipped with rectbot."""
    return CalibratedModel.read(CONFIDENCE_MODEL, CONFIDENCE_FEATURES)


@cache
def bundled_shown_model() -> CalibratedModel:
    """Whether a typed question is shown excerpts at all: the model shipped with rectbot."""
    return CalibratedModel.read(SHOWN_MODEL, SHOWN_FEATURES)
