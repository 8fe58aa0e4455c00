"""The search backend: a Query in, the best passages out, from three BM25 fields combined."""

from __future__ import annotations

import fcntl
import logging
import shutil
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

from retrieval.index import IndexParams, PassageIndex, StaleIndex
from retrieval.query import Query
from retrieval.tokenizer import PassageTokens, bigrams

logger = logging.getLogger(__name__)

FIELDS = ("words", "grams", "context")


class Candidate(NamedTuple):
    """A ranked passage: the combined score and what each field gave (each as a share of that field's best)."""

    passage_id: int
    document_id: int
    score: float
    words: float
    grams: float
    context: float


class SearchBackend(Protocol):
    """What the searcher needs from an index, local or remote."""

    def __len__(self) -> int:
        """Return the number of passages searched."""

    def document_frequency(self, word: str) -> int:
        """Return how many passages hold the word."""

    def context_frequency(self, word: str) -> int:
        """Return how many documents hold the word in their title, region, source or opening."""

    def vocabulary(self) -> Iterable[str]:
        """Return every word some passage holds."""

    def search(self, query: Query, k: int, allowed: Collection[int] | None = None) -> list[Candidate]:
        """Return the k best passages (of documents in `allowed`, when given), best first."""


@dataclass(frozen=True)
class FieldWeights:
    """How the fields add up; each field's scores are first divided by its best score for the question."""

    words: float = 1.0  # jieba words and their parts
    grams: float = 0.6  # overlapping character pairs: robust to segmentation and to names jieba cuts differently
    context: float = 0.15  # the passage's document: title, region, source, opening lines


