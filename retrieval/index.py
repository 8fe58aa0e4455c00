"""The BM25 passage index: build from token lists, search, save and load with staleness checks."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import bm25s
import numpy as np

logger = logging.getLogger(__name__)

ENGINES = ("bm25s", "rank-bm25")
IDF_METHODS = ("lucene", "robertson", "atire")

# Bump when the files written by save() change meaning; an index of another format is stale.
FORMAT_VERSION = "1"

_PARAMS_FILE = "params.json"
_PASSAGE_IDS_FILE = "passage_ids.npy"
_BM25S_DIR = "bm25s"
_TOKENS_FILE = "tokens.jsonl"
_RESERVED_VERSION_KEYS = ("engine", "index_format")


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


_IDF_FUNCTIONS: dict[str, Callable[[int, int], float]] = {
    "lucene": idf_lucene,
    "robertson": _idf_robertson,
    "atire": _idf_atire,
}


@dataclass(frozen=True)
class IndexParams:
    """How the index scores: engine, BM25 k1 and b, and the idf formula."""

    engine: str = "bm25s"
    k1: float = 1.2
    b: float = 0.75
    idf: str = "lucene"

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {self.engine!r}")
        if self.idf not in IDF_METHODS:
            raise ValueError(f"idf must be one of {IDF_METHODS}, not {self.idf!r}")
        if not self.k1 >= 0:
            raise ValueError(f"k1 must be >= 0, not {self.k1!r}")
        if not 0 <= self.b <= 1:
            raise ValueError(f"b must be between 0 and 1, not {self.b!r}")


class StaleIndex(Exception):
    """A saved index is missing, unreadable, or was built with other params, versions or passages."""


class ScoredPassage(NamedTuple):
    """One search result: a passage id and its BM25 score."""

    passage_id: int
    score: float


class _Engine(Protocol):
    """What PassageIndex needs from a BM25 implementation."""

    @property
    def passage_count(self) -> int:
        """Return the number of passages indexed."""

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray | None:
        """Return one score per passage in build order, or None when no query token is known."""

    def weighted_scores(self, weights: Mapping[str, float]) -> np.ndarray | None:
        """Return sum of weight x score per passage in build order, or None when no token is known."""

    def document_frequency(self, token: str) -> int:
        """Return how many passages contain token."""

    def vocabulary(self) -> Iterable[str]:
        """Return every token some passage holds."""

    def save(self, directory: Path) -> None:
        """Write the engine's files into an existing, empty directory."""


class _Bm25sEngine:
    """The fast path: bm25s's precomputed sparse score matrix."""

    def __init__(self, model: bm25s.BM25) -> None:
        self._model = model
        self._vocab: dict[str, int] = model.vocab_dict
        # Each (passage, token) pair is stored once, zero scores included: column lengths are document frequencies.
        self._df = np.diff(np.asarray(model.scores["indptr"]))
        if len(self._df) != len(self._vocab):
            raise ValueError(f"bm25s vocabulary has {len(self._vocab)} tokens, its matrix {len(self._df)} columns")

    @classmethod
    def build(cls, docs: list[list[str]], params: IndexParams) -> _Bm25sEngine:
        """Index the passages' tokens."""
        # method="atire" picks the term-frequency part (k1 + 1) * tf / (tf + k1 * (1 - b + b * dl / avgdl)),
        # the one rank_bm25.BM25Okapi uses; bm25s's "lucene"/"robertson" leave out (k1 + 1).
        model = bm25s.BM25(k1=params.k1, b=params.b, method="atire", idf_method=params.idf)
        model.index(docs, create_empty_token=False, show_progress=False)
        return cls(model)

    @classmethod
    def load(cls, directory: Path, params: IndexParams) -> _Bm25sEngine:
        """Read the files written by save()."""
        model = bm25s.BM25.load(directory / _BM25S_DIR, show_progress=False)
        saved = (model.k1, model.b, model.method, model.idf_method)
        if saved != (params.k1, params.b, "atire", params.idf):
            raise ValueError(f"bm25s files were built with (k1, b, method, idf_method) = {saved}")
        return cls(model)

    @property
    def passage_count(self) -> int:
        """Return the number of passages indexed."""
        return int(self._model.scores["num_docs"])

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray | None:
        """Return one score per passage in build order, or None when no query token is known."""
        ids = [self._vocab[token] for token in query_tokens if token in self._vocab]
        if not ids:
            return None
        return np.asarray(self._model.get_scores_from_ids(ids))

    def weighted_scores(self, weights: Mapping[str, float]) -> np.ndarray | None:
        """Return sum of weight x score per passage in build order, or None when no token is known."""
        matrix = self._model.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        scores: np.ndarray | None = None
        for token, weight in weights.items():
            token_id = self._vocab.get(token)
            if token_id is None or weight == 0:
                continue
            if scores is None:
                scores = np.zeros(self.passage_count, dtype=np.float64)
            start, end = indptr[token_id], indptr[token_id + 1]
            # A token's column holds each passage at most once, so fancy-index addition is exact.
            scores[indices[start:end]] += weight * data[start:end]
        return scores

    def document_frequency(self, token: str) -> int:
        """Return how many passages contain token."""
        token_id = self._vocab.get(token)
        return 0 if token_id is None else int(self._df[token_id])

    def vocabulary(self) -> Iterable[str]:
        """Return every token some passage holds."""
        return self._vocab.keys()

    def save(self, directory: Path) -> None:
        """Write the engine's files into an existing, empty directory."""
        self._model.save(directory / _BM25S_DIR, show_progress=False)


