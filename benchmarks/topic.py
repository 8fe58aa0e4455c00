"""Train the question-topic model and measure it on held-out questions.

    python benchmarks/topic.py [--check]

Trains on tests/data/topic/train_*.txt (short questions and pasted text) plus the questions of the tuning halves
TOPIC_HALVES of tests/data/questions/ (off-topic abstain questions as "not about the work", everything else as
"about it"; not those nearly copying a question or line it must not know: held out, the shown model's, eval),
writes retrieval/data/topic_model.json, and prints how many of the held-out tests/data/topic/eval_*.txt
questions each threshold keeps and catches.
--check writes nothing: it says whether the shipped model says what a retrained one says of every question.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rectbot.retrieval.search import SearchParams
from rectbot.retrieval.tokenizer import Tokenizer
from rectbot.retrieval.text import normalize_for_phrase_match
from rectbot.retrieval.thesaurus import data_lines
from rectbot.retrieval.topic import TOPIC_MODEL, TopicModel

ROOT = Path(__file__).resolve().parent.parent
TOPIC_DATA = ROOT / "tests" / "data" / "topic"
QUESTIONS = ROOT / "tests" / "data" / "questions"
TRAIN_ABOUT = (
    "train_domain.txt", "train_domain_2.txt", "train_domain_3.txt", "train_domain_4.txt", "train_domain_5.txt",
    "train_domain_6.txt", "train_domain_7.txt", "train_domain_8.txt", "train_domain_9.txt", "train_domain_10.txt",
    "train_domain_11.txt", "train_pasted_domain.txt",
)
TRAIN_NOT_ABOUT = (
    "train_offtopic.txt", "train_offtopic_2.txt", "train_offtopic_3.txt", "train_offtopic_4.txt",
    "train_offtopic_5.txt", "train_offtopic_6.txt", "train_offtopic_7.txt", "train_offtopic_8.txt",
    "train_pasted_offtopic.txt",
)
EVAL_ABOUT = (
    "eval_domain.txt", "eval_domain_2.txt", "eval_domain_4.txt", "eval_domain_5.txt", "eval_domain_6.txt",
    "eval_domain_7.txt",
)
EVAL_NOT_ABOUT = (
    "eval_offtopic.txt", "eval_offtopic_2.txt", "eval_offtopic_4.txt", "eval_offtopic_5.txt", "eval_offtopic_6.txt",
    "eval_offtopic_7.txt",
)
# The tuning halves whose questions it learns from; the shown model learns from the others (benchmarks/calibrate.py),
# whose topic probabilities must be a new question's.
TOPIC_HALVES = ("tune", "fresh6_tune", "fresh7_tune", "fresh8_tune", "fresh9_tune", "fresh10_tune")
CHECK_TOLERANCE = 0.005  # largest probability difference allowed between the shipped model and a retrained one


def training_set() -> tuple[list[str], list[int]]:
    """Questions and labels (1: about party-building work) to train on; never a held-out half or the eval files."""
    about, not_about = _lines(TRAIN_ABOUT), _lines(TRAIN_NOT_ABOUT)
    every = [question for path in sorted(QUESTIONS.glob("*.json"))
             for question in json.loads(path.read_text(encoding="utf-8"))]
    # Whatever must read as new to the model: held-out questions, the shown model's questions and the eval lines.
    unseen = {normalize_for_phrase_match(q["q"]) for q in every if q["half"] not in TOPIC_HALVES}
    unseen |= {normalize_for_phrase_match(line) for line in _lines((*EVAL_ABOUT, *EVAL_NOT_ABOUT))}
    chosen = [q for q in every if q["half"] in TOPIC_HALVES]
    copied = near_copies({normalize_for_phrase_match(q["q"]) for q in chosen}, unseen)
    for question in chosen:
        if normalize_for_phrase_match(question["q"]) not in copied:
            (not_about if question.get("abstain") == "offtopic" else about).append(question["q"])
    return about + not_about, [1] * len(about) + [0] * len(not_about)


def near_copies(texts: set[str], others: set[str]) -> set[str]:
    """The texts that are one of the others or nearly (see nearly())."""
    pairs = {text: character_pairs(text) for text in texts | others}
    return {text for text in texts if text in others or any(nearly(text, other, pairs.__getitem__) for other in others)}


def character_pairs(text: str) -> set[str]:
    """Every pair of neighbouring characters."""
    return {text[i : i + 2] for i in range(len(text) - 1)}


def nearly(one: str, other: str, pairs: Callable[[str], set[str]] = character_pairs) -> bool:
    """Two normalised lines that differ by a word or two: bigram Jaccard >= 0.6 within 4 characters of length, or
    at most two edits between lines of 5 or more characters."""
    a, b = pairs(one), pairs(other)
    if abs(len(one) - len(other)) <= 4 and min(len(a), len(b)) >= 4 and len(a & b) >= 0.6 * len(a | b):
        return True
    return min(len(one), len(other)) >= 5 and abs(len(one) - len(other)) <= 2 and _edits_at_most_two(one, other)


def _edits_at_most_two(one: str, other: str) -> bool:
    """Whether two texts are at most two insertions, deletions or substitutions apart."""
    previous = list(range(len(other) + 1))
    for i, char in enumerate(one, start=1):
        current = [i]
        for j, theirs in enumerate(other, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != theirs)))
        if min(current) > 2:
            return False
        previous = current
    return previous[-1] <= 2


def _lines(names: tuple[str, ...]) -> list[str]:
    """The questions of these files of tests/data/topic/, in order."""
    return [q for name in names for q in data_lines(TOPIC_DATA / name)]


def held_out() -> tuple[list[str], list[str]]:
    """The eval questions about the work and not about it: never trained on."""
    return _lines(EVAL_ABOUT), _lines(EVAL_NOT_ABOUT)


def accuracy(
    model: TopicModel, words: Tokenizer, about: list[str], not_about: list[str], below: float
) -> tuple[float, float]:
    """Share of questions about the work kept (probability >= below) and of the others caught (< below)."""
    kept = sum(model.probability(q, words) >= below for q in about)
    caught = sum(model.probability(q, words) < below for q in not_about)
    return kept / max(1, len(about)), caught / max(1, len(not_about))


def largest_difference(model: TopicModel, other: TopicModel, tokenizer: Tokenizer) -> float:
    """How far apart two models' probabilities get over every training and eval question (weights may differ a
    little on another CPU's floating point; what they say of questions should not)."""
    questions = training_set()[0] + [q for part in held_out() for q in part]
    return max(abs(model.probability(q, tokenizer) - other.probability(q, tokenizer)) for q in questions)


