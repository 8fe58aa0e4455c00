"""Each passage's tokens, kept between reindexes: only new or changed texts are segmented again.

A small SQLite file beside the index (not the main database: the cache is disposable). Rows are keyed by
(kind, id) and hold a digest of the text they were cut from, so a reused id or an edited text is never
served stale tokens; the whole cache is for one tokenizer version and is emptied when that changes.
Tokens are stored as ids into a vocabulary table, so each distinct token is one string in memory.
A missing or corrupt cache is rebuilt and a busy one skipped: it costs a full segmentation, never a reindex.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import uuid
from array import array
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rectbot.retrieval.token_batch import TokenBatch, TokenLists, number_tokens

logger = logging.getLogger(__name__)

# Bump when the rows' layout changes; a cache of another format is emptied and its tables made anew.
# 2: a table with row ids. Rows of hundreds of bytes made the first one's WITHOUT ROWID b-tree 2.3 times the
# size of its data and a third slower to write.
FORMAT = "2"

# Called with a batch of texts, returns each text's token lists (the same number of lists for every text), as
# lists of strings or as one TokenBatch.
Segment = Callable[[Sequence[str]], "Sequence[TokenLists] | TokenBatch"]
# Starts segmenting a batch of texts and returns a function that waits for Segment's result (or for the
# TokenBatches of its parts, in order).
Submit = Callable[[Sequence[str]], Callable[[], "Sequence[TokenLists] | TokenBatch | Sequence[TokenBatch]"]]
Progress = Callable[[int, int], None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vocabulary (id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS tokens (
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    digest BLOB NOT NULL,
    lists BLOB NOT NULL,  -- uint32: the number of lists, each one's length, then the vocabulary ids of all
    PRIMARY KEY (kind, id)
);
"""
_BATCH = 2000  # texts segmented between two progress reports
_BUSY_SECONDS = 10


class _Vocabulary:
    """The cache's vocabulary as this process knows it: token ids -> tokens (and back, once needed)."""

    def __init__(self, generation: str | None, tokens: list[str]) -> None:
        self.generation = generation  # None: the cache was empty or for another tokenizer when read
        self.tokens = tokens
        self.saved = len(tokens)  # tokens[:saved] are in the cache file; later ones were added here since
        self._ids: dict[str, int] | None = None  # built on the first new tokens: reading needs only `tokens`

    def numbers(self, tokens: Sequence[str]) -> np.ndarray:
        """The id of each token, new tokens added at the end."""
        if self._ids is None:
            self._ids = {token: i for i, token in enumerate(self.tokens)}
        return np.asarray(number_tokens(tokens, self._ids, self.tokens), dtype=np.uint32)

    def extend(self, tokens: Iterable[str]) -> None:
        """Tokens another process saved after ours, at the next ids."""
        for token in tokens:
            if self._ids is not None:
                self._ids[token] = len(self.tokens)
            self.tokens.append(token)
        self.saved = len(self.tokens)


