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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_FILES = ("ids.npy", "lengths.npy", "indptr.npy", "rows.npy", "tf.npy")
_VOCABULARY_FILE = "vocabulary.json"


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
    rows: np.ndarray  # int32: the row of each entry, ascending within a column
    tf: np.ndarray  # float32: how often the column's token occurs in the row
    vocabulary: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vocabulary", {token: column for column, token in enumerate(self.tokens)})
        n = len(self.ids)
        if len(self.lengths) != n or len(self.indptr) != len(self.tokens) + 1 or len(self.vocabulary) != len(self.tokens):
            raise ValueError(f"segment {self.name}: {n} ids, {len(self.lengths)} lengths, {len(self.tokens)} "
                             f"tokens ({len(self.vocabulary)} distinct) and {len(self.indptr)} column bounds")
        entries = int(self.indptr[-1]) if len(self.indptr) else 0
        if len(self.rows) != entries or len(self.tf) != entries or (entries and int(self.rows.max()) >= n):
            raise ValueError(f"segment {self.name}: {entries} entries, {len(self.rows)} rows, {len(self.tf)} tfs")

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
        start, end = self.indptr[column], self.indptr[column + 1]
        return self.rows[start:end], self.tf[start:end]

    @classmethod
    def build(cls, ids: np.ndarray, docs: Sequence[Sequence[str]]) -> Segment:
        """Index each passage's tokens; rows follow the order given."""
        builder = SegmentBuilder()
        for passage_id, tokens in zip(np.asarray(ids, dtype=np.int64).tolist(), docs, strict=True):
            builder.add(passage_id, tokens)
        return builder.build()

    @classmethod
    def merge(cls, parts: Sequence[tuple[Segment, np.ndarray | None]]) -> Segment:
        """One segment holding the live rows of each (segment, dead rows or None), in that order."""
        tokens: dict[str, int] = {}
        columns, rows, tfs, ids, lengths = [], [], [], [], []
        offset = 0
        for segment, dead in parts:
            keep = np.ones(len(segment), dtype=bool) if dead is None else ~dead
            renumbered = np.cumsum(keep) - 1 + offset
            remap = np.fromiter((tokens.setdefault(token, len(tokens)) for token in segment.tokens),
                                dtype=np.int64, count=len(segment.tokens))
            entry_columns = np.repeat(remap, np.diff(segment.indptr))
            live = keep[segment.rows]
            columns.append(entry_columns[live])
            rows.append(renumbered[segment.rows[live]])
            tfs.append(segment.tf[live])
            ids.append(segment.ids[keep])
            lengths.append(segment.lengths[keep])
            offset += int(keep.sum())
        all_columns = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64)
        all_rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        order = np.lexsort((all_rows, all_columns))
        # Tokens held only by removed rows are left out.
        counts = np.bincount(all_columns, minlength=len(tokens))
        held = np.flatnonzero(counts)
        token_list = list(tokens)
        indptr = np.zeros(len(held) + 1, dtype=np.int64)
        np.cumsum(counts[held], out=indptr[1:])
        return cls(
            new_name(),
            np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64),
            np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64),
            tuple(token_list[column] for column in held.tolist()),
            indptr,
            all_rows[order].astype(np.int32),
            (np.concatenate(tfs) if tfs else np.zeros(0, dtype=np.float32))[order],
        )

    def save(self, directory: Path) -> None:
        """Write the segment to directory/name, which must not exist; a crash midway leaves no half segment there."""
        target = directory / self.name
        temporary = directory / f".{self.name}.tmp-{uuid.uuid4().hex[:8]}"
        temporary.mkdir(parents=True)
        try:
            for name, values in zip(_FILES, (self.ids, self.lengths, self.indptr, self.rows, self.tf), strict=True):
                np.save(temporary / name, values, allow_pickle=False)
            with open(temporary / _VOCABULARY_FILE, "w", encoding="utf-8") as f:
                json.dump(self.tokens, f, ensure_ascii=False)
            for path in temporary.iterdir():
                fsync_path(path)
            fsync_path(temporary)
            os.rename(temporary, target)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise

    @classmethod
    def load(cls, directory: Path, name: str) -> Segment:
        """Read the segment saved as directory/name; ValueError or OSError if it is missing or damaged."""
        folder = directory / name
        arrays = [np.load(folder / file, allow_pickle=False) for file in _FILES]
        with open(folder / _VOCABULARY_FILE, encoding="utf-8") as f:
            tokens = json.load(f)
        if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
            raise ValueError(f"{folder / _VOCABULARY_FILE} is not a list of tokens")
        ids, lengths, indptr, rows, tf = arrays
        for label, values, kind in (("ids", ids, "i"), ("lengths", lengths, "i"), ("indptr", indptr, "i"),
                                   ("rows", rows, "i"), ("tf", tf, "f")):
            if values.ndim != 1 or values.dtype.kind != kind:
                raise ValueError(f"{folder}: {label} has shape {values.shape} and dtype {values.dtype}")
        return cls(name, ids.astype(np.int64, copy=False), lengths.astype(np.int64, copy=False), tuple(tokens),
                   indptr.astype(np.int64, copy=False), rows.astype(np.int32, copy=False),
                   tf.astype(np.float32, copy=False))