def train(tokenizer: Tokenizer) -> TopicModel:
    """The model the shipped data gives."""
    questions, labels = training_set()
    return TopicModel.fit(questions, labels, tokenizer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the shipped model; write nothing")
    args = parser.parse_args()
    tokenizer = Tokenizer()
    started = time.perf_counter()
    model = train(tokenizer)
    print(f"trained on {len(training_set()[0])} questions, {len(model.weights)} features, "
          f"in {time.perf_counter() - started:.1f} s")
    if args.check:
        worst = largest_difference(model, TopicModel.read(TOPIC_MODEL), tokenizer)
        print(f"largest probability difference from the shipped model: {worst:.2e}")
        sys.exit(0 if worst < CHECK_TOLERANCE else 1)
    model.save(TOPIC_MODEL)
    about, not_about = held_out()
    params = SearchParams()
    print("held out (tests/data/topic/eval_*.txt), the model alone:")
    for below in sorted({0.02, 0.05, 0.1, 0.2, 0.3, 0.5, params.topic_veto, params.topic_related}):
        kept, caught = accuracy(model, tokenizer, about, not_about, below)
        print(f"  below {below:.2f}: about the work kept {kept:.2f} ({len(about)}), others caught {caught:.2f} "
              f"({len(not_about)})")


if __name__ == "__main__":
    main()
