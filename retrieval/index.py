"""The BM25 passage index: build from token lists, grow and shrink, search, save and load with staleness checks."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from rectbot.retrieval import kernels
from rectbot.retrieval.segments import Segment, fsync_path

logger = logging.getLogger(__name__)


class Engine(StrEnum):
    """A BM25 implementation the index can score with."""

    BM25S = "bm25s"  # term frequencies in bm25s's column layout, scored when asked (this project's code)
    RANK_BM25 = "rank-bm25"  # the reference: same ranking, much slower


class IdfMethod(StrEnum):
    """An idf formula (see the idf_* functions below)."""

    LUCENE = "lucene"
    ROBERTSON = "robertson"
    ATIRE = "atire"


# The names, as plain strings (for argument parsers and messages).
ENGINES = tuple(engine.value for engine in Engine)
IDF_METHODS = tuple(method.value for method in IdfMethod)

# Bump when the files written by save() change meaning; an index of another format is stale.
FORMAT_VERSION = "2"
# The version of Engine.BM25S, this project's code.
_SPARSE_ENGINE_VERSION = "tf-columns 1"

_PARAMS_FILE = "params.json"
_RESERVED_VERSION_KEYS = ("engine", "index_format")

# A segment is rewritten without its removed rows once they are more than this share of it.
MAX_DEAD_SHARE = 0.5
# The newest segment is merged into the one before while that one holds at most this many times its rows.
MERGE_RATIO = 2
# No merge makes a segment of more (passage, token) pairs than this: ~100 MB held while merging, 8 bytes a pair kept.
MAX_MERGED_ENTRIES = 12_000_000


def idf_lucene(df: int, n: int) -> float:
    """Lucene's idf, log(1 + (N - df + 0.5) / (df + 0.5)): always positive."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _idf_robertson(df: int, n: int) -> float:
    """Robertson's idf, log((N - df + 0.5) / (df + 0.5)), floored at 0 as in rank_bm25.BM25Okapi(epsilon=0)."""
    # Without the floor, words in over half the passages would lower the score of passages containing them.
    return max(0.0, math.log((n - df + 0.5) / (df + 0.5)))


def _idf_atire(df: int, n: int) -> float:
    """ATIRE's idf, log(N / df): 0 for a word in every passage."""
    return math.log(n / df)


_IDF_FUNCTIONS: dict[IdfMethod, Callable[[int, int], float]] = {
    IdfMethod.LUCENE: idf_lucene,
    IdfMethod.ROBERTSON: _idf_robertson,
    IdfMethod.ATIRE: _idf_atire,
}


@dataclass(frozen=True)
class IndexParams:
    """How the index scores: engine, BM25 k1 and b, and the idf formula."""

    engine: Engine = Engine.BM25S
    k1: float = 1.2
    b: float = 0.75
    idf: IdfMethod = IdfMethod.LUCENE

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {self.engine!r}")
        if self.idf not in IDF_METHODS:
            raise ValueError(f"idf must be one of {IDF_METHODS}, not {self.idf!r}")
        object.__setattr__(self, "engine", Engine(self.engine))  # a name given as a plain string
        object.__setattr__(self, "idf", IdfMethod(self.idf))
        if not self.k1 >= 0:
            raise ValueError(f"k1 must be >= 0, not {self.k1!r}")
        if not 0 <= self.b <= 1:
            raise ValueError(f"b must be between 0 and 1, not {self.b!r}")


def _plain(params: IndexParams) -> dict[str, Any]:
    """params as saved: names as plain strings."""
    return {key: str(value) if isinstance(value, StrEnum) else value for key, value in asdict(params).items()}


class StaleIndex(Exception):
    """A saved index is missing, unreadable, or was built with other params, versions or passages."""


class ScoredPassage(NamedTuple):
    """One search result: a passage id and its BM25 score."""

    passage_id: int
    score: float


# A segment and its removed rows (a boolean mask), or None when none was removed.
Part = tuple[Segment, "np.ndarray | None"]


