"""Train the confidence model on the tuning halves and measure it on the other questions.

    python benchmarks/calibrate.py [--pages DIR] [--check]

Over the seeds alone and over the seeds plus the shared pages, every typed question (not pasted text, which the
thresholds alone judge) the rules let excerpts be shown for is an example: answered
(an answerable question with a good excerpt among the three shown) or not (a wrong page, or an in-domain question
no report answers). A logistic regression over the verdict's features (retrieval/calibration.py) is trained on
the tuning halves (tune, fresh, fresh2_tune, fresh4_tune, fresh5_tune); its threshold is the probability that
maximises, on them, the confident answers that answer minus twice those that do not. Writes
retrieval/data/confidence_model.json and prints, for the tuning and the other halves, how many answers of each
kind each verdict makes confident. --check writes nothing: it says whether the shipped model is what training
gives.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from rectbot.retrieval.calibration import CONFIDENCE_MODEL, FEATURES, ConfidenceModel
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.search import Confidence, SearchParams, Searcher
from rectbot.retrieval.text import normalize_for_phrase_match
from rectbot.retrieval.tokenizer import Tokenizer

from quality import PAGES, ROOT, questions

TUNING = ("tune", "fresh", "fresh2_tune", "fresh4_tune", "fresh5_tune")
RIDGE = 0.01  # L2 penalty on the standardised weights
STEPS = 5000
RATE = 0.1
CHECK_TOLERANCE = 1e-4  # probabilities, and the threshold, may differ in their last bits on another machine
# The threshold maximises, on the tuning halves, the confident answers that answer minus this many times those that
# do not (a wrong page, or a question no report answers): a confident wrong answer misleads; a right one marked
# "possibly related" is still shown.
WRONG_COST = 2.0


class Kind(StrEnum):
    """What the excerpts shown for a question are."""

    ANSWERED = "answered"  # a good excerpt among the three
    WRONG = "wrong"  # an answerable question, none of its excerpts good
    UNANSWERABLE = "unanswerable"  # an in-domain question no report answers


@dataclass(frozen=True)
class Example:
    """One question shown excerpts: its half, the verdict's features, what was shown, and the thresholds' verdict."""

    half: str
    features: list[float]
    kind: Kind
    confident_by_rules: bool

    @property
    def tuning(self) -> bool:
        return self.half in TUNING


async def examples(pages: Path) -> list[Example]:
    """Over the seeds alone and over the seeds plus the pages, every typed question the rules show excerpts for that
    is not about a place or year its top documents lack (never confident); a question outside the tuning halves
    typed word for word as one in them is left out."""
    tuning_texts = {normalize_for_phrase_match(q.q) for q in questions("all", True) if q.half in TUNING}
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = Tokenizer(cache_dir=Path(tmp) / "jieba")
        for with_pages in (False, True):
            corpus = await Corpus.open(Path(tmp) / f"db{int(with_pages)}" / "rectbot.sqlite3", seeds=ROOT / "seeds",
                                       tokenizer=tokenizer)
            if with_pages:
                await corpus.ingest([pages])
            searcher = Searcher.over(corpus, SearchParams(calibrated=False))
            for question in questions("all", with_pages):
                if question.abstain == "offtopic":
                    continue  # everyday talk is the rules' and the topic model's to silence
                if question.half not in TUNING and normalize_for_phrase_match(question.q) in tuning_texts:
                    continue
                result = await searcher.search(question.q, k=3)
                evidence = result.evidence
                if (result.confidence is Confidence.OFF_TOPIC or evidence is None or evidence.pasted
                        or not evidence.about_it):
                    continue  # nothing shown; pasted text, which the thresholds alone judge; or never confident
                if question.abstain == "domain":
                    kind = Kind.UNANSWERABLE
                elif any(question.is_good(hit.text) for hit in result.shown):
                    kind = Kind.ANSWERED
                else:
                    kind = Kind.WRONG
                found.append(Example(question.half or "", evidence.features(), kind,
                                     result.confidence is Confidence.CONFIDENT))
            await corpus.close()
    return found


def train(rows: list[Example]) -> ConfidenceModel:
    """Logistic regression by gradient descent on the tuning halves, and its threshold (see WRONG_COST)."""
    tuning = [row for row in rows if row.tuning]
    x = np.array([row.features for row in tuning], dtype=np.float64)
    y = np.array([row.kind is Kind.ANSWERED for row in tuning], dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    weights, bias = np.zeros(len(FEATURES)), 0.0
    for _ in range(STEPS):
        p = 1 / (1 + np.exp(-(z @ weights + bias)))
        weights -= RATE * (z.T @ (p - y) / len(y) + RIDGE * weights)
        bias -= RATE * float((p - y).mean())
    model = ConfidenceModel(tuple(mean), tuple(scale), tuple(weights), float(bias), 1.0)
    scored = sorted(((model.probability(row.features), row.kind is Kind.ANSWERED) for row in tuning), reverse=True)

    def worth(at: int) -> float:  # the examples down to `at` confident
        return sum(1.0 if answered else -WRONG_COST for _, answered in scored[: at + 1])

    best = max(range(len(scored)), key=lambda at: (worth(at), -at))  # the highest of equal worth
    below = scored[best + 1][0] if best + 1 < len(scored) else 0.0
    threshold = (scored[best][0] + below) / 2  # halfway to the next example: no tuning question sits on it
    return ConfidenceModel(model.mean, model.scale, model.weights, model.bias, float(threshold))


def report(model: ConfidenceModel, rows: list[Example]) -> None:
    """Confident answers of each kind, thresholds against the model, on the tuning and the other halves."""
    for name, chosen in (("tuning halves", True), ("other halves", False)):
        part = [row for row in rows if row.tuning == chosen]
        by_rules = Counter(str(row.kind) for row in part if row.confident_by_rules)
        by_model = Counter(str(row.kind) for row in part if model.confident(row.features))
        print(f"{name} ({len(part)} questions): confident by the thresholds {dict(by_rules)}; "
              f"by the model {dict(by_model)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=Path, default=PAGES)
    parser.add_argument("--check", action="store_true", help="compare with the shipped model; write nothing")
    args = parser.parse_args()
    rows = asyncio.run(examples(args.pages))
    model = train(rows)
    if args.check:
        shipped = ConfidenceModel.read(CONFIDENCE_MODEL)
        worst = max(abs(shipped.probability(row.features) - model.probability(row.features)) for row in rows)
        worst = max(worst, abs(shipped.threshold - model.threshold))
        print(f"largest difference from the shipped model: {worst:.2e}")
        sys.exit(0 if worst < CHECK_TOLERANCE else 1)
    model.save(CONFIDENCE_MODEL)
    print(f"trained on {sum(row.tuning for row in rows)} questions; threshold {model.threshold:.3f}")
    print("weights:", {name: round(float(w), 2) for name, w in zip(FEATURES, model.weights)})
    report(model, rows)


if __name__ == "__main__":
    main()