class _RankBm25Engine:
    """The reference: rank_bm25.BM25Okapi with the chosen idf, rebuilt from saved tokens at load."""

    def __init__(self, docs: list[list[str]], params: IndexParams) -> None:
        import rank_bm25  # a test dependency; only the reference engine needs it

        idf_function = _IDF_FUNCTIONS[params.idf]

        class _Okapi(rank_bm25.BM25Okapi):
            """BM25Okapi with our idf in place of its epsilon floor."""

            def _calc_idf(self, nd: dict[str, int]) -> None:
                self.document_frequencies = nd
                self.idf = {word: idf_function(df, self.corpus_size) for word, df in nd.items()}
                self.average_idf = sum(self.idf.values()) / len(self.idf)

        self._docs = docs
        self._model = _Okapi(docs, k1=params.k1, b=params.b)
        self._df: dict[str, int] = self._model.document_frequencies

    @classmethod
    def build(cls, docs: list[list[str]], params: IndexParams) -> _RankBm25Engine:
        """Index the passages' tokens."""
        return cls(docs, params)

    @classmethod
    def load(cls, directory: Path, params: IndexParams) -> _RankBm25Engine:
        """Read the tokens written by save() and rebuild."""
        with open(directory / _TOKENS_FILE, encoding="utf-8") as f:
            docs = [json.loads(line) for line in f]
        return cls(docs, params)

    @property
    def passage_count(self) -> int:
        """Return the number of passages indexed."""
        return len(self._docs)

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray | None:
        """Return one score per passage in build order, or None when no query token is known."""
        known = [token for token in query_tokens if token in self._df]
        if not known:
            return None
        return np.asarray(self._model.get_scores(known))

    def weighted_scores(self, weights: Mapping[str, float]) -> np.ndarray | None:
        """Return sum of weight x score per passage in build order, or None when no token is known."""
        known = [(token, weight) for token, weight in weights.items() if token in self._df and weight != 0]
        if not known:
            return None
        return sum(weight * np.asarray(self._model.get_scores([token])) for token, weight in known)

    def document_frequency(self, token: str) -> int:
        """Return how many passages contain token."""
        return self._df.get(token, 0)

    def vocabulary(self) -> Iterable[str]:
        """Return every token some passage holds."""
        return self._df.keys()

    def save(self, directory: Path) -> None:
        """Write the engine's files into an existing, empty directory."""
        with open(directory / _TOKENS_FILE, "w", encoding="utf-8") as f:
            for doc in self._docs:
                f.write(json.dumps(doc, ensure_ascii=False))
                f.write("\n")


class _EmptyEngine:
    """Stands in when no passage has a token (BM25 libraries cannot index that): nothing ever matches."""

    def __init__(self, passage_count: int) -> None:
        self.passage_count = passage_count

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray | None:
        """Return None: no token is known."""
        return None

    def weighted_scores(self, weights: Mapping[str, float]) -> np.ndarray | None:
        """Return None: no token is known."""
        return None

    def document_frequency(self, token: str) -> int:
        """Return 0: no passage contains any token."""
        return 0

    def vocabulary(self) -> Iterable[str]:
        """Return nothing."""
        return ()

    def save(self, directory: Path) -> None:
        """Write nothing: passage ids and params.json say it all."""


