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
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from rectbot.retrieval.batch_cut import passage_batch
from rectbot.retrieval.token_batch import TokenBatch
from rectbot.retrieval.tokenizer import PassageTokens, Tokenizer

# Below this many texts a pool costs more to start (about a second: imports, dictionary) than it saves.
PARALLEL_FROM = 20_000
_CHUNK = 500  # texts sent to a worker at a time: large enough that pickling is a small share
_WORTH_A_POOL = 200  # texts in one call; fewer (a reindex finding most tokens cached) are cut in this process

_FIELDS = len(PassageTokens._fields)  # a passage's token lists: words, bigrams

_worker_tokenizer: Tokenizer | None = None

_GUARD = (
    'a script that builds an index must keep its top-level code under `if __name__ == "__main__":`: the worker '
    "processes that cut passages are spawned, and each imports the script again"
)


class WorkersStopped(RuntimeError):
    """The worker processes stopped before they had cut every passage."""


def refuse_in_a_starting_worker() -> None:
    """Raise at once in a worker process that is still importing the script that started it, instead of letting
    that import run the script's whole job a second time (the stdlib only objects once it starts a process)."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):  # set by spawn while it imports __main__
        raise RuntimeError(_GUARD)


def _start(settings: dict[str, object]) -> None:
    global _worker_tokenizer
    _worker_tokenizer = Tokenizer(**settings)  # type: ignore[arg-type]


def _segment(texts: Sequence[str]) -> TokenBatch:
    """The texts' words and bigrams, packed for the trip back as a TokenBatch (pickling every token string costs
    as much as cutting it)."""
    assert _worker_tokenizer is not None
    return passage_batch(_worker_tokenizer, texts)


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
        return self.batch(texts).lists()

    def batch(self, texts: Sequence[str]) -> TokenBatch:
        """passage_tokens() as one TokenBatch."""
        return TokenBatch.joined(self.submit(texts)(), _FIELDS)

    def submit(self, texts: Sequence[str]) -> Callable[[], list[TokenBatch]]:
        """Start cutting the texts; the function returned waits for them and gives the TokenBatch of each part
        cut by a worker, in order (batch() joins them)."""
        size = max(1, min(_CHUNK, -(-len(texts) // self.workers)))
        try:
            futures = [self._pool.submit(_segment, texts[start : start + size]) for start in range(0, len(texts), size)]
        except BrokenProcessPool as error:
            raise _stopped(error) from error

        def results() -> list[TokenBatch]:
            try:
                return [future.result() for future in futures]
            except BrokenProcessPool as error:
                raise _stopped(error) from error

        return results

    def close(self) -> None:
        """Stop the workers."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> TokenWorkers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _stopped(error: BrokenProcessPool) -> WorkersStopped:
    return WorkersStopped(
        f"the worker processes cutting passages stopped ({error}): killed, out of memory, or started from a script "
        f"without a main guard; {_GUARD}"
    )


class PassageSegmenter:
    """Cuts passages in this process, or in worker processes once a job of `expected` texts turns out big.

    A reindex whose tokens are all cached never starts the workers; neither does a small update.
    """

    def __init__(self, tokenizer: Tokenizer, expected: int, workers: int | None = None) -> None:
        refuse_in_a_starting_worker()
        self.tokenizer = tokenizer
        self.expected = expected
        self.workers = workers or default_workers()
        self._pool: TokenWorkers | None = None

    def __call__(self, texts: Sequence[str]) -> list[tuple[list[str], ...]]:
        """Each text's words and bigrams, in order."""
        return self.batch(texts).lists()

    def batch(self, texts: Sequence[str]) -> TokenBatch:
        """Each text's words and bigrams, in order, as one TokenBatch."""
        return TokenBatch.joined(self.submit(texts)(), _FIELDS)

    def submit(self, texts: Sequence[str]) -> Callable[[], list[TokenBatch]]:
        """Start cutting the texts (in the workers, if any); the function returned gives the TokenBatches of their
        parts, in order, so that this process can do other work meanwhile."""
        if self._pool is None and self.workers > 1 and self.expected >= PARALLEL_FROM and len(texts) >= _WORTH_A_POOL:
            self._pool = TokenWorkers(self.tokenizer, self.workers)
        if self._pool is not None:
            return self._pool.submit(texts)
        return lambda: [passage_batch(self.tokenizer, texts)]

    def close(self) -> None:
        """Stop the workers, if any were started."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> PassageSegmenter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