class _Parts:
    """The segments of an index with their removed rows, and the corpus statistics of the live rows."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self.parts = tuple(parts)
        self.offsets = np.cumsum([0] + [len(segment) for segment, _ in self.parts]).tolist()
        self.row_count = self.offsets[-1]
        self.passage_ids = (
            np.concatenate([segment.ids for segment, _ in self.parts]) if self.parts else np.zeros(0, dtype=np.int64)
        )
        self.live = np.concatenate(
            [np.ones(len(segment), dtype=bool) if dead is None else ~dead for segment, dead in self.parts]
        ) if self.parts else np.zeros(0, dtype=bool)
        self.live_count = int(self.live.sum())
        self.total_length = int(sum(
            int(segment.lengths.sum() if dead is None else segment.lengths[~dead].sum()) for segment, dead in self.parts
        ))
        self._df: dict[str, int] = {}  # memo for tokens held by segments with removed rows

    def document_frequency(self, token: str) -> int:
        """Return how many live rows hold the token."""
        df = self._df.get(token)
        if df is not None:
            return df
        df, counted = 0, False
        for segment, dead in self.parts:
            if dead is None:
                df += segment.count(token)  # no rows to decode: a question asks for every one of its words
                continue
            column = segment.column(token)
            if column is not None:
                df += int(np.count_nonzero(~dead[column[0]]))
                counted = True
        if counted:
            self._df[token] = df  # a dict store is atomic: concurrent searches at worst count twice
        return df

    def tokens(self) -> Iterable[str]:
        """Return every token some live row holds."""
        seen: dict[str, None] = {}
        for segment, _ in self.parts:
            seen.update(dict.fromkeys(segment.tokens))
        if all(dead is None for _, dead in self.parts):
            return seen.keys()
        return [token for token in seen if self.document_frequency(token) > 0]

    def bags(self) -> list[list[str]]:
        """Each live row's tokens (as a bag: each token repeated tf times), in row order."""
        bags: list[list[str]] = [[] for _ in range(self.row_count)]
        for (segment, _), offset in zip(self.parts, self.offsets, strict=False):
            for token in segment.tokens:
                rows, tfs = segment.column(token)  # type: ignore[misc]
                for row, tf in zip(rows.tolist(), tfs.tolist(), strict=True):
                    bags[offset + row].extend([token] * int(tf))
        return [bag for bag, live in zip(bags, self.live.tolist(), strict=True) if live]


class _Engine(Protocol):
    """What PassageIndex needs from a BM25 scorer over its parts."""

    def weighted_scores(self, weights: Mapping[str, float], into: np.ndarray | None = None) -> np.ndarray | None:
        """Return sum of weight x score per row, or None when no token is known; `into` (all zeros) is filled."""