class SearchIndex:
    """Passages indexed three ways (words, character bigrams, their document's context), searched together."""

    def __init__(
        self,
        words: PassageIndex,
        grams: PassageIndex,
        context: PassageIndex,
        documents: np.ndarray,
        weights: FieldWeights = FieldWeights(),
    ) -> None:
        if not np.array_equal(words.passage_ids, grams.passage_ids) or len(documents) != len(words):
            raise StaleIndex("the word and bigram indexes hold different passages")
        self.words = words
        self.grams = grams
        self.context = context
        self.documents = documents  # document id of each passage, in index order
        self.weights = weights
        # Position in the context index (documents by ascending id) of each passage's document, -1 if absent.
        context_ids = context.passage_ids
        positions = np.minimum(np.searchsorted(context_ids, documents), max(len(context_ids) - 1, 0))
        found = len(context_ids) > 0 and context_ids[positions] == documents
        self._context_of = np.where(found, positions, -1)
        self.fingerprint = words.fingerprint

    def __len__(self) -> int:
        """Return the number of passages searched."""
        return len(self.words)

    def document_frequency(self, word: str) -> int:
        """Return how many passages hold the word."""
        return self.words.document_frequency(word)

    def context_frequency(self, word: str) -> int:
        """Return how many documents hold the word in their title, region, source or opening."""
        return self.context.document_frequency(word)

    def vocabulary(self) -> Iterable[str]:
        """Return every word some passage holds."""
        return self.words.vocabulary()

    def search(self, query: Query, k: int, allowed: Collection[int] | None = None) -> list[Candidate]:
        """Return the k best passages (of documents in `allowed`, when given), best first, ties by passage id."""
        word_weights = _weights(query.words, query.expansions)
        gram_weights = _weights(query.grams, {g: w for token, w in query.expansions.items() for g in bigrams(token)})
        words = _share_of_best(self.words.weighted_scores(word_weights), len(self))
        grams = _share_of_best(self.grams.weighted_scores(gram_weights), len(self))
        own = self.weights.words * words + self.weights.grams * grams
        matched = own > 0
        if allowed is not None:
            matched &= np.isin(self.documents, np.fromiter(allowed, dtype=np.int64))
        candidates = np.flatnonzero(matched)
        if k <= 0 or len(candidates) == 0:
            return []
        context_scores = self.context.weighted_scores(word_weights)
        context = np.zeros(len(candidates))
        if context_scores is not None and context_scores.max() > 0:
            positions = self._context_of[candidates]
            context = np.where(positions >= 0, context_scores[positions] / context_scores.max(), 0.0)
        combined = own[candidates] + self.weights.context * context
        ids = self.words.passage_ids[candidates]
        order = np.lexsort((ids, -combined))[:k]
        return [
            Candidate(int(ids[i]), int(self.documents[candidates[i]]), float(combined[i]),
                      float(words[candidates[i]]), float(grams[candidates[i]]), float(context[i]))
            for i in order
        ]

    @classmethod
    def build(
        cls,
        passages: Sequence[tuple[int, int, PassageTokens]],
        documents: Sequence[tuple[int, list[str]]],
        params: IndexParams,
        *,
        fingerprint: str,
        versions: Mapping[str, str],
    ) -> SearchIndex:
        """Index passages (id, document id, tokens) and their documents' context (id, words)."""
        ids = [passage_id for passage_id, _, _ in passages]
        build = lambda ids_, tokens: PassageIndex.build(ids_, tokens, params, fingerprint=fingerprint, versions=versions)  # noqa: E731
        return cls(
            build(ids, [tokens.words for _, _, tokens in passages]),
            build(ids, [tokens.grams for _, _, tokens in passages]),
            build([doc_id for doc_id, _ in documents], [words for _, words in documents]),
            np.asarray([doc_id for _, doc_id, _ in passages], dtype=np.int64),
        )

    def save(self, directory: Path) -> None:
        """Write each field's index under directory; a crash midway leaves an index that load() calls stale."""
        directory.mkdir(parents=True, exist_ok=True)
        with _locked(directory, fcntl.LOCK_EX):  # bots and the CLI may save and load at the same time
            # Written first and checked at load: without it (or with another fingerprint) nothing loads.
            np.save(directory / "documents.npy", self.documents, allow_pickle=False)
            for name in FIELDS:
                getattr(self, name).save(directory / name)

    @classmethod
    def load(
        cls, directory: Path, params: IndexParams, *, fingerprint: str, versions: Mapping[str, str]
    ) -> SearchIndex:
        """Read an index saved by save(); raise StaleIndex unless every field matches."""
        if directory.is_dir() and not (directory / "words").is_dir():
            shutil.rmtree(directory)  # an index of the previous, single-field layout
        if not directory.is_dir():
            raise StaleIndex(f"no index at {directory}")
        with _locked(directory, fcntl.LOCK_SH):
            fields = {
                name: PassageIndex.load(directory / name, params, fingerprint=fingerprint, versions=versions)
                for name in FIELDS
            }
            try:
                documents = np.load(directory / "documents.npy", allow_pickle=False)
            except (OSError, ValueError) as e:
                raise StaleIndex(f"unreadable {directory / 'documents.npy'}: {e!r}") from e
        return cls(fields["words"], fields["grams"], fields["context"], documents.astype(np.int64, copy=False))


@contextmanager
def _locked(directory: Path, mode: int) -> Iterator[None]:
    """Hold a lock on the index at directory: shared to read, exclusive to write; other processes wait."""
    with open(directory.parent / f".{directory.name}.lock", "a+b") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _weights(tokens: Sequence[str], extra: Mapping[str, float]) -> dict[str, float]:
    """Each token's weight: how often the question holds it, plus what the thesaurus adds."""
    weights: dict[str, float] = {}
    for token in tokens:
        weights[token] = weights.get(token, 0.0) + 1.0
    for token, weight in extra.items():
        weights.setdefault(token, weight)
    return weights


def _share_of_best(scores: np.ndarray | None, n: int) -> np.ndarray:
    if scores is None or n == 0 or scores.max() <= 0:
        return np.zeros(n)
    return scores / scores.max()