def digest(text: str) -> bytes:
    """Identifies a text's exact content."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()


class TokenCache:
    """Token lists by (kind, id) for one tokenizer version, in a SQLite file."""

    def __init__(self, path: Path, version: str) -> None:
        self.path = path
        self.version = version
        self.segmented = 0  # texts this instance had to segment (not found in the cache)

    def tokens(
        self, kind: str, items: Sequence[tuple[int, str]], segment: Segment, progress: Progress | None = None,
        fields: int | None = None,
    ) -> list[TokenLists]:
        """The token lists of each (id, text): from the cache where the text is unchanged, else from segment().

        Afterwards the cache holds these ids of this kind and no others: rows of ids not given are dropped. With
        `fields` (the lists segment() gives a text), a row of another number of lists is damaged: cut again.
        """
        wanted = dict(items)
        if len(wanted) != len(items):
            raise ValueError(f"{kind} ids must be unique")
        vocabulary = _Vocabulary(None, [])
        found: dict[int, np.ndarray] = {}
        busy = False
        try:
            vocabulary, found = self._read(kind, wanted, fields=fields, every_row=True)
        except sqlite3.Error as error:
            busy = _busy(error)
            if busy:
                logger.warning("token cache %s is busy: segmenting without it", self.path)
            else:
                logger.warning("token cache %s is unreadable (%s): rebuilding it", self.path, error)
                self._remove()
        missing = [(item_id, text) for item_id, text in items if item_id not in found]
        if progress:
            progress(len(found), len(items))
        new: dict[int, np.ndarray] = {}
        for start in range(0, len(missing), _BATCH):
            batch = missing[start : start + _BATCH]
            parts = _as_batches(segment([text for _, text in batch]))
            rows = [row for part in parts for row in _packed_rows(part, vocabulary)]
            new.update(zip((item_id for item_id, _ in batch), rows, strict=True))
            self.segmented += len(batch)
            if progress:
                progress(len(found) + len(new), len(items))
        if not busy:
            try:
                self._write(kind, wanted, new, vocabulary)
            except sqlite3.Error as error:
                logger.warning("could not update token cache %s: %s", self.path, error)
        found.update(new)
        return [_lists(found[item_id], vocabulary.tokens) for item_id, _ in items]

    def store(self, kind: str, items: Sequence[tuple[int, str]], lists: Sequence[TokenLists], removed: Sequence[int]) -> None:
        """Keep these (id, text)s' token lists and drop the rows of the removed ids; other rows are left alone.

        For an index update: costs what these texts hold, where tokens() reads and prunes the whole kind.
        """
        try:
            with closing(self._connect()) as db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    if not self._current(dict(db.execute("SELECT key, value FROM meta"))):
                        db.execute("ROLLBACK")
                        return  # for another tokenizer: the next reindex empties and fills it
                    distinct = list(dict.fromkeys(token for token_lists in lists for tokens in token_lists for token in tokens))
                    ids_of = dict(db.execute(
                        "SELECT token, id FROM vocabulary WHERE token IN (SELECT value FROM json_each(?))",
                        (json.dumps(distinct, ensure_ascii=False),),
                    ))
                    next_id = db.execute("SELECT coalesce(max(id), -1) + 1 FROM vocabulary").fetchone()[0]
                    fresh = [token for token in distinct if token not in ids_of]
                    ids_of.update((token, next_id + i) for i, token in enumerate(fresh))
                    db.executemany("INSERT INTO vocabulary (id, token) VALUES (?, ?)",
                                   ((ids_of[token], token) for token in fresh))
                    db.executemany("DELETE FROM tokens WHERE kind = ? AND id = ?", ((kind, i) for i in removed))
                    db.executemany(
                        "INSERT OR REPLACE INTO tokens (kind, id, digest, lists) VALUES (?, ?, ?, ?)",
                        ((kind, item_id, digest(text), _encode(token_lists, ids_of))
                         for (item_id, text), token_lists in zip(items, lists, strict=True)),
                    )
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as error:
            logger.warning("could not update token cache %s: %s", self.path, error)

    def session(
        self, kind: str, segment: Segment, submit: Submit | None = None, fields: int | None = None
    ) -> TokenSession:
        """tokens() a batch at a time (see TokenSession), for a build that holds one batch's tokens; with
        `submit`, segmenting one batch can go on while the previous one is finished."""
        return TokenSession(self, kind, segment, submit, fields)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")  # readers go on while another process writes
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def _read(
        self, kind: str, wanted: dict[int, str], known: _Vocabulary | None = None, fields: int | None = None,
        every_row: bool = False,
    ) -> tuple[_Vocabulary, dict[int, np.ndarray]]:
        """The vocabulary and the cached rows (packed, see _packed_rows) of the wanted texts; none if the cache is
        for another tokenizer (or of another layout: its file is then removed, the next write starts a new one).

        With the vocabulary of a previous read, only the tokens added to the vocabulary since are read (when the
        cache was not emptied in between); while nothing is saved, that vocabulary itself is given back. The rows
        are looked up by id, or (every_row, for a caller that wants most of them) read in one pass.
        """
        with closing(self._connect()) as db:
            db.execute("BEGIN")  # one consistent snapshot
            meta = dict(db.execute("SELECT key, value FROM meta"))
            current = self._current(meta)
            if current:
                if known is not None and known.generation == meta["generation"] and known.saved == len(known.tokens):
                    vocabulary = known
                    vocabulary.extend(token for (token,) in db.execute(
                        "SELECT token FROM vocabulary WHERE id >= ? ORDER BY id", (len(known.tokens),)))
                else:
                    vocabulary = _Vocabulary(
                        meta["generation"],
                        [token for (token,) in db.execute("SELECT token FROM vocabulary ORDER BY id")],
                    )
                found: dict[int, np.ndarray] = {}
                rows = db.execute("SELECT id, digest, lists FROM tokens WHERE kind = ?", (kind,)) if every_row else (
                    db.execute(
                        "SELECT id, digest, lists FROM tokens WHERE kind = ? AND id IN (SELECT value FROM json_each(?))",
                        (kind, json.dumps(list(wanted))),
                    )
                )
                for item_id, stored_digest, lists in rows:
                    text = wanted.get(item_id)
                    if text is not None and stored_digest == digest(text):
                        packed = _checked(lists, len(vocabulary.tokens), fields)
                        if packed is not None:  # a damaged row is segmented again and replaced
                            found[item_id] = packed
                db.execute("COMMIT")
        if not current:
            if meta.get("format", FORMAT) != FORMAT:
                # Written by another release in another layout: a new file costs less than emptying this one
                # (at a million passages, dropping the old table and refilling its free pages doubled the
                # reindex that follows).
                logger.info("token cache %s is of another layout: starting a new one", self.path)
                self._remove()
            # A session's batches started before the first write share one vocabulary, so that each one's new
            # tokens are numbered after the last one's and every write is in step with the file.
            return (known if known is not None and known.generation is None else _Vocabulary(None, [])), {}
        return vocabulary, found

    def _write(
        self, kind: str, wanted: dict[int, str], new: dict[int, np.ndarray], vocabulary: _Vocabulary,
        prune: bool = True,
    ) -> bool:
        """Store the newly segmented rows, numbered in `vocabulary`, with its new tokens, and (if prune) drop the
        rows of ids not wanted, in one short transaction. False if the file's vocabulary had moved on (another
        process wrote, or emptied it): the rows were then renumbered into it, and `vocabulary` is out of date."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time: another process may be reindexing too
            try:
                meta = dict(db.execute("SELECT key, value FROM meta"))
                emptied = not self._current(meta)
                if emptied:
                    if meta:
                        logger.info("token cache %s: the tokenizer changed, emptying it", self.path)
                    if meta.get("format", FORMAT) != FORMAT:  # the tables themselves may be laid out another way
                        for table in ("tokens", "vocabulary"):
                            db.execute(f"DROP TABLE {table}")  # noqa: S608 - table names are ours
                        for statement in _SCHEMA.split(";"):
                            db.execute(statement)
                    for table in ("tokens", "vocabulary", "meta"):
                        db.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are ours
                    meta = {"format": FORMAT, "version": self.version, "generation": uuid.uuid4().hex}
                    db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
                    saved_tokens: list[str] = []
                elif meta["generation"] == vocabulary.generation:
                    # Since we read, other processes may only have added tokens at the end.
                    saved_tokens = vocabulary.tokens[: vocabulary.saved] + [
                        token for (token,) in db.execute(
                            "SELECT token FROM vocabulary WHERE id >= ? ORDER BY id", (vocabulary.saved,)
                        )
                    ]
                else:
                    saved_tokens = [token for (token,) in db.execute("SELECT token FROM vocabulary ORDER BY id")]
                # Our numbers hold when the file has what we read and nothing more (or is new, and we read nothing).
                same = meta["generation"] == vocabulary.generation or (emptied and vocabulary.saved == 0)
                in_step = same and len(saved_tokens) == vocabulary.saved
                if in_step:
                    rows, fresh = new, vocabulary.tokens[vocabulary.saved :]
                else:  # renumber our rows into the file's vocabulary
                    theirs = _Vocabulary(meta["generation"], list(saved_tokens))
                    ours = theirs.numbers(vocabulary.tokens)
                    rows = {item_id: _renumbered(packed, ours) for item_id, packed in new.items()}
                    fresh = theirs.tokens[len(saved_tokens) :]
                gone = [
                    (kind, item_id)
                    for (item_id,) in db.execute("SELECT id FROM tokens WHERE kind = ?", (kind,))
                    if item_id not in wanted
                ] if prune else []
                db.executemany("DELETE FROM tokens WHERE kind = ? AND id = ?", gone)
                db.executemany(
                    "INSERT OR REPLACE INTO tokens (kind, id, digest, lists) VALUES (?, ?, ?, ?)",
                    ((kind, item_id, digest(wanted[item_id]), packed.tobytes()) for item_id, packed in rows.items()),
                )
                db.executemany(
                    "INSERT INTO vocabulary (id, token) VALUES (?, ?)", enumerate(fresh, start=len(saved_tokens))
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        if in_step:
            vocabulary.generation = meta["generation"]
            vocabulary.saved = len(vocabulary.tokens)
        return in_step

    def _prune(self, kind: str, kept: np.ndarray) -> None:
        """Drop the rows of this kind whose id is not among kept (sorted)."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                ids = np.fromiter((i for (i,) in db.execute("SELECT id FROM tokens WHERE kind = ?", (kind,))), dtype=np.int64)
                positions = np.minimum(np.searchsorted(kept, ids), max(len(kept) - 1, 0))
                gone = ids[kept[positions] != ids] if len(kept) else ids
                db.executemany("DELETE FROM tokens WHERE kind = ? AND id = ?", ((kind, i) for i in gone.tolist()))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _current(self, meta: dict[str, str]) -> bool:
        """Whether the cache's rows were cut by this tokenizer, in this format."""
        return meta.get("format") == FORMAT and meta.get("version") == self.version and "generation" in meta

    def _remove(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            path = self.path.with_name(self.path.name + suffix)
            try:
                path.unlink(missing_ok=True)
            except OSError as error:
                logger.warning("cannot remove %s: %s", path, error)


class StartedBatch(NamedTuple):
    """A batch whose cached rows were read and whose other texts are being segmented."""

    items: Sequence[tuple[int, str]]
    wanted: dict[int, str]
    found: dict[int, np.ndarray]  # packed rows read from the cache
    missing: list[int]  # ids being segmented
    segmented: Callable[[], Sequence[TokenLists] | TokenBatch] | None  # waits for them
    vocabulary: _Vocabulary  # what found (and, once finished, the new rows) are numbered in


class TokenSession:
    """TokenCache.tokens() a batch at a time: only one batch's tokens and rows are held.

    Once close() is called, the cache holds the ids of this kind given in the batches and no others (as after
    tokens() with all of them). Each batch is read and written in its own short transaction.
    """

    def __init__(
        self, cache: TokenCache, kind: str, segment: Segment, submit: Submit | None = None, fields: int | None = None
    ) -> None:
        self._cache = cache
        self._kind = kind
        # Starts segmenting texts and returns what waits for the result; by default, segment() when waited for.
        self._submit = submit or (lambda texts: partial(segment, texts))
        self._vocabulary = _Vocabulary(None, [])
        self._read_once = False  # the first read takes the whole vocabulary, later ones what was added since
        self._usable = True  # False once the cache was busy or failed a write: the rest is segmented without it
        self._fields = fields  # lists per text: as given, else the first text's
        self._ids = array("q")

    def tokens(self, items: Sequence[tuple[int, str]]) -> list[TokenLists]:
        """The token lists of each (id, text), from the cache where the text is unchanged, else segmented."""
        return self.batch(items).lists()

    def batch(self, items: Sequence[tuple[int, str]]) -> TokenBatch:
        """tokens() as one TokenBatch (over the cache's vocabulary: nothing is turned back into strings)."""
        return self.finish(self.start(items))

    def start(self, items: Sequence[tuple[int, str]]) -> StartedBatch:
        """batch() in two halves: read what the cache holds and start segmenting the rest; finish() waits for
        it. Starting the next batch before finishing this one keeps the segmenting workers busy meanwhile."""
        cache, kind = self._cache, self._kind
        wanted = dict(items)
        if len(wanted) != len(items):
            raise ValueError(f"{kind} ids must be unique")
        found: dict[int, np.ndarray] = {}
        if self._usable:
            try:
                self._vocabulary, found = cache._read(
                    kind, wanted, self._vocabulary if self._read_once else None, self._fields
                )
                self._read_once = True
            except sqlite3.Error as error:
                self._vocabulary, self._read_once = _Vocabulary(None, []), False
                if _busy(error):
                    self._usable = False
                    logger.warning("token cache %s is busy: segmenting without it", cache.path)
                else:
                    logger.warning("token cache %s is unreadable (%s): rebuilding it", cache.path, error)
                    cache._remove()
        if self._fields is None and found:
            self._fields = int(next(iter(found.values()))[0])
        missing = [item_id for item_id, _ in items
                   if item_id not in found or (self._fields is not None and found[item_id][0] != self._fields)]
        segmented = self._submit([wanted[item_id] for item_id in missing]) if missing else None
        cache.segmented += len(missing)
        self._ids.extend(wanted)
        return StartedBatch(items, wanted, found, missing, segmented, self._vocabulary)

    def finish(self, started: StartedBatch) -> TokenBatch:
        """The batch start() began, its new rows written to the cache."""
        cache, vocabulary, found = self._cache, started.vocabulary, started.found
        new: dict[int, np.ndarray] = {}
        if started.segmented is not None:
            rows: list[np.ndarray] = []
            for cut in _as_batches(started.segmented()):  # numbered part by part: each distinct token looked up once
                if self._fields is None:
                    self._fields = cut.fields
                elif len(cut) and cut.fields != self._fields:
                    raise ValueError(f"segment gave {cut.fields} lists per text, not {self._fields}")
                rows += _packed_rows(cut, vocabulary)
            new = dict(zip(started.missing, rows, strict=True))
        if self._usable and new:
            try:
                # Another process moved the vocabulary on: read it whole next time. Unless a later batch has read
                # it since: that read took in what this write added, and the next reads go on from it.
                in_step = cache._write(self._kind, started.wanted, new, vocabulary, prune=False)
                if not in_step and vocabulary is self._vocabulary:
                    self._read_once = False
            except sqlite3.Error as error:
                logger.warning("could not update token cache %s: %s", cache.path, error)
                self._usable = False  # our new tokens are not in the file: never read it against them
        found.update(new)
        return _batch_of([found[item_id] for item_id, _ in started.items], vocabulary.tokens, self._fields or 1)

    def close(self) -> None:
        """Drop the cached rows of this kind whose id was in no batch."""
        if not self._usable:
            return
        try:
            self._cache._prune(self._kind, np.unique(np.array(self._ids, dtype=np.int64)))
        except sqlite3.Error as error:
            logger.warning("could not update token cache %s: %s", self._cache.path, error)


def _as_batches(cut: Sequence[TokenLists] | TokenBatch | Sequence[TokenBatch]) -> list[TokenBatch]:
    """What a segment or submit function gave, as TokenBatches: one, or the parts the workers cut."""
    if isinstance(cut, TokenBatch):
        return [cut]
    if cut and all(isinstance(part, TokenBatch) for part in cut):
        return list(cut)  # type: ignore[arg-type]
    return [TokenBatch.of_lists(cut)]  # type: ignore[arg-type]


def _packed_rows(batch: TokenBatch, vocabulary: _Vocabulary) -> list[np.ndarray]:
    """Each text's row as the cache stores it (uint32: the number of lists, each one's length, then the ids of
    all its tokens), numbered in `vocabulary`, which gains the batch's new tokens."""
    ids = vocabulary.numbers(batch.vocabulary)[batch.ids] if len(batch.ids) else np.zeros(0, dtype=np.uint32)
    fields = batch.fields
    lengths = batch.lengths.reshape(-1, fields) if len(batch.lengths) else np.zeros((0, fields), dtype=np.int64)
    ends = np.cumsum(lengths.sum(axis=1)).tolist()
    header = np.column_stack([np.full(len(lengths), fields), lengths]).astype(np.uint32)
    return [
        np.concatenate((header[text], ids[start:end]))
        for text, (start, end) in enumerate(zip([0, *ends[:-1]], ends))
    ]


def _checked(blob: bytes, vocabulary_size: int, fields: int | None = None) -> np.ndarray | None:
    """A stored row as packed by _packed_rows, or None if it does not hold lists (`fields` of them, if given) of a
    vocabulary of this size."""
    if len(blob) % 4 or not blob:
        return None
    packed = np.frombuffer(blob, dtype=np.uint32)
    if fields is not None and packed[0] != fields:
        return None
    at = 1 + int(packed[0])
    if at > len(packed) or at + int(packed[1:at].sum(dtype=np.int64)) != len(packed):
        return None
    if len(packed) > at and int(packed[at:].max()) >= vocabulary_size:
        return None
    return packed


def _lists(packed: np.ndarray, vocabulary: Sequence[str]) -> TokenLists:
    """A packed row's token lists as strings."""
    at = 1 + int(packed[0])
    return _batch_of([packed], vocabulary, int(packed[0])).lists()[0] if at > 1 else ()


def _renumbered(packed: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """A packed row with each token id replaced by numbers[id]."""
    at = 1 + int(packed[0])
    return np.concatenate((packed[:at], numbers[packed[at:]]))


def _batch_of(rows: Sequence[np.ndarray], vocabulary: Sequence[str], fields: int) -> TokenBatch:
    """The packed rows of texts (each with `fields` lists) as one TokenBatch."""
    lengths = [row[1 : 1 + fields] for row in rows]
    ids = [row[1 + fields :] for row in rows]
    return TokenBatch(
        vocabulary,
        np.concatenate(ids) if ids else np.zeros(0, dtype=np.uint32),
        np.concatenate(lengths).astype(np.int64) if lengths else np.zeros(0, dtype=np.int64),
        fields,
    )


def _busy(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _encode(lists: TokenLists, ids_of: dict[str, int]) -> bytes:
    """Token lists as a row of uint32 vocabulary ids (every token already in ids_of)."""
    packed = array("I", [len(lists), *map(len, lists)])
    for tokens in lists:
        packed.extend(map(ids_of.__getitem__, tokens))
    return packed.tobytes()
