"""Scoring loops compiled with numba: the same arithmetic as the numpy code in index.py and backend.py, in one pass.

Imported only through kernels.enable(): numba takes about 1 s to import and load these from its cache, which a process answering one question
(`rectbot ask`) would not win back. Every loop releases the GIL, so searches in two threads run at once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rectbot.retrieval.segments import BLOCK_ROWS  # a compile-time constant for numba
_SLACK = 1e-9  # widens a bound taken with reciprocals past any rounding
_CHUNK = 256  # rows whose best bound is checked at once


@njit(cache=True, nogil=True)
def add_column(
    scores: np.ndarray, rows: np.ndarray, splits: np.ndarray, tf: np.ndarray, norm: np.ndarray, factor: np.float32
) -> None:
    """scores[row] += float64(factor * (tf / (tf + norm[row]))) for each entry of a column, in float32 until the sum.

    `rows` are offsets within blocks of BLOCK_ROWS rows and `splits` where each later block starts (a two-byte
    column), or full row numbers and no splits (an older four-byte one). A row past the end raises IndexError, as
    numpy does: numba checks no bounds, and a damaged segment must not write into memory that is not its own.
    """
    size = norm.shape[0]
    if scores.shape[0] != size or (splits.shape[0] and splits[splits.shape[0] - 1] > rows.shape[0]):
        raise IndexError("a column or its scores do not fit the segment")
    start = 0
    for block in range(splits.shape[0] + 1):
        end = splits[block] if block < splits.shape[0] else rows.shape[0]
        base = block * BLOCK_ROWS
        for i in range(start, end):
            row = base + np.int64(rows[i])
            if row >= size:
                raise IndexError("a row number is past the end of its segment")
            count = np.float32(tf[i])
            scores[row] += np.float64(factor * (count / (count + norm[row])))
        start = end


@njit(cache=True, nogil=True)
def add_columns(
    scores: np.ndarray, rows: np.ndarray, blocks: np.ndarray, tf: np.ndarray, indptr: np.ndarray,
    columns: np.ndarray, factors: np.ndarray, norm: np.ndarray,
) -> None:
    """add_column() for each of these columns of one segment, in the order given, with its factor."""
    for j in range(columns.shape[0]):
        column = columns[j]
        start, end = indptr[column], indptr[column + 1]
        add_column(scores, rows[start:end], blocks[column], tf[start:end], norm, factors[j])


@njit(cache=True, nogil=True)
def hopeful_rows(
    word_scores: np.ndarray, gram_scores: np.ndarray, word_best: float, gram_best: float,
    word_weight: float, gram_weight: float, context_weight: float, k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows some field matches whose own share plus the context's weight reaches the k-th best own share.

    Returns them ascending with their word and bigram scores, and leaves both score arrays all zeros (they are
    scratch arrays, reused by the next search). A field whose best is 0 matches nothing.
    """
    n = word_scores.shape[0]
    # Multiplying by the reciprocals bounds the share within a few units in the last place, without the two
    # divisions per row that dominate these loops: a row is divided exactly only when the bound says it may count.
    word_scale = word_weight / word_best if word_best > 0 else 0.0
    gram_scale = gram_weight / gram_best if gram_best > 0 else 0.0
    smallest = np.full(k, -np.inf)  # a min-heap of the k best own shares so far: its root only grows
    # Rows that may be hopeful (a superset: the root was lower when they were seen), with their scores.
    # Allocated, not written: only the pages of the rows kept are ever touched.
    maybe = np.empty(n, dtype=np.int64)
    maybe_words = np.empty(n, dtype=np.float64)
    maybe_grams = np.empty(n, dtype=np.float64)
    count = 0
    matched = 0
    for start in range(0, n, _CHUNK):
        end = min(n, start + _CHUNK)
        # Once more than k rows matched, a chunk whose best bound cannot reach the k-th best is skipped whole:
        # most are, and finding a chunk's best is a loop the compiler vectorises.
        if matched > k and _best_bound(word_scores, gram_scores, word_scale, gram_scale, start, end) * (
            1 + _SLACK
        ) + context_weight < smallest[0]:
            continue
        for row in range(start, end):
            words = word_scores[row] if word_best > 0 else 0.0
            grams = gram_scores[row] if gram_best > 0 else 0.0
            if not (words > 0 or grams > 0):
                continue
            matched += 1
            bound = (word_scale * words + gram_scale * grams) * (1 + _SLACK)
            if bound + context_weight < smallest[0]:
                continue
            maybe[count] = row
            maybe_words[count] = words
            maybe_grams[count] = grams
            count += 1
            if bound > smallest[0]:
                own = _own(words, grams, word_best, gram_best, word_weight, gram_weight)
                if own > smallest[0]:
                    smallest[0] = own
                    _sift_down(smallest)
    # A memset: clearing the rows that held a score as the loop reads them stops it from being vectorised.
    word_scores[:] = 0.0
    gram_scores[:] = 0.0
    kth = smallest[0] if matched > k else -np.inf
    kept = 0
    for i in range(count):
        if _own(maybe_words[i], maybe_grams[i], word_best, gram_best, word_weight, gram_weight) + context_weight >= kth:
            maybe[kept] = maybe[i]
            maybe_words[kept] = maybe_words[i]
            maybe_grams[kept] = maybe_grams[i]
            kept += 1
    return maybe[:kept].copy(), maybe_words[:kept].copy(), maybe_grams[:kept].copy()