class SegmentBuilder:
    """Rows added one passage at a time; each passage's tokens become column numbers and counts at once.

    What it holds until build() is 12 bytes per distinct (passage, token) pair and one string per distinct
    token, not the passages' token lists: a large segment is built from token lists made one batch at a time.
    """

    def __init__(self) -> None:
        self._vocabulary: dict[str, int] = {}
        self._ids = array("q")
        self._lengths = array("q")
        self._widths = array("q")  # distinct tokens of each row
        self._columns = array("i")  # the column of each (row, token) pair, row by row
        self._tf = array("f")

    def __len__(self) -> int:
        """Return the number of rows added."""
        return len(self._ids)

    @property
    def entries(self) -> int:
        """The number of (passage, token) pairs added."""
        return len(self._columns)

    def add(self, passage_id: int, tokens: Sequence[str]) -> None:
        """Add a row: the passage's tokens (as a bag)."""
        if isinstance(tokens, str):
            raise TypeError(f"passage {passage_id}: tokens must be a list of str, not a str")
        counts = Counter(tokens)
        if "" in counts:
            raise ValueError(f"passage {passage_id}: the empty string is not a token")  # in order of first occurrence
        vocabulary = self._vocabulary
        self._columns.extend([vocabulary.setdefault(token, len(vocabulary)) for token in counts])
        self._tf.extend(counts.values())
        self._ids.append(passage_id)
        self._lengths.append(len(tokens))
        self._widths.append(len(counts))

    def build(self) -> Segment:
        """The segment of the rows added, in the order added; the builder is emptied."""
        n, tokens = len(self._ids), tuple(self._vocabulary)
        columns = np.frombuffer(self._columns, dtype=np.int32) if len(self._columns) else np.zeros(0, dtype=np.int32)
        indptr = np.zeros(len(tokens) + 1, dtype=np.int64)
        np.cumsum(np.bincount(columns, minlength=len(tokens)), out=indptr[1:])
        # Pairs were added row by row: a stable sort by column keeps each column's rows ascending.
        order = np.argsort(columns, kind="stable")
        del columns
        self._columns = array("i")
        rows = np.repeat(np.arange(n, dtype=np.int32), np.frombuffer(self._widths, dtype=np.int64) if n else 0)[order]
        tf = (np.frombuffer(self._tf, dtype=np.float32) if len(self._tf) else np.zeros(0, dtype=np.float32))[order]
        del order
        segment = Segment(new_name(), np.array(self._ids, dtype=np.int64), np.array(self._lengths, dtype=np.int64),
                          tokens, indptr, rows, tf)
        self.__init__()
        return segment


def fsync_path(path: Path) -> None:
    """Flush a file or directory to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