_ENGINE_CLASSES: dict[str, type[_Bm25sEngine] | type[_RankBm25Engine]] = {
    "bm25s": _Bm25sEngine,
    "rank-bm25": _RankBm25Engine,
}


def _engine_version(engine: str) -> str:
    """Return e.g. "bm25s 0.3.16", so that an index saved by another engine release is stale."""
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


def _fsync_path(path: Path) -> None:
    """Flush a file or directory to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flush every file and directory under root, root included."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            _fsync_path(Path(dirpath, name))
        _fsync_path(Path(dirpath))


class PassageIndex:
    """BM25 over passages given as token lists; knows nothing of text."""

    def __init__(
        self,
        engine: _Engine,
        passage_ids: np.ndarray,
        params: IndexParams,
        fingerprint: str,
        versions: dict[str, str],
    ) -> None:
        self._engine = engine
        self._passage_ids = passage_ids
        self.params = params
        self.fingerprint = fingerprint
        self.versions = versions
        self._idf = _IDF_FUNCTIONS[params.idf]

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

        started = time.perf_counter()
        engine = _ENGINE_CLASSES[params.engine].build(docs, params) if any(docs) else _EmptyEngine(len(docs))
        logger.info("built %s index of %d passages in %.2f s", params.engine, len(ids), time.perf_counter() - started)
        return cls(engine, ids, params, fingerprint, full_versions)

    def search(self, query_tokens: Sequence[str], k: int) -> list[ScoredPassage]:
        """Return up to k passages with a positive score, best first, ties by ascending passage id.

        Tokens not in the vocabulary are ignored; a token repeated in the query counts each time.
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, not {k}")
        if isinstance(query_tokens, str):
            raise TypeError("query_tokens must be a list of str, not a str")
        scores = self._engine.scores(list(query_tokens))
        if scores is None or k == 0:
            return []
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            # Keep everything tied with the k-th best score, so that ties are cut by passage id below.
            kth_best = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
            candidates = candidates[scores[candidates] >= kth_best]
        order = np.lexsort((self._passage_ids[candidates], -scores[candidates]))[:k]
        best = candidates[order]
        pairs = zip(self._passage_ids[best].tolist(), scores[best].tolist(), strict=True)
        return [ScoredPassage(passage_id, score) for passage_id, score in pairs]

    def weighted_scores(self, weights: Mapping[str, float]) -> np.ndarray | None:
        """Return each passage's summed weight x BM25 score, in the order of `passage_ids`; None if no token is known."""
        return self._engine.weighted_scores(weights)

    def vocabulary(self) -> Iterable[str]:
        """Every token some passage holds."""
        return self._engine.vocabulary()

    @property
    def passage_ids(self) -> np.ndarray:
        """The indexed ids, in the order of weighted_scores()."""
        return self._passage_ids

    def idf(self, token: str) -> float:
        """Return the token's idf, 0.0 for a token in no passage."""
        df = self.document_frequency(token)
        return self._idf(df, len(self)) if df else 0.0

    def document_frequency(self, token: str) -> int:
        """Return how many passages contain the token."""
        return self._engine.document_frequency(token)

    def __len__(self) -> int:
        """Return the number of passages."""
        return len(self._passage_ids)

    def save(self, directory: Path) -> None:
        """Write the index to directory, replacing any index there; a crash midway leaves no half index.

        Files go to a temporary sibling, which is renamed into place once complete. One writer at a time.
        """
        directory = Path(directory)
        parent = directory.parent
        parent.mkdir(parents=True, exist_ok=True)
        if directory.exists() and not directory.is_dir():
            raise FileExistsError(f"{directory} exists and is not a directory")
        self._remove_leftovers(directory)
        started = time.perf_counter()
        temporary = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=parent))
        try:
            np.save(temporary / _PASSAGE_IDS_FILE, self._passage_ids, allow_pickle=False)
            self._engine.save(temporary)
            # Written last: without it a directory never loads.
            with open(temporary / _PARAMS_FILE, "w", encoding="utf-8") as f:
                json.dump(self._manifest(), f, ensure_ascii=False, indent=2)
            _fsync_tree(temporary)
            self._replace(temporary, directory)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        elapsed = time.perf_counter() - started
        logger.info("saved index of %d passages to %s in %.2f s", len(self), directory, elapsed)

    def _manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "params": asdict(self.params),
            "versions": self.versions,
            "fingerprint": self.fingerprint,
            "passages": len(self),
            "empty": isinstance(self._engine, _EmptyEngine),
        }

    @staticmethod
    def _remove_leftovers(directory: Path) -> None:
        """Remove temporary siblings left by a save that was killed."""
        for pattern in (f".{directory.name}.tmp-*", f".{directory.name}.old-*"):
            for leftover in directory.parent.glob(pattern):
                logger.warning("removing %s, left by an interrupted save", leftover)
                shutil.rmtree(leftover, ignore_errors=True)

    @staticmethod
    def _replace(temporary: Path, directory: Path) -> None:
        """Move the complete temporary directory to directory."""
        if not directory.exists():
            os.rename(temporary, directory)
        else:
            # A directory cannot replace a non-empty one in one rename: move the old one aside first.
            # A crash between the two renames leaves no index at `directory` (load says so), never half one.
            aside = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex}"
            os.rename(directory, aside)
            try:
                os.rename(temporary, directory)
            except BaseException:
                os.rename(aside, directory)
                raise
            shutil.rmtree(aside, ignore_errors=True)
        _fsync_path(directory.parent)

    @classmethod
    def load(
        cls,
        directory: Path,
        params: IndexParams,
        *,
        fingerprint: str,
        versions: Mapping[str, str],
    ) -> PassageIndex:
        """Read an index saved by save(); raise StaleIndex unless params, versions and fingerprint match."""
        directory = Path(directory)
        expected_versions = _full_versions(versions, params)
        manifest_path = directory / _PARAMS_FILE
        if not manifest_path.is_file():
            raise StaleIndex(f"no index at {directory}: {_PARAMS_FILE} is missing")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            saved_format = manifest["format"]
            if saved_format != FORMAT_VERSION:
                raise StaleIndex(f"index format differs: saved {saved_format!r}, now {FORMAT_VERSION!r}")
            saved_params = manifest["params"]
            saved_versions = manifest["versions"]
            saved_fingerprint = manifest["fingerprint"]
            saved_count = manifest["passages"]
            saved_empty = manifest["empty"]
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise StaleIndex(f"unreadable {manifest_path}: {e!r}") from e

        if not isinstance(saved_params, dict) or saved_params != asdict(params):
            changes = _differences(saved_params if isinstance(saved_params, dict) else {}, asdict(params))
            raise StaleIndex(f"params differ: {'; '.join(changes)}")
        if not isinstance(saved_versions, dict) or saved_versions != expected_versions:
            changes = _differences(saved_versions if isinstance(saved_versions, dict) else {}, expected_versions)
            raise StaleIndex(f"versions differ: {'; '.join(changes)}")
        if saved_fingerprint != fingerprint:
            raise StaleIndex(f"fingerprint differs: saved {saved_fingerprint!r}, now {fingerprint!r}")

        started = time.perf_counter()
        try:
            passage_ids = np.load(directory / _PASSAGE_IDS_FILE, allow_pickle=False)
            if passage_ids.ndim != 1 or passage_ids.dtype.kind != "i":
                raise ValueError(f"passage ids have shape {passage_ids.shape} and dtype {passage_ids.dtype}")
            if saved_empty:
                engine: _Engine = _EmptyEngine(len(passage_ids))
            else:
                engine = _ENGINE_CLASSES[params.engine].load(directory, params)
        except (OSError, ValueError, TypeError, KeyError, EOFError) as e:
            raise StaleIndex(f"unreadable index files in {directory}: {e!r}") from e
        counts = [saved_count, len(passage_ids), engine.passage_count]
        if len(set(counts)) != 1:
            raise StaleIndex(f"index files in {directory} disagree on the passage count: {counts}")
        elapsed = time.perf_counter() - started
        logger.info("loaded index of %d passages from %s in %.2f s", saved_count, directory, elapsed)
        return cls(engine, passage_ids.astype(np.int64, copy=False), params, fingerprint, expected_versions)