@njit(cache=True, nogil=True, fastmath=True)
def _best_bound(
    word_scores: np.ndarray, gram_scores: np.ndarray, word_scale: float, gram_scale: float, start: int, end: int
) -> float:
    """The largest share bound of rows start to end - 1 (fast-math: rounding is within the bound's slack).

    Scores are never negative, and a field whose best is 0 has all zeros and scale 0.
    """
    best = 0.0
    for row in range(start, end):
        best = max(best, word_scale * word_scores[row] + gram_scale * gram_scores[row])
    return best


@njit(cache=True, nogil=True, inline="always")
def _own(words: float, grams: float, word_best: float, gram_best: float, word_weight: float, gram_weight: float) -> float:
    """A row's own share (words and bigrams) from its two scores, as backend.py computes it."""
    words = words / word_best if word_best > 0 else 0.0
    grams = grams / gram_best if gram_best > 0 else 0.0
    return word_weight * words + gram_weight * grams


@njit(cache=True, nogil=True, inline="always")
def _sift_down(heap: np.ndarray) -> None:
    """Restore the min-heap after its root was replaced."""
    size = heap.shape[0]
    at = 0
    while True:
        left = 2 * at + 1
        if left >= size:
            return
        child = left + 1 if left + 1 < size and heap[left + 1] < heap[left] else left
        if heap[child] >= heap[at]:
            return
        heap[at], heap[child] = heap[child], heap[at]
        at = child


@njit(cache=True, nogil=True)
def column_order(columns: np.ndarray, column_count: int) -> np.ndarray:
    """np.argsort(columns, kind="stable") for column numbers under column_count, by counting (two passes, no sort)."""
    starts = np.zeros(column_count + 1, dtype=np.int64)
    for column in columns:
        if column < 0 or column >= column_count:
            raise IndexError("a column number is out of range")
        starts[column + 1] += 1
    for column in range(column_count):
        starts[column + 1] += starts[column]
    order = np.empty(columns.shape[0], dtype=np.int64)
    for entry in range(columns.shape[0]):
        column = columns[entry]
        order[starts[column]] = entry
        starts[column] += 1
    return order


def warm_up() -> None:
    """Compile every loop for the argument types scoring uses (or load them from the cache).

    Columns come read-only (Segment.raw_columns), as mapped from disk or not: numba compiles a read-only array
    apart from a writable one, which would otherwise mean compiling during a first question.
    """
    scores = np.zeros(4)
    norm = np.ones(4, dtype=np.float32)
    for rows in (np.array([1, 3], dtype=np.uint16), np.array([1, 3], dtype=np.int32)):
        for tf in (np.ones(2, dtype=np.uint8), np.ones(2, dtype=np.float32)):
            blocks = np.zeros((1, 0), dtype=np.uint32)
            indptr = np.array([0, 2], dtype=np.int64)
            for array in (rows, blocks, tf, indptr):
                array.flags.writeable = False
            add_columns(scores, rows, blocks, tf, indptr, np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.float32), norm)
    hopeful_rows(scores, np.zeros(4), 1.0, 1.0, 1.0, 0.6, 0.15, 1)
    column_order(np.array([1, 0], dtype=np.int32), 2)
