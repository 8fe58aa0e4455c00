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
from collections.abc import Callable, Sequence
from contextlib import closing
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

import numpy as np

logger = logging.getLogger(__name__)

# Bump when the rows' layout changes; a cache of another format is emptied.
FORMAT = "1"

# Called with a batch of texts, returns each text's token lists (the same number of lists for every text).
Segment = Callable[[Sequence[str]], Sequence[tuple[list[str], ...]]]
Progress = Callable[[int, int], None]
TokenLists = tuple[list[str], ...]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vocabulary (id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS tokens (
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    digest BLOB NOT NULL,
    lists BLOB NOT NULL,  -- uint32: the number of lists, each one's length, then the vocabulary ids of all
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
"""
_BATCH = 2000  # texts segmented between two progress reports
_BUSY_SECONDS = 10


class _Snapshot(NamedTuple):
    found: dict[int, TokenLists]  # the token lists of wanted texts found unchanged
    vocabulary: list[str]  # token ids -> tokens
    generation: str | None  # changes whenever the cache is emptied; None: it was for another tokenizer


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
        self, kind: str, items: Sequence[tuple[int, str]], segment: Segment, progress: Progress | None = None
    ) -> list[TokenLists]:
        """The token lists of each (id, text): from the cache where the text is unchanged, else from segment().

        Afterwards the cache holds these ids of this kind and no others: rows of ids not given are dropped.
        """
        wanted = dict(items)
        if len(wanted) != len(items):
            raise ValueError(f"{kind} ids must be unique")
        cached = _Snapshot({}, [], None)
        busy = False
        try:
            cached = self._read(kind, wanted)
        except sqlite3.Error as error:
            busy = _busy(error)
            if busy:
                logger.warning("token cache %s is busy: segmenting without it", self.path)
            else:
                logger.warning("token cache %s is unreadable (%s): rebuilding it", self.path, error)
                self._remove()
        found = cached.found
        missing = [(item_id, text) for item_id, text in items if item_id not in found]
        if progress:
            progress(len(found), len(items))
        new: dict[int, TokenLists] = {}
        for start in range(0, len(missing), _BATCH):
            batch = missing[start : start + _BATCH]
            new.update(zip((item_id for item_id, _ in batch), segment([text for _, text in batch]), strict=True))
            self.segmented += len(batch)
            if progress:
                progress(len(found) + len(new), len(items))
        if not busy:
            try:
                self._write(kind, wanted, new, cached)
            except sqlite3.Error as error:
                logger.warning("could not update token cache %s: %s", self.path, error)
        found.update(new)
        return [found[item_id] for item_id, _ in items]

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
                        ((kind, item_id, digest(text), _encode(token_lists, ids_of, []))
                         for (item_id, text), token_lists in zip(items, lists, strict=True)),
                    )
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as error:
            logger.warning("could not update token cache %s: %s", self.path, error)

    def session(self, kind: str, segment: Segment) -> TokenSession:
        """tokens() a batch at a time (see TokenSession), for a build that holds one batch's token lists."""
        return TokenSession(self, kind, segment)

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

    def _read(self, kind: str, wanted: dict[int, str], previous: _Snapshot | None = None) -> _Snapshot:
        """The cached token lists of the wanted texts (none if the cache is for another tokenizer).

        With the snapshot of a previous read, only the rows of the wanted ids are read, and only the tokens
        added to the vocabulary since (when the cache was not emptied in between).
        """
        with closing(self._connect()) as db:
            db.execute("BEGIN")  # one consistent snapshot
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if not self._current(meta):
                return _Snapshot({}, [], None)
            if previous is not None and previous.generation == meta["generation"]:
                vocabulary = previous.vocabulary + [token for (token,) in db.execute(
                    "SELECT token FROM vocabulary WHERE id >= ? ORDER BY id", (len(previous.vocabulary),))]
            else:
                vocabulary = [token for (token,) in db.execute("SELECT token FROM vocabulary ORDER BY id")]
            found: dict[int, TokenLists] = {}
            rows = db.execute(
                "SELECT id, digest, lists FROM tokens WHERE kind = ? AND id IN (SELECT value FROM json_each(?))",
                (kind, json.dumps(list(wanted))),
            ) if previous is not None else db.execute("SELECT id, digest, lists FROM tokens WHERE kind = ?", (kind,))
            for item_id, stored_digest, lists in rows:
                text = wanted.get(item_id)
                if text is not None and stored_digest == digest(text):
                    decoded = _decode(lists, vocabulary)
                    if decoded is not None:  # a damaged row is segmented again and replaced
                        found[item_id] = decoded
            db.execute("COMMIT")
        return _Snapshot(found, vocabulary, meta["generation"])

    def _write(
        self, kind: str, wanted: dict[int, str], new: dict[int, TokenLists], cached: _Snapshot, prune: bool = True
    ) -> None:
        """Store the newly segmented lists and (if prune) drop rows of ids not wanted, in one short transaction."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time: another process may be reindexing too
            try:
                meta = dict(db.execute("SELECT key, value FROM meta"))
                if not self._current(meta):
                    if meta:
                        logger.info("token cache %s: the tokenizer changed, emptying it", self.path)
                    for table in ("tokens", "vocabulary", "meta"):
                        db.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are ours
                    meta = {"format": FORMAT, "version": self.version, "generation": uuid.uuid4().hex}
                    db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
                    vocabulary = []
                elif meta["generation"] == cached.generation:
                    # Since we read, other processes may only have added tokens at the end.
                    vocabulary = cached.vocabulary + [
                        token
                        for (token,) in db.execute(
                            "SELECT token FROM vocabulary WHERE id >= ? ORDER BY id", (len(cached.vocabulary),)
                        )
                    ]
                else:
                    vocabulary = [token for (token,) in db.execute("SELECT token FROM vocabulary ORDER BY id")]
                saved = len(vocabulary)
                ids_of = {token: i for i, token in enumerate(vocabulary)}
                gone = [
                    (kind, item_id)
                    for (item_id,) in db.execute("SELECT id FROM tokens WHERE kind = ?", (kind,))
                    if item_id not in wanted
                ] if prune else []
                db.executemany("DELETE FROM tokens WHERE kind = ? AND id = ?", gone)
                db.executemany(
                    "INSERT OR REPLACE INTO tokens (kind, id, digest, lists) VALUES (?, ?, ?, ?)",
                    (
                        (kind, item_id, digest(wanted[item_id]), _encode(lists, ids_of, vocabulary))
                        for item_id, lists in new.items()
                    ),
                )
                db.executemany(
                    "INSERT INTO vocabulary (id, token) VALUES (?, ?)", enumerate(vocabulary[saved:], start=saved)
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

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


class TokenSession:
    """TokenCache.tokens() a batch at a time: only one batch's token lists and rows are held.

    Once close() is called, the cache holds the ids of this kind given in the batches and no others (as after
    tokens() with all of them). Each batch is read and written in its own short transaction.
    """

    def __init__(self, cache: TokenCache, kind: str, segment: Segment) -> None:
        self._cache = cache
        self._kind = kind
        self._segment = segment
        self._snapshot = _Snapshot({}, [], None)
        self._usable = True  # False once the cache was busy: the rest is segmented without it
        self._ids = array("q")

    def tokens(self, items: Sequence[tuple[int, str]]) -> list[TokenLists]:
        """The token lists of each (id, text), from the cache where the text is unchanged, else segmented."""
        cache, kind = self._cache, self._kind
        wanted = dict(items)
        if len(wanted) != len(items):
            raise ValueError(f"{kind} ids must be unique")
        found: dict[int, TokenLists] = {}
        if self._usable:
            try:
                self._snapshot = cache._read(kind, wanted, self._snapshot)
                found = self._snapshot.found
            except sqlite3.Error as error:
                self._snapshot = _Snapshot({}, [], None)
                if _busy(error):
                    self._usable = False
                    logger.warning("token cache %s is busy: segmenting without it", cache.path)
                else:
                    logger.warning("token cache %s is unreadable (%s): rebuilding it", cache.path, error)
                    cache._remove()
        missing = [(item_id, text) for item_id, text in items if item_id not in found]
        new: dict[int, TokenLists] = {}
        for start in range(0, len(missing), _BATCH):
            batch = missing[start : start + _BATCH]
            new.update(zip((item_id for item_id, _ in batch), self._segment([text for _, text in batch]), strict=True))
            cache.segmented += len(batch)
        if self._usable and new:
            try:
                cache._write(kind, wanted, new, self._snapshot, prune=False)
            except sqlite3.Error as error:
                logger.warning("could not update token cache %s: %s", cache.path, error)
        self._ids.extend(wanted)
        found.update(new)
        self._snapshot = self._snapshot._replace(found={})
        return [found[item_id] for item_id, _ in items]

    def close(self) -> None:
        """Drop the cached rows of this kind whose id was in no batch."""
        if not self._usable:
            return
        try:
            self._cache._prune(self._kind, np.unique(np.array(self._ids, dtype=np.int64)))
        except sqlite3.Error as error:
            logger.warning("could not update token cache %s: %s", self._cache.path, error)


def _busy(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _encode(lists: TokenLists, ids_of: dict[str, int], vocabulary: list[str]) -> bytes:
    """Token lists as uint32 vocabulary ids, adding new tokens to the vocabulary."""
    packed = array("I", [len(lists), *map(len, lists)])
    for tokens in lists:
        ids = list(map(ids_of.get, tokens))  # a C loop: new tokens are few once a build is under way
        if None in ids:
            for place, token in enumerate(tokens):
                if ids[place] is None:
                    token_id = ids_of.get(token)
                    if token_id is None:
                        token_id = ids_of[token] = len(vocabulary)
                        vocabulary.append(token)
                    ids[place] = token_id
        packed.extend(ids)
    return packed.tobytes()


def _decode(blob: bytes, vocabulary: list[str]) -> TokenLists | None:
    """The token lists _encode() packed, or None if the row does not hold lists of this vocabulary."""
    packed = array("I")
    try:
        packed.frombytes(blob)
        count = packed[0]
        lengths = packed[1 : 1 + count]
        at = 1 + count
        if at + sum(lengths) != len(packed):
            return None
        ids = packed[at:]
        # One C loop over every id (itemgetter of one id returns the token itself, not a tuple).
        tokens = itemgetter(*ids)(vocabulary) if len(ids) > 1 else tuple(vocabulary[i] for i in ids)
        lists, start = [], 0
        for length in lengths:
            lists.append(list(tokens[start : start + length]))
            start += length
    except (ValueError, IndexError, TypeError):
        return None
    return tuple(lists)
