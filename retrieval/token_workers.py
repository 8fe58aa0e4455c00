"""Passages segmented in worker processes, so that a big build or ingest uses every core.

Segmentation (jieba words and character bigrams) is most of the time a build takes, and it holds the GIL, so
threads do not help. Workers are started with "spawn" (the parent runs threads: a fork could copy a held lock)
and each makes its own Tokenizer from the parent's settings; the tokens are the ones the parent would make,
which tests/test_token_workers.py checks. As with any spawned pool, a script that builds a big index must
start from `if __name__ == "__main__":` (the rectbot command does).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import chain
from operator import itemgetter
from pathlib import Path

import numpy as np

from rectbot.retrieval.tokenizer import PassageTokens, Tokenizer

# Below this many texts a pool costs more to start (about a second: imports, dictionary) than it saves.
PARALLEL_FROM = 20_000
_CHUNK = 500  # texts sent to a worker at a time: large enough that pickling is a small share
_WORTH_A_POOL = 200  # texts in one call; fewer (a reindex finding most tokens cached) are cut in this process

_worker_tokenizer: Tokenizer | None = None


def _start(settings: dict[str, object]) -> None:
    global _worker_tokenizer
    _worker_tokenizer = Tokenizer(**settings)  # type: ignore[arg-type]


def _segment(texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The texts' token lists packed for the trip back: the distinct tokens, then each token as a number into
    them and each list's length (pickling every token string costs as much as cutting it)."""
    assert _worker_tokenizer is not None
    lists = [tokens for text in texts for tokens in _worker_tokenizer.passage_tokens(text)]
    every = list(chain.from_iterable(lists))
    distinct = list(dict.fromkeys(every))
    number = {token: i for i, token in enumerate(distinct)}
    flat = np.fromiter(map(number.__getitem__, every), dtype=np.uint32, count=len(every))
    return distinct, flat, np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))


def _unpack(packed: tuple[list[str], np.ndarray, np.ndarray], fields: int) -> list[tuple[list[str], ...]]:
    """_segment's result as token lists: each text's `fields` lists."""
    distinct, flat, lengths = packed
    if len(flat) == 0:
        tokens: Sequence[str] = ()
    elif len(flat) == 1:
        tokens = (distinct[int(flat[0])],)
    else:
        tokens = itemgetter(*flat.tolist())(distinct)  # one C loop over every token
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    lists = [list(tokens[start:end]) for start, end in zip(starts, ends, strict=True)]
    return [tuple(lists[at : at + fields]) for at in range(0, len(lists), fields)]


def default_workers(limit: int = 8) -> int:
    """One worker per core this process may use (its CPU affinity and, in a container, its cgroup quota), at
    most `limit`: each worker holds its own tokenizer (about 100 MB)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota to respect
    return max(1, min(cores, limit))


class TokenWorkers:
    """A pool of processes that cut passages the way `tokenizer` does; use as a context manager."""

    def __init__(self, tokenizer: Tokenizer, workers: int | None = None) -> None:
        settings = {f.name: getattr(tokenizer, f.name) for f in dataclasses.fields(tokenizer) if f.init}
        self.workers = workers or default_workers()
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(settings,),
        )

    def passage_tokens(self, texts: Sequence[str]) -> list[tuple[list[str], ...]]:
        """Each text's words and bigrams, as Tokenizer.passage_tokens gives them, in order."""
        size = max(1, min(_CHUNK, -(-len(texts) // self.workers)))
        chunks = [texts[start : start + size] for start in range(0, len(texts), size)]
        fields = len(PassageTokens._fields)
        return [tokens for packed in self._pool.map(_segment, chunks) for tokens in _unpack(packed, fields)]

    def close(self) -> None:
        """Stop the workers."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> TokenWorkers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PassageSegmenter:
    """Cuts passages in this process, or in worker processes once a job of `expected` texts turns out big.

    A reindex whose tokens are all cached never starts the workers; neither does a small update.
    """

    def __init__(self, tokenizer: Tokenizer, expected: int, workers: int | None = None) -> None:
        self.tokenizer = tokenizer
        self.expected = expected
        self.workers = workers or default_workers()
        self._pool: TokenWorkers | None = None

    def __call__(self, texts: Sequence[str]) -> list[tuple[list[str], ...]]:
        """Each text's words and bigrams, in order."""
        if self._pool is None and self.workers > 1 and self.expected >= PARALLEL_FROM and len(texts) >= _WORTH_A_POOL:
            self._pool = TokenWorkers(self.tokenizer, self.workers)
        if self._pool is not None:
            return self._pool.passage_tokens(texts)
        return [tuple(self.tokenizer.passage_tokens(text)) for text in texts]

    def close(self) -> None:
        """Stop the workers, if any were started."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> PassageSegmenter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
