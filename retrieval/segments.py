"""Segments: passages indexed together and never changed afterwards, as term-frequency columns in plain arrays.

A segment is what Lucene and tantivy call one: new passages go into a new one, removed ones are marked dead
beside it (the segment itself is never rewritten), and small segments are merged into bigger ones. Scores are
not stored, only term frequencies and lengths, so that BM25 over all live passages (their number, average length
and each token's document frequency) is computed when a question is asked.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rectbot.retrieval import kernels

_FILES = ("ids.npy", "lengths.npy", "indptr.npy", "rows.npy", "tf.npy")
_BLOCKS_FILE = "blocks.npy"  # absent in segments written before rows were stored in two bytes
_VOCABULARY_FILE = "vocabulary.json"
BLOCK_ROWS = 1 << 16  # rows are stored as their offset within a block of this many, in two bytes
_MERGE_CHUNK = 1_000_000  # entries of a segment placed at a time by a merge


def new_name() -> str:
    """A name no other segment has."""
    return f"seg-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True, eq=False)
class Segment:
    """Passage ids, lengths and term frequencies, by column (one column per token, as in bm25s's matrices)."""

    name: str
    ids: np.ndarray  # int64: the passage id of each row
    lengths: np.ndarray  # int64: the number of tokens of each row
    tokens: tuple[str, ...]  # the token of each column
    indptr: np.ndarray  # int64: column c's entries are [indptr[c], indptr[c + 1])
    # The row of each entry, ascending within a column: uint16, its offset within its block of BLOCK_ROWS rows,
    # with `blocks` saying where in each column each later block starts; or int32 rows and no blocks (older
    # segments, until merged or reindexed). At a million passages the index is 38% smaller on disk and serving
    # it takes 22% less memory.
    rows: np.ndarray
    tf: np.ndarray  # uint8 when every count fits (a passage rarely holds a token 256 times), else float32
    blocks: np.ndarray | None = None  # uint32 [columns, blocks - 1]: entries of a column before block b + 1
    mapped: bool = field(default=False, repr=False, kw_only=True)  # the arrays are views of memory-mapped files
    vocabulary: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vocabulary", dict(zip(self.tokens, range(len(self.tokens)))))  # 1.6x a dict comprehension
        n = len(self.ids)
        if len(self.lengths) != n or len(self.indptr) != len(self.tokens) + 1 or len(self.vocabulary) != len(self.tokens):
            raise ValueError(f"segment {self.name}: {n} ids, {len(self.lengths)} lengths, {len(self.tokens)} "
                             f"tokens ({len(self.vocabulary)} distinct) and {len(self.indptr)} column bounds")
        entries = int(self.indptr[-1]) if len(self.indptr) else 0
        if len(self.rows) != entries or len(self.tf) != entries:
            raise ValueError(f"segment {self.name}: {entries} entries, {len(self.rows)} rows, {len(self.tf)} tfs")
        if self.blocks is not None:
            if self.rows.dtype != np.uint16 or self.blocks.shape != (len(self.tokens), max(0, -(-n // BLOCK_ROWS) - 1)):
                raise ValueError(f"segment {self.name}: {self.rows.dtype} rows and blocks of shape "
                                 f"{self.blocks.shape} for {n} rows and {len(self.tokens)} columns")
        # A loaded segment's rows are mapped, not read: checking every one would read them all (np.load has
        # checked the file holds what its header says, and a segment is written once, whole, then renamed).
        elif entries and not self.mapped and int(self.rows.max()) >= n:
            raise ValueError(f"segment {self.name}: a row number is past its {n} rows")

    @classmethod
    def with_rows(
        cls, name: str, ids: np.ndarray, lengths: np.ndarray, tokens: tuple[str, ...], indptr: np.ndarray,
        rows: np.ndarray, tf: np.ndarray,
    ) -> Segment:
        """A segment of full row numbers (ascending within each column), stored in two bytes each."""
        n, columns = len(ids), len(tokens)
        if len(rows) and (int(rows.max()) >= n or int(rows.min()) < 0):
            raise ValueError(f"segment {name}: a row number is outside its {n} rows")
        count = -(-n // BLOCK_ROWS)
        blocks = np.zeros((columns, max(0, count - 1)), dtype=np.uint32)
        if count > 1:
            # Each column's entries in each block, counted a few columns at a time (a merge's segment holds up to
            # 12 million entries); their running sums are where each later block starts.
            for first, last in column_chunks(indptr):
                sizes = np.diff(indptr[first : last + 1])
                column_of = np.repeat(np.arange(last - first, dtype=np.int64), sizes)
                block_of = rows[int(indptr[first]) : int(indptr[last])] // BLOCK_ROWS
                per_block = np.bincount(column_of * count + block_of, minlength=(last - first) * count)
                blocks[first:last] = np.cumsum(per_block.reshape(last - first, count), axis=1)[:, :-1]
        low = rows.astype(np.uint16)  # wraps: the row's offset within its block, with no temporary array
        return cls(name, ids, lengths, tokens, indptr, low, tf, blocks)

    def __len__(self) -> int:
        """Return the number of rows (passages), removed ones included."""
        return len(self.ids)

    @property
    def entries(self) -> int:
        """The number of (passage, token) pairs stored."""
        return len(self.rows)

    def column(self, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Return the rows holding token and how often each holds it, or None if no row does."""
        column = self.vocabulary.get(token)
        if column is None:
            return None
        start, end = int(self.indptr[column]), int(self.indptr[column + 1])
        if self.blocks is None:
            return self.rows[start:end], self.tf[start:end]
        rows = self.rows[start:end].astype(np.intp)
        for split in self.blocks[column].tolist():  # each later block adds another BLOCK_ROWS from where it starts
            if split < len(rows):
                rows[split:] += BLOCK_ROWS
        return rows, self.tf[start:end]

    def count(self, token: str) -> int:
        """How many rows hold the token (removed ones included)."""
        column = self.vocabulary.get(token)
        return 0 if column is None else int(self.indptr[column + 1] - self.indptr[column])

    def raw_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every column as stored: rows, where each column's later blocks start ([columns, 0] when none), counts,
        column bounds; read-only plain arrays (one type for numba, mapped from disk or not)."""
        blocks = self.blocks if self.blocks is not None else np.zeros((len(self.tokens), 0), dtype=np.uint32)
        return _read_only(self.rows), _read_only(blocks), _read_only(self.tf), _read_only(self.indptr)

    def rows_between(self, first: int, last: int) -> np.ndarray:
        """The row numbers (int32) of every entry of columns first to last - 1, in entry order."""
        start, end = int(self.indptr[first]), int(self.indptr[last])
        rows = self.rows[start:end].astype(np.int32)
        if self.blocks is None or self.blocks.shape[1] == 0 or end == start:
            return rows
        # +1 from where each later block starts to the end of its column, summed: each entry's block number.
        starts = self.indptr[first:last] - start
        ends = self.indptr[first + 1 : last + 1] - start
        later = self.blocks.shape[1]
        opened = np.bincount((starts[:, None] + self.blocks[first:last]).ravel(), minlength=end - start + 1)
        closed = np.bincount(ends, minlength=end - start + 1) * later
        rows += (np.cumsum(opened - closed)[:-1] * BLOCK_ROWS).astype(np.int32)
        return rows

    @classmethod
    def build(cls, ids: np.ndarray, docs: Sequence[Sequence[str]]) -> Segment:
        """Index each passage's tokens; rows follow the order given."""
        builder = SegmentBuilder()
        for passage_id, tokens in zip(np.asarray(ids, dtype=np.int64).tolist(), docs, strict=True):
            builder.add(passage_id, tokens)
        return builder.build()

    @classmethod
    def merge(cls, parts: Sequence[tuple[Segment, np.ndarray | None]]) -> Segment:
        """One segment holding the live rows of each (segment, dead rows or None), in that order.

        Each column's rows are already ascending within a segment and the segments' rows follow one another, so
        every entry's place is computed (a counting sort): time and memory are linear in the entries merged.
        """
        tokens: dict[str, int] = {}
        sources = []
        offset = 0
        for segment, dead in parts:
            remap = np.fromiter((tokens.setdefault(token, len(tokens)) for token in segment.tokens),
                                dtype=np.int64, count=len(segment.tokens))
            if dead is None:
                live_entries, renumbered = None, None
                counts = np.diff(segment.indptr)
                kept = len(segment)
            else:
                keep = ~dead
                live_entries = np.empty(segment.entries, dtype=bool)
                for first, last in column_chunks(segment.indptr):
                    live_entries[int(segment.indptr[first]) : int(segment.indptr[last])] = keep[
                        segment.rows_between(first, last)]
                running = np.zeros(len(live_entries) + 1, dtype=np.int64)
                np.cumsum(live_entries, out=running[1:])
                counts = running[segment.indptr[1:]] - running[segment.indptr[:-1]]
                renumbered = (np.cumsum(keep) - 1).astype(np.int32)
                kept = int(keep.sum())
            sources.append((segment, dead, remap, counts, live_entries, renumbered, offset))
            offset += kept
        totals = np.zeros(len(tokens), dtype=np.int64)
        for _, _, remap, counts, _, _, _ in sources:
            totals[remap] += counts  # a segment's tokens are distinct: no index repeats
        starts = np.zeros(len(tokens) + 1, dtype=np.int64)
        np.cumsum(totals, out=starts[1:])
        cursor = starts[:-1].copy()  # where the next segment's entries of each column go
        entries = int(starts[-1])
        tf_type = np.result_type(*(segment.tf.dtype for segment, _ in parts)) if parts else np.uint8
        rows = np.empty(entries, dtype=np.int32)
        tf = np.empty(entries, dtype=tf_type)
        for segment, dead, remap, counts, live_entries, renumbered, first_row in sources:
            # A few columns at a time, so that the temporaries (32 bytes an entry) stay small.
            for first, last in column_chunks(segment.indptr):
                start, end = int(segment.indptr[first]), int(segment.indptr[last])
                chunk_counts, chunk_remap = counts[first:last], remap[first:last]
                n = int(chunk_counts.sum())
                if n:
                    group_start = np.repeat(np.cumsum(chunk_counts) - chunk_counts, chunk_counts)
                    places = np.repeat(cursor[chunk_remap], chunk_counts) + (np.arange(n, dtype=np.int64) - group_start)
                    del group_start
                    if live_entries is None:
                        rows[places] = segment.rows_between(first, last) + np.int32(first_row)
                        tf[places] = segment.tf[start:end]
                    else:
                        assert renumbered is not None  # set together with live_entries
                        live = live_entries[start:end]
                        rows[places] = renumbered[segment.rows_between(first, last)[live]] + np.int32(first_row)
                        tf[places] = segment.tf[start:end][live]
                    cursor[chunk_remap] += chunk_counts
        # Tokens held only by removed rows are left out.
        held = np.flatnonzero(totals)
        token_list = list(tokens)
        indptr = np.zeros(len(held) + 1, dtype=np.int64)
        np.cumsum(totals[held], out=indptr[1:])
        ids = [segment.ids if dead is None else segment.ids[~dead] for segment, dead in parts]
        lengths = [segment.lengths if dead is None else segment.lengths[~dead] for segment, dead in parts]
        return cls.with_rows(
            new_name(),
            np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64),
            np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64),
            tuple(token_list[column] for column in held.tolist()),
            indptr,
            rows,
            tf,
        )

    def save(self, directory: Path) -> None:
        """Write the segment to directory/name, which must not exist; a crash midway leaves no half segment there."""
        target = directory / self.name
        temporary = directory / f".{self.name}.tmp-{uuid.uuid4().hex[:8]}"
        temporary.mkdir(parents=True)
        try:
            for name, values in zip(_FILES, (self.ids, self.lengths, self.indptr, self.rows, self.tf), strict=True):
                np.save(temporary / name, values, allow_pickle=False)
            if self.blocks is not None:
                np.save(temporary / _BLOCKS_FILE, self.blocks, allow_pickle=False)
            with open(temporary / _VOCABULARY_FILE, "w", encoding="utf-8") as f:
                json.dump(self.tokens, f, ensure_ascii=False)
            for path in temporary.iterdir():
                fsync_path(path)
            fsync_path(temporary)
            os.rename(temporary, target)
            fsync_path(directory)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise

    @classmethod
    def load(cls, directory: Path, name: str) -> Segment:
        """Read the segment saved as directory/name; ValueError or OSError if it is missing or damaged.

        The arrays are memory-mapped (as bm25s's load(mmap=True)): loading costs what the vocabulary does, and
        the pages of a token's column are read, once, when a question first needs them. Files are never changed
        once written, and a mapped file removed by a later save stays readable while mapped.
        """
        folder = directory / name
        # Plain views of the maps: np.memmap's own slicing costs 6 µs (Python code), a search slices thousands.
        arrays = [np.load(folder / file, mmap_mode="r", allow_pickle=False).view(np.ndarray) for file in _FILES]
        with open(folder / _VOCABULARY_FILE, encoding="utf-8") as f:
            tokens = json.load(f)
        # set(map(type, ...)) checks every token in C: a generator of isinstance() cost 0.16 s of loading 1M passages.
        if not isinstance(tokens, list) or not set(map(type, tokens)) <= {str}:
            raise ValueError(f"{folder / _VOCABULARY_FILE} is not a list of tokens")
        ids, lengths, indptr, rows, tf = arrays
        compact = (folder / _BLOCKS_FILE).exists()
        for label, values, kinds in (("ids", ids, "i"), ("lengths", lengths, "i"), ("indptr", indptr, "i"),
                                    ("rows", rows, "u" if compact else "i"), ("tf", tf, "fu")):
            if values.ndim != 1 or values.dtype.kind not in kinds:
                raise ValueError(f"{folder}: {label} has shape {values.shape} and dtype {values.dtype}")
        blocks = None
        if compact:
            blocks = np.load(folder / _BLOCKS_FILE, allow_pickle=False)
            if blocks.ndim != 2 or blocks.dtype != np.uint32:
                raise ValueError(f"{folder}: blocks have shape {blocks.shape} and dtype {blocks.dtype}")
            # Read whole (a few bytes a column), so checked whole: each column's block starts must ascend and lie
            # within the column, or rows would be decoded past the segment.
            if blocks.shape[1] and (
                len(blocks) != len(indptr) - 1
                or (np.diff(blocks.astype(np.int64), axis=1) < 0).any()
                or (blocks[:, -1] > np.diff(indptr)).any()
            ):
                raise ValueError(f"{folder}: the block starts of some column are out of order or past its end")
        return cls(name, ids.astype(np.int64, copy=False), lengths.astype(np.int64, copy=False), tuple(tokens),
                   indptr.astype(np.int64, copy=False), rows if compact else rows.astype(np.int32, copy=False),
                   tf if tf.dtype == np.uint8 else tf.astype(np.float32, copy=False), blocks, mapped=True)


class SegmentBuilder:
    """Rows added one passage at a time, each token as its column number; counted into term frequencies at build().

    What it holds until build() is 4 bytes per token (repeats included: counting them per passage in Python cost
    more than the whole build) and one string per distinct token, not the passages' token lists: a large segment
    is built from token lists made one batch at a time.
    """

    def __init__(self) -> None:
        self._empty()

    def _empty(self) -> None:
        """Hold no rows."""
        self._vocabulary: dict[str, int] = {}
        self._ids = array("q")
        self._lengths = array("q")  # tokens of each row
        self._columns = array("i")  # the column of each token, row by row

    def __len__(self) -> int:
        """Return the number of rows added."""
        return len(self._ids)

    @property
    def entries(self) -> int:
        """The number of tokens added (an upper bound of the (passage, token) pairs they make)."""
        return len(self._columns)

    def add(self, passage_id: int, tokens: Sequence[str]) -> None:
        """Add a row: the passage's tokens (as a bag)."""
        if isinstance(tokens, str):
            raise TypeError(f"passage {passage_id}: tokens must be a list of str, not a str")
        vocabulary = self._vocabulary
        try:  # a C loop: most tokens are known after the first passages
            columns = list(map(vocabulary.__getitem__, tokens))
        except KeyError:
            if "" in tokens:
                raise ValueError(f"passage {passage_id}: the empty string is not a token") from None
            columns = [vocabulary.setdefault(token, len(vocabulary)) for token in tokens]
        self._columns.extend(columns)
        self._ids.append(passage_id)
        self._lengths.append(len(columns))

    def add_many(self, passage_ids: Sequence[int], vocabulary: Sequence[str], ids: np.ndarray, lengths: np.ndarray) -> None:
        """Add rows as add() would one by one: row i holds the next lengths[i] of ids, numbers into vocabulary.

        Each distinct token is looked up once, in the order it first occurs, so columns are numbered as add()
        numbers them.
        """
        if len(passage_ids) != len(lengths) or int(lengths.sum()) != len(ids):
            raise ValueError("one length per passage, adding up to the number of ids")
        if len(ids):
            # Where each id first occurs, by lookup tables over the vocabulary (no sort of the ids).
            first = np.full(len(vocabulary), len(ids), dtype=np.int64)
            np.minimum.at(first, ids, np.arange(len(ids)))
            distinct = np.flatnonzero(first < len(ids))
            in_order = distinct[np.argsort(first[distinct], kind="stable")]
            tokens = [vocabulary[i] for i in in_order.tolist()]
            if "" in tokens:
                raise ValueError("the empty string is not a token")
            known = self._vocabulary
            column_of = np.empty(len(vocabulary), dtype=np.int32)
            column_of[in_order] = [known.setdefault(token, len(known)) for token in tokens]
            self._columns.frombytes(column_of[ids].tobytes())
        self._ids.extend(passage_ids)
        self._lengths.frombytes(np.asarray(lengths, dtype=np.int64).tobytes())

    def build(self) -> Segment:
        """The segment of the rows added, in the order added; the builder is emptied."""
        n, tokens = len(self._ids), tuple(self._vocabulary)
        columns = np.frombuffer(self._columns, dtype=np.int32) if len(self._columns) else np.zeros(0, dtype=np.int32)
        lengths = np.array(self._lengths, dtype=np.int64)
        # Tokens were added row by row: a stable sort by column keeps each column's rows ascending, so a token
        # repeated in a row lands on neighbouring entries, which are counted into one. With the compiled loops on
        # (big builds), counted into place rather than sorted: 0.7 s of each 10-million-entry segment.
        loops = kernels.compiled()
        order = (
            loops.column_order(columns, len(tokens)) if loops is not None and len(columns)
            else np.argsort(columns, kind="stable")
        )
        columns = columns[order]
        rows = np.repeat(np.arange(n, dtype=np.int32), lengths)[order]
        del order
        self._columns = array("i")
        first = np.ones(len(columns), dtype=bool)
        first[1:] = (columns[1:] != columns[:-1]) | (rows[1:] != rows[:-1])
        starts = np.flatnonzero(first)
        tf = np.diff(np.append(starts, len(columns))).astype(np.float32)
        columns, rows = columns[starts], rows[starts]
        del first, starts
        indptr = np.zeros(len(tokens) + 1, dtype=np.int64)
        np.cumsum(np.bincount(columns, minlength=len(tokens)), out=indptr[1:])
        segment = Segment.with_rows(new_name(), np.array(self._ids, dtype=np.int64), lengths, tokens, indptr, rows,
                                    compact_counts(tf))
        self._empty()
        return segment


def column_chunks(indptr: np.ndarray, entries: int | None = None) -> Iterator[tuple[int, int]]:
    """Ranges [first, last) of columns holding about `entries` (default _MERGE_CHUNK) entries each, one at least."""
    entries = _MERGE_CHUNK if entries is None else entries
    columns, first = len(indptr) - 1, 0
    while first < columns:
        last = int(np.searchsorted(indptr, indptr[first] + entries, side="right")) - 1
        last = min(max(last, first + 1), columns)
        yield first, last
        first = last


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only plain-array view (one type for numba whether the segment is mapped from disk or not)."""
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


def compact_counts(tf: np.ndarray) -> np.ndarray:
    """Term frequencies as uint8 when they all fit (a quarter of the float32 size; the same scores), else float32."""
    if len(tf) == 0 or tf.max() <= 255:
        return tf.astype(np.uint8)
    return tf.astype(np.float32, copy=False)


def fsync_path(path: Path) -> None:
    """Flush a file or directory to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