class _SparseEngine:
    """The fast path: for each question token, BM25 from its columns' term frequencies and the live statistics."""

    def __init__(self, parts: _Parts, params: IndexParams) -> None:
        self._parts = parts
        self._params = params
        self._idf = _IDF_FUNCTIONS[params.idf]
        average = parts.total_length / parts.live_count if parts.total_length else 1.0
        k1, b = params.k1, params.b
        # k1 * (1 - b + b * dl / avgdl) per row: the length part of rank_bm25.BM25Okapi's denominator.
        # Removed rows get an infinite one, so that tf / (tf + norm) is 0 for them with no extra work.
        # float32 like the term frequencies (a fifth faster; each term's share is summed in float64).
        self._norms = []
        for segment, dead in parts.parts:
            norm = (k1 * (1 - b + b * segment.lengths / average)).astype(np.float32)
            if dead is not None:
                norm[dead] = np.inf
            self._norms.append(norm)

    def weighted_scores(self, weights: Mapping[str, float], into: np.ndarray | None = None) -> np.ndarray | None:
        """Return sum of weight x BM25 score per row, or None when no token is known.

        `into`, all zeros and a float64 per row, is filled and returned instead of a new array.
        """
        parts, k1 = self._parts, self._params.k1
        scores: np.ndarray | None = None
        loops = kernels.compiled()
        # With the compiled loops, each segment's columns are added in one call, in the tokens' order (the order
        # of a row's additions, which decides its sum's last bits, is the same as below).
        batches: list[tuple[list[int], list[float]]] = [([], []) for _ in parts.parts] if loops is not None else []
        for token, weight in weights.items():
            df = parts.document_frequency(token) if weight != 0 else 0
            if df == 0:
                continue
            if scores is None:
                scores = into if into is not None else np.zeros(parts.row_count, dtype=np.float64)
            # A Python float, whatever the weight's type: numpy then computes factor * values in float32 (NEP 50),
            # as the compiled loop does; an np.float64 weight would make it float64.
            factor = float(weight * self._idf(df, parts.live_count) * (k1 + 1))
            if factor == 0:
                continue
            if loops is not None:
                for (segment, _), (columns, factors) in zip(parts.parts, batches, strict=True):
                    column = segment.vocabulary.get(token)
                    if column is not None:
                        columns.append(column)
                        factors.append(factor)
                continue
            for (segment, _), norm, offset in zip(parts.parts, self._norms, parts.offsets, strict=False):
                column = segment.column(token)
                if column is None:
                    continue
                rows, tf = column
                values = tf / (tf + norm[rows])
                # The same additions as scores[rows] += ..., in one pass: numpy 2's add.at is about twice as fast
                # as a gather, an add and a scatter on the columns that cost the most.
                np.add.at(scores[offset : offset + len(segment)], rows, (factor * values).astype(np.float64))
        if scores is not None and loops is not None:
            for (segment, _), norm, offset, (columns, factors) in zip(
                parts.parts, self._norms, parts.offsets, batches, strict=False
            ):
                if columns:
                    # factor as float32 is what numpy does with factor * values above (NEP 50)
                    loops.add_columns(
                        scores[offset : offset + len(segment)], *segment.raw_columns(),
                        np.asarray(columns, dtype=np.int64), np.asarray(factors, dtype=np.float32), norm,
                    )
        return scores


class _RankBm25Engine:
    """The reference: rank_bm25.BM25Okapi with the chosen idf, over the live rows' tokens."""

    def __init__(self, parts: _Parts, params: IndexParams) -> None:
        import rank_bm25  # imported on first use: only the reference engine needs it

        idf_function = _IDF_FUNCTIONS[params.idf]

        class _Okapi(rank_bm25.BM25Okapi):
            """BM25Okapi with our idf in place of its epsilon floor."""

            def _calc_idf(self, nd: dict[str, int]) -> None:
                self.document_frequencies = nd
                self.idf = {word: idf_function(df, self.corpus_size) for word, df in nd.items()}
                self.average_idf = sum(self.idf.values()) / len(self.idf)

        self._rows = np.flatnonzero(parts.live)
        self._size = parts.row_count
        bags = parts.bags()
        self._model = _Okapi(bags, k1=params.k1, b=params.b) if any(bags) else None

    def weighted_scores(self, weights: Mapping[str, float], into: np.ndarray | None = None) -> np.ndarray | None:
        """Return sum of weight x score per row, or None when no token is known; `into` (all zeros) is filled."""
        model = self._model
        if model is None:
            return None
        known = [(token, weight) for token, weight in weights.items() if token in model.idf and weight != 0]
        if not known:
            return None
        scores = np.zeros(self._size, dtype=np.float64)
        scores[self._rows] = sum(weight * np.asarray(model.get_scores([token])) for token, weight in known)
        if into is None:
            return scores
        into[:] = scores
        return into


_ENGINE_CLASSES: dict[Engine, Callable[[_Parts, IndexParams], _Engine]] = {
    Engine.BM25S: _SparseEngine,
    Engine.RANK_BM25: _RankBm25Engine,
}


def _engine_version(engine: Engine) -> str:
    """Return e.g. "rank-bm25 0.2.2", so that an index saved by another engine release is stale."""
    if engine is Engine.BM25S:
        return f"bm25s {_SPARSE_ENGINE_VERSION}"
    return f"{engine} {metadata.version(engine)}"


