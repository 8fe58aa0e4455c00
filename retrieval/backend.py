"""The search backend: a Query in, the best passages out, from three BM25 fields combined."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
import uuid
from array import array
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import NamedTuple, Protocol

import numpy as np

from rectbot.retrieval import kernels
from rectbot.retrieval.index import (
    FORMAT_VERSION,
    MAX_MERGED_ENTRIES,
    IndexParams,
    PassageIndex,
    SegmentMerge,
    StaleIndex,
    collect_garbage,
    plan_merges,
    referenced,
    write_atomically,
    write_json,
)
from rectbot.retrieval.query import Query
from rectbot.retrieval.segments import Segment, SegmentBuilder
from rectbot.retrieval.token_batch import TokenBatch
from rectbot.retrieval.tokenizer import PassageTokens, bigrams

logger = logging.getLogger(__name__)

FIELDS = ("words", "grams", "context")
_MANIFEST_FILE = "manifest.json"  # names every field's segments: replacing it commits a save
_DOCUMENTS_DIR = "documents"  # the document id of each passage, one file per segment of the word index
_MERGING_DIR = "merging"  # segments written by a merge before it commits, in a folder per process id
# A built segment is closed once its passages hold this many tokens (~100,000 passages of bigrams, a few hundred
# MB while it is built): few segments to search, a bounded build.
SEGMENT_ENTRIES = 10_000_000


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

    # Chosen on the three tuning halves of our question sets together (305 questions): see README, Ranking.
    words: float = 1.0  # jieba words and their parts
    grams: float = 1.0  # overlapping character pairs: robust to segmentation and to names jieba cuts differently
    context: float = 0.15  # the passage's document: title, region, source, opening lines


class SearchIndex:
    """Passages indexed three ways (words, character bigrams, their document's context), searched together.

    Immutable: adding or removing documents makes a new SearchIndex (see updated()), so a search running on
    this one is never disturbed.
    """

    def __init__(
        self,
        words: PassageIndex,
        grams: PassageIndex,
        context: PassageIndex,
        documents: Mapping[str, np.ndarray],
        weights: FieldWeights = FieldWeights(),
    ) -> None:
        if not np.array_equal(words.passage_ids, grams.passage_ids) or not np.array_equal(words.live, grams.live):
            raise StaleIndex("the word and bigram indexes hold different passages")
        segments = words.segments()
        # Rows are compared across the two fields, so a merge must drop the same rows from both: their
        # segments hold the same passages, one for one.
        if [len(ids) for _, ids in segments] != [len(ids) for _, ids in grams.segments()]:
            raise StaleIndex("the word and bigram indexes are cut into different segments")
        if [name for name, _ in segments] != list(documents) or any(
            len(documents[name]) != len(ids) for name, ids in segments
        ):
            raise StaleIndex("the passages' document ids do not match the word index's segments")
        self.words = words
        self.grams = grams
        self.context = context
        self._documents = dict(documents)  # words segment name -> document id of each of its rows
        # The document id of each row of the word and bigram indexes.
        self.documents = np.concatenate(list(documents.values())) if documents else np.zeros(0, dtype=np.int64)
        self.weights = weights
        # Live documents of the context index by ascending id, and their rows, to find a passage's document.
        rows = np.flatnonzero(context.live)
        order = np.argsort(context.passage_ids[rows], kind="stable")
        self._context_ids = context.passage_ids[rows][order]
        self._context_rows = rows[order]
        self.fingerprint = words.fingerprint
        self._buffers = _ScoreBuffers(len(self.documents))

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

    def document_ids(self) -> np.ndarray:
        """The ids of the documents indexed (each with its context, and its passages if it has any), ascending."""
        return self._context_ids

    def passage_ids(self) -> np.ndarray:
        """The ids of the passages indexed, in no particular order."""
        return self.words.passage_ids[self.words.live]

    def passages_of(self, documents: Collection[int]) -> np.ndarray:
        """The ids of the passages indexed for these documents."""
        gone = np.unique(np.fromiter(documents, dtype=np.int64, count=len(documents)))
        return self.words.passage_ids[self.words.live & _member(self.documents, gone)]

    def search(self, query: Query, k: int, allowed: Collection[int] | None = None) -> list[Candidate]:
        """Return the k best passages (of documents in `allowed`, when given), best first, ties by passage id."""
        word_weights = _weights(query.words, query.expansions)
        gram_weights = _weights(query.grams, {g: w for token, w in query.expansions.items() for g in bigrams(token)})
        loops = kernels.compiled()
        if (
            loops is not None and allowed is None and k > 0
            and self.weights.words > 0 and self.weights.grams > 0 and self.weights.context >= 0
            and all(w >= 0 for w in (*word_weights.values(), *gram_weights.values()))
        ):
            return self._compiled_search(loops, word_weights, gram_weights, k)
        word_scores, word_best = _with_best(self.words.weighted_scores(word_weights))
        gram_scores, gram_best = _with_best(self.grams.weighted_scores(gram_weights))
        # Only rows some field scores can match: the sums below are taken over them alone.
        if word_best and gram_best:
            candidates = np.flatnonzero((word_scores > 0) | (gram_scores > 0))
        elif word_best or gram_best:
            candidates = np.flatnonzero((word_scores if word_best else gram_scores) > 0)
        else:
            candidates = np.zeros(0, dtype=np.int64)
        if allowed is not None and len(candidates):
            candidates = candidates[np.isin(self.documents[candidates], np.fromiter(allowed, dtype=np.int64))]
        words = word_scores[candidates] / word_best if word_best else np.zeros(len(candidates))
        grams = gram_scores[candidates] / gram_best if gram_best else np.zeros(len(candidates))
        own = self.weights.words * words + self.weights.grams * grams
        if not (self.weights.words > 0 and self.weights.grams > 0):  # else every candidate's own share is > 0
            matched = np.flatnonzero(own > 0)
            candidates, words, grams, own = candidates[matched], words[matched], grams[matched], own[matched]
        if k <= 0 or len(candidates) == 0:
            return []
        if len(own) > k and self.weights.context >= 0 and all(w >= 0 for w in word_weights.values()):
            # The context adds at most its weight (its share is at most 1, and not negative with these weights),
            # so a passage whose own share plus that weight stays under the k-th best own share cannot reach the
            # k best, nor tie: the context is looked up for the others only.
            kth_own = np.partition(own, len(own) - k)[len(own) - k]
            hopeful = np.flatnonzero(own + self.weights.context >= kth_own)
            candidates, words, grams, own = candidates[hopeful], words[hopeful], grams[hopeful], own[hopeful]
        return self._with_context(candidates, words, grams, own, word_weights, k)

    def _compiled_search(
        self, loops: ModuleType, word_weights: Mapping[str, float], gram_weights: Mapping[str, float], k: int
    ) -> list[Candidate]:
        """search() through the compiled loops: the same passages and scores, in fewer passes over the rows."""
        buffers = self._buffers.take()
        reusable = True
        try:
            word_scores, gram_scores = buffers
            words_known = self.words.weighted_scores(word_weights, into=word_scores) is not None
            grams_known = self.grams.weighted_scores(gram_weights, into=gram_scores) is not None
            word_best = float(word_scores.max()) if words_known else 0.0
            gram_best = float(gram_scores.max()) if grams_known else 0.0
            if not (word_best > 0 or gram_best > 0):
                word_scores[:] = 0.0  # only zeros were added, but the pair must be all zeros for the next search
                gram_scores[:] = 0.0
                return []
            candidates, word_values, gram_values = loops.hopeful_rows(
                word_scores, gram_scores, word_best, gram_best, self.weights.words, self.weights.grams,
                self.weights.context, k,
            )
        except BaseException:
            reusable = False  # perhaps left half-filled: never reused
            raise
        finally:
            if reusable:
                self._buffers.give(buffers)
        words = word_values / word_best if word_best > 0 else np.zeros(len(candidates))
        grams = gram_values / gram_best if gram_best > 0 else np.zeros(len(candidates))
        own = self.weights.words * words + self.weights.grams * grams
        return self._with_context(candidates, words, grams, own, word_weights, k)

    def _with_context(
        self, candidates: np.ndarray, words: np.ndarray, grams: np.ndarray, own: np.ndarray,
        word_weights: Mapping[str, float], k: int,
    ) -> list[Candidate]:
        """The k best of these rows once their documents' context is added, best first, ties by passage id."""
        context_scores = self.context.weighted_scores(word_weights)
        context = np.zeros(len(candidates))
        if context_scores is not None and context_scores.max() > 0 and len(self._context_ids):
            # Looked up for the few candidates left, not for every row when the index loads (20-30 ms at 1M).
            rows, found = _context_of(self.documents[candidates], self._context_ids, self._context_rows)
            context = np.where(found, context_scores[rows] / context_scores.max(), 0.0)
        combined = own + self.weights.context * context
        if len(combined) > k:
            # Keep everything tied with the k-th best score, so that ties are cut by passage id below.
            kth_best = np.partition(combined, len(combined) - k)[len(combined) - k]
            kept = np.flatnonzero(combined >= kth_best)
            candidates, words, grams, context, combined = (
                candidates[kept], words[kept], grams[kept], context[kept], combined[kept]
            )
        ids = self.words.passage_ids[candidates]
        order = np.lexsort((ids, -combined))[:k]
        return [
            Candidate(int(ids[i]), int(self.documents[candidates[i]]), float(combined[i]),
                      float(words[i]), float(grams[i]), float(context[i]))
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
        builder = SearchIndexBuilder()
        for passage_id, doc_id, passage_tokens in passages:
            builder.add(passage_id, doc_id, passage_tokens)
        return builder.build(documents, params, fingerprint=fingerprint, versions=versions)

    def updated(
        self,
        passages: Sequence[tuple[int, int, PassageTokens]],
        documents: Sequence[tuple[int, list[str]]],
        removed: Collection[int],
        *,
        fingerprint: str,
    ) -> SearchIndex:
        """A new index: this one with documents (context and passages) added and those `removed` taken out.

        This one is unchanged, so searches running on it are not disturbed. Costs about what was added and
        removed: the added passages make new segments, which planned_merges() later merges with others.
        """
        gone = np.unique(np.fromiter(removed, dtype=np.int64, count=len(removed)))
        removed_passages = self.passages_of(gone)
        ids = [passage_id for passage_id, _, _ in passages]
        words = self.words.updated(ids, [t.words for _, _, t in passages], removed_passages, fingerprint=fingerprint)
        grams = self.grams.updated(ids, [t.grams for _, _, t in passages], removed_passages, fingerprint=fingerprint)
        context = self.context.updated(
            [doc_id for doc_id, _ in documents], [words for _, words in documents], gone, fingerprint=fingerprint
        )
        return SearchIndex(words, grams, context, self._documents_of(words, passages), self.weights)

    def _documents_of(
        self, words: PassageIndex, added: Sequence[tuple[int, int, PassageTokens]]
    ) -> dict[str, np.ndarray]:
        """The document ids of each segment of words (this index's after an update): kept, or looked up."""
        segments = words.segments()
        new = [name for name, _ in segments if name not in self._documents]
        current = {name for name, _ in segments}
        if not new:
            return {name: self._documents[name] for name, _ in segments}
        # Rows of new segments are rows of segments merged away, or passages just added.
        merged_away = [(ids, self._documents[name]) for name, ids in self.words.segments() if name not in current]
        known_ids = np.concatenate([ids for ids, _ in merged_away] + [np.asarray([p for p, _, _ in added], dtype=np.int64)])
        known_documents = np.concatenate(
            [docs for _, docs in merged_away] + [np.asarray([d for _, d, _ in added], dtype=np.int64)]
        )
        order = np.argsort(known_ids, kind="stable")
        known_ids, known_documents = known_ids[order], known_documents[order]
        result = {}
        for name, ids in segments:
            if name in self._documents:
                result[name] = self._documents[name]
            else:
                result[name] = known_documents[np.searchsorted(known_ids, ids)]
        return result

    def merged(self) -> SearchIndex:
        """The same index with each field in one segment (what a full rebuild would give)."""
        words = self.words.merged()
        document_of = self.documents[self.words.live]  # a merge keeps the live rows, in order
        return SearchIndex(
            words, self.grams.merged(), self.context.merged(), {name: document_of for name, _ in words.segments()},
            self.weights,
        )

    def planned_merges(self, max_entries: int = MAX_MERGED_ENTRIES) -> MergeJob | None:
        """The segment merges this index calls for (see index.plan_merges), or None.

        Words and bigrams are merged alike (their segments hold the same passages); the context on its own.
        """
        sizes = [
            (rows, removed, words + grams)
            for (rows, removed, words), (_, _, grams) in zip(
                self.words.segment_sizes(), self.grams.segment_sizes(), strict=True
            )
        ]
        return self.merge_job(plan_merges(sizes, max_entries), plan_merges(self.context.segment_sizes(), max_entries))

    def merge_job(self, runs: Sequence[Sequence[int]], context_runs: Sequence[Sequence[int]]) -> MergeJob | None:
        """A job merging each run of positions of the word and bigram segments, and of the context's; None if none."""
        merges = {"words": self.words.merges_of(runs), "grams": self.grams.merges_of(runs)} if runs else {}
        if context_runs:
            merges["context"] = self.context.merges_of(context_runs)
        return MergeJob(merges, dict(self._documents)) if merges else None

    def with_merged(self, done: MergedSegments) -> SearchIndex | None:
        """This index with merged segments in place of their sources (see PassageIndex.with_merged).

        None if some source is gone (the index was rebuilt since the merge was planned).
        """
        fields: dict[str, PassageIndex] = {}
        for name in FIELDS:
            index, results = getattr(self, name), done.fields.get(name)
            merged = index.with_merged(results) if results else index
            if merged is None:
                return None
            fields[name] = merged
        documents = {
            name: self._documents[name] if name in self._documents else done.documents[name]
            for name, _ in fields["words"].segments()
        }
        return SearchIndex(fields["words"], fields["grams"], fields["context"], documents, self.weights)

    @staticmethod
    def staging_folder(directory: Path) -> Path:
        """A new folder name for merges to write segments in before they commit (see MergeJob.run).

        It starts with the process id: a save removes the folders of processes that are gone.
        """
        return directory / _MERGING_DIR / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def save(self, directory: Path, staged: Path | None = None) -> None:
        """Write the index under directory; a crash midway leaves the previous index loadable.

        Each field writes only its segments not yet there (segments a merge wrote under `staged` are moved in);
        the manifest naming them all is replaced last, in one step (the commit), then files no manifest names
        are removed. Saving after adding one document thus costs what that document holds.
        """
        directory.mkdir(parents=True, exist_ok=True)
        with _locked(directory, fcntl.LOCK_EX):  # bots and the CLI may save and load at the same time
            fields = {
                name: getattr(self, name).write(directory / name, staged / name if staged is not None else None)
                for name in FIELDS
            }
            documents_dir = directory / _DOCUMENTS_DIR
            documents_dir.mkdir(exist_ok=True)
            for name, document_of in self._documents.items():
                path = documents_dir / f"{name}.npy"
                if not path.is_file():
                    write_atomically(path, lambda f, document_of=document_of: np.save(f, document_of))
            write_json(directory / _MANIFEST_FILE, {
                "format": FORMAT_VERSION, "fingerprint": self.fingerprint, "fields": fields,
                "documents": list(self._documents),
            })
            for name in FIELDS:
                collect_garbage(directory / name, referenced(fields[name]))
            collect_garbage(documents_dir, {f"{name}.npy" for name in self._documents})
            collect_garbage(directory, {*FIELDS, _DOCUMENTS_DIR, _MANIFEST_FILE, _MERGING_DIR})
            _collect_staged(directory / _MERGING_DIR)

    @classmethod
    def load(
        cls, directory: Path, params: IndexParams, *, fingerprint: str | None, versions: Mapping[str, str]
    ) -> SearchIndex:
        """Read an index saved by save(); raise StaleIndex unless every field matches (and the fingerprint, if given)."""
        if not (directory / _MANIFEST_FILE).is_file():
            raise StaleIndex(f"no index at {directory}: {_MANIFEST_FILE} is missing")
        with _locked(directory, fcntl.LOCK_SH):
            try:
                manifest = json.loads((directory / _MANIFEST_FILE).read_text(encoding="utf-8"))
                entries = {name: manifest["fields"][name] for name in FIELDS}
                names = list(manifest["documents"])
                if manifest["format"] != FORMAT_VERSION:
                    raise StaleIndex(f"index format differs: saved {manifest['format']!r}, now {FORMAT_VERSION!r}")
            except (OSError, ValueError, TypeError, KeyError) as e:
                raise StaleIndex(f"unreadable {directory / _MANIFEST_FILE}: {e!r}") from e
            fields = {
                name: PassageIndex.read(directory / name, entries[name], params, fingerprint=fingerprint, versions=versions)
                for name in FIELDS
            }
            try:
                documents = {}
                for name in names:
                    if not isinstance(name, str) or "/" in name:
                        raise ValueError(f"bad segment name {name!r}")
                    document_of = np.load(directory / _DOCUMENTS_DIR / f"{name}.npy", allow_pickle=False)
                    if document_of.ndim != 1 or document_of.dtype.kind != "i":
                        raise ValueError(f"document ids of {name} have shape {document_of.shape}")
                    documents[name] = document_of.astype(np.int64, copy=False)
            except (OSError, ValueError) as e:
                raise StaleIndex(f"unreadable document ids in {directory}: {e!r}") from e
        if len({index.fingerprint for index in fields.values()}) != 1:
            raise StaleIndex(f"the fields of the index at {directory} were saved at different times")
        return cls(fields["words"], fields["grams"], fields["context"], documents)


class _ScoreBuffers:
    """Pairs of all-zero score arrays, one per search running: a fresh 8 MB array per field and question costs
    more in page faults (about 1 ms each at a million passages) than the compiled loop that fills it."""

    KEPT = 2  # pairs kept between searches: about as many as run at once on two cores (16 MB each at 1M passages)

    def __init__(self, rows: int) -> None:
        self._rows = rows
        self._free: list[tuple[np.ndarray, np.ndarray]] = []
        self._lock = threading.Lock()

    def take(self) -> tuple[np.ndarray, np.ndarray]:
        """A pair nobody else is using, both all zeros."""
        with self._lock:
            if self._free:
                return self._free.pop()
        return np.zeros(self._rows), np.zeros(self._rows)

    def give(self, buffers: tuple[np.ndarray, np.ndarray]) -> None:
        """Hand back a pair, all zeros again (kept for the next search unless KEPT pairs already are)."""
        with self._lock:
            if len(self._free) < self.KEPT:
                self._free.append(buffers)


@dataclass(frozen=True, eq=False)
class MergedSegments:
    """What a MergeJob made: each field's merges with their results, and the document ids of new word segments."""

    fields: dict[str, list[tuple[SegmentMerge, Segment]]]
    documents: dict[str, np.ndarray]


@dataclass(frozen=True, eq=False)
class MergeJob:
    """Segment merges planned on a SearchIndex; run() does the work, SearchIndex.with_merged() applies it."""

    merges: dict[str, list[SegmentMerge]]  # by field
    documents: dict[str, np.ndarray]  # the planned index's document id of each row, by word segment

    @property
    def entries(self) -> int:
        """The (passage, token) pairs the merges read: what the job costs."""
        return sum(merge.entries for merges in self.merges.values() for merge in merges)

    def run(self, staging: Path | None = None, stop: threading.Event | None = None) -> MergedSegments | None:
        """Merge (for seconds on a large index); None if `stop` was set meanwhile.

        With `staging`, each merged segment is also written there (staging/field/name), so that the save that
        commits the merge only has to move it into place.
        """
        fields: dict[str, list[tuple[SegmentMerge, Segment]]] = {}
        documents: dict[str, np.ndarray] = {}
        for field, merges in self.merges.items():
            for merge in merges:
                if stop is not None and stop.is_set():
                    return None
                segment = merge.run()
                if staging is not None:
                    (staging / field).mkdir(parents=True, exist_ok=True)
                    segment.save(staging / field)
                fields.setdefault(field, []).append((merge, segment))
                if field == "words":
                    documents[segment.name] = np.concatenate([
                        self.documents[source.name] if dead is None else self.documents[source.name][~dead]
                        for source, dead in merge.sources
                    ])
        return MergedSegments(fields, documents)


class SearchIndexBuilder:
    """A SearchIndex built one passage at a time, so that only a batch of passages' token lists need exist at once.

    Passages go into a segment (one for words, one for bigrams) until either holds segment_entries (passage,
    token) pairs, then into new ones: building a segment holds about 24 bytes a pair, so this bounds a build's
    peak whatever the corpus size. The segments are kept as they are (merging is left to the index's planned
    merges); ranking does not depend on them.
    """

    def __init__(self, segment_entries: int = SEGMENT_ENTRIES) -> None:
        if segment_entries < 1:
            raise ValueError(f"segment_entries must be >= 1, not {segment_entries}")
        self._limit = segment_entries
        self._empty()

    def _empty(self) -> None:
        """Hold no passages."""
        self._words, self._grams = SegmentBuilder(), SegmentBuilder()
        self._word_segments: list[Segment] = []
        self._gram_segments: list[Segment] = []
        self._document_of = array("q")  # of the rows of the open word segment
        self._documents: dict[str, np.ndarray] = {}  # word segment name -> document id of each row

    def __len__(self) -> int:
        """Return the number of passages added."""
        return sum(map(len, self._word_segments)) + len(self._words)

    def add(self, passage_id: int, document_id: int, tokens: PassageTokens) -> None:
        """Add a passage of a document."""
        self._words.add(passage_id, tokens.words)
        self._grams.add(passage_id, tokens.grams)
        self._document_of.append(document_id)
        if self._words.entries >= self._limit or self._grams.entries >= self._limit:
            self._close_segments()

    def add_batch(self, passage_ids: Sequence[int], document_ids: Sequence[int], batch: TokenBatch) -> None:
        """Add passages as add() would one by one, their words and bigrams given as a TokenBatch of two fields."""
        if batch.fields != len(PassageTokens._fields) or not len(passage_ids) == len(document_ids) == len(batch):
            raise ValueError("one passage id, document id and pair of token lists per passage")
        fields = [batch.field(number) for number in range(batch.fields)]
        starts = [np.concatenate(([0], np.cumsum(lengths))) for _, lengths in fields]
        builders = (self._words, self._grams)
        at = 0
        while at < len(passage_ids):
            # add() closes the segments after the passage that brings either to the limit: so does this.
            reaching = np.zeros(len(passage_ids) - at, dtype=bool)
            for builder, (_, lengths) in zip(builders, fields, strict=True):
                reaching |= builder.entries + np.cumsum(lengths[at:]) >= self._limit
            full = np.flatnonzero(reaching)
            end = at + int(full[0]) + 1 if len(full) else len(passage_ids)
            for builder, (ids, lengths), start in zip(builders, fields, starts, strict=True):
                builder.add_many(passage_ids[at:end], batch.vocabulary, ids[start[at] : start[end]], lengths[at:end])
            self._document_of.extend(document_ids[at:end])
            if len(full):
                self._close_segments()
            at = end

    def _close_segments(self) -> None:
        """Close the open word and bigram segments together, so that they hold the same passages."""
        segment = self._words.build()
        self._word_segments.append(segment)
        self._gram_segments.append(self._grams.build())
        self._documents[segment.name] = np.array(self._document_of, dtype=np.int64)
        self._document_of = array("q")

    def build(
        self,
        documents: Sequence[tuple[int, list[str]]],
        params: IndexParams,
        *,
        fingerprint: str,
        versions: Mapping[str, str],
    ) -> SearchIndex:
        """The index of the passages added and of their documents' context (id, words); the builder is emptied."""
        if len(self._words):
            self._close_segments()
        of = lambda segments: PassageIndex.of_segments(segments, params, fingerprint=fingerprint, versions=versions)  # noqa: E731
        words = of(self._word_segments)
        index = SearchIndex(
            words,
            of(self._gram_segments),
            PassageIndex.build([doc_id for doc_id, _ in documents], [context for _, context in documents], params,
                               fingerprint=fingerprint, versions=versions),
            {name: self._documents[name] for name, _ in words.segments()},
        )
        self._empty()
        return index


def _collect_staged(folder: Path) -> None:
    """Remove the segments staged by merges of processes that are gone (killed before their merge committed)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        pid = path.name.partition("-")[0]
        if pid.isdigit() and _running(int(pid)):
            continue
        logger.warning("removing %s, left by a merge that did not finish", path)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """For each value, whether it is in sorted_set (fast when the set is small and the values many)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    positions = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[positions] == values


def _with_best(scores: np.ndarray | None) -> tuple[np.ndarray, float]:
    """The scores and their best, or an empty array and 0.0 when no row scores above 0."""
    if scores is None or len(scores) == 0:
        return np.zeros(0), 0.0
    best = float(scores.max())
    return (scores, best) if best > 0 else (np.zeros(0), 0.0)


def _context_of(
    documents: np.ndarray, context_ids: np.ndarray, context_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each row's document, its row in the context index (0 when it has none) and whether it has one."""
    if len(context_ids) == 0:
        return np.zeros(len(documents), dtype=np.int64), np.zeros(len(documents), dtype=bool)
    positions = np.minimum(np.searchsorted(context_ids, documents), len(context_ids) - 1)
    found = context_ids[positions] == documents
    return np.where(found, context_rows[positions], 0), found
