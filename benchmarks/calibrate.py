"""Train the confidence model on the tuning halves and measure it on the other questions.

    python benchmarks/calibrate.py [--pages DIR] [--check]

Over the seeds plus the shared pages, every typed question (not pasted text, which the thresholds alone judge)
the rules let excerpts be shown for is an example: answered
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
from pathlib import Path

import numpy as np

from rectbot.retrieval.calibration import CONFIDENCE_MODEL, FEATURES, ConfidenceModel
from rectbot.retrieval.corpus import Corpus
from rectbot.retrieval.search import Confidence, SearchParams, Searcher
from rectbot.retrieval.tokenizer import Tokenizer

from quality import PAGES, ROOT, questions

TUNING = ("tune", "fresh", "fresh2_tune", "fresh4_tune", "fresh5_tune")
RIDGE = 0.01  # L2 penalty on the standardised weights
STEPS = 5000
RATE = 0.1
CHECK_TOLERANCE = 1e-6
# The threshold maximises, on the tuning halves, the confident answers that answer minus this many times those that
# do not (a wrong page, or a question no report answers): a confident wrong answer misleads; a right one marked
# "possibly related" is still shown.
WRONG_COST = 2.0


async def examples(pages: Path) -> list[tuple[str, list[float], str, bool]]:
    """(half, features, kind, confident by the thresholds) of every question shown excerpts; kind is answered,
    wrong or unanswerable."""
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = await Corpus.open(Path(tmp) / "db" / "rectbot.sqlite3", seeds=ROOT / "seeds",
                                   tokenizer=Tokenizer(cache_dir=Path(tmp) / "jieba"))
        await corpus.ingest([pages])
        searcher = Searcher.over(corpus, SearchParams(calibrated=False))
        for question in questions("all", True):
            if question.abstain == "offtopic":
                continue  # everyday talk is the rules' and the topic model's to silence
            result = await searcher.search(question.q, k=3)
            if result.confidence is Confidence.OFF_TOPIC or result.evidence is None or result.evidence.pasted:
                continue  # nothing shown; or pasted text, which the rules alone judge
            if question.abstain == "domain":
                kind = "unanswerable"
            else:
                kind = "answered" if any(question.is_good(hit.text) for hit in result.shown) else "wrong"
            found.append((question.half or "", result.evidence.features(), kind,
                          result.confidence is Confidence.CONFIDENT))
        await corpus.close()
    return found


def train(rows: list[tuple[str, list[float], str, bool]]) -> ConfidenceModel:
    """Logistic regression by gradient descent on the tuning halves, and its threshold (see WRONG_COST)."""
    tuning = [row for row in rows if row[0] in TUNING]
    x = np.array([features for _, features, _, _ in tuning], dtype=np.float64)
    y = np.array([kind == "answered" for _, _, kind, _ in tuning], dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    weights, bias = np.zeros(len(FEATURES)), 0.0
    for _ in range(STEPS):
        p = 1 / (1 + np.exp(-(z @ weights + bias)))
        weights -= RATE * (z.T @ (p - y) / len(y) + RIDGE * weights)
        bias -= RATE * float((p - y).mean())
    model = ConfidenceModel(tuple(mean), tuple(scale), tuple(weights), float(bias), 1.0)
    scored = [(model.probability(f), kind == "answered") for _, f, kind, _ in tuning]

    def worth(threshold: float) -> float:
        return sum(1.0 if answered else -WRONG_COST for p, answered in scored if p >= threshold)

    threshold = max(sorted({p for p, _ in scored}, reverse=True), key=worth)  # the highest of equal worth
    return ConfidenceModel(model.mean, model.scale, model.weights, model.bias, float(threshold))


def report(model: ConfidenceModel, rows: list[tuple[str, list[float], str, bool]]) -> None:
    """Confident answers of each kind, thresholds against the model, on the tuning and the other halves."""
    for name, chosen in (("tuning halves", True), ("other halves", False)):
        part = [row for row in rows if (row[0] in TUNING) == chosen]
        by_rules = Counter(kind for _, _, kind, confident in part if confident)
        by_model = Counter(kind for _, f, kind, _ in part if model.confident(f))
        print(f"{name}: confident by the thresholds {dict(by_rules)}; by the model {dict(by_model)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=Path, default=PAGES)
    parser.add_argument("--check", action="store_true", help="compare with the shipped model; write nothing")
    args = parser.parse_args()
    rows = asyncio.run(examples(args.pages))
    model = train(rows)
    if args.check:
        shipped = ConfidenceModel.read(CONFIDENCE_MODEL)
        worst = max(abs(shipped.probability(f) - model.probability(f)) for _, f, _, _ in rows)
        worst = max(worst, abs(shipped.threshold - model.threshold))
        print(f"largest difference from the shipped model: {worst:.2e}")
        sys.exit(0 if worst < CHECK_TOLERANCE else 1)
    model.save(CONFIDENCE_MODEL)
    print(f"trained on {sum(row[0] in TUNING for row in rows)} questions; threshold {model.threshold:.3f}")
    print("weights:", {name: round(float(w), 2) for name, w in zip(FEATURES, model.weights)})
    report(model, rows)


if __name__ == "__main__":
    main()