def _full_versions(versions: Mapping[str, str], params: IndexParams) -> dict[str, str]:
    """Return the caller's versions plus the engine's and the file format's."""
    clash = [key for key in _RESERVED_VERSION_KEYS if key in versions]
    if clash:
        raise ValueError(f"versions may not use the keys the index sets itself: {clash}")
    bad = [key for key, value in versions.items() if not isinstance(key, str) or not isinstance(value, str)]
    if bad:
        raise TypeError(f"versions must map str to str; bad entries: {bad}")
    return {**versions, "engine": _engine_version(params.engine), "index_format": FORMAT_VERSION}


def _differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Describe each key whose value differs, as "key: saved -> current"."""
    keys = sorted(set(saved) | set(current))
    return [
        f"{key}: {saved.get(key, '<absent>')!r} -> {current.get(key, '<absent>')!r}"
        for key in keys
        if saved.get(key, "<absent>") != current.get(key, "<absent>")
    ]


def _checked_passages(passage_ids: Sequence[int], tokens: Sequence[Sequence[str]]) -> tuple[np.ndarray, list[list[str]]]:
    """The ids as an array and the token lists as lists, refusing what cannot be indexed."""
    ids = np.asarray(passage_ids, dtype=np.int64)
    if ids.ndim != 1 or len(ids) != len(tokens):
        raise ValueError(f"got {len(passage_ids)} passage ids for {len(tokens)} token lists")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("passage ids must be unique")
    docs = []
    for passage_id, doc in zip(ids.tolist(), tokens, strict=True):
        if isinstance(doc, str):
            raise TypeError(f"passage {passage_id}: tokens must be a list of str, not a str")
        doc = list(doc)
        if "" in doc:
            raise ValueError(f"passage {passage_id}: the empty string is not a token")
        docs.append(doc)
    return ids, docs


def _rows_of(segment: Segment, ids: np.ndarray) -> np.ndarray:
    """A mask of the segment's rows whose id is among ids (sorted)."""
    if len(ids) == 0 or len(segment) == 0:
        return np.zeros(len(segment), dtype=bool)
    # Few ids against many rows: search the rows' ids in the (small) sorted list.
    positions = np.minimum(np.searchsorted(ids, segment.ids), len(ids) - 1)
    return ids[positions] == segment.ids


@dataclass(frozen=True, eq=False)
class SegmentMerge:
    """Segments to merge into one, each with its removed rows as they were when the merge was planned."""

    sources: tuple[Part, ...]

    @property
    def entries(self) -> int:
        """The (passage, token) pairs read: what the merge costs."""
        return sum(segment.entries for segment, _ in self.sources)

    def run(self) -> Segment:
        """The merged segment: the sources' live rows (as planned), in order."""
        return Segment.merge(self.sources)


def plan_merges(sizes: Sequence[tuple[int, int, int]], max_entries: int) -> list[list[int]]:
    """Which segments to merge, given each one's (rows, removed rows, entries): runs of positions, in order.

    As in a binary counter, the newest segment is merged into the one before while that one has at most
    MERGE_RATIO times the live rows of what is merged so far: segment sizes grow geometrically, so there are
    O(log N) segments and a passage is rewritten O(log N) times. No merge makes a segment of more than
    max_entries pairs (what a merge holds in memory is bounded; Lucene caps merged segments likewise). A segment
    mostly made of removed rows is rewritten without them.
    """
    live = [rows - removed for rows, removed, _ in sizes]
    # Pairs of the live rows, in proportion: removed rows are not written again.
    entries = [pairs * count // max(1, rows) for (rows, _, pairs), count in zip(sizes, live, strict=True)]
    # The tail: the newest segment and those before it that it catches up with.
    start = len(sizes) - 1
    if start >= 0:
        rows, pairs = live[start], entries[start]
        while start >= 1 and live[start - 1] <= MERGE_RATIO * rows and pairs + entries[start - 1] <= max_entries:
            start -= 1
            rows, pairs = rows + live[start], pairs + entries[start]
    runs = [list(range(start, len(sizes)))] if len(sizes) - start >= 2 else []
    merged = start if runs else len(sizes)
    runs += [
        [position] for position, (rows, removed, _) in enumerate(sizes[:merged])
        if removed > MAX_DEAD_SHARE * rows
    ]
    return sorted(runs)


def _removed_since(dead_now: np.ndarray | None, dead_then: np.ndarray | None, rows: int) -> np.ndarray:
    """Of a segment's rows live when a merge was planned, those removed since (the merged rows' removals)."""
    if dead_then is None:
        return np.zeros(rows, dtype=bool) if dead_now is None else dead_now
    if (dead_then & ~(np.zeros(rows, dtype=bool) if dead_now is None else dead_now)).any():
        raise ValueError("a removed row is back in a segment being merged")
    return np.zeros(rows - int(dead_then.sum()), dtype=bool) if dead_now is None else dead_now[~dead_then]


class PassageIndex:
    """BM25 over passages given as token lists; knows nothing of text. Immutable: changes make a new index."""

    def __init__(self, parts: Sequence[Part], params: IndexParams, fingerprint: str, versions: dict[str, str]) -> None:
        self._parts = _Parts(parts)
        self.params = params
        self.fingerprint = fingerprint
        self.versions = versions
        self._idf = _IDF_FUNCTIONS[params.idf]
        self._engine = _ENGINE_CLASSES[params.engine](self._parts, params)

    @classmethod
    def build(
        cls,
        passage_ids: Sequence[int],
        tokens: Sequence[Sequence[str]],
        params: IndexParams,
        *,
        fingerprint: str,
        versions: Mapping[str, str],
    ) -> PassageIndex:
        """Index each passage's tokens under its id."""
        full_versions = _full_versions(versions, params)
        ids, docs = _checked_passages(passage_ids, tokens)
        started = time.perf_counter()
        parts: list[Part] = [(Segment.build(ids, docs), None)] if len(ids) else []
        index = cls(parts, params, fingerprint, full_versions)
        logger.info("built %s index of %d passages in %.2f s", params.engine, len(ids), time.perf_counter() - started)
        return index

    @classmethod
    def of_segments(
        cls, segments: Sequence[Segment], params: IndexParams, *, fingerprint: str, versions: Mapping[str, str]
    ) -> PassageIndex:
        """The index of segments built elsewhere (see SegmentBuilder), in that order; ids must be unique across them."""
        full_versions = _full_versions(versions, params)
        ids = np.concatenate([segment.ids for segment in segments]) if segments else np.zeros(0, dtype=np.int64)
        if len(np.unique(ids)) != len(ids):
            raise ValueError("passage ids must be unique")
        return cls([(segment, None) for segment in segments if len(segment)], params, fingerprint, full_versions)

    def updated(
        self,
        passage_ids: Sequence[int],
        tokens: Sequence[Sequence[str]],
        removed: Collection[int],
        *,
        fingerprint: str,
    ) -> PassageIndex:
        """A new index: this one with passages added and the passages `removed` taken out; this one is unchanged.

        Costs about what the added passages hold: they become a new segment, and removed rows are marked in
        theirs (merging segments is left to planned_merges() and with_merged(), which can run meanwhile). Scores
        are those of an index built from scratch over the passages it now holds.
        """
        ids, docs = _checked_passages(passage_ids, tokens)
        gone = np.unique(np.fromiter(removed, dtype=np.int64, count=len(removed)))
        added = np.sort(ids)
        parts: list[Part] = []
        found = 0
        for segment, dead in self._parts.parts:
            live = np.ones(len(segment), dtype=bool) if dead is None else ~dead
            if (_rows_of(segment, added) & live).any():
                raise ValueError("passage ids to add must not be in the index already")
            hit = _rows_of(segment, gone) & live
            if hit.any():
                found += int(hit.sum())
                dead = hit if dead is None else dead | hit
            parts.append((segment, dead))
        if found != len(gone):
            raise ValueError(f"{len(gone) - found} of the passages to remove are not in the index")
        if len(ids):
            parts.append((Segment.build(ids, docs), None))
        return PassageIndex(parts, self.params, fingerprint, self.versions)

    def segment_sizes(self) -> list[tuple[int, int, int]]:
        """Each segment's rows, removed rows and (passage, token) pairs, in order."""
        return [(len(segment), 0 if dead is None else int(dead.sum()), segment.entries)
                for segment, dead in self._parts.parts]

    def planned_merges(self, max_entries: int = MAX_MERGED_ENTRIES) -> list[SegmentMerge]:
        """The merges this index's segments call for (see plan_merges), to run with SegmentMerge.run."""
        return self.merges_of(plan_merges(self.segment_sizes(), max_entries))

    def merges_of(self, runs: Sequence[Sequence[int]]) -> list[SegmentMerge]:
        """A merge of each run of segment positions, as the segments are now."""
        parts = self._parts.parts
        return [SegmentMerge(tuple(parts[position] for position in run)) for run in runs]

    def with_merged(self, done: Sequence[tuple[SegmentMerge, Segment]]) -> PassageIndex | None:
        """This index with each merge's sources replaced by its result; None if some source is no longer here.

        The merges may have been planned on an older index: rows removed since are removed from the results too,
        and segments added since are kept, so the passages and their scores are this index's.
        """
        parts = list(self._parts.parts)
        for merge, result in done:
            positions = []
            for source, dead_then in merge.sources:
                position = next((i for i, (segment, _) in enumerate(parts) if segment is source), None)
                if position is None:
                    return None
                positions.append(position)
            dead = np.concatenate([
                _removed_since(parts[position][1], dead_then, len(source))
                for position, (source, dead_then) in zip(positions, merge.sources, strict=True)
            ]) if positions else np.zeros(0, dtype=bool)
            if len(dead) != len(result):
                raise ValueError(f"merged segment {result.name} has {len(result)} rows, its sources {len(dead)} live")
            merged_away = set(positions)
            kept = [part for i, part in enumerate(parts) if i not in merged_away]
            before = sum(1 for i in range(min(positions)) if i not in merged_away)
            if len(result) and not dead.all():
                kept.insert(before, (result, dead if dead.any() else None))
            parts = kept
        return PassageIndex(parts, self.params, self.fingerprint, self.versions)

    def merged(self) -> PassageIndex:
        """The same passages in one segment, without removed rows (what a full rebuild would give)."""
        parts = [(Segment.merge(self._parts.parts), None)] if len(self) else []
        return PassageIndex(parts, self.params, self.fingerprint, self.versions)

    def search(self, query_tokens: Sequence[str], k: int) -> list[ScoredPassage]:
        """Return up to k passages with a positive score, best first, ties by ascending passage id.

        Tokens not in the vocabulary are ignored; a token repeated in the query counts each time.
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, not {k}")
        if isinstance(query_tokens, str):
            raise TypeError("query_tokens must be a list of str, not a str")
        counts: dict[str, float] = {}
        for token in query_tokens:
            counts[token] = counts.get(token, 0.0) + 1.0
        scores = self._engine.weighted_scores(counts)
        if scores is None or k == 0:
            return []
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            # Keep everything tied with the k-th best score, so that ties are cut by passage id below.
            kth_best = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
            candidates = candidates[scores[candidates] >= kth_best]
        passage_ids = self._parts.passage_ids
        order = np.lexsort((passage_ids[candidates], -scores[candidates]))[:k]
        best = candidates[order]
        pairs = zip(passage_ids[best].tolist(), scores[best].tolist(), strict=True)
        return [ScoredPassage(passage_id, score) for passage_id, score in pairs]

    def weighted_scores(self, weights: Mapping[str, float], into: np.ndarray | None = None) -> np.ndarray | None:
        """Return each row's summed weight x BM25 score, in the order of `passage_ids`; None if no token is known.

        `into` (all zeros, a float64 per row) is filled and returned instead of a new array.
        """
        return self._engine.weighted_scores(weights, into)

    def vocabulary(self) -> Iterable[str]:
        """Every token some passage holds."""
        return self._parts.tokens()

    @property
    def passage_ids(self) -> np.ndarray:
        """The passage id of each row, in the order of weighted_scores(); removed passages' rows score 0."""
        return self._parts.passage_ids

    @property
    def live(self) -> np.ndarray:
        """For each row, whether its passage is in the index (not removed)."""
        return self._parts.live

    def segments(self) -> list[tuple[str, np.ndarray]]:
        """Each segment's name and the passage ids of its rows, in row order."""
        return [(segment.name, segment.ids) for segment, _ in self._parts.parts]

    def idf(self, token: str) -> float:
        """Return the token's idf, 0.0 for a token in no passage."""
        df = self.document_frequency(token)
        return self._idf(df, len(self)) if df else 0.0

    def document_frequency(self, token: str) -> int:
        """Return how many passages contain the token."""
        return self._parts.document_frequency(token)

    def __len__(self) -> int:
        """Return the number of passages."""
        return self._parts.live_count

    # Persistence: a directory of segments (each written once, never changed) and of removed-row files, and a
    # manifest naming the ones that make up the index. Replacing the manifest is the commit; files it does not
    # name are leftovers of older states or of a crash, removed by the next save.

    def write(self, directory: Path, staged: Path | None = None) -> dict[str, Any]:
        """Write the segments and removed rows not yet in directory; return the manifest that names them.

        A segment already written under `staged` (by a merge, see Segment.save) is moved in, not written again.
        """
        directory.mkdir(parents=True, exist_ok=True)
        entries = []
        moved = False
        for segment, dead in self._parts.parts:
            if not (directory / segment.name).is_dir():
                if staged is not None and (staged / segment.name).is_dir():
                    os.rename(staged / segment.name, directory / segment.name)
                    moved = True
                else:
                    segment.save(directory)
            removed = 0 if dead is None else int(dead.sum())
            # Rows only ever die, so the number of dead rows names the mask.
            dead_file = f"{segment.name}.dead-{removed}.npy" if removed else None
            if dead is not None and dead_file and not (directory / dead_file).is_file():
                write_atomically(directory / dead_file, partial(np.save, arr=np.flatnonzero(dead)))
            entries.append({"name": segment.name, "rows": len(segment), "dead": dead_file})
        if moved:
            fsync_path(directory)
        return {
            "format": FORMAT_VERSION,
            "params": _plain(self.params),
            "versions": self.versions,
            "fingerprint": self.fingerprint,
            "passages": len(self),
            "segments": entries,
        }

    def save(self, directory: Path) -> None:
        """Write the index to directory, replacing any index there; a crash midway leaves the previous one.

        Only segments not already there are written, so saving after a small change costs what changed.
        One writer at a time.
        """
        directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise FileExistsError(f"{directory} exists and is not a directory")
        started = time.perf_counter()
        manifest = self.write(directory)
        write_json(directory / _PARAMS_FILE, manifest)
        collect_garbage(directory, referenced(manifest) | {_PARAMS_FILE})
        elapsed = time.perf_counter() - started
        logger.info("saved index of %d passages to %s in %.2f s", len(self), directory, elapsed)

    @classmethod
    def load(
        cls,
        directory: Path,
        params: IndexParams,
        *,
        fingerprint: str | None,
        versions: Mapping[str, str],
    ) -> PassageIndex:
        """Read an index saved by save(); raise StaleIndex unless params, versions and fingerprint (if given) match."""
        directory = Path(directory)
        manifest_path = directory / _PARAMS_FILE
        if not manifest_path.is_file():
            raise StaleIndex(f"no index at {directory}: {_PARAMS_FILE} is missing")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise StaleIndex(f"unreadable {manifest_path}: {e!r}") from e
        return cls.read(directory, manifest, params, fingerprint=fingerprint, versions=versions)

    @classmethod
    def read(
        cls,
        directory: Path,
        manifest: Any,
        params: IndexParams,
        *,
        fingerprint: str | None,
        versions: Mapping[str, str],
    ) -> PassageIndex:
        """Read the index a manifest written by write() names; raise StaleIndex unless it matches and is whole."""
        expected_versions = _full_versions(versions, params)
        try:
            saved_format = manifest["format"]
            if saved_format != FORMAT_VERSION:
                raise StaleIndex(f"index format differs: saved {saved_format!r}, now {FORMAT_VERSION!r}")
            saved_params = manifest["params"]
            saved_versions = manifest["versions"]
            saved_fingerprint = manifest["fingerprint"]
            saved_count = manifest["passages"]
            entries = [(entry["name"], entry["rows"], entry["dead"]) for entry in manifest["segments"]]
            if not isinstance(saved_fingerprint, str):
                raise TypeError(f"fingerprint is {saved_fingerprint!r}")
        except (ValueError, TypeError, KeyError) as e:
            raise StaleIndex(f"unreadable index manifest in {directory}: {e!r}") from e

        if not isinstance(saved_params, dict) or saved_params != _plain(params):
            changes = _differences(saved_params if isinstance(saved_params, dict) else {}, _plain(params))
            raise StaleIndex(f"params differ: {'; '.join(changes)}")
        if not isinstance(saved_versions, dict) or saved_versions != expected_versions:
            changes = _differences(saved_versions if isinstance(saved_versions, dict) else {}, expected_versions)
            raise StaleIndex(f"versions differ: {'; '.join(changes)}")
        if fingerprint is not None and saved_fingerprint != fingerprint:
            raise StaleIndex(f"fingerprint differs: saved {saved_fingerprint!r}, now {fingerprint!r}")

        started = time.perf_counter()
        parts: list[Part] = []
        try:
            for name, rows, dead_file in entries:
                if not isinstance(name, str) or "/" in name or name.startswith("."):
                    raise ValueError(f"bad segment name {name!r}")
                segment = Segment.load(directory, name)
                if len(segment) != rows:
                    raise ValueError(f"segment {name} has {len(segment)} rows, the manifest says {rows}")
                dead = None
                if dead_file is not None:
                    dead_rows = np.load(directory / dead_file, allow_pickle=False)
                    if dead_rows.ndim != 1 or dead_rows.dtype.kind != "i" or (len(dead_rows) and (
                            dead_rows.min() < 0 or dead_rows.max() >= rows)):
                        raise ValueError(f"{dead_file} does not hold rows of {name}")
                    dead = np.zeros(rows, dtype=bool)
                    dead[dead_rows] = True
                parts.append((segment, dead))
            index = cls(parts, params, saved_fingerprint, expected_versions)
        except (OSError, ValueError, TypeError, KeyError, EOFError) as e:
            raise StaleIndex(f"unreadable index files in {directory}: {e!r}") from e
        if len(index) != saved_count:
            raise StaleIndex(f"index files in {directory} disagree on the passage count: {[saved_count, len(index)]}")
        elapsed = time.perf_counter() - started
        logger.info("loaded index of %d passages from %s in %.2f s", saved_count, directory, elapsed)
        return index


def referenced(manifest: Mapping[str, Any]) -> set[str]:
    """The files and folders a manifest written by PassageIndex.write() names."""
    names = set()
    for entry in manifest["segments"]:
        names.add(entry["name"])
        if entry["dead"]:
            names.add(entry["dead"])
    return names


def write_json(path: Path, value: Any) -> None:
    """Replace the file at path by value as JSON in one step (the commit point of a save)."""
    write_atomically(path, lambda f: f.write(json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")))


def write_atomically(path: Path, write: Callable[[Any], object]) -> None:
    """Write a file by way of a temporary sibling renamed over it, so that it is whole or absent."""
    temporary = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        with open(temporary, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


def collect_garbage(directory: Path, keep: Collection[str]) -> None:
    """Remove what directory holds besides `keep`: older segments, and leftovers of a save that was killed."""
    for path in directory.iterdir():
        if path.name in keep:
            continue
        if path.name.startswith(".") and ".tmp-" in path.name:
            logger.warning("removing %s, left by an interrupted save", path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
